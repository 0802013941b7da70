"""Terminal rendering shared by the sub-commands (rich tables). Printing only, no logic."""

from __future__ import annotations

from typing import Any, Mapping


def _hm(seconds: float) -> str:
    h, m = divmod(int(round(seconds / 60.0)), 60)
    return f"{h} h {m:02d} min"


def print_summary(console: Any, summary: Mapping[str, Any], title: str = "Summary") -> None:
    """Print a :meth:`DetectionResult.summary` as a table."""
    from rich.table import Table

    usable_pct = 100.0 * summary.get("usable_fraction", 0.0)
    chans = ", ".join(summary.get("channels", []))
    console.print(f"[bold]{title}[/bold] ({chans}): recorded {_hm(summary['recording_s'])}, "
                  f"usable {_hm(summary['usable_s'])} ({usable_pct:.1f} %)"
                  + (f", lost {_hm(summary['lost_s'])}" if summary.get("lost_s") else ""))
    table = Table(show_header=True, header_style="bold")
    table.add_column("kind")
    table.add_column("events", justify="right")
    table.add_column("per usable hour", justify="right")
    for kind, n in summary["counts"].items():
        rate = summary["per_usable_hour"].get(kind)
        table.add_row(kind, str(n), "-" if rate is None else f"{rate:.1f}")
    lm = summary.get("leg_movements_thigh", {})
    if lm:
        rate = lm.get("plm_per_usable_hour")
        table.add_row("leg movements*", str(lm.get("count", 0)), "-")
        table.add_row("  in periodic series*", str(lm.get("in_series", 0)), "-" if rate is None else f"{rate:.1f}")
    console.print(table)
    if lm:
        console.print("* WASM 2016 leg-movement rules, computed from the thigh (sleep labs use the shin muscle).")
    excl = summary.get("excluded_s_by_reason") or {}
    if excl:
        console.print("Excluded time: " + ", ".join(f"{k} {v:.0f} s" for k, v in excl.items()))


def print_score(console: Any, score: Any) -> None:
    """Print a :class:`kneeemg.scoring.Score` (detected against ground truth)."""
    from rich.table import Table

    table = Table(title="Detector against the simulator's ground truth", header_style="bold")
    for col in ("kind", "true", "found", "sensitivity", "precision", "F1"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    def num(x: float) -> str:
        return "-" if x != x else f"{x:.3f}"  # nan: no such events, nothing to rate

    for kind, k in score.per_kind.items():
        table.add_row(kind, str(k.tp + k.fn), str(k.tp_detected + k.fp), num(k.sensitivity), num(k.precision), num(k.f1))
    console.print(table)
    console.print(f"Median onset error {score.onset_error_ms:.1f} ms, offset error {score.offset_error_ms:.1f} ms.")
