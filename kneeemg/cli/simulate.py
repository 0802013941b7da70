"""``kneeemg simulate``: write a simulated night and its ground truth."""

from __future__ import annotations

import argparse
import math

from .replay import bounded, seed, supported_hz

#: Longest simulated night, h, and most channels (the simulator's limits).
MAX_HOURS = 48.0
MAX_CHANNELS = 64


def night_hours(text: str) -> float:
    """A simulated night's length in hours, for argparse ``type=``: long enough for the
    detector (:data:`kneeemg.config.MIN_RECORDING_S`) and at most :data:`MAX_HOURS`."""
    from ..config import MIN_RECORDING_S

    value = bounded(float, 0, MAX_HOURS, " h", lo_open=True)(text)
    if value * 3600.0 < MIN_RECORDING_S:
        least = math.ceil(MIN_RECORDING_S / 3600.0 * 1e6) / 1e6
        raise argparse.ArgumentTypeError(f"{text} h is shorter than the {MIN_RECORDING_S:g} s the detector needs; give "
                                         f"at least {least:g} h, up to {MAX_HOURS:g} h")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="write a simulated night and its ground-truth events",
                       description="Write a seeded, simulated night of quadriceps EMG to FILE, and beside it "
                                   "FILE.truth.csv (true events) and FILE.artefacts.csv (true artefacts).")
    p.add_argument("--hours", type=night_hours, default=8.0,
                   help=f"length in hours, at least 0.25 s and at most {MAX_HOURS:g} (default 8)")
    p.add_argument("--channels", type=bounded(int, 1, MAX_CHANNELS), default=1, help=f"channels, 1-{MAX_CHANNELS} (default 1)")
    p.add_argument("--fs", type=supported_hz, default=1000.0, metavar="HZ", help="sampling rate, 500-4000 Hz (default 1000)")
    p.add_argument("--seed", type=seed, default=0, help="seed, a whole number of at least 0 (default 0)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output file ending in .kemg (kneeemg's own format), .edf or .bdf")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..simulate import check_simulated_path, simulate_night, write_simulated
    from ..words import plural

    check_simulated_path(args.out)  # before the work
    night = simulate_night(hours=args.hours, n_channels=args.channels, fs_hz=args.fs, seed=args.seed)
    paths = write_simulated(night, args.out)
    truth = night.info.annotations
    counts = ", ".join(plural(sum(e.kind == k for e in truth), k) for k in ("twitch", "spasm", "cramp"))
    print(f"wrote {paths['recording']} ({args.hours:g} h, {plural(args.channels, 'channel')}, {args.fs:g} Hz, "
          f"seed {args.seed}): {counts}, {plural(len(night.info.annotated_artefacts), 'artefact')}")
    print(f"ground truth: {paths['truth']} and {paths['artefacts']}")
    return 0
