"""``kneeemg batch``: reprocess many nights on this machine or a Dask cluster."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="run the detector over many recordings (process pool or Dask cluster)",
                       description="Run the same detector as `kneeemg replay`, with the same settings, over every "
                                   "recording named by INPUTS (files, folders, glob patterns). Writes per-night "
                                   "results and a cohort table (CSV and Parquet). Nights already done are skipped.")
    p.add_argument("inputs", nargs="+", metavar="INPUTS", help="recording files, folders or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786), or 'local' to start a LocalCluster")
    p.add_argument("--channels", nargs="+", default=None, help="channel labels to use in every recording")
    p.add_argument("--resample", type=float, default=None, metavar="HZ", help="resample recordings to this rate first")
    p.add_argument("--db", default=None, help="also import the nights into this history database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..batch import run_batch

    console = Console()
    columns = (TextColumn("nights"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("batch", total=None, rate="")
        import time

        t0 = time.perf_counter()

        def progress(done: int, total: int, row: dict) -> None:
            per_min = done / max(1e-9, time.perf_counter() - t0) * 60
            bar.update(task, completed=done, total=total, rate=f"{per_min:.1f} nights/min")

        result = run_batch(args.inputs, args.out, workers=args.workers, scheduler=args.scheduler,
                           channels=args.channels, resample_hz=args.resample, progress=progress)
    ok = len(result.rows) - len(result.failed)
    console.print(f"{len(result.rows)} nights: {ok} ok, {len(result.failed)} failed, "
                  f"{result.processed} processed now, {len(result.rows) - result.processed} already done.")
    for row in result.failed:
        console.print(f"  failed: {row['path']}: {row['error']}")
    console.print(f"cohort table: {result.csv_path} and {result.parquet_path}")
    if args.db:
        from ..store import import_batch

        n = import_batch(result, args.db)
        console.print(f"imported {n} new night(s) into {args.db}")
    return 1 if result.failed and ok == 0 else 0
