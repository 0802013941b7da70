"""``kneeemg batch``: reprocess many nights on this machine or a Dask cluster."""

from __future__ import annotations

import argparse

from .replay import add_detector_options, detector_config, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="run the detector over many recordings (process pool or Dask cluster)",
                       description="Run the same detector as `kneeemg replay`, with the same settings, over every "
                                   "recording named by INPUTS (files, folders, glob patterns). Writes per-night "
                                   "results and a cohort table (CSV and Parquet). Nights already done are skipped.",
                       epilog="Exit code: 0 when every night was processed, 1 when any night failed (each failure is "
                              "listed, and recorded in the cohort table), 2 for bad options or inputs, 4 when --db is not a kneeemg "
                              "history (checked before any night).")
    p.add_argument("inputs", nargs="+", metavar="INPUTS", help="recording files, folders or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created when missing)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes, at least 1 (default: one per core); not with the address of an existing "
                        "Dask cluster, which has its own")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786), or 'local' to start a LocalCluster")
    add_detector_options(p)
    p.add_argument("--db", default=None, help="also import the nights into this history database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import time

    from .render import make_console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..batch import run_batch
    from ..words import plural
    from ..io.array import check_channel_choice

    check_channel_choice(args.channels)  # before any night starts (each night would fail on it)
    if args.scheduler and not getattr(args, "verbose", 0):
        import distributed  # noqa: F401 - sets its loggers to INFO on import; quieten them after

        logging.getLogger("distributed").setLevel(logging.WARNING)
    console = make_console()
    columns = (TextColumn("nights"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    # the bar shows from the first finished night on: run_batch's checks of the options come first,
    # and an error then is its one line alone; only in a terminal (written to a file or a pipe, a
    # transient bar leaves an empty line above the summary)
    bar = Progress(*columns, console=console, transient=True)
    task = bar.add_task("batch", total=None, rate="")
    t0 = time.perf_counter()

    def progress(done: int, total: int, row: dict) -> None:
        if not bar.live.is_started and console.is_terminal:
            bar.start()
        per_min = done / max(1e-9, time.perf_counter() - t0) * 60
        bar.update(task, completed=done, total=total, rate=f"{per_min:.1f} nights/min")

    try:
        result = run_batch(args.inputs, args.out, config=detector_config(args), workers=args.workers,
                           scheduler=args.scheduler, channels=args.channels, resample_hz=args.resample, fs_hz=args.fs,
                           progress=progress, db=args.db)
    finally:
        if bar.live.is_started:  # (stopping a bar never started would print an empty line)
            bar.stop()
    ok = len(result.rows) - len(result.failed)
    console.print(f"{plural(len(result.rows), 'night')}: {ok} ok, {len(result.failed)} failed, "
                  f"{result.processed} processed now, {len(result.rows) - result.processed} already done.", highlight=False)
    for row in result.failed:
        error = row["error"] or ""
        # most errors already name the file; do not name it twice
        console.print(f"  failed: {error if str(row['path']) in error else row['path'] + ': ' + error}",
                      markup=False, highlight=False, soft_wrap=True)
    console.print(f"cohort table: {result.csv_path} and {result.parquet_path}", markup=False, highlight=False, soft_wrap=True)
    if args.fs is not None:
        from ..io import gives_own_rate

        own = sum(gives_own_rate(r["path"]) for r in result.rows)
        if own:
            console.print(f"note: --fs {args.fs:g} was not used for {plural(own, 'night')}: their files give their own "
                          "sampling rate", markup=False, highlight=False, soft_wrap=True)
    if args.db is not None:
        from ..store import import_batch

        n = import_batch(result, args.db)
        console.print(f"imported {plural(n, 'new night')} into {args.db}", markup=False, highlight=False, soft_wrap=True)
    return 1 if result.failed else 0  # any failed night: non-zero, whether or not others succeeded
