"""``kneeemg simulate``: write a simulated night and its ground truth."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="write a simulated night and its ground-truth events",
                       description="Write a seeded, simulated night of quadriceps EMG to FILE, and beside it "
                                   "FILE.truth.csv (true events) and FILE.artefacts.csv (true artefacts).")
    p.add_argument("--hours", type=float, default=8.0, help="length in hours (default 8)")
    p.add_argument("--channels", type=int, default=1, help="channels (default 1)")
    p.add_argument("--fs", type=float, default=1000.0, help="sampling rate in Hz (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", required=True, metavar="FILE", help="output file: .kemg (default format), .edf or .bdf")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..simulate import simulate_night, write_simulated

    night = simulate_night(hours=args.hours, n_channels=args.channels, fs_hz=args.fs, seed=args.seed)
    paths = write_simulated(night, args.out)
    truth = night.info.annotations
    print(f"wrote {paths['recording']} ({args.hours:g} h, {args.channels} channel(s), {args.fs:g} Hz, seed {args.seed}): "
          f"{sum(e.kind == 'twitch' for e in truth)} twitches, {sum(e.kind == 'spasm' for e in truth)} spasms, "
          f"{sum(e.kind == 'cramp' for e in truth)} cramps, {len(night.info.annotated_artefacts)} artefacts")
    print(f"ground truth: {paths['truth']} and {paths['artefacts']}")
    return 0
