"""``kneeemg replay``: run the detector over a recording and summarise it."""

from __future__ import annotations

import argparse
import math

from ..config import MAX_FS_HZ, MIN_FS_HZ

# Number checks of the options (argparse ``type=``), shared by the commands: a bad value is
# refused with a one-line usage error (exit code 2) before any work starts.


def _number(text: str, kind: type = float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_hz(text: str) -> float:
    """A rate in Hz above 0 (``--fs`` of a recording: the supported range is checked later)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a rate in Hz above 0, e.g. 1000")
    return value


def supported_hz(text: str) -> float:
    """A rate the detector and the simulator run at: 500-4000 Hz."""
    value = _number(text)
    if not MIN_FS_HZ <= value <= MAX_FS_HZ:
        raise argparse.ArgumentTypeError(f"{text} Hz is not allowed; give a rate from {MIN_FS_HZ:g} to {MAX_FS_HZ:g} Hz, "
                                         "e.g. 1000")
    return value


def whole_number(text: str) -> int:
    """A whole number (its range is checked where it is used, in that option's words)."""
    return int(_number(text, int))


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number of at least 1")
    return value


def seed(text: str) -> int:
    """A seed: a whole number of at least 0."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number of at least 0, e.g. 0")
    return value


def bounded(kind: type, lo: float, hi: float, unit: str = "", lo_open: bool = False):
    """A number from ``lo`` to ``hi`` (above ``lo`` when ``lo_open``), for argparse ``type=``."""
    def check(text: str) -> float:
        value = _number(text, kind)
        if value < lo or value > hi or (lo_open and value == lo):
            first = f"above {lo:g}" if lo_open else f"from {lo:g}"
            raise argparse.ArgumentTypeError(f"{text} is not allowed; give a {'whole ' if kind is int else ''}number "
                                             f"{first} {'up ' if lo_open else ''}to {hi:g}{unit}")
        return value

    check.__name__ = kind.__name__
    return check


def add_detector_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run the detector."""
    p.add_argument("--channels", nargs="+", default=None, metavar="LABEL",
                   help="channel labels (or indices) to use, each once (default: all channels; of an EDF/BDF file that also "
                        "holds other signals, such as ECG or EEG, the channels labelled as leg EMG)")
    p.add_argument("--fs", type=positive_hz, default=None, metavar="HZ",
                   help="sampling rate of a CSV file without a time column; a file with its own rate (a time "
                        "column, EDF, .kemg, ...) keeps that rate and --fs is not used for it (replay, import and batch say so)")
    p.add_argument("--resample", type=supported_hz, default=None, metavar="HZ",
                   help=f"resample to this rate first ({MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz, e.g. 1000): for recordings "
                        "sampled outside that range")
    p.add_argument("--mains", choices=("auto", "50", "60", "off"), default="auto", help="mains notch (default: found from the spectrum)")
    p.add_argument("--set", action="append", default=None, dest="detector_settings", metavar="NAME=VALUE",
                   help="change a detector setting (repeatable), e.g. --set onset_ratio=4; the settings and their "
                        "defaults are in docs/detector.md")


def detector_config(args: argparse.Namespace):
    """The DetectorConfig the options ask for."""
    from ..config import DetectorConfig

    mains = {"auto": "auto", "off": None}[args.mains] if args.mains in ("auto", "off") else float(args.mains)
    return DetectorConfig.with_settings(args.detector_settings or ()).replace(mains_hz=mains)


def unused_fs_note(args: argparse.Namespace, info) -> str | None:
    """A note when ``--fs`` was given but the recording has its own rate (``info``: the source's RecordingInfo)."""
    from ..io import gives_own_rate
    from ..paths import path_text

    path = getattr(info, "path", None) or args.file
    if args.fs is None or info is None or not gives_own_rate(path):
        return None
    rate = f"{info.fs_hz:g} Hz" if args.resample is None else f"then resampled to {info.fs_hz:g} Hz with --resample"
    return f"--fs {args.fs:g} was not used: {path_text(path)} gives its own sampling rate ({rate})"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="run the detector over a recording and summarise it",
                       description="Run the detector over a recording (.kemg, EDF/EDF+/BDF/BDF+, CSV, WFDB, UCI text, "
                                   ".mat) chunk by chunk, as if it were live, and print a summary.")
    p.add_argument("file", metavar="FILE", help="the recording")
    add_detector_options(p)
    p.add_argument("--events-out", metavar="CSV", help="write the events as CSV (onset order)")
    p.add_argument("--edf-out", metavar="FILE",
                   help="also write the recording as detected to a new .edf (EDF+, 16-bit) or .bdf (BDF+, 24-bit) file, "
                        "with the events, leg movements and excluded stretches as annotations, to open in an EDF viewer")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from ..metrics import rates_if_long_enough
    from ..paths import path_text
    from ..playback import recording_site, replay

    result = replay(args.file, channels=args.channels, config=detector_config(args), resample_hz=args.resample,
                    fs_hz=args.fs, events_out=args.events_out, edf_out=args.edf_out)
    summary = rates_if_long_enough(result.summary())
    note = unused_fs_note(args, result.source)
    notes = (result.source.warnings if result.source is not None else []) + ([note] if note else [])
    if args.json:
        print(json.dumps(summary, indent=2))
        for w in notes:  # on stderr, so that stdout stays JSON
            print(f"note: {w}", file=sys.stderr)
        return 0
    from .render import make_console

    from .render import print_summary

    console = make_console()
    print_summary(console, summary, title=path_text(args.file), site=recording_site(result.source))
    for w in notes:
        console.print(f"note: {w}", markup=False, highlight=False, soft_wrap=True)
    if args.events_out:
        console.print(f"events: {path_text(args.events_out)}")
    if args.edf_out:
        console.print(f"EDF with the events as annotations: {path_text(args.edf_out)}")
    return 0
