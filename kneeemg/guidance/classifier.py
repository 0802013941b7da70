"""The transparent classifier: escalation level, ranked causes with evidence, advice.

A cause's score is a posterior probability from log-odds::

    log-odds = log(prior / (1 - prior)) + sum(log(lr) for every piece of evidence present)
    score    = 1 / (1 + exp(-log-odds))

where a piece of evidence is present when its feature is ``True``. Every prior and ratio
is in ``kb.toml`` with its reason. A cause with nothing the person gave speaking for it is
not ranked: its score stays at its prior and it is listed under ``unranked``. A cause that
needs a history (``requires`` in ``kb.toml``: back surgery, a nerve injury) is not listed
without it. The level comes from :mod:`kneeemg.guidance.rules`, independent of the scores.

The scores rest on written-down judgments, not on data from patients: they order the causes
and are not the chance that a person has one. People see the order and the reasons
(``kneeemg triage``); the numbers are for ``--explain``, ``--json`` and a doctor. A cause
that is a condition the person already has (``known_when``) is shown as their known
condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Sequence

from ..diary import MEDICATIONS, check_not_after, is_iso_day, validate_day, validate_profile
from ..errors import InputError
from ..words import plural
from .features import LISTED_MEDICINES, OTHER_SYMPTOMS, SYMPTOM_WORDS, TriageConfig, compute_features
from .kb import LEVEL_WORDS, LEVELS, KnowledgeBase, load_kb
from .rules import FiredRule, escalate, join_words, level_of, noted_on, recent_symptoms

DISCLAIMER = ("This is guidance, not a diagnosis. It comes from two public articles on knee twitching and from what "
              "you recorded; only a doctor can examine you and decide what is going on.")
#: Night fields: name -> (kind, required). Other EMG features may be added; the ones below are checked.
NIGHT_FIELDS: dict[str, tuple[str, bool]] = {
    "date": ("date", True), "usable_hours": ("float", True), "twitches": ("int", True), "spasms": ("int", False),
    "cramps": ("int", False), "longest_cramp_s": ("float", False), "periodic_series": ("int", False),
    "twitch_rate_per_hour": ("float", False), "clusters": ("int", False), "plm_index_thigh": ("float", False),
    "twitches_left": ("int", False), "twitches_right": ("int", False),
}


@dataclass
class CauseScore:
    """One ranked cause with every number behind its score.

    ``known`` names, in words, the condition the person already has that is this cause
    ("ALS (amyotrophic lateral sclerosis)"), or is empty. ``not_listed`` says why a cause
    with evidence is not listed ("it needs back surgery in the past, ..."), or is empty.
    """

    id: str
    name: str
    score: float
    log_odds: float
    prior: float
    evidence_for: list[dict[str, Any]]
    evidence_against: list[dict[str, Any]]
    sources: list[str]
    description: str
    known: str = ""
    not_listed: str = ""

    @property
    def label(self) -> str:
        """How the cause is shown to the person: the known condition's name, or the cause's."""
        return self.known[:1].upper() + self.known[1:] if self.known else self.name

    def reasons(self) -> list[str]:
        """The evidence in words; for a known condition, "your known condition" instead of its own line."""
        own = [e["reason"] for e in self.evidence_for if not (self.known and e["feature"].startswith("cond_"))]
        return (["your known condition"] if self.known else []) + own

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "known_condition": self.known or None, "score": round(self.score, 4),
                "prior": self.prior, "log_odds": round(self.log_odds, 3), "evidence_for": self.evidence_for,
                "evidence_against": self.evidence_against, "sources": self.sources, "description": self.description}


@dataclass
class TriageResult:
    """What the guidance says about a case (see :func:`triage`)."""

    level: str
    reasons: list[str]
    causes: list[CauseScore]
    advice: list[dict[str, str]]
    triggers: list[dict[str, Any]] = field(default_factory=list)
    rules: list[FiredRule] = field(default_factory=list)
    hidden: list[CauseScore] = field(default_factory=list)
    unranked: list[dict[str, Any]] = field(default_factory=list)
    config: TriageConfig = field(default_factory=TriageConfig)
    disclaimer: str = DISCLAIMER
    notes: list[str] = field(default_factory=list)
    #: Under a warning sign, what the appointment rules found (the level's own findings are
    #: ``reasons``), and the other symptoms to mention at that visit: a warning sign does not
    #: hide that a medicine is to be asked about, or how often it twitches.
    also: list[str] = field(default_factory=list)

    @property
    def level_text(self) -> str:
        """The level in plain words ("See a doctor soon")."""
        return LEVEL_WORDS[self.level]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: level (and level_text), reasons, also (under a warning sign, what the
        appointment rules found), causes (highest first), advice, triggers, rules, unranked, notes (what kneeemg
        could not use), disclaimer."""
        return {"level": self.level, "level_text": self.level_text, "reasons": self.reasons, "also": self.also,
                "causes": [c.as_dict() for c in self.causes], "advice": self.advice, "triggers": self.triggers,
                "rules": [r.as_dict() for r in self.rules], "unranked": self.unranked, "notes": self.notes,
                "disclaimer": self.disclaimer}

    def explain(self) -> str:
        """A readable walk-through of every number: rules, thresholds, priors, ratios, scores."""
        cfg = self.config
        lines = [f"Level: {self.level_text} (level {LEVELS.index(self.level) + 1} of {len(LEVELS)}; from lowest: "
                 f"{'; '.join(LEVEL_WORDS[lv] for lv in LEVELS)}. The highest rule that fired decides)."]
        for r in self.rules:
            lines.append(f"  [{LEVEL_WORDS[r.level]}] {r.name}: {r.facts}")
            lines.append(f"      {r.text} (Source: {r.source}.)")
        lines.append(f"Thresholds (kneeemg's own; the articles give none): frequent = {plural(cfg.frequent_min_nights, 'night')} with "
                     f"{cfg.frequent_rate_per_h:g}+ events per usable hour within {plural(cfg.frequent_window_days, 'day')}; persistent = "
                     f"{cfg.persistent_days}+ days from a twitching night to a twitching night, with {cfg.frequent_min_nights}+ "
                     "twitching nights and twitching on at least half of the nights recorded, or going on after a frequent "
                     f"spell; no improvement = {cfg.improvement_days}+ healthier days, then twitching on the latest "
                     "night and on at least half of the nights since.")
        lines.append("Every threshold in use (a changed one gives its default): " + "; ".join(cfg.in_words()) + ".")
        lines.append("Causes: log-odds = log(prior / (1 - prior)) + sum of log(likelihood ratio); score = 1 / (1 + exp(-log-odds)). "
                     "The priors and ratios are kneeemg's written-down judgments, not measured in patients: the scores "
                     "order the causes; they are not the chance that you have one.")
        for c in self.causes + self.hidden:
            shown = "" if c in self.causes else f" -- not listed: {c.not_listed or f'below {cfg.min_listed_score:.0%}'}"
            known = " -- your known condition" if c.known else ""
            lines.append(f"{c.label}{known}: prior {c.prior:.3g} (log-odds {math.log(c.prior / (1 - c.prior)):+.2f})")
            for e in c.evidence_for + c.evidence_against:
                lines.append(f"    {'for' if e in c.evidence_for else 'against'}: x {e['lr']:g} (log {math.log(e['lr']):+.2f}) "
                             f"{e['reason']} -- {e['source']}")
            lines.append(f"    = log-odds {c.log_odds:+.2f}, score {c.score:.1%}{shown}")
        if self.unranked:
            lines.append("Not ranked (nothing you gave speaks for them; they keep their prior): "
                         + "; ".join(f"{u['name']} {u['prior']:.3g}" + (
                             f" (against it, not applied while nothing speaks for it: "
                             f"{', '.join(e['reason'] for e in u['evidence_against'])})" if u["evidence_against"] else "")
                             for u in self.unranked) + ".")
        for t in self.triggers:
            lines.append(f"Your own nights: {t['text']} (dispersion {t['dispersion']:g}.)")
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(self.disclaimer)
        return "\n".join(lines)


def _night_value(kind: str, raw: Any, where: str) -> Any:
    if kind == "date":
        try:  # (text like "2026-11-20": a number such as 20261120 is a typo as often as a date)
            if not is_iso_day(raw):
                raise ValueError
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise InputError(f"{where}={raw!r} is not a date; use YYYY-MM-DD") from None
    if isinstance(raw, (bool, str)):  # (a number in quotes is not read as one)
        raise InputError(f"{where}={raw!r} is not a number; write it without quotes")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where}={raw!r} must be a finite number of at least 0")
    if kind == "int":
        if value != int(value):
            raise InputError(f"{where}={raw!r} must be a whole number")
        return int(value)
    return value


def validate_case(case: Mapping[str, Any], where: str = "case",
                  latest: date | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Checked profile, diary days and nights of a case.

    A night's ``twitches_left`` and ``twitches_right`` together are at most its
    ``twitches``. With ``latest`` (today, for a case of recorded nights), no day, night or
    ``twitching_since`` may be dated after it.

    Raises
    ------
    InputError
        One line naming the bad field, e.g. ``case.json: nights[2].twitches=-1 must be ...``.
    """
    if not isinstance(case, Mapping):
        raise InputError(f"{where}: expected an object with profile, diary and nights")
    unknown = set(case) - {"profile", "diary", "nights"}
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use profile, diary and nights")
    if case.get("profile") is not None and not isinstance(case["profile"], Mapping):
        raise InputError(f"{where}: profile must be an object (of age, sex, conditions, ...)")
    profile = validate_profile(case.get("profile") or {}, where=f"{where}: profile").as_dict()
    if latest is not None and profile.get("twitching_since"):
        check_not_after(profile["twitching_since"], latest, f"{where}: profile.twitching_since", note="")
    diary = case.get("diary") or []
    nights = case.get("nights") or []
    if not isinstance(diary, list) or not isinstance(nights, list):
        raise InputError(f"{where}: diary and nights must be lists")
    days = []
    for i, d in enumerate(diary):
        day = validate_day(d, where=f"{where}: diary[{i}]").as_dict()
        if not day.get("date"):
            raise InputError(f"{where}: diary[{i}].date is missing; every day needs the date its night began")
        if latest is not None:
            check_not_after(day["date"], latest, f"{where}: diary[{i}]")
        days.append(day)
    checked = []
    for i, n in enumerate(nights):
        if not isinstance(n, Mapping):
            raise InputError(f"{where}: nights[{i}] must be an object")
        extra = set(n) - set(NIGHT_FIELDS)
        if extra:
            raise InputError(f"{where}: nights[{i}] has unknown key(s) {', '.join(sorted(map(str, extra)))}; "
                             f"use {', '.join(NIGHT_FIELDS)}")
        row = dict(n)
        for key, (kind, required) in NIGHT_FIELDS.items():
            if n.get(key) is None:
                if required:
                    raise InputError(f"{where}: nights[{i}].{key} is missing")
                row.pop(key, None)
                continue
            row[key] = _night_value(kind, n[key], f"{where}: nights[{i}].{key}")
        _check_night_bounds(row, f"{where}: nights[{i}]")
        sides = row.get("twitches_left", 0) + row.get("twitches_right", 0)
        if sides > row["twitches"]:
            raise InputError(f"{where}: nights[{i}]: twitches_left + twitches_right = {sides} is more than twitches = "
                             f"{row['twitches']}; the sides count the night's twitches, so together they are at most "
                             "its total")
        if latest is not None:
            check_not_after(row["date"], latest, f"{where}: nights[{i}]")
        checked.append(row)
    return profile, days, _merge_same_date(checked)


#: Most hours a night can have (the longest recording kneeemg makes: 48 h).
MAX_NIGHT_HOURS = 48.0
#: Most events per usable hour a night can have: one every 0.1 s, the shortest gap between
#: two bursts (closer ones merge).
MAX_EVENTS_PER_HOUR = 36_000.0


def _check_night_bounds(row: Mapping[str, Any], where: str) -> None:
    """Refuse values no night can have: more than 48 usable hours, more events than fit in
    them, a cramp longer than the night, a given rate that its counts contradict."""
    hours = row["usable_hours"]
    if hours > MAX_NIGHT_HOURS:
        raise InputError(f"{where}.usable_hours={hours:g} is more than a night can have (at most {MAX_NIGHT_HOURS:g} h)")
    most = MAX_EVENTS_PER_HOUR * max(hours, 1.0)
    for key in ("twitches", "spasms", "cramps", "clusters", "periodic_series"):
        if row.get(key, 0) > most:
            raise InputError(f"{where}.{key}={row[key]} is more than fit in {hours:g} usable hours (at most "
                             f"{most:.0f}: one every 0.1 s); check the number")
    if row.get("longest_cramp_s", 0.0) > MAX_NIGHT_HOURS * 3600:
        raise InputError(f"{where}.longest_cramp_s={row['longest_cramp_s']:g} is longer than a night can be")
    given = row.get("twitch_rate_per_hour")
    if given is not None and hours >= 0.1:  # (below, the hours' own rounding can change the rate by more)
        rate = row["twitches"] / hours
        if abs(given - rate) > 0.05 * rate + 0.1:  # rounding aside, the same number
            raise InputError(f"{where}.twitch_rate_per_hour={given:g} does not match twitches / usable_hours = "
                             f"{rate:.2f}; leave it out (the rate is computed from the counts)")


#: Fields added up when one night was recorded in parts (two entries with the same date).
_SUMMED = ("usable_hours", "twitches", "spasms", "cramps", "periodic_series", "clusters", "twitches_left", "twitches_right")


def _merge_same_date(nights: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nights in date order, entries with the same date merged (counts and hours added up)."""
    by_date: dict[str, dict[str, Any]] = {}
    for n in nights:
        if n["date"] not in by_date:
            by_date[n["date"]] = dict(n)
            continue
        m = by_date[n["date"]]
        for key in _SUMMED:
            if key in n or key in m:
                m[key] = m.get(key, 0) + n.get(key, 0)
        m["longest_cramp_s"] = max(m.get("longest_cramp_s", 0.0), n.get("longest_cramp_s", 0.0))
        for key in ("twitch_rate_per_hour", "plm_index_thigh"):
            m.pop(key, None)  # a rate of one part is not the night's rate
    return [by_date[k] for k in sorted(by_date)]


def fill(text: str, words: Mapping[str, str]) -> str:
    """A knowledge-base text with its placeholders (``{deficiencies}``) filled in."""
    for key, value in words.items():
        text = text.replace("{" + key + "}", value)
    return text


def case_words(kb: KnowledgeBase, profile: Mapping[str, Any]) -> dict[str, str]:
    """The placeholders' words for a case: ``deficiencies`` ("magnesium", "vitamin B12 and vitamin D")."""
    defs = [kb.deficiency_name(d) for d in profile.get("known_deficiencies") or []]
    return {"deficiencies": join_words(defs) if defs else "vitamins or minerals"}


def score_causes(kb: KnowledgeBase, feats: Mapping[str, bool | None], words: Mapping[str, str] | None = None) -> list[CauseScore]:
    """Every cause's score from the features present, highest first (ties by id).

    ``words`` fills the placeholders of the evidence reasons (see :func:`case_words`).
    """
    words = words or {}
    out = []
    for cid, c in kb.causes.items():
        log_odds = math.log(c["prior"] / (1 - c["prior"]))
        ev_for, ev_against = [], []
        for e in c["evidence"]:
            if feats.get(e["feature"]) is True:
                item = {"feature": e["feature"], "reason": fill(e["reason"], words), "lr": e["lr"],
                        "source": kb.cite(e["doc"], e["heading"])}
                (ev_for if e["dir"] == "for" else ev_against).append(item)
                log_odds += math.log(e["lr"])
        score = 1.0 / (1.0 + math.exp(-log_odds))
        has = [kb.condition_name(k) for k in c.get("known_when", []) if feats.get(f"cond_{k}") is True]
        known = join_words(has) if has else ""
        missing = c.get("requires") and not any(feats.get(f) is True for f in c["requires"])
        out.append(CauseScore(cid, c["name"], score, log_odds, c["prior"], ev_for, ev_against,
                              [kb.cite(s["doc"], s["heading"]) for s in c["sources"]], c["description"], known,
                              f"it needs {c['requires_text']}, which you did not report" if missing else ""))
    out.sort(key=lambda c: (-c.score, c.id))
    return out


def triage(profile: Mapping[str, Any] | None = None, diary: Sequence[Mapping[str, Any]] = (), nights: Sequence[Mapping[str, Any]] = (),
           config: TriageConfig | None = None, kb: KnowledgeBase | None = None, today: date | None = None,
           symptoms_until: date | None = None) -> TriageResult:
    """Escalation level, causes and advice for a person's profile, diary and nights.

    Parameters
    ----------
    profile : mapping or None
        Profile fields (``docs/diary.md``); missing fields are unknown.
    diary : sequence of mappings
        Day entries, each with its ``date``.
    nights : sequence of mappings
        At least ``date``, ``usable_hours`` and ``twitches`` (plus ``spasms``, ``cramps``,
        ``longest_cramp_s``, ``periodic_series``, ``twitches_left``, ``twitches_right`` ...).
    config : TriageConfig, optional
        Thresholds (defaults documented in ``docs/guidance.md``).
    kb : KnowledgeBase, optional
        Defaults to the packaged one.
    today : date, optional
        The day of the triage (default: today); ``twitching_since`` counts up to the later
        of this and the latest entry of the case.
    symptoms_until : date, optional
        Where the symptom window ends (``TriageConfig.symptom_window_days``). Default: the
        case's latest entry, as for a case file, a record of its time. A triage of the
        history gives the day it is made for, so that an old symptom is not taken for a
        recent one when nothing was noted since (it is still named, in a note).

    Returns
    -------
    TriageResult

    Raises
    ------
    InputError
        For a bad field, named in one line.
    """
    from .triggers import personal_triggers

    cfg = config or TriageConfig()
    kb = kb or load_kb()
    prof, days, nts = validate_case({"profile": dict(profile or {}), "diary": list(diary), "nights": list(nights)})
    triggers = personal_triggers(days, nts, cfg)
    recent = recent_symptoms(days, nts, cfg, today, window_ends=symptoms_until)
    feats = compute_features(prof, days, nts, cfg, triggers, recent=recent)
    words = case_words(kb, prof)
    scored = score_causes(kb, feats, words)
    with_evidence = [c for c in scored if c.evidence_for]
    quiet = feats.get("no_twitching_recorded") is True
    if quiet:  # causes of twitching, and their advice, need twitching
        for c in with_evidence:
            c.not_listed = c.not_listed or "no twitch was recorded on the nights measured"
    fired = escalate(kb, cfg, prof, days, nts, feats, today=today, recent=recent)
    level = level_of(fired)
    # On nights called normal ("Occasional twitching is normal"), a serious-sounding cause that
    # only the profile's history speaks for (diabetes for peroneal nerve damage, back surgery
    # for nerve irritation after it), and that is not the person's known condition, is not
    # listed among the causes: its advice says when to mention it to a doctor.
    feats = dict(feats, normal_night=any(f.rule == "monitor" and not f.variant for f in fired))
    from_history = [c for c in with_evidence if feats["normal_night"] and not c.not_listed and not c.known
                    and all(e["feature"].startswith("cond_") for e in c.evidence_for)]
    for c in from_history:
        c.not_listed = ("on a night called normal only your history speaks for it; the advice says when to mention it "
                        "to a doctor")
    causes = [c for c in with_evidence if c.score >= cfg.min_listed_score and not c.not_listed]
    hidden = [c for c in with_evidence if c not in causes]
    unranked = [{"id": c.id, "name": c.name, "prior": c.prior, "evidence_against": c.evidence_against}
                for c in scored if not c.evidence_for]
    reasons = [f.sentence() for f in fired if f.level == level]
    # below a warning sign, the reasons for an appointment still hold (a medicine's caution);
    # self-care and monitoring texts would contradict the level
    also = list(dict.fromkeys(f.sentence() for f in fired if f.level == "see_doctor" != level and f.rule != "other_symptoms"))
    others = [s for s in OTHER_SYMPTOMS if feats.get(s) is True]  # (feats hold the recent symptoms only)
    if level == "see_doctor_asap" and others:  # to the same visit (not "an ordinary appointment"), twitching or not
        also.append(f"You also noted {join_words([SYMPTOM_WORDS[s] for s in others])}: mention "
                    f"{'it' if len(others) == 1 else 'them'} at that visit. "
                    f"(Source: {kb.cite_all(kb.rule_text('other_symptoms')[1])}.)")
    # a deficiency a blood test found is followed up on quiet nights too (its advice, not as a cause)
    followed = [c for c in hidden if c.id == "nutrient_deficiency"] if quiet and feats.get("known_deficiency") else []
    advice = _advice(kb, cfg, level, causes, feats, words, recorded=bool(days or nts), kept=followed + from_history)
    notes = (_threshold_notes(cfg) + _old_night_notes(cfg, nts, symptoms_until) + _age_notes(prof)
             + _old_sign_notes(kb, cfg, days, recent, symptoms_until) + _medicine_notes(prof) + _stiffness_notes(recent))
    return TriageResult(level, reasons, causes, advice, triggers, fired, hidden, unranked, cfg, notes=notes, also=also)


def _old_night_notes(cfg: TriageConfig, nights: Sequence[Mapping[str, Any]], until: date | None) -> list[str]:
    """The nights speak of their own time: when the latest lies more than the symptom window
    before ``until`` (a triage of the history, made today), the person is told so, and how
    to see where things stand now. The level is left as the nights give it."""
    if until is None or not nights:
        return []
    latest = max(date.fromisoformat(n["date"]) for n in nights)
    if (until - latest).days < cfg.symptom_window_days:
        return []
    return [f"The latest night recorded is {latest.isoformat()}, {plural((until - latest).days, 'day')} before "
            f"{until.isoformat()}: what the nights say above is about that time. A night or two recorded now shows "
            "how the knee is now."]


def _old_sign_notes(kb: KnowledgeBase, cfg: TriageConfig, days: Sequence[Mapping[str, Any]], recent: set[str],
                    until: date | None = None) -> list[str]:
    """A warning sign noted before the symptom window (``recent``: the symptoms within it) no
    longer decides the level, but is never passed over in silence: the person is told what to
    do if it is still there."""
    noted_ever = {s for d in days for s in d.get("symptoms") or []}
    old = [w for w in kb.warning_signs if w["symptom"] in noted_ever and w["symptom"] not in recent]
    if not old:
        return []
    noted = "; ".join(w["text"] + noted_on(days, w["symptom"]) for w in old)
    before = "your latest entry" if until is None else f"{until.isoformat()}"
    return [f"Earlier in your diary: {noted}. That is more than {cfg.symptom_window_days} days before {before}, "
            "so it no longer decides the advice above; if it is still there or comes back, see a doctor soon."]


def _threshold_notes(cfg: TriageConfig) -> list[str]:
    """Thresholds changed from kneeemg's defaults (``--set``), so that whoever reads the result
    (a doctor, in the summary) knows the level was reached with them."""
    changed = [w for w in cfg.in_words() if "(default " in w]
    return [f"Thresholds changed from kneeemg's defaults: {'; '.join(changed)}."] if changed else []


#: Below this age (years) a note says the guidance is not written for the person.
ADULT_AGE = 18


def _age_notes(profile: Mapping[str, Any]) -> list[str]:
    """For a child: the articles do not speak of children and kneeemg's thresholds are set for
    adults, so a doctor, not this guidance, should judge (kneeemg's own precaution)."""
    age = profile.get("age")
    if age is None or age >= ADULT_AGE:
        return []
    return [f"The profile gives an age of {age}. The articles do not speak of children, and kneeemg's thresholds are "
            "set for adults: for a child, ask a doctor rather than go by this guidance (a precaution of kneeemg's own)."]


def _stiffness_notes(recent: set[str]) -> list[str]:
    """Plain stiffness is no warning sign; stiffness that limits how the knee moves is. Say so
    when only the first was noted within the symptom window (``recent``; it was the only word
    for both in earlier versions)."""
    if "stiffness" not in recent or "limited_movement" in recent:
        return []
    return ["You noted stiffness. If it limits how far the knee bends or straightens, note that as limited movement "
            "(`kneeemg diary --symptoms \"limited movement\"`): the second article lists stiffness that limits movement "
            "among the symptoms that may signal an underlying condition (\"Why Is My Knee Twitching and How Can I Stop It?\", "
            "section \"Symptoms That Could Signal an Underlying Condition\"); the first asks for a prompt visit when twitching "
            "comes with certain symptoms, but its list of them is missing (\"Knee twitching\", section \"(closing advice)\")."]


def _medicine_notes(profile: Mapping[str, Any]) -> list[str]:
    """What the person gave that kneeemg cannot use, so they do not take its silence for an answer:
    a kind of medicine it reads but the articles do not link to twitching (statins), and
    medicines named by brand or substance, which it cannot sort into the kinds the articles name."""
    taken = profile.get("medications") or []
    kinds = join_words(list(LISTED_MEDICINES))
    unlinked = [m for m in taken if m in MEDICATIONS and m not in LISTED_MEDICINES]
    notes = [f"The articles do not speak of {join_words([m + 's' for m in unlinked])}, so kneeemg does not count "
             f"{'it' if len(unlinked) == 1 else 'them'} among the medicines linked to twitching (the kinds the articles "
             f"link: {kinds}); if you wonder whether yours plays a part, ask your doctor or pharmacist."] if unlinked else []
    unknown = [m for m in taken if m not in MEDICATIONS]
    if not unknown:
        return notes
    return notes + [f"kneeemg does not know the medicine{'s' if len(unknown) > 1 else ''} {join_words(unknown)}: of the medicines "
            f"it reads, the articles link only these kinds to twitching: {kinds}. If one of yours is of such a kind, note it by "
            "that word as well (for example "
            "`kneeemg diary --profile --medications diuretic`); a pharmacist can tell you which kind a medicine is."]


def _applies(item: Mapping[str, Any], feats: Mapping[str, bool | None]) -> bool:
    """An advice item's ``when`` (one of them present) and ``unless`` (none of them present)."""
    if item.get("when") and not any(feats.get(f) is True for f in item["when"]):
        return False
    return not any(feats.get(f) is True for f in item.get("unless", []))


def _advice(kb: KnowledgeBase, cfg: TriageConfig, level: str, causes: Sequence[CauseScore], feats: Mapping[str, bool | None],
            words: Mapping[str, str], recorded: bool = True, kept: Sequence[CauseScore] = ()) -> list[dict[str, str]]:
    """The causes' advice, then the level's; a general item marked ``first`` goes before all of it.

    ``kept``: causes not listed whose advice is given whatever their score, before the listed
    causes' (a deficiency a blood test found, on quiet nights; a cause from the history alone,
    on nights called normal).

    With a warning sign, advice that moves, loads, heats or massages the leg is left out
    (``unless = ["spare_the_knee"]`` in ``kb.toml``: also with a known knee injury) and a line says
    it waits for the doctor.
    """
    first: list[dict[str, str]] = []
    advice: list[dict[str, str]] = []

    def add(to: list[dict[str, str]], text: str, source: str) -> None:
        item = {"text": fill(text, words), "source": source}
        if item not in first and item not in advice:
            to.append(item)

    for a in kb.general_advice:
        if a.get("first") and level in a["levels"] and _applies(a, feats):
            add(first, a["text"], kb.cite(a["doc"], a["heading"]))
    for c in [*kept, *(c for c in causes[: cfg.max_listed_causes] if c.score >= cfg.advice_min_score)]:
        for a in kb.causes[c.id]["advice"]:
            if _applies(a, feats):  # e.g. no reassurance for the worried to someone who has the condition
                add(advice, a["text"], kb.cite(a["doc"], a["heading"]))
    for a in kb.general_advice:
        if not a.get("first") and level in a["levels"] and _applies(a, feats) and (recorded or not a.get("needs_records")):
            add(advice, a["text"], kb.cite(a["doc"], a["heading"]))
    return first + advice
