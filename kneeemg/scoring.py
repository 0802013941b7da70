"""Event-level comparison of detected events with ground truth.

Matching is one-to-one, on the same channel, by temporal overlap: a detected event and a
true event match when they overlap, or when their onsets lie within ``tolerance_s``. Pairs
are chosen to maximise the total overlap (Hungarian assignment), so one long detection
cannot take credit for two true events. Per kind:

- sensitivity = true events of that kind that were matched / true events of that kind
  (whatever kind the matching detection was given);
- precision = detections of that kind that matched a true event / detections of that kind;
- F1 = their harmonic mean.

``confusion[true_kind][detected_kind]`` counts matched pairs, so kind errors stay visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .events import KINDS, Event


@dataclass
class KindScore:
    """Counts and rates for one kind."""

    tp: int = 0  # true events of this kind that were found (sensitivity numerator)
    fn: int = 0  # true events of this kind that were missed
    tp_detected: int = 0  # detections of this kind that matched (precision numerator)
    fp: int = 0  # detections of this kind that matched nothing

    @property
    def sensitivity(self) -> float:
        n = self.tp + self.fn
        return self.tp / n if n else float("nan")

    @property
    def precision(self) -> float:
        n = self.tp_detected + self.fp
        return self.tp_detected / n if n else float("nan")

    @property
    def f1(self) -> float:
        s, p = self.sensitivity, self.precision
        if np.isnan(s) or np.isnan(p) or s + p == 0:
            return float("nan") if (np.isnan(s) and np.isnan(p)) else 0.0
        return 2 * s * p / (s + p)

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fn": self.fn, "tp_detected": self.tp_detected, "fp": self.fp,
                "sensitivity": self.sensitivity, "precision": self.precision, "f1": self.f1}


@dataclass
class Score:
    """The comparison of one set of detections with its truth."""

    per_kind: dict[str, KindScore]
    confusion: dict[str, dict[str, int]]
    onset_errors_ms: np.ndarray
    offset_errors_ms: np.ndarray
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def onset_error_ms(self) -> float:
        """Median absolute onset error of matched pairs, ms."""
        return float(np.median(np.abs(self.onset_errors_ms))) if len(self.onset_errors_ms) else float("nan")

    @property
    def offset_error_ms(self) -> float:
        """Median absolute offset error of matched pairs, ms."""
        return float(np.median(np.abs(self.offset_errors_ms))) if len(self.offset_errors_ms) else float("nan")

    def rate_error_per_hour(self, hours: float) -> dict[str, float]:
        """Detected minus true events per hour, per kind."""
        return {k: ((s.tp_detected + s.fp) - (s.tp + s.fn)) / hours for k, s in self.per_kind.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_kind": {k: v.as_dict() for k, v in self.per_kind.items()},
            "confusion": self.confusion,
            "onset_error_ms_median": self.onset_error_ms,
            "offset_error_ms_median": self.offset_error_ms,
            "matched": len(self.pairs),
        }


def match_events(detected: Sequence[Event], truth: Sequence[Event], tolerance_s: float = 0.1) -> list[tuple[int, int]]:
    """One-to-one matches ``(detected index, truth index)`` on the same channel."""
    pairs: list[tuple[int, int]] = []
    for ch in sorted({e.channel for e in detected} & {e.channel for e in truth}):
        di = [i for i, e in enumerate(detected) if e.channel == ch]
        ti = [i for i, e in enumerate(truth) if e.channel == ch]
        d_on = np.array([detected[i].onset_s for i in di])
        d_off = np.array([detected[i].offset_s for i in di])
        t_on = np.array([truth[i].onset_s for i in ti])
        t_off = np.array([truth[i].offset_s for i in ti])
        order = np.argsort(t_on)
        # candidate pairs: overlap, or onsets within the tolerance (sparse: search by time)
        rows, cols, weights = [], [], []
        max_len = float(np.max(t_off - t_on)) if len(ti) else 0.0
        for a in range(len(di)):
            lo = np.searchsorted(t_on[order], d_on[a] - max_len - tolerance_s)
            hi = np.searchsorted(t_on[order], d_off[a] + tolerance_s, side="right")
            for b in order[lo:hi]:
                overlap = min(d_off[a], t_off[b]) - max(d_on[a], t_on[b])
                if overlap > 0 or abs(d_on[a] - t_on[b]) <= tolerance_s:
                    rows.append(a)
                    cols.append(b)
                    weights.append(max(overlap, 0.0) + 1e-6)
        if not rows:
            continue
        # Hungarian assignment on the (small) connected blocks of the candidate graph
        ua, ra = np.unique(rows, return_inverse=True)
        ub, cb = np.unique(cols, return_inverse=True)
        cost = np.zeros((len(ua), len(ub)))
        cost[ra, cb] = -np.asarray(weights)
        r_idx, c_idx = linear_sum_assignment(cost)
        for r, c in zip(r_idx, c_idx):
            if cost[r, c] < 0:
                pairs.append((di[ua[r]], ti[ub[c]]))
    pairs.sort()
    return pairs


def score_events(detected: Sequence[Event], truth: Sequence[Event], tolerance_s: float = 0.1,
                 kinds: Sequence[str] = KINDS) -> Score:
    """Score ``detected`` against ``truth`` per kind (see the module docstring)."""
    pairs = match_events(detected, truth, tolerance_s)
    per_kind = {k: KindScore() for k in kinds}
    confusion = {k: {j: 0 for j in kinds} for k in kinds}
    matched_d = {a for a, _ in pairs}
    matched_t = {b for _, b in pairs}
    for i, e in enumerate(truth):
        if e.kind in per_kind:
            if i in matched_t:
                per_kind[e.kind].tp += 1
            else:
                per_kind[e.kind].fn += 1
    for i, e in enumerate(detected):
        if e.kind in per_kind:
            if i in matched_d:
                per_kind[e.kind].tp_detected += 1
            else:
                per_kind[e.kind].fp += 1
    for a, b in pairs:
        if truth[b].kind in confusion and detected[a].kind in confusion[truth[b].kind]:
            confusion[truth[b].kind][detected[a].kind] += 1
    on = np.array([(detected[a].onset_s - truth[b].onset_s) * 1000 for a, b in pairs])
    off = np.array([(detected[a].offset_s - truth[b].offset_s) * 1000 for a, b in pairs])
    return Score(per_kind, confusion, on, off, pairs)
