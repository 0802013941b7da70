"""``kneeemg record``: record a night from the sensor (USB serial, BLE, or the virtual sensor)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

from ..config import MAX_RECORD_S, MIN_RECORDING_S
from .importcmd import add_db_option
from .replay import bounded


#: ``--ble`` given alone: the first sensor found. Not a string: argparse would pass a string
#: const through ``type=``, which refuses an empty address.
FIRST_FOUND = object()


def _named(what: str, fix: str):
    """A port name or address that is not empty, for argparse ``type=`` (empty, it would mean another link)."""
    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"an empty {what}; {fix}")
        return text

    check.__name__ = what
    return check


@contextlib.contextmanager
def _logs_above_the_status_line() -> Iterator[None]:
    """While rich's status line is live on a terminal, ``sys.stderr`` is rich's stand-in, which
    prints each line above the status line; the log's handlers, made with the real stderr,
    write there too for that time (else a warning runs into the status line)."""
    real = getattr(sys.stderr, "rich_proxied_file", None)
    moved = [h for h in logging.getLogger().handlers
             if real is not None and type(h) is logging.StreamHandler and h.stream is real]
    for handler in moved:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler in moved:
            handler.setStream(real)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a night from the sensor (USB serial, Bluetooth, or the virtual sensor)",
                       description="Check the signal, then record until --duration passes, Ctrl-C, or the sensor is "
                                   "gone for good (then exit code 3; what was recorded is kept). The recording is written as it comes "
                                   "(crash-safe .kemg); events are detected live. See docs/recording.md.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--serial", metavar="PORT", type=_named("port name", "give the sensor's port (`kneeemg devices` "
                                                             "lists them)"),
                     help="serial port of the sensor (see `kneeemg devices`); on Linux its name under "
                          "/dev/serial/by-id/, which stays the same when the cable is plugged in again")
    src.add_argument("--ble", nargs="?", const=FIRST_FOUND, metavar="ADDRESS",
                     type=_named("address", "give the sensor's address, or --ble alone to take the first sensor found"),
                     help="Bluetooth: the sensor's address, or none to take the first sensor found")
    src.add_argument("--virtual", action="store_true", help="a simulated sensor (no hardware)")
    p.add_argument("--link", choices=("ble", "serial"), default=None,
                   help="with --virtual only: through bleak and a virtual BLE sensor (default), or through a pseudo-terminal")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the recording (created if it does not exist)")
    p.add_argument("--duration", type=bounded(float, MIN_RECORDING_S, MAX_RECORD_S, " s"), default=None, metavar="S",
                   help=f"stop after this many seconds, from {MIN_RECORDING_S:g} (the shortest recording replay and "
                        "import read) to 172800 (48 h); with --virtual: seconds of simulated signal, default 60")
    p.add_argument("--lsl", action="store_true", help="publish the EMG and the events as Lab Streaming Layer streams")
    p.add_argument("--import", dest="import_night", action="store_true",
                   help="when the recording ends, add the night to the history, as `kneeemg import FILE` does (the "
                        "history is checked before the sensor is contacted)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from .render import make_console
    from rich.live import Live

    from ..record import record, record_virtual
    from ..words import duration_text
    from .render import awake_words, losses_words, print_summary, stop_words

    from ..errors import DeviceError, InputError

    if args.link is not None and not args.virtual:
        raise InputError("--link chooses the virtual sensor's path; use it with --virtual (a real sensor is chosen "
                         "with --serial PORT or --ble)")
    if args.db is not None and not args.import_night:
        raise InputError("--db names the history --import adds the night to; give --import with it")
    if args.import_night:  # before the sensor is contacted: a history that cannot be used is said now, not in the morning
        from ..store import Store

        Store(args.db).close()
    console = make_console()
    if args.lsl and args.verbose < 1:  # liblsl prints its version and build at INFO (-v shows them)
        from ..record.lsl import quiet_liblsl_log

        quiet_liblsl_log()

    def on_check(check) -> None:
        if check.ok:
            console.print(f"signal check: good (noise floor {', '.join(f'{v:.1f}' for v in check.floor_uv)} µV)")
        for problem in check.problems:
            console.print(f"[bold]electrode needs attention[/bold]: {problem}")

    def on_event(ev) -> None:
        console.print(f"{datetime.now():%H:%M:%S} {ev.kind} on {ev.channel_label or ev.channel} "
                      f"({ev.duration_s:.2f} s, {ev.peak_uv:.0f} µV)")

    def line(st) -> str:
        age = "-" if st.data_age_s is None else f"{st.data_age_s:.1f} s"
        floor = "-" if not st.floor_uv else "/".join(f"{v:.1f}" for v in st.floor_uv) + " µV"
        off = f" | lead-off: {', '.join(st.lead_off)}" if st.lead_off else ""
        batt = "low" if st.battery_low else "-" if st.battery_pct is None else f"{st.battery_pct} %"
        return (f"{st.state} | data age {age} | received {duration_text(st.recorded_s)}, lost {st.lost_s:.1f} s, "
                f"bad frames {st.frames_bad} | battery {batt} | noise floor {floor}{off} | "
                f"twitches {st.twitches}, spasms {st.spasms}, cramps {st.cramps}")

    shown = False  # a status line was shown
    try:
        with Live(console=console, transient=False, refresh_per_second=2) as live, _logs_above_the_status_line():
            def on_status(st) -> None:
                nonlocal shown
                shown = True
                live.update(line(st))

            common = dict(lsl=args.lsl, on_status=on_status, on_event=on_event, on_check=on_check)
            if args.virtual:
                seconds = 60.0 if args.duration is None else args.duration
                outcome = record_virtual(args.link or "ble", seconds=seconds, out_dir=args.out, **common)
            else:
                url = (f"serial://{args.serial}" if args.serial is not None
                       else "ble://" if args.ble is FIRST_FOUND else f"ble://{args.ble}")
                outcome = record(url, args.out, duration_s=args.duration,
                                 on_awake=lambda awake: console.print(awake_words(awake), soft_wrap=True), **common)
    finally:
        if shown and not console.is_terminal:
            console.print()  # end the last status line, so that an error is on a line of its own
    why = stop_words(outcome.stop_reason)
    if outcome.stop_reason == "samples" and args.virtual:  # --duration is the simulated signal's length
        why = "all 60 s of the simulated signal recorded" if args.duration is None else stop_words("duration")
    console.print(f"recording: {outcome.path} ({why})")
    losses = losses_words(outcome.status)
    if losses:
        console.print(losses)
    length_s = outcome.status.recorded_s + outcome.status.lost_s
    if length_s < MIN_RECORDING_S:  # replay and import refuse it: no summary either (also when detection was left unfinished)
        console.print(f"the recording is {length_s:.2g} s long, too short to analyse (replay and import need at least "
                      f"{MIN_RECORDING_S:g} s); it is kept as it is -- record for longer")
    elif outcome.result is not None:
        print_summary(console, outcome.result.summary(), title="The recording")
        if args.import_night:
            from ..paths import db_path, path_text
            from ..store import import_into
            from .importcmd import outcome_line

            for file, out in import_into(args.db, [outcome.path]):
                console.print(outcome_line(path_text(file), out, path_text(db_path(args.db))), soft_wrap=True,
                              markup=False, highlight=False)
    return DeviceError.exit_code if outcome.ended_early else 0  # the sensor went away: what was recorded is kept
