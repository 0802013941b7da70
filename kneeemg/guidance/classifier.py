"""The transparent classifier: escalation level, ranked causes with evidence, advice.

Cause scores are posterior probabilities from log-odds: the prior odds of the cause times
the likelihood ratio of every piece of evidence that is present (a feature that is
``True``). Every prior and ratio is in ``kb.toml`` with its reason. A cause is listed only
when something the person gave speaks for it. The level is the highest that any rule
reaches; every rule can only fire more often when a symptom, a worse night or more days of
twitching are added, so the level never drops when the evidence gets worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Sequence

from ..diary import validate_day, validate_profile
from ..errors import InputError
from .features import LIFESTYLE, LISTED_MEDICINES, WARNING_SYMPTOMS, TriageConfig, compute_features, night_rate
from .kb import KnowledgeBase, load_kb

LEVELS = ("monitor", "self_care", "see_doctor", "see_doctor_asap")
DISCLAIMER = ("This is guidance, not a diagnosis. It comes from two public articles on knee twitching and from what "
              "you recorded; only a doctor can examine you and decide what is going on.")
NIGHT_FIELDS = {"date": "date", "usable_hours": float, "twitches": int, "spasms": int, "cramps": int,
                "longest_cramp_s": float, "periodic_series": int}


@dataclass
class CauseScore:
    id: str
    name: str
    score: float
    log_odds: float
    prior: float
    evidence_for: list[dict[str, Any]]
    evidence_against: list[dict[str, Any]]
    sources: list[str]
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "score": round(self.score, 4), "evidence_for": self.evidence_for,
                "evidence_against": self.evidence_against, "sources": self.sources, "description": self.description}


@dataclass
class TriageResult:
    """What the guidance says about a case."""

    level: str
    reasons: list[str]
    causes: list[CauseScore]
    advice: list[dict[str, str]]
    triggers: list[dict[str, Any]] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": self.reasons, "causes": [c.as_dict() for c in self.causes],
                "advice": self.advice, "triggers": self.triggers, "disclaimer": self.disclaimer}

    def explain(self) -> str:
        """Every number behind the ranking, in words."""
        lines = [f"Level: {self.level}"]
        lines += [f"  because: {r}" for r in self.reasons]
        for c in self.causes:
            lines.append(f"{c.name} [{c.id}]: prior {c.prior:.3f} (log-odds {math.log(c.prior / (1 - c.prior)):+.2f})")
            for e in c.evidence_for + c.evidence_against:
                lines.append(f"    x {e['lr']:g} ({math.log(e['lr']):+.2f}): {e['reason']} -- {e['source']}")
            lines.append(f"    = log-odds {c.log_odds:+.2f}, probability {c.score:.3f}")
        lines.append(self.disclaimer)
        return "\n".join(lines)


def validate_case(case: Mapping[str, Any], where: str = "case") -> tuple[dict, list[dict], list[dict]]:
    """Checked profile, diary days and nights of a case; InputError names the bad field."""
    if not isinstance(case, Mapping):
        raise InputError(f"{where}: expected an object with profile, diary and nights")
    unknown = set(case) - {"profile", "diary", "nights"}
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use profile, diary and nights")
    profile = validate_profile(case.get("profile") or {}, where=f"{where}: profile").as_dict()
    diary = case.get("diary") or []
    nights = case.get("nights") or []
    if not isinstance(diary, list) or not isinstance(nights, list):
        raise InputError(f"{where}: diary and nights must be lists")
    days = [validate_day(d, where=f"{where}: diary[{i}]").as_dict() for i, d in enumerate(diary)]
    checked = []
    for i, n in enumerate(nights):
        if not isinstance(n, Mapping):
            raise InputError(f"{where}: nights[{i}] must be an object")
        row = dict(n)
        for key, kind in NIGHT_FIELDS.items():
            if key not in n:
                if key in ("date", "usable_hours", "twitches"):
                    raise InputError(f"{where}: nights[{i}].{key} is missing")
                row[key] = 0
                continue
            try:
                row[key] = date.fromisoformat(str(n[key])).isoformat() if kind == "date" else kind(n[key])
            except (TypeError, ValueError):
                raise InputError(f"{where}: nights[{i}].{key}={n[key]!r} is not a valid {'date' if kind == 'date' else 'number'}") from None
            if kind != "date" and row[key] < 0:
                raise InputError(f"{where}: nights[{i}].{key}={n[key]!r} must not be negative")
        checked.append(row)
    return profile, days, checked


def triage(profile: Mapping[str, Any] | None = None, diary: Sequence[Mapping[str, Any]] = (), nights: Sequence[Mapping[str, Any]] = (),
           config: TriageConfig | None = None, kb: KnowledgeBase | None = None) -> TriageResult:
    """Escalation level, causes and advice for a person's profile, diary and nights.

    Inputs are validated first (see :func:`validate_case`).
    """
    cfg = config or TriageConfig()
    kb = kb or load_kb()
    prof, days, nts = validate_case({"profile": dict(profile or {}), "diary": list(diary), "nights": list(nights)})
    feats = compute_features(prof, days, nts, cfg)
    causes = [c for c in _score_causes(kb, feats) if c.score >= cfg.min_listed_score]
    level, reasons, rule_advice = _escalate(kb, cfg, prof, days, nts, feats)
    advice: list[dict[str, str]] = list(rule_advice)
    for c in causes[:5]:
        for a in kb.causes[c.id]["advice"]:
            item = {"text": a["text"], "source": kb.cite(a["doc"], a["heading"])}
            if item not in advice:
                advice.append(item)
    from .triggers import personal_triggers

    return TriageResult(level, reasons, causes, advice, personal_triggers(days, nts, cfg))


def _score_causes(kb: KnowledgeBase, feats: Mapping[str, bool | None]) -> list[CauseScore]:
    out = []
    for cid, c in kb.causes.items():
        log_odds = math.log(c["prior"] / (1 - c["prior"]))
        ev_for, ev_against = [], []
        for e in c["evidence"]:
            if feats.get(e["feature"]) is True:
                item = {"feature": e["feature"], "reason": e["reason"], "lr": e["lr"], "source": kb.cite(e["doc"], e["heading"])}
                (ev_for if e["dir"] == "for" else ev_against).append(item)
                log_odds += math.log(e["lr"])
        if not ev_for:
            continue  # never ranked on evidence the person did not give
        score = 1.0 / (1.0 + math.exp(-log_odds))
        out.append(CauseScore(cid, c["name"], score, log_odds, c["prior"], ev_for, ev_against,
                              [kb.cite(s["doc"], s["heading"]) for s in c["sources"]], c["description"]))
    out.sort(key=lambda c: (-c.score, c.id))
    return out


def _escalate(kb: KnowledgeBase, cfg: TriageConfig, prof: Mapping[str, Any], days: Sequence[Mapping[str, Any]],
              nights: Sequence[Mapping[str, Any]], feats: Mapping[str, bool | None]) -> tuple[str, list[str], list[dict[str, str]]]:
    level = 0
    fired: list[tuple[int, str]] = []
    advice: list[dict[str, str]] = []

    def rule(name: str, lvl: int, why: str) -> None:
        nonlocal level
        r = kb.rules[name]
        level = max(level, lvl)
        fired.append((lvl, f"{why} {r['text']} ({kb.cite(r['doc'], r['heading'])})"))

    signs = [w for w in kb.warning_signs if feats.get(w["symptom"]) is True]
    for w in signs:
        rule("warning_sign", 3, f"You reported {w['text']} ({kb.cite(w['doc'], w['heading'])}).")
    twitching_nights = [n for n in nights if n["twitches"] > 0 or n["spasms"] > 0 or n["cramps"] > 0]
    twitching = bool(twitching_nights) or not nights  # without nights, the person reports twitching by using the tool
    frequent = [n for n in nights if (night_rate(n) or 0) >= cfg.frequent_rate_per_h]
    if len(frequent) >= cfg.frequent_min_nights:
        rule("frequent", 2, f"{len(frequent)} nights had {cfg.frequent_rate_per_h:g} or more twitches per hour "
                            f"(this tool's threshold for frequent).")
    span = _span_days(twitching_nights)
    since = prof.get("twitching_since")
    latest = _latest_date(days, nights) or date.today()
    since_days = (latest - date.fromisoformat(since)).days if since and latest else None
    if span >= cfg.persistent_days or (since_days is not None and since_days >= cfg.persistent_days):
        what = f"twitching nights span {span} days" if span >= cfg.persistent_days else f"twitching began {since_days} days ago"
        rule("persistent", 2, f"The {what} ({cfg.persistent_days} days or more count as persistent here).")
    meds = [m for m in LISTED_MEDICINES if feats.get(f"med_{m}")]
    if meds and twitching:
        rule("medication", 2, f"You take a medicine the articles link to twitching ({', '.join(meds)}).")
    if feats.get("known_deficiency"):
        rule("deficiency", 2, f"A deficiency is known ({', '.join(prof.get('known_deficiencies', []))}).")
    healthy = [d for d in days if (d.get("water_glasses") or 0) >= cfg.good_water_glasses and d.get("caffeine_drinks", 0) <= 1]
    if len(healthy) >= cfg.improvement_days and nights and nights[-1]["twitches"] > 0:
        rule("no_improvement", 2, f"Healthier habits were logged on {len(healthy)} days and the knee still twitched on the latest night.")
    known = [c for c in ("neuromyotonia", "als", "multiple_sclerosis", "parkinsons", "peroneal_nerve_injury") if feats.get(f"cond_{c}")]
    if known and twitching:
        rule("known_condition", 2, f"You have a known condition ({', '.join(k.replace('_', ' ') for k in known)}).")
    lifestyle = [f for f in LIFESTYLE if feats.get(f)]
    if twitching and lifestyle:
        rule("self_care", 1, f"Everyday factors were logged ({', '.join(x.replace('_', ' ') for x in lifestyle)}).")
    if level == 0:
        rule("monitor", 0, "Nothing in what you recorded calls for more than keeping an eye on it.")
    reasons = [text for lvl, text in fired if lvl == level]  # the rules that decided the level
    return LEVELS[level], reasons, advice


def _span_days(nights: Sequence[Mapping[str, Any]]) -> int:
    dates = sorted(date.fromisoformat(n["date"]) for n in nights)
    return (dates[-1] - dates[0]).days + 1 if dates else 0


def _latest_date(days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]]) -> date | None:
    ds = [date.fromisoformat(x["date"]) for x in [*days, *nights] if x.get("date")]
    return max(ds) if ds else None
