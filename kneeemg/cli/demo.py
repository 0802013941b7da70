"""``kneeemg demo``: a simulated night, detected, summarised."""

from __future__ import annotations

import argparse

from .replay import bounded, seed, supported_hz
from .simulate import MAX_CHANNELS, MAX_HOURS, night_hours


#: The demonstration's night, h, when --hours is left out.
DEFAULT_HOURS = 8.0


def register(sub: argparse._SubParsersAction) -> None:
    from ..demo import BLE_MAX_CHANNELS, LINK_SECONDS, SERIAL_MAX_CHANNEL_HZ

    p = sub.add_parser("demo", help="simulate a night, detect its events and summarise it",
                       description="Simulate a night of quadriceps EMG, run the detector over it as if it were "
                                   "live, compare with the simulator's ground truth and summarise the night.")
    p.add_argument("--hours", type=night_hours, default=None,
                   help=f"length of the night in hours, at least 0.25 s and at most {MAX_HOURS:g} (default 8)")
    p.add_argument("--channels", type=bounded(int, 1, MAX_CHANNELS), default=2,
                   help=f"channels (legs) to simulate, 1-{MAX_CHANNELS}; with --link ble 1-{BLE_MAX_CHANNELS}, with "
                        f"--link serial up to {SERIAL_MAX_CHANNEL_HZ:,.0f} channels x Hz (default 2)")
    p.add_argument("--fs", type=supported_hz, default=1000.0, metavar="HZ", help="sampling rate, 500-4000 Hz (default 1000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the simulated night, a whole number of at least 0 (default 0)")
    p.add_argument("--out", default="kneeemg-demo", metavar="DIR",
                   help="folder for the demo's files, created when missing (default ./kneeemg-demo)")
    p.add_argument("--link", choices=("ble", "serial"), default=None,
                   help="instead, stream a simulated minute through the live recording path: over BLE (bleak to a "
                        "virtual bumble sensor) or serial (a pseudo-terminal)")
    lo, hi = LINK_SECONDS
    p.add_argument("--seconds", type=bounded(float, lo, hi, " s"), default=None,
                   help=f"with --link: seconds of signal to stream, {lo:g} to {hi:g} (default 60)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .render import make_console
    from rich.progress import Progress

    from ..demo import check_demo_folder, run_demo
    from ..words import plural
    from .render import print_score, print_summary

    from ..errors import InputError

    console = make_console()
    if args.link:
        if args.hours is not None:
            raise InputError("--hours is the simulated night's length without --link; with --link, give the seconds "
                             "streamed through the live path with --seconds")
        return _run_link(args, console)
    args.hours = DEFAULT_HOURS if args.hours is None else args.hours
    if args.seconds is not None:
        raise InputError("--seconds goes with --link (the seconds streamed through the live path); add --link ble or "
                         "--link serial, or use --hours for the simulated night")
    check_demo_folder(args.out)  # before saying what starts, and before the work
    console.print(f"Simulating a night of {args.hours:g} h ({plural(args.channels, 'channel')}, {args.fs:g} Hz, seed {args.seed}) "
                  "and detecting it chunk by chunk...")
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("detecting", total=1.0)
        outcome = run_demo(args.hours, args.channels, args.fs, args.seed, out_dir=args.out,
                           progress=lambda f: bar.update(task, completed=f))
    print_summary(console, outcome.result.summary(), title="The simulated night")
    print_score(console, outcome.score)
    for name, path in outcome.files.items():
        if name != "report":
            console.print(f"{name}: {path}")
    if "report" in outcome.files:
        console.print(f"[bold]The night's report[/bold]: open file://{outcome.files['report'].resolve()} in a browser")
    return 0


def _run_link(args: argparse.Namespace, console) -> int:
    """The live path: a simulated sensor streams over the chosen link into the recorder."""
    from ..paths import check_output_dir
    from ..demo import check_link_demo, run_link_demo
    from ..errors import DeviceError
    from .render import print_summary, stop_words

    seconds = 60.0 if args.seconds is None else args.seconds
    check_link_demo(args.link, seconds, args.channels, args.fs)  # before saying what starts
    check_output_dir(args.out, "--out")
    console.print(f"Streaming {seconds:g} s of a simulated night over a virtual {args.link.upper()} sensor "
                  "into the live recorder (10x real time)...")
    outcome = run_link_demo(args.link, seconds=seconds, channels=args.channels, fs_hz=args.fs, seed=args.seed,
                            out_dir=args.out, speed=10.0)
    st = outcome.status
    console.print(f"recording: {outcome.path} ({stop_words(outcome.stop_reason)}; {st.samples} samples, "
                  f"{st.samples_lost} lost" + (f"; MTU {outcome.mtu}" if outcome.mtu else "") + ")")
    if outcome.result is not None:
        print_summary(console, outcome.result.summary(), title="The streamed signal")
    return DeviceError.exit_code if outcome.ended_early else 0  # the link went away before the signal ended
