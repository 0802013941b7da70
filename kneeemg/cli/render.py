"""Terminal rendering shared by the sub-commands (rich tables). Printing only, no logic."""

from __future__ import annotations

from typing import Any, Mapping, Sequence


#: Width of the output when it goes to a file or a pipe (a terminal gives its own).
FILE_WIDTH = 160


def make_console(min_width: int = 0, **kwargs: Any) -> Any:
    """A rich Console, at least ``min_width`` columns wide; written to a file or a pipe,
    tables are not squeezed into 80 columns. Output piped into a program that stops reading
    (``| head``) ends the command quietly, as the CLI's other output does (rich itself
    would exit with status 1)."""
    import os
    import sys

    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            raise BrokenPipeError

    console = _Console(**kwargs)
    width = FILE_WIDTH if not console.is_terminal else console.width
    if width != console.width or min_width > width:
        console = _Console(width=max(width, min_width), **kwargs)
    return console


#: Why a recording ended, in plain words (by :attr:`kneeemg.record.RecordOutcome.stop_reason`).
STOP_WORDS = {
    "duration": "--duration reached",
    "samples": "all the simulated signal streamed",
    "interrupted": "stopped by Ctrl-C",
    "terminated": "stopped by SIGTERM",
    "hangup": "stopped by SIGHUP (the terminal was closed)",
    "stopped": "stopped on request",
    "link closed": "the sensor closed the connection",
    "link lost": "sensor disconnected and did not come back",
    "no data": "the sensor stopped sending data",
}


def list_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], folding: Sequence[str] = ()) -> Any:
    """A rich table of ``rows`` (text cells) under ``columns``: every column but those in
    ``folding`` at least as wide as its longest cell, so that no date or number is ever cut
    (a header wraps at its spaces instead); the ``folding`` ones fold their text into what
    width is left. Compact: no vertical lines, one space each side."""
    from rich import box
    from rich.table import Table

    table = Table(header_style="bold", title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True)
    for i, col in enumerate(columns):
        if col in folding:
            table.add_column(col, overflow="fold")
        else:
            width = max([len(word) for word in col.split()] + [len(r[i]) for r in rows])
            table.add_column(col, justify="left" if col == "date" else "right", min_width=width)
    for r in rows:
        table.add_row(*r)
    return table


def print_list(console: Any, table: Any) -> None:
    """Print a :func:`list_table`: in a terminal folded to its width; into a file or a pipe
    whole, however wide, so that a long file name stays on one line to be searched."""
    if not console.is_terminal:
        wide = console.measure(table, options=console.options.update(max_width=100_000)).maximum
        if wide > console.width:
            console = make_console(min_width=wide, file=console.file)
    console.print(table)


def stop_words(reason: str) -> str:
    """Why a recording ended, in plain words."""
    return STOP_WORDS.get(reason, reason)


def awake_words(awake: Any) -> str:
    """Whether the computer is kept from sleeping while recording (a :class:`~kneeemg.record.KeepAwake`), in one line."""
    if awake.held:
        return (f"this computer is kept from sleeping until the recording ends ({awake.method}); the screen may still "
                "turn off, and closing a laptop's lid may still put it to sleep")
    from rich.markup import escape

    return (f"[bold]this computer may fall asleep during the night[/bold], and the recording would pause with it: it "
            f"could not be kept awake ({escape(awake.why_not)}); set it not to sleep tonight (docs/recording.md, "
            "\"Keeping the computer awake\")")


def losses_words(status: Any) -> str | None:
    """What a recording lost on the way (a :class:`~kneeemg.record.RecordStatus`), or None when nothing."""
    from ..words import duration_text, plural

    if not (status.samples_lost or status.frames_bad):
        return None
    late = f"{plural(status.late, 'frame')} dropped as too late; " if status.late else ""
    asleep = (f" (this computer was asleep for about {duration_text(status.asleep_s)} of it: docs/recording.md, \"Keeping "
              "the computer awake\")" if status.asleep_s else "")
    return (f"lost {status.lost_s:.1f} s in gaps{asleep}; {plural(status.frames_bad, 'damaged frame')} dropped; {late}"
            f"{plural(status.reconnects, 'reconnect')}")


def print_summary(console: Any, summary: Mapping[str, Any], title: str = "Summary", site: str | None = "thigh") -> None:
    """Print a :meth:`DetectionResult.summary` as a table; ``site``: the muscle recorded
    (:func:`~kneeemg.io.channels.muscle_site`), for the leg movements' footnote."""
    from rich.table import Table

    from ..guidance.features import TriageConfig, gives_rate
    from ..words import duration_text, site_words

    # a recording too short to give a rate shows none, as the nights list, trends and the report
    rates = gives_rate(summary["usable_s"])
    usable_pct = 100.0 * summary.get("usable_fraction", 0.0)
    chans = ", ".join(summary.get("channels", []))
    console.print(f"[bold]{title}[/bold] ({chans}): recorded {duration_text(summary['recording_s'])}, "
                  f"usable {duration_text(summary['usable_s'])} ({usable_pct:.1f} %)"
                  + (f", lost {duration_text(summary['lost_s'])}" if summary.get("lost_s") else ""))
    table = Table(show_header=True, header_style="bold")
    table.add_column("kind")
    table.add_column("events", justify="right")
    table.add_column("per usable hour", justify="right")
    for kind, n in summary["counts"].items():
        # from the count (the summary's rate is rounded to 0.01 already: 55.05 would show as 55.0, the nights list's 55.1)
        rate = n / (summary["usable_s"] / 3600.0) if summary["usable_s"] > 0 else None
        table.add_row(kind, str(n), "-" if rate is None or not rates else f"{rate:.1f}")
    lm = summary.get("leg_movements_thigh", {})
    if lm:
        rate = lm.get("plm_per_usable_hour")
        table.add_row("leg movements*", str(lm.get("count", 0)), "-")
        table.add_row("  in periodic series*", str(lm.get("in_series", 0)), "-" if rate is None or not rates else f"{rate:.1f}")
    console.print(table)
    if lm:
        lab = ("as a sleep lab scores them, but over all usable time, awake time included" if site == "shin"
               else "sleep labs use the shin muscle")
        console.print(f"* WASM 2016 leg-movement rules, computed from {site_words(site)} ({lab}).")
    if not rates:
        hours = TriageConfig().min_usable_hours
        console.print(f"No rates: {duration_text(summary['usable_s'])} of usable time is less than the {hours:g} h a rate "
                      "needs (as in the nights list, trends and the report).", highlight=False)
    excl = summary.get("excluded_s_by_reason") or {}
    if excl:
        from ..words import reason_words

        added = " (each channel's time added up; usable time is when any channel is usable)" if len(summary.get("channels", [])) > 1 else ""
        console.print(f"Excluded time{added}: " + ", ".join(f"{reason_words(k)} {duration_text(v)}" for k, v in excl.items()),
                      highlight=False, soft_wrap=True)


def print_score(console: Any, score: Any) -> None:
    """Print a :class:`kneeemg.scoring.Score` (detected against ground truth)."""
    from rich.table import Table

    table = Table(title="Detector against the simulator's ground truth", header_style="bold")
    for col in ("kind", "true", "reported", "found", "sensitivity", "precision", "F1"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    def num(x: float) -> str:
        return "-" if x != x else f"{x:.3f}"  # nan: no such events, nothing to rate

    for kind, k in score.per_kind.items():
        table.add_row(kind, str(k.n_truth), str(k.n_detected), num(k.found_share), num(k.sensitivity), num(k.precision), num(k.f1))
    console.print(table)
    console.print("found: the share of true events detected, whatever kind they were given; sensitivity, precision and F1 count an "
                  "event only when it was given its kind.", highlight=False)
    console.print(f"Median onset error {score.onset_error_ms:.1f} ms, offset error {score.offset_error_ms:.1f} ms.")
