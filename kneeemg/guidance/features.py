"""Facts the guidance reasons with, computed from a case (profile, diary days, nights).

Each feature is ``True``, ``False`` or ``None``. ``None`` means unknown: the fields it
needs were not given. Only a feature that is ``True`` counts as evidence (for or against a
cause), so nothing is ever concluded from a field the person left empty, and an empty
field never reads as "no". :data:`FEATURE_INPUTS` names the input fields behind each
feature; every threshold lives in :class:`TriageConfig`.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence, get_type_hints

from ..diary import CONDITIONS, DEFICIENCIES, MEDICATIONS, SYMPTOMS
from ..config import settings_from_text
from ..errors import ConfigError
from ..words import plural_of

#: Medicines the documents name as possible causes of twitching (profile ``medications``).
LISTED_MEDICINES = ("diuretic", "corticosteroid", "oestrogen", "antidepressant", "stimulant")
#: Warning-sign symptoms: any of them on any diary day gives ``see_doctor_asap``. Stiffness is
#: one only when it limits how the knee moves (``limited_movement``), as the source says; plain
#: ``stiffness`` is one of the other symptoms.
WARNING_SYMPTOMS = ("severe_pain", "swelling", "redness", "weakness", "numbness", "limited_movement", "fever", "chills",
                    "skin_color_change")
#: The other symptoms: twitching "accompanied by other symptoms" gives ``see_doctor``.
OTHER_SYMPTOMS = tuple(s for s in SYMPTOMS if s not in WARNING_SYMPTOMS)
#: Everyday factors: twitching with any of them gives at least ``self_care``.
LIFESTYLE = ("high_caffeine", "late_caffeine", "stimulant_use", "alcohol", "low_water", "hard_exercise", "late_exercise",
             "no_warm_up", "activity_change", "long_sitting", "long_standing", "high_stress", "high_anxiety", "short_sleep")
#: The everyday factors in words.
LIFESTYLE_WORDS = {
    "high_caffeine": "a lot of caffeine", "late_caffeine": "caffeine close to bed", "stimulant_use": "a stimulant",
    "alcohol": "alcohol", "low_water": "little water", "hard_exercise": "hard exercise", "late_exercise": "exercise close to bed",
    "no_warm_up": "exercise without a warm-up", "activity_change": "a sudden change in activity",
    "long_sitting": "long sitting", "long_standing": "long standing", "high_stress": "high stress",
    "high_anxiety": "strong anxiety", "short_sleep": "short sleep",
}
#: The other symptoms in words, exactly as the diary offers them.
SYMPTOM_WORDS = {"warmth": "warmth", "tingling": "tingling", "burning": "burning", "back_pain": "back pain",
                 "stiffness": "stiffness",
                 "twitching_elsewhere": "twitching in other places"}
#: Diary factors compared across nights by :mod:`kneeemg.guidance.triggers` (feature ``trigger_<name>``).
TRIGGER_FACTORS = ("caffeine", "late_caffeine", "water", "alcohol", "stress", "anxiety", "hard_exercise", "late_exercise",
                   "sitting", "standing", "activity_change", "sleep")

#: The input fields each feature is computed from ("nights" = the EMG nights).
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "hard_exercise": ("exercise",), "no_exercise": ("exercise",),
    "late_exercise": ("exercise", "exercise_hours_before_bed"), "no_warm_up": ("exercise", "warmed_up"),
    "long_sitting": ("sitting_hours",), "long_standing": ("standing_hours",), "activity_change": ("activity_change",),
    "low_water": ("water_glasses",), "good_water": ("water_glasses",),
    "alcohol": ("alcohol_drinks",), "no_alcohol": ("alcohol_drinks",),
    "high_caffeine": ("caffeine_drinks",), "late_caffeine": ("caffeine_last_hours_before_bed",),
    "no_caffeine": ("caffeine_drinks",), "stimulant_use": ("stimulants", "medications"),
    "high_stress": ("stress",), "low_stress": ("stress",), "high_anxiety": ("anxiety",), "low_anxiety": ("anxiety",),
    "short_sleep": ("sleep_hours",),
    **{s: ("symptoms",) for s in SYMPTOMS}, "warning_sign": ("symptoms",), "spare_the_knee": ("symptoms", "conditions"),
    **{f"med_{m}": ("medications",) for m in LISTED_MEDICINES}, "no_listed_medicine": ("medications",),
    "known_deficiency": ("known_deficiencies",), **{f"deficiency_{d}": ("known_deficiencies",) for d in DEFICIENCIES},
    **{f"cond_{c}": ("conditions",) for c in CONDITIONS}, **{f"no_cond_{c}": ("conditions",) for c in CONDITIONS},
    "spasms_present": ("nights",), "cramps_present": ("nights",), "many_cramps": ("nights",),
    "one_sided": ("nights",), "both_sides": ("nights",), "no_twitching_recorded": ("nights", "twitching_since"),
    # set by the classifier once the level is known: the nights were called normal ("Occasional twitching is normal")
    "normal_night": ("nights",),
    **{f"trigger_{t}": ("nights", "diary") for t in TRIGGER_FACTORS},
}


#: Most days a threshold of days may span (ten years): dates further back are out of range.
MAX_THRESHOLD_DAYS = 3650


@dataclass(frozen=True)
class TriageConfig:
    """The guidance's own thresholds (the documents give no numbers; see docs/guidance.md).

    Attributes
    ----------
    frequent_rate_per_h : float
        A night counts as "frequent" with at least this many involuntary events (twitches +
        spasms + cramps) per usable hour.
    twitching_rate_per_h : float
        A night counts as a twitching night (for "persistent", "twitching now" and "no
        improvement") with at least this many events per usable hour (a night too short to
        give a rate is none). The detector reports a few small potentials of a quiet
        background as events (4.8 per hour on the accuracy benchmark's real backgrounds): a
        7-hour night of that alone reaches 8 an hour with a probability of 2.5e-4 (Poisson).
    frequent_min_nights : int
        Twitching is frequent when at least this many frequent nights ...
    frequent_window_days : int
        ... fall within this many calendar days ending on the latest night. Must be at least
        ``persistent_days - 1``, which keeps the law "more nights never lower the level".
    min_usable_hours : float
        A night with less usable time than this, as shown rounded to 0.1 h, gives no rate
        (too little to judge).
    persistent_days : int
        Twitching is persistent when twitching nights span at least this many days, or the
        profile's ``twitching_since`` lies at least this long before the latest date given.
    symptom_window_days : int
        Symptoms count for the "see a doctor" rules only when noted within this many days
        of the case's latest entry (diary day or night), or, for a triage of the history,
        of today (or of the night a report is about): a swelling of a year ago does not make
        today's advice urgent (a note says when such a sign was noted).
    history_days : int
        A triage of the history reads the nights of this many days up to today (or up to
        the night a report is about), or, when none lies in them, those of this many days
        up to the latest night; a case file's nights are all read. At least
        ``persistent_days``, ``frequent_window_days`` and ``symptom_window_days``. A window of
        days, not a number of nights: recording another night never drops one from it.
    improvement_days : int
        Days with healthier habits (``good_water_glasses`` or more glasses of water and at
        most one caffeinated drink) after which twitching on the latest night counts as "no
        improvement after lifestyle changes".
    high_caffeine_drinks : int
        Caffeinated drinks in a day from which caffeine counts as a lot.
    late_caffeine_hours : float
        The last caffeinated drink this close to bed (h) counts as late.
    low_water_glasses, good_water_glasses : int
        Glasses of water at or below which a day is short of fluid; at or above which it is good.
    alcohol_drinks : int
        Alcoholic drinks in a day from which alcohol counts.
    late_exercise_hours : float
        Exercise (light or harder) this close to bed (h) counts as late.
    long_sitting_hours, long_standing_hours : float
        Hours of sitting or standing in a day that count as long spells.
    short_sleep_hours : float
        Sleep below this (h) counts as short.
    high_stress, high_anxiety : int
        Levels (0-5) from which stress and anxiety count as high; 0-1 count as low.
    many_cramps_nights : int
        Nights with a cramp needed for "cramps on several nights".
    side_min_twitches : int
        Twitches with a known side (left/right) needed before sidedness is judged.
    one_sided_share, both_sides_share : float
        The larger side's share of those twitches from which twitching counts as one-sided,
        and up to which it counts as on both sides.
    trigger_min_nights : int
        Nights with both a diary entry and EMG needed before personal triggers are estimated.
    trigger_min_group : int
        Nights needed on each side of a factor (present / absent).
    trigger_caffeine_drinks : int
        Caffeinated drinks that make a night "after a lot of caffeine" for the trigger analysis.
    trigger_max_ci_ratio : float
        An association is reported only when its 95 % interval excludes 1 and its upper end
        is at most this many times its lower end (otherwise it is uninformative).
    min_listed_score : float
        A cause is listed only when its probability reaches this, so that a rare cause with
        a little weak evidence (ALS at 0.1 %) is not put in front of anyone.
    max_listed_causes : int
        At most this many causes have their advice shown ...
    advice_min_score : float
        ... and only those whose score reaches this.

    Every threshold is a finite number, 0 or more. :meth:`with_settings` builds one from
    ``NAME=VALUE`` texts (``kneeemg triage --set``, ``kneeemg report --set``).
    """

    frequent_rate_per_h: float = 10.0
    twitching_rate_per_h: float = 8.0
    frequent_min_nights: int = 3
    frequent_window_days: int = 14
    min_usable_hours: float = 1.0
    persistent_days: int = 14
    symptom_window_days: int = 28
    history_days: int = 56
    improvement_days: int = 7
    high_caffeine_drinks: int = 4
    late_caffeine_hours: float = 4.0
    low_water_glasses: int = 3
    good_water_glasses: int = 8
    alcohol_drinks: int = 2
    late_exercise_hours: float = 3.0
    long_sitting_hours: float = 8.0
    long_standing_hours: float = 6.0
    short_sleep_hours: float = 6.0
    high_stress: int = 4
    high_anxiety: int = 4
    many_cramps_nights: int = 2
    side_min_twitches: int = 20
    one_sided_share: float = 0.8
    both_sides_share: float = 0.65
    trigger_min_nights: int = 10
    trigger_min_group: int = 3
    trigger_caffeine_drinks: int = 3
    trigger_max_ci_ratio: float = 4.0
    min_listed_score: float = 0.01
    max_listed_causes: int = 5
    advice_min_score: float = 0.1

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"TriageConfig: {f.name}={value!r} must be a finite number, 0 or more")
            if hints[f.name] is int and not isinstance(value, numbers.Integral):
                raise ConfigError(f"TriageConfig: {f.name}={value!r} must be a whole number")
            if f.name.endswith("_days") and value > MAX_THRESHOLD_DAYS:
                raise ConfigError(f"TriageConfig: {f.name}={value} is more than {MAX_THRESHOLD_DAYS} days; give fewer")
        for name in ("frequent_rate_per_h", "frequent_min_nights", "persistent_days", "symptom_window_days",
                     "improvement_days", "side_min_twitches", "many_cramps_nights"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"TriageConfig: {name}={_number(getattr(self, name))} must be above 0")
        if not 0 < self.twitching_rate_per_h <= self.frequent_rate_per_h:
            raise ConfigError(f"TriageConfig: twitching_rate_per_h={_number(self.twitching_rate_per_h)} must be above 0 and "
                              f"at most frequent_rate_per_h={_number(self.frequent_rate_per_h)}")
        needed = max(self.persistent_days, self.frequent_window_days, self.symptom_window_days)
        if self.history_days < needed:
            raise ConfigError(f"TriageConfig: history_days={self.history_days} must be at least persistent_days, "
                              f"frequent_window_days and symptom_window_days ({needed}), or it could not hold them; "
                              f"set history_days={needed} or more as well")
        if self.frequent_window_days < self.persistent_days - 1:
            raise ConfigError(f"TriageConfig: frequent_window_days={self.frequent_window_days} must be at least "
                              f"persistent_days - 1 = {self.persistent_days - 1}")
        if not 0.5 <= self.both_sides_share < self.one_sided_share <= 1.0:
            raise ConfigError("TriageConfig: need 0.5 <= both_sides_share < one_sided_share <= 1")
        if self.trigger_min_group < 2 or self.trigger_min_nights < 2 * self.trigger_min_group:
            raise ConfigError("TriageConfig: trigger_min_group must be at least 2 and trigger_min_nights at least twice it")
        if not 0 < self.min_listed_score < 1:
            raise ConfigError("TriageConfig: min_listed_score must lie between 0 and 1")

    @classmethod
    def with_settings(cls, settings: Iterable[str] = ()) -> "TriageConfig":
        """The default thresholds with some changed, each given as text ``NAME=VALUE``.

        Parameters
        ----------
        settings : iterable of str
            E.g. ``["frequent_rate_per_h=15", "persistent_days=10"]``. ``NAME`` is a field of
            this class; ``VALUE`` a whole number for a whole-number field (``persistent_days``),
            a number for the others. A name given twice takes its last value.

        Returns
        -------
        TriageConfig

        Raises
        ------
        ConfigError
            In one line: an unknown name (with the closest one, or the list of names), a
            setting without ``=``, a value that is not a number of the field's kind, or values
            this class refuses (``frequent_window_days`` below ``persistent_days - 1``...).
        """
        changes = settings_from_text(cls, settings, "threshold", "frequent_rate_per_h=15")
        try:
            return cls(**changes)
        except ConfigError as exc:
            given = ", ".join(f"{k}={_number(v)}" for k, v in changes.items())
            raise ConfigError(f"the thresholds set ({given}) are refused: {str(exc).removeprefix('TriageConfig: ')}"
                              ) from None

    def in_words(self) -> list[str]:
        """Every threshold in words, in field order; one that differs from its default says
        the default ("... (default 10)")."""
        default = TriageConfig()
        out = []
        for name, text in THRESHOLD_WORDS.items():
            value, was = getattr(self, name), getattr(default, name)
            out.append(_threshold_text(text, value) + ("" if value == was else f" (default {_number(was)})"))
        return out


#: Each threshold of :class:`TriageConfig` in words, for ``--explain``: ``{}`` is its value, and
#: ``{night}`` its value with the noun in the number it takes ("1 night", "2 nights").
THRESHOLD_WORDS = {
    "frequent_rate_per_h": "a frequent night has {} or more events per usable hour",
    "twitching_rate_per_h": "a twitching night has {} or more events per usable hour",
    "frequent_min_nights": "frequent twitching is {frequent night} or more",
    "frequent_window_days": "those nights fall within {day}",
    "min_usable_hours": "a night gives a rate with {} h of usable time or more",
    "persistent_days": "persistent twitching spans {day} or more",
    "symptom_window_days": "symptoms and twitching count as now within {day} (symptoms of today for the history or "
                           "of a case file's latest entry, twitching of the latest night)",
    "history_days": "a triage of the history reads the nights of the last {day}",
    "improvement_days": "no improvement needs {healthier day} or more",
    "high_caffeine_drinks": "a lot of caffeine is {drink} a day or more",
    "late_caffeine_hours": "caffeine within {} h of bed is late",
    "low_water_glasses": "little water is {glass} or fewer",
    "good_water_glasses": "enough water is {glass} or more",
    "alcohol_drinks": "alcohol counts from {drink}",
    "late_exercise_hours": "exercise within {} h of bed is late",
    "long_sitting_hours": "long sitting is {} h or more",
    "long_standing_hours": "long standing is {} h or more",
    "short_sleep_hours": "short sleep is under {} h",
    "high_stress": "high stress is level {} or more (of 5)",
    "high_anxiety": "strong anxiety is level {} or more (of 5)",
    "many_cramps_nights": "cramps on several nights is {night} or more",
    "side_min_twitches": "the side is judged from {twitch} with a side or more",
    "one_sided_share": "one-sided is a share of {} or more on one side",
    "both_sides_share": "both sides is a share of {} or less",
    "trigger_min_nights": "own triggers need {night} with diary and EMG",
    "trigger_min_group": "own triggers need {night} with the factor and as many without",
    "trigger_caffeine_drinks": "a lot of caffeine for own triggers is {drink} or more",
    "trigger_max_ci_ratio": "a trigger's interval may span a factor of {} at most",
    "min_listed_score": "a cause is listed from a score of {}",
    "max_listed_causes": "advice comes from {cause} at most",
    "advice_min_score": "advice comes only from causes with a score of {} or more",
}


def _threshold_text(text: str, value: int | float) -> str:
    """One of :data:`THRESHOLD_WORDS` with ``value`` in it: ``{}`` as the number, ``{night}``
    as the number and the noun in the number it takes."""
    def filled(m: re.Match[str]) -> str:
        noun = m.group(1)
        return f"{_number(value)} {noun if value == 1 else plural_of(noun)}" if noun else _number(value)

    return re.sub(r"\{([^}]*)\}", filled, text)


def _number(value: int | float) -> str:
    """A threshold as written: 10 (not 10.0), 0.8, 20."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _any(days: Sequence[Mapping[str, Any]], key: str, test: Callable[[Any], bool]) -> bool | None:
    values = [d[key] for d in days if d.get(key) is not None]
    return any(test(v) for v in values) if values else None


def _all(days: Sequence[Mapping[str, Any]], key: str, test: Callable[[Any], bool]) -> bool | None:
    values = [d[key] for d in days if d.get(key) is not None]
    return all(test(v) for v in values) if values else None


def _true_or_unknown(flag: bool) -> bool | None:
    """For facts that can be seen but never ruled out from a diary (``None`` when not seen)."""
    return True if flag else None


def compute_features(profile: Mapping[str, Any], days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]],
                     cfg: TriageConfig, triggers: Sequence[Mapping[str, Any]] = (),
                     recent: set[str] | None = None) -> dict[str, bool | None]:
    """Every feature of a case (see the module docstring).

    Parameters
    ----------
    profile, days, nights : validated case parts (see :func:`kneeemg.guidance.validate_case`).
    cfg : TriageConfig
    triggers : personal triggers found by :func:`kneeemg.guidance.triggers.personal_triggers`.
    recent : set of str, optional
        The symptoms noted within ``cfg.symptom_window_days``
        (:func:`kneeemg.guidance.rules.recent_symptoms`): only they count, as for the rules (a
        swelling of months ago is dated in a note instead). Every symptom of ``days`` when omitted.

    Returns
    -------
    dict
        Feature name -> True, False or None (unknown).
    """
    c = cfg
    f: dict[str, bool | None] = {}
    moved = [d for d in days if d.get("exercise") not in (None, "none")]
    f["hard_exercise"] = _any(days, "exercise", lambda v: v == "hard")
    f["no_exercise"] = _all(days, "exercise", lambda v: v == "none")
    f["late_exercise"] = _true_or_unknown(any((d.get("exercise_hours_before_bed") is not None
                                               and d["exercise_hours_before_bed"] <= c.late_exercise_hours) for d in moved))
    f["no_warm_up"] = _true_or_unknown(any(d.get("warmed_up") is False for d in moved))
    f["long_sitting"] = _any(days, "sitting_hours", lambda v: v >= c.long_sitting_hours)
    f["long_standing"] = _any(days, "standing_hours", lambda v: v >= c.long_standing_hours)
    f["activity_change"] = _any(days, "activity_change", lambda v: v is True)
    f["low_water"] = _any(days, "water_glasses", lambda v: v <= c.low_water_glasses)
    f["good_water"] = _all(days, "water_glasses", lambda v: v >= c.good_water_glasses)
    f["alcohol"] = _any(days, "alcohol_drinks", lambda v: v >= c.alcohol_drinks)
    f["no_alcohol"] = _all(days, "alcohol_drinks", lambda v: v == 0)
    f["high_caffeine"] = _any(days, "caffeine_drinks", lambda v: v >= c.high_caffeine_drinks)
    f["late_caffeine"] = _true_or_unknown(any(d.get("caffeine_last_hours_before_bed") is not None
                                              and d["caffeine_last_hours_before_bed"] <= c.late_caffeine_hours
                                              and d.get("caffeine_drinks", 1) > 0 for d in days))
    meds = profile.get("medications")
    stim_days = any(d.get("stimulants") for d in days)
    prescribed_stim = bool(meds) and "stimulant" in meds
    f["stimulant_use"] = _true_or_unknown(stim_days or prescribed_stim)
    no_caf = _all(days, "caffeine_drinks", lambda v: v == 0)
    f["no_caffeine"] = _true_or_unknown(bool(no_caf) and not stim_days and not prescribed_stim)
    f["high_stress"] = _any(days, "stress", lambda v: v >= c.high_stress)
    f["low_stress"] = _all(days, "stress", lambda v: v <= 1)
    f["high_anxiety"] = _any(days, "anxiety", lambda v: v >= c.high_anxiety)
    f["low_anxiety"] = _all(days, "anxiety", lambda v: v <= 1)
    f["short_sleep"] = _any(days, "sleep_hours", lambda v: v < c.short_sleep_hours)
    symptoms_known = any(d.get("symptoms") is not None for d in days)
    reported = {s for d in days for s in (d.get("symptoms") or [])}
    if recent is not None:
        reported &= recent
    for s in SYMPTOMS:
        f[s] = True if s in reported else (False if symptoms_known else None)
    if f["limited_movement"] is True:
        f["stiffness"] = False  # the same stiffness, counted once: as the warning sign

    # Any warning sign: the advice that moves, loads, heats or massages the leg waits for a doctor.
    f["warning_sign"] = True if reported & set(WARNING_SYMPTOMS) else (False if symptoms_known else None)
    for m in LISTED_MEDICINES:
        f[f"med_{m}"] = (m in meds) if meds is not None else None
    # a medicine kneeemg cannot sort (a brand or substance name) may be of a listed kind: unknown then
    unsorted = meds is not None and any(m not in MEDICATIONS for m in meds)
    f["no_listed_medicine"] = None if meds is None or unsorted else not any(m in meds for m in LISTED_MEDICINES)
    defs = profile.get("known_deficiencies")
    f["known_deficiency"] = bool(defs) if defs is not None else None
    for d in DEFICIENCIES:
        f[f"deficiency_{d}"] = (d in defs) if defs is not None else None
    conds = profile.get("conditions")
    for cond in CONDITIONS:
        f[f"cond_{cond}"] = (cond in conds) if conds is not None else None
        f[f"no_cond_{cond}"] = (cond not in conds) if conds is not None else None
    # Advice that moves, loads, heats or massages the leg waits: for a doctor with a warning
    # sign, and for whoever treats a known knee injury.
    spare = (f["warning_sign"], f["cond_knee_injury"])
    f["spare_the_knee"] = True if True in spare else (False if spare == (False, False) else None)
    f.update(_night_features(nights, cfg))
    # measured and quiet: nights long enough to tell, none with any event, and the person does
    # not report twitching either (advice that presumes twitching is left out then)
    now = recent_nights(nights, cfg)  # (within symptom_window_days of the latest night)
    rated = [n for n in now if night_rate(n, cfg) is not None]
    f["no_twitching_recorded"] = (bool(rated) and all(night_events(n) == 0 for n in now)
                                  and not profile.get("twitching_since") and persistent_stretch(nights, cfg) is None
                                  ) if nights else None
    found = {t["factor"] for t in triggers if t.get("rate_ratio", 0) > 1}
    for t in TRIGGER_FACTORS:
        f[f"trigger_{t}"] = _true_or_unknown(t in found)
    return {k: (None if v is None else bool(v)) for k, v in f.items()}


def persistent_stretch(nights: Sequence[Mapping[str, Any]], cfg: TriageConfig) -> dict[str, Any] | None:
    """The longest stretch of twitching that keeps going, or None.

    A stretch runs from a twitching night to a twitching night over ``cfg.persistent_days``
    days or more and holds at least ``cfg.frequent_min_nights`` twitching nights. Only nights
    that give a rate (:func:`long_enough`) are read. It counts
    when twitching came on at least half of the nights recorded in it, or when it holds a
    frequent spell (``frequent_min_nights`` nights at the frequent rate within
    ``frequent_window_days``) after which no recorded night lies further than that window
    from the spell before the stretch's last night: twitching again after a spell, without
    weeks of quiet nights recorded between. So two or three single twitches weeks apart are
    not twitching that keeps going, nor is one twitch after months of quiet nights; and
    another twitching night never ends a stretch (a spell that a later, milder night moves out
    of the frequency window is still one).

    Returns
    -------
    dict or None
        ``days``, ``twitched`` (twitching nights), ``recorded`` (nights), ``first`` and
        ``last`` (ISO dates), and ``spell`` (the spell's first and last dates, or None when
        the half-of-nights condition held).
    """
    # only nights that give a rate: a night cut short tells nothing, so it is neither a
    # twitching night nor a quiet one
    dated = sorted((date.fromisoformat(n["date"]), twitching_night(n, cfg), night_rate(n, cfg) >= cfg.frequent_rate_per_h)
                   for n in nights if long_enough(n, cfg))
    window = cfg.frequent_window_days
    best: dict[str, Any] | None = None
    for i, (a, twitched_a, _) in enumerate(dated):
        if not twitched_a:
            continue
        count = twitched = 0
        busy: list[date] = []
        previous = None  # the night recorded before b
        for b, twitched_b, busy_b in dated[i:]:
            count += 1
            twitched += twitched_b
            days = (b - a).days + 1
            spell = None
            if busy_b:
                busy.append(b)
            for j in range(len(busy) - cfg.frequent_min_nights, -1, -1):  # the latest spell that ends before b
                k = j + cfg.frequent_min_nights - 1
                if busy[k] < b and (busy[k] - busy[j]).days < window:
                    if previous is None or (previous - busy[k]).days < window:
                        spell = (busy[j].isoformat(), busy[k].isoformat())
                    break
            if twitched_b and days >= cfg.persistent_days and twitched >= cfg.frequent_min_nights \
                    and (2 * twitched >= count or spell is not None) and (best is None or days > best["days"]):
                best = {"days": days, "twitched": twitched, "recorded": count, "first": a.isoformat(),
                        "last": b.isoformat(), "spell": None if 2 * twitched >= count else spell}
            previous = b
    return best


def recent_nights(nights: Sequence[Mapping[str, Any]], cfg: TriageConfig) -> list[Mapping[str, Any]]:
    """The nights within ``cfg.symptom_window_days`` of the latest night: what "now" means for
    twitching, as for symptoms."""
    if not nights:
        return []
    newest = max(date.fromisoformat(n["date"]) for n in nights)
    return [n for n in nights if (newest - date.fromisoformat(n["date"])).days < cfg.symptom_window_days]


def _night_features(nights: Sequence[Mapping[str, Any]], cfg: TriageConfig) -> dict[str, bool | None]:
    if not nights:
        return {"spasms_present": None, "cramps_present": None, "many_cramps": None, "one_sided": None, "both_sides": None}
    cramp_nights = sum(1 for n in nights if n.get("cramps", 0) > 0)
    left = sum(n.get("twitches_left") or 0 for n in nights)
    right = sum(n.get("twitches_right") or 0 for n in nights)
    one = both = None
    if left + right >= cfg.side_min_twitches:
        share = max(left, right) / (left + right)
        one, both = share >= cfg.one_sided_share, share <= cfg.both_sides_share
    return {"spasms_present": any(n.get("spasms", 0) > 0 for n in nights), "cramps_present": cramp_nights > 0,
            "many_cramps": cramp_nights >= cfg.many_cramps_nights, "one_sided": one, "both_sides": both}


def night_events(n: Mapping[str, Any]) -> int:
    """Involuntary events of a case night: twitches + spasms + cramps."""
    return int(n.get("twitches", 0)) + int(n.get("spasms", 0)) + int(n.get("cramps", 0))


#: Usable hours are shown to 0.1 h: a night shown with ``min_usable_hours`` counts (a 1-hour
#: recording with a few seconds set aside is shown as 1.0 h, and is long enough).
USABLE_HOURS_GRACE = 0.05


def long_enough(n: Mapping[str, Any], cfg: TriageConfig | None = None) -> bool:
    """Whether a case night has the usable time to give a rate (``min_usable_hours``, as shown)."""
    hours = n.get("usable_hours") or 0.0
    return hours > 0 and hours >= (cfg or TriageConfig()).min_usable_hours - USABLE_HOURS_GRACE


def hours_text(hours: float) -> str:
    """Usable hours as shown beside a rate, to 0.1 h as :func:`long_enough` reads them: from the
    hours to 0.001 h, halves up ("1.0" for 0.95 h, 57 minutes, which gives a rate; Python's
    ``f"{0.95:.1f}"`` is "0.9", as 0.95 is 0.9499... in binary)."""
    tenths = (round(round(hours, 3) * 1000) + 50) // 100  # (the thousandths gives_rate compares)
    return f"{tenths / 10:.1f}"


def gives_rate(usable_s: float, cfg: TriageConfig | None = None) -> bool:
    """Whether a night of ``usable_s`` usable seconds is long enough to give a rate, as
    :func:`long_enough` judges a case night (the nights list, trends, reports and guidance alike)."""
    return long_enough({"usable_hours": round(usable_s / 3600, 3)}, cfg)


def twitching_night(n: Mapping[str, Any], cfg: TriageConfig) -> bool:
    """Whether a case night counts as twitching: its rate reaches ``cfg.twitching_rate_per_h``
    (a night too short to give a rate tells nothing: never)."""
    rate = night_rate(n, cfg)
    return rate is not None and rate >= cfg.twitching_rate_per_h


def night_rate(n: Mapping[str, Any], cfg: TriageConfig | None = None) -> float | None:
    """Involuntary events per usable hour of a case night (None with too little usable time)."""
    return night_events(n) / n["usable_hours"] if long_enough(n, cfg) else None
