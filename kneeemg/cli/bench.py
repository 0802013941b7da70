"""``kneeemg bench``: speed and accuracy benchmarks."""

from __future__ import annotations

import argparse
import shlex
from typing import Any, Mapping

from .replay import seed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark the detector's speed and accuracy against other tools")
    kinds = p.add_subparsers(dest="bench_kind", metavar="KIND", required=True)
    s = kinds.add_parser("speed", help="throughput, per-chunk latency and first-run time against scipy and NeuroKit2")
    s.add_argument("--quick", action="store_true",
                   help="for CI: 10 minutes of 1- and 4-channel data and 1 minute of 64-channel data, instead of "
                        "8 hours and 10 minutes")
    s.add_argument("--seed", type=seed, default=0, help="seed of the simulated data, a whole number of at least 0 "
                                                         "(default 0)")
    s.add_argument("--json", metavar="FILE", help="write the results as JSON")
    s.add_argument("--plot", metavar="FILE", help="save a throughput plot (PNG)")
    s.set_defaults(func=run_speed)
    a = kinds.add_parser("accuracy", help="event-level accuracy on real background with known events, real movements, "
                                          "and simulated nights, against NeuroKit2, BioSPPy and psgscoring")
    a.add_argument("--quick", action="store_true",
                   help="a minute of signal per SNR, a short simulated night and no slow baseline (for CI)")
    a.add_argument("--data-dir", metavar="DIR", help="folder of public recordings (default: $KNEEEMG_DATA)")
    a.add_argument("--json", metavar="FILE", help="write the results as JSON")
    a.add_argument("--plot", metavar="FILE", help="save F1 against SNR per tool and kind (PNG)")
    a.set_defaults(func=run_accuracy)


def _span(hours: float) -> str:
    """A length of data: "10 min" below an hour, else "8 h"."""
    return f"{hours * 60:.3g} min" if hours < 1 else f"{hours:g} h"


def machine_text(machine: Mapping[str, Any]) -> str:
    """The machine a benchmark ran on, as one readable line."""
    parts = [str(machine.get("cpu") or "unknown CPU")]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gb"):
        parts.append(f"{machine['memory_gb']:g} GB memory")
    versions = ", ".join(f"{name} {machine[key]}" for key, name in
                         (("python", "Python"), ("numpy", "numpy"), ("scipy", "scipy"), ("numba", "numba"))
                         if machine.get(key))
    known = {"cpu", "cores", "memory_gb", "python", "numpy", "scipy", "numba"}
    others = ", ".join(f"{k} {v}" for k, v in machine.items() if k not in known and v is not None)
    return ", ".join(parts) + (f"; {versions}" if versions else "") + (f"; {others}" if others else "")


def run_speed(args: argparse.Namespace) -> int:
    from .render import make_console
    from rich.table import Table

    from ..bench import check_outputs
    from ..bench.speed import run_speed as speed
    from ..words import plural

    check_outputs(args.json, args.plot)
    console = make_console()
    command = "kneeemg " + " ".join(shlex.quote(a) for a in args.argv)
    with console.status("timing (this takes a while for the full run)..."):
        report = speed(quick=args.quick, seed=args.seed, command=command)
    table = Table(title="Speed", header_style="bold")
    for col in ("case", "tool", "M channel-samples/s", "x slower than kneeemg batch", "chunk median µs", "chunk p99 µs"):
        table.add_column(col, justify="left" if col in ("case", "tool") else "right")
    for r in report.rows:
        ratio = report.ratio(r.case, r.tool)
        table.add_row(r.case, r.tool + (" (scaled)" if r.extrapolated else ""), f"{r.samples_per_s / 1e6:.2f}",
                      "" if ratio is None else f"{ratio:.2f}",
                      "" if r.chunk_median_us is None else f"{r.chunk_median_us:.1f}",
                      "" if r.chunk_p99_us is None else f"{r.chunk_p99_us:.1f}")
    console.print(table)
    console.print(f"First run with an empty numba cache: {report.first_run_s:.1f} s.")
    console.print(f"Machine: {machine_text(report.machine)}", markup=False, highlight=False)
    mem, pool = report.extra["replay_memory"], report.extra["batch_local_pool"]
    console.print(f"Replaying a {_span(mem['hours'])}, {mem['channels']}-channel night from disk ({mem['file_mb']} MB): "
                  f"{mem['replay_s']} s, peak memory {mem['peak_rss_mb']} MB.")
    console.print(f"Batch on the local pool: {pool['nights_per_minute_per_core']} nights per minute per core "
                  f"({plural(pool['nights'], 'night')} of {_span(pool['hours_each'])}, {plural(pool['workers'], 'worker')}, "
                  f"{pool['seconds']} s).")
    if args.json:
        console.print(f"JSON: {report.write_json(args.json)}")
    if args.plot:
        from ..bench.plots import throughput_plot

        console.print(f"plot: {throughput_plot(report, args.plot)}")
    return 0


def _pct(x: float) -> str:
    return "" if x is None or x != x else f"{x:.2f}"


def _ms(x: float) -> str:
    return "" if x is None or x != x else f"{x:.0f}"


def run_accuracy(args: argparse.Namespace) -> int:
    from .render import make_console
    from rich.table import Table

    from ..bench.accuracy import KNEEEMG, SNRS_DB
    from ..bench.accuracy import run_accuracy as accuracy
    from ..bench import check_outputs
    from ..datadir import find_data_dir
    from ..events import KINDS
    from ..paths import check_given

    check_given(args.data_dir, "--data-dir", "the folder of public recordings, or leave --data-dir out")
    check_outputs(args.json, args.plot)
    console = make_console(min_width=130)
    command = "kneeemg " + " ".join(shlex.quote(a) for a in args.argv)
    if find_data_dir(args.data_dir) is None:
        console.print("No data directory (set KNEEEMG_DATA or --data-dir): running the simulated part only.")
    with console.status("scoring (the full run takes a while)...") as status:
        report = accuracy(quick=args.quick, data_dir=args.data_dir, command=command,
                          progress=lambda s: status.update(f"scoring: {s}..."))
    snrs = sorted({r.snr_db for r in report.rows if r.part == "inserted"}) or list(SNRS_DB)
    for kind in KINDS:
        rows = report.select("inserted", kind=kind)
        if not rows:
            continue
        t = Table(title=f"Inserted events on real background, {kind}: F1 by SNR (dB)", header_style="bold")
        t.add_column("tool")
        for snr in snrs:
            t.add_column(f"{snr:g}", justify="right")
        for tool in report.tools("inserted"):
            f1 = {r.snr_db: r.f1 for r in rows if r.tool == tool}
            t.add_row(tool, *(_pct(f1.get(s)) for s in snrs), style="bold" if tool == KNEEEMG else None)
        console.print(t)
    detail = Table(title="kneeemg per kind: inserted events (by SNR), movements, simulated nights", header_style="bold")
    for col in ("part", "SNR dB", "kind", "truth", "reported", "found", "sens", "prec", "F1", "onset ms", "offset ms",
                "rate err /h"):
        detail.add_column(col, justify="left" if col in ("part", "kind") else "right")
    for r in report.rows:
        if r.tool == KNEEEMG and (r.n_truth or r.n_detected):
            detail.add_row(r.part, "" if r.snr_db is None else f"{r.snr_db:g}", r.kind, str(r.n_truth), str(r.n_detected),
                           _pct(r.found), _pct(r.sensitivity), _pct(r.precision), _pct(r.f1), _ms(r.onset_error_ms),
                           _ms(r.offset_error_ms), f"{r.rate_error_per_h:+.0f}")
    console.print(detail)
    ins = report.extra.get("inserted", {})
    by_source = ins.get("kneeemg_found_by_source") or {}
    if by_source:
        t = Table(title="kneeemg: share found (whatever kind it was given) by inserted source and SNR (dB)",
                  header_style="bold")
        t.add_column("source")
        for snr in by_source:
            t.add_column(snr, justify="right")
        for src in next(iter(by_source.values())):
            t.add_row(src, *(_pct(by_source[snr].get(src)) for snr in by_source))
        console.print(t)
    if ins.get("kneeemg_events_on_background_alone_per_h") is not None:
        console.print(f"kneeemg on the backgrounds alone: {ins['kneeemg_events_on_background_alone_per_h']:.0f} events per hour.")
    moves = [r for r in report.rows if r.part == "movements" and r.n_truth]
    if moves:
        t = Table(title="Goniometer movements matched by quadriceps bursts (each movement on VM and on RF)",
                  header_style="bold")
        for col in ("tool", "kind", "movement x channel", "bursts", "found", "sens", "prec", "F1", "onset ms"):
            t.add_column(col, justify="left" if col in ("tool", "kind") else "right")
        for r in moves:
            n_det = sum(o.n_detected for o in report.select("movements", r.tool))
            t.add_row(r.tool, r.kind, str(r.n_truth), str(n_det), _pct(r.found), _pct(r.sensitivity), _pct(r.precision),
                      _pct(r.f1), _ms(r.onset_error_ms))
        console.print(t)
        lead = report.extra.get("movements", {}).get("kneeemg_emg_lead_ms_median")
        if lead is not None:
            console.print(f"kneeemg: EMG onset leads the goniometer by a median {lead:.0f} ms.")
    targets = Table(title="Targets", header_style="bold")
    for col in ("target", "measured", "where", "met"):
        targets.add_column(col)
    for tg in report.targets():
        v = tg["value"]
        targets.add_row(tg["target"], f"{v:.3f}" if isinstance(v, float) else str(v), tg["where"],
                        "[green]yes[/]" if tg["met"] else "[red]no[/]")
    console.print(targets)
    for note in report.notes:
        console.print(note)
    errors = {**report.extra.get("inserted", {}).get("tool_errors", {}), **report.extra.get("movements", {}).get("tool_errors", {})}
    for tool, err in errors.items():
        console.print(f"{tool} did not run: {err}")
    console.print(f"Machine: {machine_text(report.machine)}", markup=False, highlight=False)
    if args.json:
        console.print(f"JSON: {report.write_json(args.json)}")
    if args.plot:
        from ..bench.plots import f1_snr_plot

        console.print(f"plot: {f1_snr_plot(report, args.plot)}")
    return 0
