"""``kneeemg replay``: run the detector over a recording and summarise it."""

from __future__ import annotations

import argparse


def add_detector_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run the detector."""
    p.add_argument("--channels", nargs="+", default=None, metavar="LABEL", help="channel labels (or indices) to use")
    p.add_argument("--fs", type=float, default=None, help="sampling rate of a CSV file without a time column")
    p.add_argument("--resample", type=float, default=None, metavar="HZ", help="resample to this rate first (e.g. 1000)")
    p.add_argument("--mains", choices=("auto", "50", "60", "off"), default="auto", help="mains notch (default: found from the spectrum)")


def detector_config(args: argparse.Namespace):
    """The DetectorConfig the options ask for."""
    from ..config import DetectorConfig

    mains = {"auto": "auto", "off": None}[args.mains] if args.mains in ("auto", "off") else float(args.mains)
    return DetectorConfig(mains_hz=mains)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="run the detector over a recording and summarise it",
                       description="Run the detector over a recording (.kemg, EDF/EDF+/BDF/BDF+, CSV, WFDB, UCI text, "
                                   ".mat) chunk by chunk, as if it were live, and print a summary.")
    p.add_argument("file", metavar="FILE", help="the recording")
    add_detector_options(p)
    p.add_argument("--events-out", metavar="CSV", help="write the events as CSV (onset order)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..replay import replay

    result = replay(args.file, channels=args.channels, config=detector_config(args), resample_hz=args.resample,
                    fs_hz=args.fs, events_out=args.events_out)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    from rich.console import Console

    from .render import print_summary

    console = Console()
    print_summary(console, summary, title=str(args.file))
    for w in (result.source.warnings if result.source is not None else []):
        console.print(f"note: {w}")
    if args.events_out:
        console.print(f"events: {args.events_out}")
    return 0
