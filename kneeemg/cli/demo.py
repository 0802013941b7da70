"""``kneeemg demo``: a simulated night, detected, summarised."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="simulate a night, detect its events and summarise it",
                       description="Simulate a night of quadriceps EMG, run the detector over it as if it were "
                                   "live, compare with the simulator's ground truth and summarise the night.")
    p.add_argument("--hours", type=float, default=8.0, help="length of the night in hours (default 8)")
    p.add_argument("--channels", type=int, default=2, help="channels (legs) to simulate (default 2)")
    p.add_argument("--fs", type=float, default=1000.0, help="sampling rate in Hz (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated night (default 0)")
    p.add_argument("--out", default="kneeemg-demo", help="folder for the demo's files (default ./kneeemg-demo)")
    p.add_argument("--link", choices=("ble", "serial"), default=None,
                   help="instead, stream a simulated minute through the live recording path: over BLE (bleak to a "
                        "virtual bumble sensor) or serial (a pseudo-terminal)")
    p.add_argument("--seconds", type=float, default=60.0, help="with --link: seconds of signal to stream (default 60)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from ..demo import run_demo
    from .render import print_score, print_summary

    console = Console()
    if args.link:
        return _run_link(args, console)
    console.print(f"Simulating a {args.hours:g}-hour night ({args.channels} channel(s), {args.fs:g} Hz, seed {args.seed}) "
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
    from pathlib import Path

    from ..record.live import record_virtual
    from ..simulate import simulate_night
    from .render import print_summary

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    night = simulate_night(hours=max(args.seconds, 10.0) / 3600.0, n_channels=args.channels, fs_hz=args.fs, seed=args.seed)
    console.print(f"Streaming {args.seconds:g} s of a simulated night over a virtual {args.link.upper()} sensor "
                  "into the live recorder (10x real time)...")
    outcome = record_virtual(args.link, seconds=args.seconds, out_dir=out, night=night, speed=10.0)
    st = outcome.status
    console.print(f"recording: {outcome.path} (stopped: {outcome.stop_reason}; {st.samples} samples, "
                  f"{st.samples_lost} lost" + (f"; MTU {outcome.mtu}" if outcome.mtu else "") + ")")
    if outcome.result is not None:
        print_summary(console, outcome.result.summary(), title="The streamed signal")
    return 0
