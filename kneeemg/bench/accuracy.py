"""How well the detector finds twitches, spasms and cramps, side by side with other tools.

Three parts, all scored by :func:`kneeemg.scoring.score_events` (the tests use it too):

``inserted``
    Real quiet EMG from the UCI lower-limb recordings with events of known time and shape
    added at a range of SNRs (:mod:`kneeemg.bench.insert`). kneeemg and every baseline
    (:mod:`kneeemg.bench.baselines`) see the same signals.
``inserted, more seeds``
    The same for kneeemg alone over more seeds (:data:`MORE_SEEDS`; the first are the
    ``inserted`` part's trials): 2 seeds hold only 4 cramps per SNR, too few for a median
    onset error to mean much, and kneeemg takes seconds where some baselines take minutes.
``movements``
    The UCI ``sen`` and ``pie`` files as they are: each knee movement the goniometer sees
    should match one burst on the quadriceps (VM or RF). The goniometer is an independent
    reference; the EMG leads it by the electromechanical delay.
``simulated``
    The project's own simulated nights (:mod:`kneeemg.simulate`) against their truth.

Without the data directory only the ``simulated`` part runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..events import KINDS, Event
from .insert import kind_of

log = logging.getLogger(__name__)

#: The tool name of this project's detector in tables.
KNEEEMG = "kneeemg"
#: Matching tolerance passed to score_events, s.
TOLERANCE_S = 0.1
#: SNRs of the inserted events, dB.
SNRS_DB: tuple[float, ...] = (0.0, 3.0, 6.0, 10.0, 20.0)
#: Seeds of the ``inserted, more seeds`` part (full run; the quick run takes 3).
MORE_SEEDS: tuple[int, ...] = tuple(range(10))
#: Name of that part.
MORE_SEEDS_PART = "inserted, more seeds"
#: Published reference: the SPiQE fasciculation detector (high-density surface EMG).
SPIQE_REFERENCE = "SPiQE (high-density surface EMG, published): sensitivity 83.6 %, specificity 91.6 %"


@dataclass
class AccuracyRow:
    """Scores of one tool on one part, SNR and kind.

    Attributes
    ----------
    part : str
        ``"inserted"``, ``"movements"`` or ``"simulated"``.
    tool : str
    snr_db : float or None
        SNR of the inserted events (None for the other parts).
    kind : str
    n_truth, n_detected, tp, fp, fn : int
    sensitivity, precision, f1 : float
        Class by class (an event must be found and given its kind); NaN when undefined (no
        truth, or nothing detected).
    found : float
        Share of the true events of this kind that a detection of any kind matched.
    onset_error_ms, offset_error_ms : float
        Median absolute onset and offset error of the matched truth events of this kind, ms.
    rate_error_per_h : float
        Detected minus true events of this kind per hour of signal.
    """

    part: str
    tool: str
    snr_db: float | None
    kind: str
    n_truth: int
    n_detected: int
    tp: int
    fp: int
    fn: int
    sensitivity: float
    precision: float
    f1: float
    onset_error_ms: float
    offset_error_ms: float
    rate_error_per_h: float
    found: float = float("nan")


@dataclass
class AccuracyReport:
    """Every row of an accuracy run, with what was run and where."""

    rows: list[AccuracyRow]
    machine: dict[str, Any]
    command: str
    quick: bool
    data_dir: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def select(self, part: str, tool: str | None = None, kind: str | None = None) -> list[AccuracyRow]:
        """Rows of one part (optionally one tool and kind)."""
        return [r for r in self.rows if r.part == part and (tool is None or r.tool == tool)
                and (kind is None or r.kind == kind)]

    def tools(self, part: str) -> list[str]:
        """Tools with rows in ``part``, kneeemg first."""
        seen: list[str] = []
        for r in self.rows:
            if r.part == part and r.tool not in seen:
                seen.append(r.tool)
        return sorted(seen, key=lambda t: (t != KNEEEMG, seen.index(t)))

    def targets(self) -> list[dict[str, Any]]:
        """The project's accuracy targets, each with the measured value and whether it is met."""
        out = self._inserted_targets("inserted", "")
        more = self.extra.get("inserted_more") or {}
        out += self._inserted_targets(MORE_SEEDS_PART, f", {len(more.get('seeds', ()))} seeds")
        beaten, total = 0, 0
        for r in self.select("inserted", KNEEEMG):
            if not r.n_truth:
                continue
            others = [o for o in self.select("inserted", kind=r.kind) if o.tool != KNEEEMG and o.snr_db == r.snr_db]
            for o in others:
                total += 1
                beaten += _nan_low(r.f1) > _nan_low(o.f1)
        if total:
            out.append({"target": "F1 above every baseline at every SNR and kind", "value": f"{beaten}/{total}",
                        "where": "comparisons won", "met": beaten == total})
        for kind, goal_s, goal_p in (("twitch", 0.90, 0.90), ("spasm", 0.95, 0.90), ("cramp", 0.95, 0.90)):
            rows = [r for r in self.select("simulated", KNEEEMG, kind) if r.n_truth]
            if rows:
                r = rows[0]
                out.append({"target": f"simulated nights: {kind} sensitivity >= {goal_s:.2f}, precision >= {goal_p:.2f}",
                            "value": f"{r.sensitivity:.3f} / {r.precision:.3f}", "where": "pooled over seeds",
                            "met": _nan_low(r.sensitivity) >= goal_s and _nan_low(r.precision) >= goal_p})
        return out

    def _inserted_targets(self, part: str, label: str) -> list[dict[str, Any]]:
        """The F1 and onset targets on the inserted events of ``part`` (``label`` added to their names)."""
        out: list[dict[str, Any]] = []
        ins = [r for r in self.select(part, KNEEEMG) if r.snr_db is not None and r.snr_db >= 6.0]
        for kind, goal in (("twitch", 0.90), ("spasm", 0.95), ("cramp", 0.95)):
            rows = [r for r in ins if r.kind == kind and r.n_truth]
            if rows:
                worst = min(rows, key=lambda r: _nan_low(r.f1))
                out.append({"target": f"{kind} F1 >= {goal:.2f} at 6 dB and above{label}", "value": worst.f1,
                            "where": f"lowest at {worst.snr_db:g} dB", "met": _nan_low(worst.f1) >= goal})
        errs = [r.onset_error_ms for r in ins if r.n_truth and np.isfinite(r.onset_error_ms)]
        if errs:
            out.append({"target": f"median onset error < 30 ms at 6 dB and above (every kind){label}", "value": max(errs),
                        "where": "largest of the kinds and SNRs", "met": max(errs) < 30.0})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "quick": self.quick,
            "data_dir": self.data_dir,
            "machine": self.machine,
            "settings": self.settings,
            "notes": self.notes,
            "targets": self.targets(),
            "rows": [asdict(r) for r in self.rows],
            "extra": self.extra,
        }

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(_jsonable(self.as_dict()), indent=2))
        return path


def _nan_low(x: float) -> float:
    return -1.0 if x is None or not np.isfinite(x) else float(x)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# ---------------------------------------------------------------------------- scoring
def score_rows(part: str, tool: str, snr_db: float | None, detected: Sequence[Event], truth: Sequence[Event],
               hours: float) -> list[AccuracyRow]:
    """One row per kind: counts and rates from ``score_events``, errors per truth kind.

    Sensitivity, precision and F1 are class by class, as :func:`kneeemg.scoring.score_events`
    defines them (an event counts when it is found and given its kind); ``found`` is the
    share found whatever kind it was given. The onset and offset errors of a kind are those
    of the pairs (matched whatever their kinds) whose truth is of that kind.
    """
    from ..scoring import score_events

    score = score_events(list(detected), list(truth), tolerance_s=TOLERANCE_S)
    truth_kind = np.array([truth[b].kind for _, b in score.pairs], dtype=object)
    rows = []
    for kind in KINDS:
        k = score.per_kind[kind]
        n_truth, n_det = k.n_truth, k.n_detected
        mine = truth_kind == kind
        on_ms = float(np.median(np.abs(score.onset_errors_ms[mine]))) if mine.any() else float("nan")
        off_ms = float(np.median(np.abs(score.offset_errors_ms[mine]))) if mine.any() else float("nan")
        rows.append(AccuracyRow(part, tool, snr_db, kind, n_truth, n_det, int(k.tp), int(k.fp), int(k.fn),
                                float(k.sensitivity), float(k.precision), float(k.f1), on_ms, off_ms,
                                (n_det - n_truth) / hours if hours > 0 else float("nan"), float(k.found_share)))
    return rows


def shift(events: Sequence[Event], by: int) -> list[Event]:
    """Events moved by ``by`` samples (to pool several signals into one timeline)."""
    return [dataclasses.replace(e, onset_sample=e.onset_sample + by, offset_sample=e.offset_sample + by) for e in events]


# ---------------------------------------------------------------------------- the parts
def _kneeemg_events(x: np.ndarray, fs_hz: float) -> list[Event]:
    from ..dsp import detect

    return detect(x if x.ndim == 2 else x[:, None], fs_hz).events


def _tools(names: Sequence[str] | None) -> dict[str, Callable[[np.ndarray, float], tuple[list[Event] | None, str]]]:
    from .baselines import BASELINES, run_baseline

    tools: dict[str, Callable] = {KNEEEMG: lambda x, fs: (_kneeemg_events(x, fs), "")}
    for name in BASELINES if names is None else names:
        tools[name] = (lambda n: lambda x, fs: run_baseline(n, x[:, 0] if x.ndim == 2 else x, fs))(name)
    return tools


def load_material(data_dir: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, Any]]:
    """Quiet stretches (VM, RF of ``sen`` and ``pie``) and contraction bursts (``sen``) of the UCI files."""
    from .realdata import QUADRICEPS, contraction_bursts, quiet_stretches, read_uci_text, uci_files

    stretches: list[np.ndarray] = []
    bursts: list[np.ndarray] = []
    files = uci_files(data_dir)
    for p in files:
        f = read_uci_text(p)
        for label in QUADRICEPS:
            stretches += quiet_stretches(f, label)
            if f.task == "sen":
                bursts += contraction_bursts(f, label)
    info = {"files": [p.name for p in files], "quiet_s": sum(len(s) for s in stretches) / 1000.0,
            "n_quiet_stretches": len(stretches), "n_bursts": len(bursts), "bursts_s": sum(len(b) for b in bursts) / 1000.0}
    return stretches, bursts, info


def run_inserted(data_dir: str | Path, snrs_db: Sequence[float] = SNRS_DB, seeds: Sequence[int] = (0,),
                 trial_s: float = 300.0, baselines: Sequence[str] | None = None,
                 part: str = "inserted") -> tuple[list[AccuracyRow], dict[str, Any]]:
    """Inserted events on real background: every tool, every SNR, pooled over seeds (rows of ``part``)."""
    from .insert import make_trial

    fs = 1000.0
    stretches, bursts, info = load_material(data_dir)
    tools = _tools(baselines)
    rows: list[AccuracyRow] = []
    seconds: dict[str, float] = {t: 0.0 for t in tools}
    errors: dict[str, str] = {}
    bg_false: list[int] = []
    found_by_source: dict[str, dict[str, float]] = {}
    bg_hours = 0.0
    for snr in snrs_db:
        detected: dict[str, list[Event]] = {t: [] for t in tools}
        truth: list[Event] = []
        sources: list[str] = []
        offset = 0
        for seed in seeds:
            rng = np.random.default_rng([int(seed), int(round(snr * 10)) + 1000])
            trial = make_trial(stretches, bursts, trial_s, fs, snr, rng)
            truth += shift(trial.truth, offset)
            sources += trial.sources
            for name, run in tools.items():
                t0 = time.perf_counter()
                events, err = run(trial.signal_uv, fs)
                seconds[name] += time.perf_counter() - t0
                if events is None:
                    errors[name] = err
                    continue
                detected[name] += shift(events, offset)
            # the background alone (each trial draws its own): false events with nothing inserted
            bg_false.append(len(_kneeemg_events(trial.background_uv[:, None], fs)))
            bg_hours += trial.duration_s / 3600.0
            offset += len(trial.signal_uv) + round(10 * fs)
        hours = len(seeds) * trial_s / 3600.0
        for name in tools:
            if name in errors:
                continue
            rows += score_rows(part, name, float(snr), detected[name], truth, hours)
        found_by_source[f"{snr:g}"] = _found_by_source(detected[KNEEEMG], truth, sources)
    info.update({"trial_s": trial_s, "seeds": list(seeds), "snrs_db": list(snrs_db), "tool_seconds": seconds,
                 "tool_errors": errors, "kneeemg_found_by_source": found_by_source,
                 "kneeemg_events_on_background_alone_per_h": sum(bg_false) / bg_hours if bg_hours else None})
    return rows, info


def _found_by_source(detected: Sequence[Event], truth: Sequence[Event], sources: Sequence[str]) -> dict[str, float]:
    """Share found per event source (fasciculation, jerk, spasm, cramp), whatever kind it was given:
    the pairs of the matching of all kinds together, as ``found`` in :func:`score_rows`."""
    from ..scoring import score_events

    score = score_events(list(detected), list(truth), tolerance_s=TOLERANCE_S)
    found = np.zeros(len(truth), dtype=bool)
    for _, b in score.pairs:
        found[b] = True
    src = np.array(sources, dtype=object)
    return {name: float(found[src == name].mean()) for name in dict.fromkeys(sources)}


def run_movements(data_dir: str | Path, baselines: Sequence[str] | None = None, tasks: tuple[str, ...] = ("sen", "pie"),
                  max_files: int | None = None) -> tuple[list[AccuracyRow], dict[str, Any]]:
    """UCI files (``sen``, ``pie``): goniometer movements against quadriceps bursts.

    Every tool runs on VM and RF separately, and each movement is expected on both: the
    truth holds every movement once per channel, so counts are movement-channel pairs.
    Channels are not merged, because one tonically active channel would join a file's
    movements into one burst. ``max_files`` limits the files used (in name order).
    """
    from .realdata import QUADRICEPS, angle_movements, read_uci_text, uci_files

    tools = _tools(baselines)
    truth: list[Event] = []
    detected: dict[str, list[Event]] = {t: [] for t in tools}
    errors: dict[str, str] = {}
    leads: list[float] = []
    offset, total_s = 0, 0.0
    fs = 1000.0
    files = uci_files(data_dir, tasks)[:max_files]
    for p in files:
        f = read_uci_text(p)
        moves = angle_movements(f.angle_deg, f.fs_hz)
        for c, label in enumerate(QUADRICEPS):
            truth += shift([Event(m.onset_sample, m.offset_sample, fs, c, kind_of((m.offset_sample - m.onset_sample) / fs),
                                  float("nan"), float("nan"), float("nan"), label) for m in moves], offset)
            x = f.channel(label)[:, None]
            for name, run in tools.items():
                events, err = run(x, fs)
                if events is None:
                    errors[name] = err
                    continue
                events = [dataclasses.replace(e, channel=c, channel_label=label) for e in events]
                if name == KNEEEMG:
                    leads += _leads(moves, events, fs)
                detected[name] += shift(events, offset)
        offset += len(f.emg_uv) + round(10 * fs)
        total_s += len(f.emg_uv) / fs
    rows: list[AccuracyRow] = []
    for name in tools:
        if name not in errors:
            rows += score_rows("movements", name, None, detected[name], truth, total_s * len(QUADRICEPS) / 3600.0)
    info = {"files": [p.name for p in files], "n_movements": len(truth) // len(QUADRICEPS),
            "n_movement_channel_pairs": len(truth), "channels": list(QUADRICEPS), "recording_s": total_s, "tool_errors": errors,
            "kneeemg_emg_lead_ms_median": float(np.median(leads)) if leads else None,
            "kneeemg_emg_lead_ms_iqr": [float(v) for v in np.percentile(leads, [25, 75])] if leads else None,
            "n_leads": len(leads)}
    return rows, info


def _leads(moves: Sequence[Any], bursts: Sequence[Event], fs_hz: float) -> list[float]:
    """EMG lead over the angle per movement: movement onset minus the onset of the first
    burst that overlaps the movement (or the second before it), ms."""
    out = []
    for m in moves:
        lo = m.onset_sample - round(fs_hz)
        hits = [b for b in bursts if b.offset_sample > lo and b.onset_sample < m.offset_sample]
        if hits:
            out.append((m.onset_sample - hits[0].onset_sample) / fs_hz * 1000.0)
    return out


def run_simulated(seeds: Sequence[int] = (0, 1, 2), hours: float = 8.0) -> tuple[list[AccuracyRow], dict[str, Any]]:
    """kneeemg on the project's simulated nights (one channel, 1 kHz), pooled over seeds."""
    from ..simulate import simulate_night

    truth: list[Event] = []
    detected: list[Event] = []
    offset = 0
    for seed in seeds:
        night = simulate_night(hours=hours, n_channels=1, fs_hz=1000.0, seed=int(seed))
        n = night.info.n_samples
        truth += shift(night.info.annotations, offset)
        detected += shift(_kneeemg_events(night.read(0, n), night.info.fs_hz), offset)
        offset += n + round(10 * night.info.fs_hz)
    rows = score_rows("simulated", KNEEEMG, None, detected, truth, hours * len(seeds))
    return rows, {"seeds": list(seeds), "hours_each": hours}


def run_accuracy(quick: bool = False, data_dir: str | Path | None = None, command: str = "",
                 progress: Callable[[str], None] | None = None) -> AccuracyReport:
    """Run every part that the available data allows.

    Parameters
    ----------
    quick : bool
        A minute of signal per SNR, one seed (kneeemg alone: 3), three movement files, one
        simulated hour and no slow baseline (for CI, about a minute or two); the full run uses
        5 minutes per SNR and seed, 2 seeds (kneeemg alone: 10), every ``sen`` and ``pie``
        file, three simulated 8-hour nights and every baseline.
    data_dir : path or None
        The folder of public recordings (or ``$KNEEEMG_DATA``); without it only the
        simulated part runs.
    """
    from ..datadir import find_data_dir
    from .baselines import BASELINES, SETTINGS, SLOW
    from .speed import machine_info

    say = progress or (lambda s: None)
    root = find_data_dir(data_dir)
    baselines = [name for name in BASELINES if not (quick and name in SLOW)]
    rows: list[AccuracyRow] = []
    notes: list[str] = [SPIQE_REFERENCE]
    extra: dict[str, Any] = {}
    if root is None:
        notes.append("No data directory (set KNEEEMG_DATA or --data-dir): only the simulated part ran.")
    else:
        say("inserted events on real background")
        r, extra["inserted"] = run_inserted(root, seeds=(0,) if quick else (0, 1), trial_s=60.0 if quick else 300.0,
                                            baselines=baselines)
        rows += r
        say("inserted events, kneeemg alone, more seeds")
        r, extra["inserted_more"] = run_inserted(root, seeds=MORE_SEEDS[:3] if quick else MORE_SEEDS,
                                                 trial_s=60.0 if quick else 300.0, baselines=[], part=MORE_SEEDS_PART)
        rows += r
        say("goniometer movements")
        r, extra["movements"] = run_movements(root, baselines=baselines, tasks=("sen",) if quick else ("sen", "pie"),
                                              max_files=3 if quick else None)
        rows += r
    say("simulated nights")
    r, extra["simulated"] = run_simulated(seeds=(0,) if quick else (0, 1, 2), hours=1.0 if quick else 8.0)
    rows += r
    settings = {"tolerance_s": TOLERANCE_S, "baselines": {n: SETTINGS[n] for n in baselines},
                "detector": "DetectorConfig() defaults"}
    return AccuracyReport(rows, machine_info(), command, quick, str(root) if root else None, settings, notes, extra)
