"""The report's figures, drawn by matplotlib and returned as base64 PNG for inlining.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot state, no
backend switch), sized for a phone's width: :data:`WIDTH_IN` inches wide with 9-10 pt text,
so that a phone's column (about 320 CSS px) shows its smallest text at about 12 CSS px. The
page (``report.css``) shows them no wider than 460 CSS px, where that text is about 17 px.
Their time axes are in seconds, minutes or hours from the start, as suits the recording's
length (:func:`time_unit`).
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
from datetime import date
from typing import Any, Sequence

import numpy as np

from ..events import Event, ExcludedInterval
from ..words import reason_words

KIND_COLOURS = {"twitch": "#1f77b4", "spasm": "#ff7f0e", "cramp": "#d62728"}
REASON_COLOURS = {"flat": "#7f7f7f", "saturation": "#8c564b", "dc_jump": "#bcbd22", "movement": "#e377c2",
                  "mains": "#17becf", "settling": "#c7c7c7", "noise_rise": "#9467bd", "lost": "#d62728",
                  "spike": "#ff9896", "step": "#dbdb8d"}
#: Figure width, inches, and resolution, dots per inch (about twice a phone column's CSS px).
WIDTH_IN = 3.3
DPI = 180
#: Text size of tick and axis labels, and of the smallest text (legends, notes, titles), points.
TEXT_PT = 10
SMALL_PT = 9
#: A time axis is in seconds for a recording shorter than the first (s), in minutes for one
#: shorter than the second, else in hours.
SECONDS_BELOW_S, MINUTES_BELOW_S = 120.0, 7200.0
#: An hour with less usable signal than this (s) is drawn pale in the per-hour chart.
SHORT_HOUR_S = 600.0
#: Channel labels longer than this (characters) are shortened in the figures (the page names them in full).
LABEL_CHARS = 14
#: The timeline's legend is one row while its labels ("twitch (653)"...) have at most this many
#: characters together, else two.
LEGEND_ROW_CHARS = 33
#: The per-hour chart labels at most this many of its bars (every 2nd, 3rd... of a long night's).
HOUR_LABELS = 10
#: A trace's title is wrapped to lines of at most this many characters (whole within the figure,
#: which starts it at its plot's left edge, right of the µV ticks).
TITLE_CHARS = 36


def _figure(height_in: float = 2.4, rows: int = 1, **kw: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, squeeze=False, **kw)[:, 0]
    for ax in axes:
        ax.tick_params(labelsize=TEXT_PT)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def short_labels(labels: Sequence[str], width: int = LABEL_CHARS) -> list[str]:
    """Channel labels for a figure: each longer than ``width`` characters keeps its start and
    end around an ellipsis ("Vastus…distal)"); labels that would then read alike are told
    apart by their channel's number ("1 Vast…distal)")."""
    def cut(text: str) -> str:
        head = (width - 1) // 2
        return text if len(text) <= width else f"{text[:head]}…{text[len(text) - (width - 1 - head):]}"

    out = [cut(label) for label in labels]
    return [cut(f"{i + 1} {label}") if out.count(out[i]) > 1 and len(label) > width else out[i]
            for i, label in enumerate(labels)]


def time_unit(total_s: float) -> tuple[float, str]:
    """The unit of a time axis over a recording of ``total_s`` seconds.

    Parameters
    ----------
    total_s : float
        Length of the recording, s.

    Returns
    -------
    (float, str)
        The unit's length in seconds and its name: seconds below :data:`SECONDS_BELOW_S`,
        minutes below :data:`MINUTES_BELOW_S`, else hours (a 12-minute night reads
        "0 ... 12 minutes", not "0.000 ... 0.200 hours").
    """
    if total_s < SECONDS_BELOW_S:
        return 1.0, "seconds"
    return (60.0, "minutes") if total_s < MINUTES_BELOW_S else (3600.0, "hours")


def _time_axis(ax: Any, total_s: float, note: str = "") -> float:
    """Make ``ax``'s x axis the time from the start of a ``total_s``-second recording, in
    :func:`time_unit`'s unit (``note``: a second line of its label); returns the unit, s."""
    unit_s, name = time_unit(total_s)
    ax.set_xlim(0, max(total_s / unit_s, 1e-3))
    ax.set_xlabel(f"{name} from the start" + (f"\n{note}" if note else ""), fontsize=TEXT_PT)
    return unit_s


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def per_hour(hours: Sequence[dict[str, Any]]) -> str:
    """Bar chart of twitches per usable hour in each clock hour of the night.

    ``hours`` are the ``per_clock_hour`` rows of the night's metrics.
    """
    fig, (ax,) = _figure()
    labels = [h["clock"] for h in hours]
    # an hour with under 10 usable minutes gives a rate on little signal: drawn pale, and one
    # with none is left empty (marked "no signal"), not drawn as a quiet hour
    rates = [h.get("twitch_per_usable_hour") for h in hours]
    short = [(h.get("usable_s") or 0.0) < SHORT_HOUR_S for h in hours]
    ax.bar(range(len(hours)), [r or 0 for r in rates], color=KIND_COLOURS["twitch"], edgecolor=KIND_COLOURS["twitch"])
    for patch, little in zip(ax.patches, short):
        if little:
            patch.set_alpha(0.3)
    for i, r in enumerate(rates):
        if r is None:
            ax.text(i, 0, "no signal", rotation=90, ha="center", va="bottom", fontsize=SMALL_PT, color="#666")
    if any(short):
        ax.set_title("pale: less than 10 usable minutes\nin that hour", fontsize=SMALL_PT,
                     color="#555", loc="left")
    every = -(-len(hours) // HOUR_LABELS)  # a long night's hours labelled every 2nd (3rd...) bar, apart
    ax.set_xticks(range(0, len(hours), every), labels[::every], rotation=45 if len(hours) > 5 else 0, fontsize=TEXT_PT)
    ax.set_ylabel("twitches per hour", fontsize=TEXT_PT)
    ax.set_xlabel("hour of the night", fontsize=TEXT_PT)
    return _png(fig)


def timeline(events: Sequence[Event], excluded: Sequence[ExcludedInterval], labels: Sequence[str], recording_s: float) -> str:
    """Every event as a mark on its channel's row, with excluded time shaded grey."""
    from matplotlib.patches import Rectangle

    fig, (ax,) = _figure(height_in=1.3 + 0.45 * len(labels))
    h = 1 / _time_axis(ax, recording_s, "(grey: excluded time)")
    for iv in excluded:
        ax.add_patch(Rectangle((iv.start_s * h, iv.channel - 0.42), max(iv.duration_s * h, recording_s * h / 800), 0.84,
                               color="#d0d0d0", lw=0, zorder=0))
    names = []
    for kind, colour in KIND_COLOURS.items():
        evs = [e for e in events if e.kind == kind]
        names.append(f"{kind} ({len(evs)})")
        ax.scatter([e.onset_s * h for e in evs], [e.channel for e in evs], s=60 if kind == "twitch" else 22, color=colour,
                   marker="|" if kind == "twitch" else "o", label=names[-1], zorder=2)
    ax.set_yticks(range(len(labels)), short_labels(labels))
    ax.set_ylim(-0.6, len(labels) - 0.4)
    # above the data, within the figure: in one row while the counts are short enough to fit, else
    # in two that read twitch, spasm / cramp
    ncols = 3 if len("".join(names)) <= LEGEND_ROW_CHARS else 2
    handles, names = ax.get_legend_handles_labels()
    fig.legend(_row_by_row(handles, ncols), _row_by_row(names, ncols), loc="outside upper center", fontsize=SMALL_PT,
               ncols=ncols, frameon=False, handlelength=1, handletextpad=0.4, columnspacing=1)
    return _png(fig)


def _row_by_row(entries: Sequence[Any], ncols: int) -> list[Any]:
    """A legend's ``entries`` in the order that makes its ``ncols`` columns, which matplotlib
    fills column by column, read row by row: the first ``ncols`` entries left to right in the
    first row, the next ones in the second."""
    rows = -(-len(entries) // ncols)
    return [entries[r * ncols + c] for c in range(ncols) for r in range(rows) if r * ncols + c < len(entries)]


def traces(snippets: Sequence[Any]) -> str:
    """Filtered EMG around events (:class:`~kneeemg.report.traces.Snippet`), the event shaded."""
    fig, axes = _figure(height_in=1.55 * len(snippets), rows=len(snippets))
    for ax, s in zip(axes, snippets):
        t = np.arange(len(s.signal_uv)) / s.fs_hz - s.event_start_s
        ax.axvspan(0, s.event_stop_s - s.event_start_s, color="#ffcc80", alpha=0.5, lw=0)
        ax.plot(t, s.signal_uv, lw=0.6, color="#222222")
        # whole on a phone, too, a number never parted from its unit ("338 µV")
        title = re.sub(r"(\d) (µV|ms|s)\b", "\\1\u00a0\\2", s.title)
        ax.set_title(textwrap.fill(title, TITLE_CHARS), fontsize=SMALL_PT, loc="left")
        ax.set_ylabel("µV", fontsize=TEXT_PT)
    axes[-1].set_xlabel("seconds from the onset\n(shaded: the event)", fontsize=TEXT_PT)
    return _png(fig)


def imi_histogram(hist: dict[str, Any]) -> str:
    """Histogram of the intervals between consecutive leg movements (thigh), with the 10-90 s band."""
    from matplotlib.ticker import MaxNLocator

    fig, (ax,) = _figure()
    edges, counts = np.asarray(hist["edges_s"], float), np.asarray(hist["counts"], float)
    ax.axvspan(10, 90, color="#2ca02c", alpha=0.10, lw=0)
    ax.bar(edges[:-1], counts, width=hist["bin_s"], align="edge", color="#2ca02c")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("interval between leg movements, s\n(shaded: 10-90 s, the periodic range)", fontsize=TEXT_PT)
    ax.set_ylabel("count", fontsize=TEXT_PT)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: 0, 1, 2, not 0.2, 0.4
    return _png(fig)


def quality(epoch_s: float, flags: np.ndarray, floor_uv: np.ndarray, labels: Sequence[str]) -> str:
    """Noise floor per channel over the night's usable epochs (top) and excluded epochs by
    reason (bottom).

    Parameters
    ----------
    epoch_s : float
        Epoch length, s.
    flags : ndarray, shape (n_epochs, n_channels), uint16 or uint8
        Exclusion bitmask per epoch.
    floor_uv : ndarray, shape (n_epochs, n_channels)
        Noise floor per epoch, µV.
    labels : sequence of str
    """
    from matplotlib.patches import Patch

    from ..dsp.result import reason_of

    fig, (top, bottom) = _figure(height_in=2.4 + 0.35 * len(labels), rows=2, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 0.6 + 0.5 * len(labels)]})
    span = epoch_s / _time_axis(bottom, len(floor_uv) * epoch_s)  # an epoch, in the axis' unit
    t = np.arange(len(floor_uv)) * span
    for c, lab in enumerate(short_labels(labels)):
        # usable epochs only: the floor of an excluded one (an electrode pop, a flat stretch) can be
        # thousands of times the night's and would squash the rest of the line flat at 0
        top.plot(t, np.where(flags[:, c] == 0, floor_uv[:, c], np.nan), lw=0.9, label=lab)
    top.set_ylabel("noise floor, µV", fontsize=TEXT_PT)
    lines, names = top.get_legend_handles_labels()
    fig.legend(_row_by_row(lines, 2), _row_by_row(names, 2), loc="outside upper center", fontsize=SMALL_PT, ncols=2,
               frameon=False)  # above the data, within the figure
    seen = set()
    for c in range(flags.shape[1]):
        reasons = np.array([reason_of(int(f)) for f in flags[:, c]])
        for reason in sorted(set(reasons) - {""}):
            seen.add(reason)
            on = np.concatenate([[False], reasons == reason, [False]])
            starts, stops = np.flatnonzero(on[1:] & ~on[:-1]), np.flatnonzero(~on[1:] & on[:-1])
            bottom.broken_barh([(a * span, (b - a) * span) for a, b in zip(starts, stops)],
                               (c - 0.4, 0.8), color=REASON_COLOURS.get(reason, "#999999"))
    bottom.set_yticks(range(len(labels)), short_labels(labels))
    bottom.set_ylim(-0.6, len(labels) - 0.4)
    handles = [Patch(color=REASON_COLOURS.get(r, "#999999"), label=reason_words(r)) for r in sorted(seen)]
    if handles:
        fig.legend(handles=_row_by_row(handles, 2), fontsize=SMALL_PT, ncols=min(len(handles), 2), loc="outside lower center",
                   frameon=False, title="excluded epochs", title_fontsize=SMALL_PT)
    return _png(fig)


def trend(rows: Sequence[dict[str, Any]]) -> str:
    """Twitch rate per night and its 7-night mean (``Store.trend`` rows)."""
    import matplotlib.dates as mdates

    fig, (ax,) = _figure()
    # on a calendar axis: nights not recorded leave their gap
    dates = [date.fromisoformat(r["date"]) for r in rows]
    rate = [np.nan if r["twitch_per_hour"] is None else r["twitch_per_hour"] for r in rows]
    mean = [np.nan if r["rolling7_twitch_per_hour"] is None else r["rolling7_twitch_per_hour"] for r in rows]
    ax.plot(dates, rate, "o-", lw=1, ms=4, label="per night")
    ax.plot(dates, mean, lw=2, alpha=0.7, label="7-night mean")
    ax.set_ylabel("twitches per hour", fontsize=TEXT_PT)
    ax.set_ylim(0, np.nanmax([*rate, *mean, 1.0]) * 1.1)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y" if dates[0].year != dates[-1].year else "%d %b"))
    ax.tick_params(axis="x", labelsize=SMALL_PT, rotation=45)
    ax.legend(fontsize=SMALL_PT, frameon=False)
    return _png(fig)
