"""Facts the guidance reasons with, computed from a case (profile, diary days, nights).

Each feature is ``True``, ``False`` or ``None`` (unknown: the fields it needs were not
given). Only a feature that is ``True`` counts as evidence, so nothing is ever concluded
from a field the person left empty. Thresholds live in :class:`TriageConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..diary import SYMPTOMS

#: Medicines the documents name as possible causes of twitching.
LISTED_MEDICINES = ("diuretic", "corticosteroid", "oestrogen", "antidepressant")
#: Warning-sign symptoms (the escalation to see_doctor_asap).
WARNING_SYMPTOMS = ("severe_pain", "swelling", "redness", "weakness", "numbness", "stiffness", "fever", "chills",
                    "skin_color_change")
#: Features that are everyday lifestyle factors (the self_care level).
LIFESTYLE = ("high_caffeine", "late_caffeine", "stimulant_use", "alcohol", "low_water", "hard_exercise", "no_warm_up",
             "activity_change", "long_sitting", "long_standing", "high_stress", "high_anxiety", "short_sleep")


@dataclass(frozen=True)
class TriageConfig:
    """The guidance's own thresholds (the documents give no numbers; see docs/guidance.md).

    Attributes
    ----------
    frequent_rate_per_h : float
        A night is "frequent" with at least this many twitches per usable hour.
    frequent_min_nights : int
        Twitching is frequent when at least this many nights are frequent.
    persistent_days : int
        Twitching is persistent when twitching nights span at least this many days, or the
        profile says it began at least this long before the latest night or diary day.
    improvement_days : int
        Days with healthier habits logged (8+ glasses of water, at most one caffeinated
        drink) after which continuing twitching counts as "no improvement".
    high_caffeine_drinks, low_water_glasses, good_water_glasses, alcohol_drinks : int
    late_caffeine_hours, long_sitting_hours, long_standing_hours, short_sleep_hours : float
    high_stress, high_anxiety : int
        Levels (0-5) from which stress and anxiety count as high; 0-1 count as low.
    trigger_min_nights : int
        Nights with both diary and EMG needed before personal triggers are estimated.
    trigger_min_group : int
        Nights needed on each side (factor present / absent).
    min_listed_score : float
        A cause is listed only when its probability reaches this, so that a rare cause with
        a little weak evidence (ALS at 0.2 %) is not put in front of anyone.
    """

    frequent_rate_per_h: float = 10.0
    frequent_min_nights: int = 3
    persistent_days: int = 14
    improvement_days: int = 7
    high_caffeine_drinks: int = 4
    late_caffeine_hours: float = 4.0
    low_water_glasses: int = 3
    good_water_glasses: int = 8
    alcohol_drinks: int = 2
    long_sitting_hours: float = 8.0
    long_standing_hours: float = 6.0
    short_sleep_hours: float = 6.0
    high_stress: int = 4
    high_anxiety: int = 4
    trigger_min_nights: int = 10
    trigger_min_group: int = 3
    min_listed_score: float = 0.01


def _any(days: Sequence[Mapping[str, Any]], key: str, test: Callable[[Any], bool]) -> bool | None:
    values = [d[key] for d in days if d.get(key) is not None]
    return any(test(v) for v in values) if values else None


def _all(days: Sequence[Mapping[str, Any]], key: str, test: Callable[[Any], bool]) -> bool | None:
    values = [d[key] for d in days if d.get(key) is not None]
    return all(test(v) for v in values) if values else None


def compute_features(profile: Mapping[str, Any], days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]],
                     cfg: TriageConfig) -> dict[str, bool | None]:
    """Every feature of a case; see the module docstring."""
    c = cfg
    f: dict[str, bool | None] = {}
    f["hard_exercise"] = _any(days, "exercise", lambda v: v == "hard")
    f["no_exercise"] = _all(days, "exercise", lambda v: v == "none")
    f["long_sitting"] = _any(days, "sitting_hours", lambda v: v >= c.long_sitting_hours)
    f["long_standing"] = _any(days, "standing_hours", lambda v: v >= c.long_standing_hours)
    f["activity_change"] = _any(days, "activity_change", lambda v: v is True)
    f["no_warm_up"] = any(d.get("warmed_up") is False and d.get("exercise") not in (None, "none") for d in days) or None
    f["low_water"] = _any(days, "water_glasses", lambda v: v <= c.low_water_glasses)
    f["good_water"] = _all(days, "water_glasses", lambda v: v >= c.good_water_glasses)
    f["alcohol"] = _any(days, "alcohol_drinks", lambda v: v >= c.alcohol_drinks)
    f["no_alcohol"] = _all(days, "alcohol_drinks", lambda v: v == 0)
    f["high_caffeine"] = _any(days, "caffeine_drinks", lambda v: v >= c.high_caffeine_drinks)
    f["late_caffeine"] = any(d.get("caffeine_last_hours_before_bed") is not None and d["caffeine_last_hours_before_bed"] <= c.late_caffeine_hours
                             and d.get("caffeine_drinks", 1) > 0 for d in days) or None
    meds = profile.get("medications")
    stim_days = _any(days, "stimulants", lambda v: len(v) > 0)
    f["stimulant_use"] = bool(stim_days) or ("stimulant" in meds if meds is not None else False) or None
    no_caf = _all(days, "caffeine_drinks", lambda v: v == 0)
    f["no_caffeine"] = True if (no_caf and not stim_days and not (meds and "stimulant" in meds)) else None
    f["high_stress"] = _any(days, "stress", lambda v: v >= c.high_stress)
    f["low_stress"] = _all(days, "stress", lambda v: v <= 1)
    f["high_anxiety"] = _any(days, "anxiety", lambda v: v >= c.high_anxiety)
    f["low_anxiety"] = _all(days, "anxiety", lambda v: v <= 1)
    f["short_sleep"] = _any(days, "sleep_hours", lambda v: v < c.short_sleep_hours)
    symptoms_known = any(d.get("symptoms") is not None for d in days)
    reported = {s for d in days for s in (d.get("symptoms") or [])}
    for s in SYMPTOMS:
        f[s] = True if s in reported else (False if symptoms_known else None)
    for m in LISTED_MEDICINES:
        f[f"med_{m}"] = (m in meds) if meds is not None else None
    f["no_listed_medicine"] = (not any(m in meds for m in LISTED_MEDICINES)) if meds is not None else None
    defs = profile.get("known_deficiencies")
    f["known_deficiency"] = bool(defs) if defs is not None else None
    conds = profile.get("conditions")
    for cond in ("arthritis", "diabetes", "back_surgery", "knee_injury", "patellar_tendonitis", "peroneal_nerve_injury",
                 "pinched_nerve", "multiple_sclerosis", "parkinsons", "neuromyotonia", "als"):
        f[f"cond_{cond}"] = (cond in conds) if conds is not None else None
    f["spasms_present"] = any(n.get("spasms", 0) > 0 for n in nights) if nights else None
    f["many_cramps"] = sum(1 for n in nights if n.get("cramps", 0) > 0) >= 2 if nights else None
    return {k: (None if v is None else bool(v)) for k, v in f.items()}


def night_rate(n: Mapping[str, Any]) -> float | None:
    """Twitches per usable hour of a case night (None without usable time)."""
    hours = n.get("usable_hours") or 0
    return n.get("twitches", 0) / hours if hours > 0 else None
