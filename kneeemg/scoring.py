"""Event-level comparison of detected events with ground truth.

Matching is one-to-one and on the same channel. A detected event and a true event may be
paired when they overlap in time, or when their onsets lie within ``tolerance_s`` of each
other. Among the possible pairings, the one with the most pairs is taken, and among those
the one with the largest total overlap (intersection over union); this is an assignment
problem, solved with the Hungarian method on each group of events that could pair with
one another. So one long detection cannot take credit for two true events, and a close
neighbour is not left unmatched for the sake of a slightly better overlap elsewhere.

Per kind, class by class (as in the event-based metrics of sound-event detection): the
events of one kind are matched on their own, detections of that kind against true events of
that kind, so an event counts only when it was found *and* given its kind:

- sensitivity = true events of the kind matched by a detection of the kind / true events of
  the kind;
- precision = detections of the kind matched with a true event of the kind / detections of
  the kind;
- F1 = their harmonic mean;
- found = true events of the kind matched by a detection of any kind (in the matching of all
  kinds together): whether the event was noticed at all, whatever it was called.

A spasm reported as a twitch is thus found, but a miss for the spasms and a false twitch.
``confusion[true_kind][detected_kind]`` counts the pairs of the matching of all kinds
together, so kind errors stay visible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .events import ALL_KINDS, KINDS, Event

#: Slack on the onset tolerance, s, so that an onset exactly ``tolerance_s`` away counts.
_EPS_S = 1e-9


@dataclass
class KindScore:
    """Counts and rates for one kind.

    Attributes
    ----------
    tp : int
        True events of this kind matched by a detection of this kind (one to one).
    fn : int
        True events of this kind that no detection of this kind matched.
    fp : int
        Detections of this kind that matched no true event of this kind.
    found : int
        True events of this kind matched by a detection of any kind.
    """

    tp: int = 0
    fn: int = 0
    fp: int = 0
    found: int = 0

    @property
    def n_truth(self) -> int:
        return self.tp + self.fn

    @property
    def n_detected(self) -> int:
        return self.tp + self.fp

    @property
    def sensitivity(self) -> float:
        """tp / (tp + fn); NaN without true events of this kind."""
        return self.tp / self.n_truth if self.n_truth else float("nan")

    @property
    def precision(self) -> float:
        """tp / (tp + fp); NaN without detections of this kind."""
        return self.tp / self.n_detected if self.n_detected else float("nan")

    @property
    def found_share(self) -> float:
        """found / (tp + fn): the share found, whatever kind it was given; NaN without true events."""
        return self.found / self.n_truth if self.n_truth else float("nan")

    @property
    def f1(self) -> float:
        """Harmonic mean of sensitivity and precision.

        NaN when the kind is absent from both lists; 0 when it is absent from one of them
        (all missed, or all false).
        """
        s, p = self.sensitivity, self.precision
        if math.isnan(s) and math.isnan(p):
            return float("nan")
        if math.isnan(s) or math.isnan(p) or s + p == 0:
            return 0.0
        return 2 * s * p / (s + p)

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fn": self.fn, "fp": self.fp, "found": self.found, "sensitivity": self.sensitivity,
                "precision": self.precision, "f1": self.f1, "found_share": self.found_share}


@dataclass
class Score:
    """The comparison of one list of detections with its truth.

    Attributes
    ----------
    per_kind : dict of str to KindScore
    confusion : dict of str to dict of str to int
        ``confusion[true_kind][detected_kind]``: matched pairs.
    onset_errors_ms, offset_errors_ms : numpy.ndarray, shape (n_pairs,)
        Detected minus true onset (offset) of each matched pair, ms, in the order of ``pairs``.
    pairs : list of (int, int)
        Matched ``(detected index, truth index)``, sorted.
    hours : float or None
        Length of the recording the events come from, h, when given.
    """

    per_kind: dict[str, KindScore]
    confusion: dict[str, dict[str, int]]
    onset_errors_ms: np.ndarray
    offset_errors_ms: np.ndarray
    pairs: list[tuple[int, int]] = field(default_factory=list)
    hours: float | None = None

    @property
    def onset_error_ms(self) -> float:
        """Median absolute onset error of the matched pairs, ms (NaN without pairs)."""
        return float(np.median(np.abs(self.onset_errors_ms))) if len(self.onset_errors_ms) else float("nan")

    @property
    def offset_error_ms(self) -> float:
        """Median absolute offset error of the matched pairs, ms (NaN without pairs)."""
        return float(np.median(np.abs(self.offset_errors_ms))) if len(self.offset_errors_ms) else float("nan")

    @property
    def rate_error_per_hour(self) -> dict[str, float] | None:
        """Detections minus true events per hour, per kind; None when ``hours`` was not given."""
        if not self.hours:
            return None
        return {k: (s.n_detected - s.n_truth) / self.hours for k, s in self.per_kind.items()}

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON."""
        return {
            "per_kind": {k: v.as_dict() for k, v in self.per_kind.items()},
            "confusion": self.confusion,
            "onset_error_ms_median": self.onset_error_ms,
            "offset_error_ms_median": self.offset_error_ms,
            "matched": len(self.pairs),
            "hours": self.hours,
            "rate_error_per_hour": self.rate_error_per_hour,
        }


def _check_tolerance(tolerance_s: float) -> float:
    try:
        tol = float(tolerance_s)
    except (TypeError, ValueError):
        raise InputError(f"tolerance_s={tolerance_s!r} is not a number; give seconds, e.g. 0.1") from None
    if not math.isfinite(tol) or tol < 0:
        raise InputError(f"tolerance_s={tolerance_s!r} must be a finite number of seconds >= 0")
    return tol


def _check_kinds(kinds: str | Sequence[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple (a single kind may be given as a string), or :class:`InputError`."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    try:
        kinds = tuple(kinds)
    except TypeError:
        raise InputError(f"kinds={kinds!r} must be a kind or a list of kinds, e.g. ('twitch', 'spasm')") from None
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown:
        raise InputError(f"kinds: unknown kind(s) {', '.join(map(repr, unknown))}; use {', '.join(ALL_KINDS)}")
    return kinds


def _candidates(d_on: np.ndarray, d_off: np.ndarray, t_on: np.ndarray, t_off: np.ndarray,
                tol: float) -> tuple[list[int], list[int], list[float]]:
    """Pairs ``(detected, true, IoU)`` that may match: overlapping, or onsets within ``tol``."""
    order = np.argsort(t_on, kind="stable")
    t_on_sorted = t_on[order]
    longest = float(np.max(t_off - t_on)) if len(t_on) else 0.0
    rows: list[int] = []
    cols: list[int] = []
    iou: list[float] = []
    for a in range(len(d_on)):
        lo = np.searchsorted(t_on_sorted, min(d_on[a] - longest, d_on[a] - tol - _EPS_S), side="left")
        hi = np.searchsorted(t_on_sorted, max(d_off[a], d_on[a] + tol + _EPS_S), side="right")
        for b in order[lo:hi]:
            inter = min(d_off[a], t_off[b]) - max(d_on[a], t_on[b])
            if inter > 0 or abs(d_on[a] - t_on[b]) <= tol + _EPS_S:
                union = max(d_off[a], t_off[b]) - min(d_on[a], t_on[b])
                rows.append(a)
                cols.append(int(b))
                iou.append(max(inter, 0.0) / union if union > 0 else 1.0)
    return rows, cols, iou


def _assign(rows: list[int], cols: list[int], iou: list[float]) -> list[tuple[int, int]]:
    """Most pairs, then largest total IoU, per connected group of candidates (Hungarian)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not rows:
        return []
    ur, ri = np.unique(rows, return_inverse=True)
    uc, ci = np.unique(cols, return_inverse=True)
    nr, nc = len(ur), len(uc)
    graph = coo_matrix((np.ones(len(ri)), (ri, nr + ci)), shape=(nr + nc, nr + nc))
    _, label = connected_components(graph, directed=False)
    iou_arr = np.asarray(iou)
    pairs: list[tuple[int, int]] = []
    for g in np.unique(label[ri]):
        sel = label[ri] == g
        gr, gri = np.unique(ri[sel], return_inverse=True)
        gc, gci = np.unique(ci[sel], return_inverse=True)
        if len(gr) == 1 or len(gc) == 1:  # one row or one column: the best single pair
            k = int(np.argmax(iou_arr[sel]))
            pairs.append((int(ur[gr[gri[k]]]), int(uc[gc[gci[k]]])))
            continue
        # a pair is worth more than any gain in overlap, so the most pairs always win
        bonus = float(len(gr) + len(gc) + 1)
        weight = np.zeros((len(gr), len(gc)))
        weight[gri, gci] = bonus + iou_arr[sel]
        r_idx, c_idx = linear_sum_assignment(weight, maximize=True)
        for r, c in zip(r_idx, c_idx):
            if weight[r, c] > 0:
                pairs.append((int(ur[gr[r]]), int(uc[gc[c]])))
    return pairs


def match_events(detected: Sequence[Event], truth: Sequence[Event], tolerance_s: float = 0.1,
                 kinds: str | Sequence[str] | None = None) -> list[tuple[int, int]]:
    """One-to-one matches between detections and true events on the same channel.

    Parameters
    ----------
    detected, truth : sequence of Event
    tolerance_s : float
        Onsets this close (s) may pair even when the events do not overlap.
    kinds : str or sequence of str, optional
        Only events of these kinds take part (all when omitted): of ``"twitch"``,
        ``"spasm"``, ``"cramp"`` and ``"lm"``.

    Returns
    -------
    list of (int, int)
        ``(index into detected, index into truth)``, sorted.
    """
    tol = _check_tolerance(tolerance_s)
    keep = set(_check_kinds(kinds)) if kinds is not None else None
    pairs: list[tuple[int, int]] = []
    channels = {e.channel for e in detected} & {e.channel for e in truth}
    for ch in sorted(channels):
        di = [i for i, e in enumerate(detected) if e.channel == ch and (keep is None or e.kind in keep)]
        ti = [i for i, e in enumerate(truth) if e.channel == ch and (keep is None or e.kind in keep)]
        if not di or not ti:
            continue
        d_on = np.array([detected[i].onset_s for i in di])
        d_off = np.array([detected[i].offset_s for i in di])
        t_on = np.array([truth[i].onset_s for i in ti])
        t_off = np.array([truth[i].offset_s for i in ti])
        rows, cols, iou = _candidates(d_on, d_off, t_on, t_off, tol)
        pairs += [(di[a], ti[b]) for a, b in _assign(rows, cols, iou)]
    pairs.sort()
    return pairs


def score_events(detected: Sequence[Event], truth: Sequence[Event], tolerance_s: float = 0.1,
                 kinds: str | Sequence[str] = KINDS, hours: float | None = None) -> Score:
    """Score ``detected`` against ``truth`` per kind (see the module docstring).

    Parameters
    ----------
    detected, truth : sequence of Event
        Events of other kinds than ``kinds`` are ignored.
    tolerance_s : float
        Onsets this close (s) may pair even without overlap.
    kinds : str or sequence of str
        Kinds to score, of ``"twitch"``, ``"spasm"``, ``"cramp"`` and ``"lm"``; ``"lm"``
        scores leg movements.
    hours : float, optional
        Length of the recording, h; gives :attr:`Score.rate_error_per_hour`.

    Returns
    -------
    Score
    """
    if hours is not None and not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise InputError(f"hours={hours!r} must be a positive number of hours")
    kinds = _check_kinds(kinds)
    pairs = match_events(detected, truth, tolerance_s, kinds)
    confusion = {k: {j: 0 for j in kinds} for k in kinds}
    per_kind = {}
    for k in kinds:  # class by class: a kind's detections against that kind's true events
        n_truth = sum(e.kind == k for e in truth)
        n_det = sum(e.kind == k for e in detected)
        tp = len(match_events(detected, truth, tolerance_s, k)) if n_truth and n_det else 0
        per_kind[k] = KindScore(tp=tp, fn=n_truth - tp, fp=n_det - tp)
    for _, b in pairs:
        if truth[b].kind in per_kind:
            per_kind[truth[b].kind].found += 1
    for a, b in pairs:
        confusion[truth[b].kind][detected[a].kind] += 1
    on = np.array([(detected[a].onset_s - truth[b].onset_s) * 1000.0 for a, b in pairs])
    off = np.array([(detected[a].offset_s - truth[b].offset_s) * 1000.0 for a, b in pairs])
    return Score(per_kind, confusion, on, off, pairs, float(hours) if hours is not None else None)
