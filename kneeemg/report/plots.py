"""The report's figures, drawn by matplotlib and returned as base64 PNG for inlining.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot state, no
backend switch), sized for a phone's width: 4.6 inches wide with 9-10 pt text.
"""

from __future__ import annotations

import base64
import io
import textwrap
from datetime import date
from typing import Any, Sequence

import numpy as np

from ..events import Event, ExcludedInterval
from ..words import reason_words

KIND_COLOURS = {"twitch": "#1f77b4", "spasm": "#ff7f0e", "cramp": "#d62728"}
REASON_COLOURS = {"flat": "#7f7f7f", "saturation": "#8c564b", "dc_jump": "#bcbd22", "movement": "#e377c2",
                  "mains": "#17becf", "settling": "#c7c7c7", "noise_rise": "#9467bd", "lost": "#d62728"}
#: Figure width, inches, and resolution, dots per inch.
WIDTH_IN = 4.6
#: An hour with less usable signal than this (s) is drawn pale in the per-hour chart.
SHORT_HOUR_S = 600.0
DPI = 150
#: Channel labels longer than this (characters) are shortened in the figures (the page names them in full).
LABEL_CHARS = 14


def _figure(height_in: float = 2.4, rows: int = 1, **kw: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, squeeze=False, **kw)[:, 0]
    for ax in axes:
        ax.tick_params(labelsize=10)  # the page shows the figure about half its size on a phone
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
            ax.text(i, 0, "no signal", rotation=90, ha="center", va="bottom", fontsize=8, color="#666")
    if any(short):
        ax.set_title("pale: less than 10 usable minutes in that hour", fontsize=9, color="#555")
    ax.set_xticks(range(len(hours)), labels, rotation=45 if len(hours) > 5 else 0, fontsize=10)
    ax.set_ylabel("twitches per hour", fontsize=10)
    ax.set_xlabel("hour of the night", fontsize=10)
    return _png(fig)


def timeline(events: Sequence[Event], excluded: Sequence[ExcludedInterval], labels: Sequence[str], recording_s: float) -> str:
    """Every event as a mark on its channel's row, with excluded time shaded grey."""
    from matplotlib.patches import Rectangle

    fig, (ax,) = _figure(height_in=1.3 + 0.45 * len(labels))
    h = 1 / 3600
    for iv in excluded:
        ax.add_patch(Rectangle((iv.start_s * h, iv.channel - 0.42), max(iv.duration_s * h, recording_s * h / 800), 0.84,
                               color="#d0d0d0", lw=0, zorder=0))
    for kind, colour in KIND_COLOURS.items():
        evs = [e for e in events if e.kind == kind]
        ax.scatter([e.onset_s * h for e in evs], [e.channel for e in evs], s=60 if kind == "twitch" else 22, color=colour,
                   marker="|" if kind == "twitch" else "o", label=f"{kind} ({len(evs)})", zorder=2)
    ax.set_yticks(range(len(labels)), short_labels(labels))
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlim(0, max(recording_s * h, 1e-3))
    ax.set_xlabel("hours from the start\n(grey: excluded time)", fontsize=10)
    fig.legend(loc="outside upper center", fontsize=8, ncols=3, frameon=False)  # above the data, within the figure
    return _png(fig)


def traces(snippets: Sequence[Any]) -> str:
    """Filtered EMG around events (:class:`~kneeemg.report.traces.Snippet`), the event shaded."""
    fig, axes = _figure(height_in=1.55 * len(snippets), rows=len(snippets))
    for ax, s in zip(axes, snippets):
        t = np.arange(len(s.signal_uv)) / s.fs_hz - s.event_start_s
        ax.axvspan(0, s.event_stop_s - s.event_start_s, color="#ffcc80", alpha=0.5, lw=0)
        ax.plot(t, s.signal_uv, lw=0.6, color="#222222")
        ax.set_title(textwrap.fill(s.title, 52), fontsize=9.5, loc="left")  # whole on a phone, too
        ax.set_ylabel("µV", fontsize=10)
    axes[-1].set_xlabel("seconds from the onset (shaded: the event)", fontsize=10)
    return _png(fig)


def imi_histogram(hist: dict[str, Any]) -> str:
    """Histogram of the intervals between consecutive leg movements (thigh), with the 10-90 s band."""
    fig, (ax,) = _figure()
    edges, counts = np.asarray(hist["edges_s"], float), np.asarray(hist["counts"], float)
    ax.axvspan(10, 90, color="#2ca02c", alpha=0.10, lw=0)
    ax.bar(edges[:-1], counts, width=hist["bin_s"], align="edge", color="#2ca02c")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("interval between leg movements, s\n(shaded: 10-90 s, the periodic range)", fontsize=10)
    ax.set_ylabel("count", fontsize=10)
    return _png(fig)


def quality(epoch_s: float, flags: np.ndarray, floor_uv: np.ndarray, labels: Sequence[str]) -> str:
    """Noise floor per channel over the night (top) and excluded epochs by reason (bottom).

    Parameters
    ----------
    epoch_s : float
        Epoch length, s.
    flags : ndarray, shape (n_epochs, n_channels), uint8
        Exclusion bitmask per epoch.
    floor_uv : ndarray, shape (n_epochs, n_channels)
        Noise floor per epoch, µV.
    labels : sequence of str
    """
    from matplotlib.patches import Patch

    from ..dsp.result import reason_of

    fig, (top, bottom) = _figure(height_in=2.4 + 0.35 * len(labels), rows=2, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 0.6 + 0.5 * len(labels)]})
    t = np.arange(len(floor_uv)) * epoch_s / 3600
    for c, lab in enumerate(short_labels(labels)):
        top.plot(t, floor_uv[:, c], lw=0.9, label=lab)
    top.set_ylabel("noise floor, µV", fontsize=10)
    fig.legend(loc="outside upper center", fontsize=8, ncols=2, frameon=False)  # above the data, within the figure
    seen = set()
    for c in range(flags.shape[1]):
        reasons = np.array([reason_of(int(f)) for f in flags[:, c]])
        for reason in sorted(set(reasons) - {""}):
            seen.add(reason)
            on = np.concatenate([[False], reasons == reason, [False]])
            starts, stops = np.flatnonzero(on[1:] & ~on[:-1]), np.flatnonzero(~on[1:] & on[:-1])
            bottom.broken_barh([(a * epoch_s / 3600, (b - a) * epoch_s / 3600) for a, b in zip(starts, stops)],
                               (c - 0.4, 0.8), color=REASON_COLOURS.get(reason, "#999999"))
    bottom.set_yticks(range(len(labels)), short_labels(labels))
    bottom.set_ylim(-0.6, len(labels) - 0.4)
    bottom.set_xlim(0, max(len(floor_uv) * epoch_s / 3600, 1e-3))
    bottom.set_xlabel("hours from the start", fontsize=10)
    handles = [Patch(color=REASON_COLOURS.get(r, "#999999"), label=reason_words(r)) for r in sorted(seen)]
    if handles:
        fig.legend(handles=handles, fontsize=8, ncols=min(len(handles), 3), loc="outside lower center", frameon=False,
                   title="excluded epochs", title_fontsize=8)
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
    ax.set_ylabel("twitches per hour", fontsize=10)
    ax.set_ylim(0, np.nanmax([*rate, *mean, 1.0]) * 1.1)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y" if dates[0].year != dates[-1].year else "%d %b"))
    ax.tick_params(axis="x", labelsize=8, rotation=45)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)
