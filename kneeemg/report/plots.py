"""The report's figures (matplotlib), returned as base64 PNG for inlining."""

from __future__ import annotations

import base64
import io
from typing import Any, Sequence

import numpy as np

from ..events import Event, ExcludedInterval

KIND_COLOURS = {"twitch": "#1f77b4", "spasm": "#ff7f0e", "cramp": "#d62728"}
REASON_COLOURS = {"flat": "#bbbbbb", "saturation": "#999999", "dc_jump": "#c49c94", "movement": "#f7b6d2", "mains": "#c7c7c7",
                  "settling": "#e0e0e0"}


def _figure(width: float = 7.0, height: float = 2.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return plt, fig, ax


def _png(plt: Any, fig: Any) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def per_hour(hours: Sequence[dict[str, Any]]) -> str:
    """Twitches per usable hour for each clock hour of the night."""
    plt, fig, ax = _figure()
    labels = [h["clock"] for h in hours]
    rates = [h["twitch_per_usable_hour"] or 0 for h in hours]
    ax.bar(range(len(hours)), rates, color=KIND_COLOURS["twitch"])
    ax.set_xticks(range(len(hours)), labels, rotation=45 if len(hours) > 8 else 0, fontsize=8)
    ax.set_ylabel("twitches per hour")
    ax.set_title("Twitches across the night", fontsize=10)
    return _png(plt, fig)


def timeline(events: Sequence[Event], excluded: Sequence[ExcludedInterval], labels: Sequence[str], recording_s: float) -> str:
    """Every event as a mark per channel, with excluded time shaded."""
    plt, fig, ax = _figure(height=1.2 + 0.5 * len(labels))
    h = 1 / 3600
    for iv in excluded:
        ax.add_patch(plt.Rectangle((iv.start_s * h, iv.channel - 0.4), iv.duration_s * h, 0.8,
                                   color=REASON_COLOURS.get(iv.reason, "#dddddd"), lw=0))
    for kind, col in KIND_COLOURS.items():
        evs = [e for e in events if e.kind == kind]
        ax.scatter([e.onset_s * h for e in evs], [e.channel for e in evs], s=10 if kind == "twitch" else 30, color=col,
                   marker="|" if kind == "twitch" else "o", label=f"{kind} ({len(evs)})")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlim(0, recording_s * h)
    ax.set_xlabel("hours from the start (grey: excluded time)")
    ax.legend(loc="upper right", fontsize=7, ncols=3)
    return _png(plt, fig)


def traces(snippets: Sequence[tuple[str, np.ndarray, float, float]]) -> str:
    """Filtered EMG around events: (title, signal µV, fs Hz, event start offset s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(snippets), 1, figsize=(7, 1.6 * len(snippets)), dpi=110, squeeze=False)
    for ax, (title, x, fs, at) in zip(axes[:, 0], snippets):
        t = np.arange(len(x)) / fs
        ax.plot(t, x, lw=0.6, color="#333333")
        ax.axvline(at, color="#d62728", lw=0.8, ls="--")
        ax.set_title(title, fontsize=8, loc="left")
        ax.set_ylabel("µV", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("seconds")
    return _png(plt, fig)


def imi_histogram(hist: dict[str, Any]) -> str:
    """Intervals between consecutive leg movements (thigh)."""
    plt, fig, ax = _figure()
    edges, counts = hist["edges_s"], hist["counts"]
    ax.bar(edges[:-1], counts, width=hist["bin_s"], align="edge", color="#2ca02c")
    ax.axvspan(10, 90, color="#2ca02c", alpha=0.08, lw=0)
    ax.set_xlabel("interval between leg movements, s (shaded: 10-90 s, the periodic range)")
    ax.set_ylabel("count")
    return _png(plt, fig)


def quality(epoch_s: float, flags: np.ndarray, floor_uv: np.ndarray, labels: Sequence[str]) -> str:
    """Noise floor per channel over the night, with excluded epochs marked."""
    plt, fig, ax = _figure()
    t = np.arange(len(floor_uv)) * epoch_s / 3600
    for c, lab in enumerate(labels):
        ax.plot(t, floor_uv[:, c], lw=0.8, label=lab)
        bad = flags[:, c] != 0
        ax.scatter(t[bad], floor_uv[bad, c], s=3, color="#d62728")
    ax.set_xlabel("hours from the start (red: excluded epochs)")
    ax.set_ylabel("noise floor, µV")
    ax.legend(fontsize=7)
    return _png(plt, fig)


def trend(rows: Sequence[dict[str, Any]]) -> str:
    """Twitch rate per night and its 7-night mean."""
    plt, fig, ax = _figure()
    dates = [r["date"][5:] for r in rows]
    ax.plot(dates, [r["twitch_per_hour"] or 0 for r in rows], "o-", lw=1, label="per night")
    ax.plot(dates, [r["rolling7_twitch_per_hour"] or 0 for r in rows], lw=2, alpha=0.7, label="7-night mean")
    ax.set_ylabel("twitches per hour")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    ax.legend(fontsize=7)
    return _png(plt, fig)
