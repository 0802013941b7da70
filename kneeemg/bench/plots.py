"""Plots of benchmark results (matplotlib, written to PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def throughput_plot(report: Any, path: str | Path) -> Path:
    """Horizontal bars: million samples per second per tool and case (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.rows
    labels = [f"{r.case} | {r.tool}" for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.2))
    ax.barh(range(len(rows)), [r.samples_per_s / 1e6 for r in rows], color="tab:blue")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("million channel-samples per second")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")  # the longest labels stay whole
    plt.close(fig)
    return path


def f1_snr_plot(report: Any, path: str | Path) -> Path:
    """F1 against SNR, one panel per kind, one line per tool (the ``inserted`` part)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..events import KINDS

    tools = report.tools("inserted")
    fig, axes = plt.subplots(1, len(KINDS), figsize=(4.2 * len(KINDS), 3.8), sharey=True)
    for ax, kind in zip(axes, KINDS):
        for tool in tools:
            rows = sorted((r for r in report.select("inserted", tool, kind) if r.n_truth), key=lambda r: r.snr_db)
            if not rows:
                continue
            ax.plot([r.snr_db for r in rows], [r.f1 for r in rows], marker="o", lw=2.2 if tool == "kneeemg" else 1.0,
                    color="black" if tool == "kneeemg" else None, label=tool)
        ax.set_title(kind)
        ax.set_xlabel("SNR, dB (event RMS / background RMS)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("F1")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
