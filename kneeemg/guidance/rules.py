"""Escalation rules: how urgently to see a doctor.

The level is the highest that any rule reaches (``LEVELS``, lowest first). The rules use
only the person's facts and the thresholds of :class:`TriageConfig`, never the cause scores,
and each can only fire more readily when a symptom, a worse night, or more twitching nights
are added. Hence the laws that the tests check: adding a symptom, a worse night or more
days of twitching never lowers the level, and a warning sign always gives the top level.
(Symptoms count when noted within ``symptom_window_days`` of the latest entry, or of the
day a triage of the history is made for: a fixed end, so adding entries never moves it. The
frequency window is anchored on the latest night; it keeps this law because
``frequent_window_days >= persistent_days - 1``: a frequent night that drops out of the
window when a newer twitching night arrives lies at least ``persistent_days`` before it,
so the persistence rule fires instead.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

from .features import (LIFESTYLE, LIFESTYLE_WORDS, LISTED_MEDICINES, OTHER_SYMPTOMS, SYMPTOM_WORDS, TriageConfig, night_events,
                       night_rate, persistent_stretch, recent_nights, twitching_night)
from .kb import LEVEL_WORDS, LEVELS, KnowledgeBase
from ..words import plural, share_of


def _once(items: Sequence[Any]) -> list[Any]:
    """Each item once, in the order first seen (sources are dicts, which a set cannot hold)."""
    return [x for i, x in enumerate(items) if x not in items[:i]]


@dataclass(frozen=True)
class FiredRule:
    """One rule that fired: which (``rule`` id, ``name`` in words), its level, the facts behind it, and its source.

    ``variant`` names the rule's wording when it is not the main one (``kb.toml``: the
    monitor rule's ``busy``, ``quiet``, ...; empty for "Occasional twitching is normal").
    """

    rule: str
    level: str
    facts: str
    text: str
    source: str
    name: str = ""
    variant: str = ""

    def sentence(self) -> str:
        """The facts, what the documents make of them, and where they say so."""
        return f"{self.facts} {self.text} (Source: {self.source}.)"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "name": self.name, "level": self.level, "level_text": LEVEL_WORDS[self.level],
                "facts": self.facts, "text": self.text, "source": self.source}


def join_words(items: Sequence[str]) -> str:
    """Words joined for a sentence: "a", "a and b", "a, b and c" (underscores become spaces)."""
    items = [i.replace("_", " ") for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def latest_date(days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]]) -> date | None:
    """The latest date among diary days and nights (None without any)."""
    ds = [date.fromisoformat(x["date"]) for x in [*days, *nights] if x.get("date")]
    return max(ds) if ds else None


def escalate(kb: KnowledgeBase, cfg: TriageConfig, profile: Mapping[str, Any], days: Sequence[Mapping[str, Any]],
             nights: Sequence[Mapping[str, Any]], feats: Mapping[str, bool | None], today: date | None = None,
             recent: set[str] | None = None) -> list[FiredRule]:
    """Every rule that fires for a case, in the order of ``kb.rules``.

    Parameters
    ----------
    kb, cfg : knowledge base and thresholds.
    profile, days, nights : the validated case.
    feats : its features (:func:`kneeemg.guidance.features.compute_features`).
    today : the day of the triage (default: today); ``twitching_since`` counts up to the
        later of this and the latest entry.
    recent : the symptoms that count as now (default: :func:`recent_symptoms` of the case).

    Returns
    -------
    list of FiredRule
        Never empty: the ``monitor`` rule fires when nothing else does.
    """
    fired: list[FiredRule] = []

    def fire(name: str, facts: str, sources: list[dict[str, str]] | None = None, variant: str | None = None) -> None:
        r = kb.rules[name]
        text, srcs = kb.rule_text(name, variant)
        fired.append(FiredRule(name, r["level"], facts, text, kb.cite_all(sources or srcs), r["name"], variant or ""))

    recent = recent_symptoms(days, nights, cfg, today) if recent is None else recent
    signs = [w for w in kb.warning_signs if feats.get(w["symptom"]) is True and w["symptom"] in recent]
    if signs:
        heads = [{"doc": w["doc"], "heading": w["heading"]} for w in signs]
        heads += [s for s in kb.rule_text("warning_sign")[1] if s not in  # and where the articles say "soon"
                  [{"doc": w["doc"], "heading": w["heading"]} for w in kb.warning_signs]]
        fire("warning_sign", f"You reported {'; '.join(w['text'] + noted_on(days, w['symptom']) for w in signs)}.",
             _once(heads), variant="several" if len(signs) > 1 else None)

    twitching_nights = [n for n in nights if twitching_night(n, cfg)]
    rated = [n for n in nights if night_rate(n, cfg) is not None]
    stretch = persistent_stretch(nights, cfg)
    # Twitching now: on a night within symptom_window_days of the latest (one twitch two months
    # ago, with quiet nights since, is not), or twitching that keeps going. Without a night of
    # that time long enough to tell, the person is taken to have twitching: that is why they
    # use the tool; and so when they say since when they have noticed it.
    now = recent_nights(nights, cfg)
    twitching = (any(twitching_night(n, cfg) for n in now) or not any(night_rate(n, cfg) is not None for n in now)
                 or bool(profile.get("twitching_since")) or stretch is not None)

    if rated:  # the window ends at the latest night that gives a rate (a night cut short does not move it)
        last = max(date.fromisoformat(n["date"]) for n in rated)
        first = last - timedelta(days=cfg.frequent_window_days - 1)
        frequent = [n for n in nights if first <= date.fromisoformat(n["date"]) <= last
                    and (night_rate(n, cfg) or 0.0) >= cfg.frequent_rate_per_h]
        if len(frequent) >= cfg.frequent_min_nights:
            fire("frequent", f"{plural(len(frequent), 'night')} between {first} and {last} had {cfg.frequent_rate_per_h:g} or more "
                             f"twitches, spasms and cramps per usable hour (kneeemg counts twitching as frequent with "
                             f"{plural(cfg.frequent_min_nights, 'such night')} within {plural(cfg.frequent_window_days, 'day')}; the "
                             "articles give no number).")

    since = profile.get("twitching_since")
    # "Since" counts up to the latest entry or today, whichever is later: the twitching the
    # person reports does not stop at their last entry.
    ref = max(d for d in (latest_date(days, nights), today or date.today()) if d is not None)
    since_days = (ref - date.fromisoformat(since)).days if since else None
    if stretch is not None:
        st = stretch
        what = (f"Twitching was recorded on {share_of(st['twitched'], st['recorded'], 'night')} long enough to tell over {plural(st['days'], 'day')}, "
                f"from {st['first']} to {st['last']}" if st["spell"] is None else
                f"After {plural(cfg.frequent_min_nights, 'night')} at the frequent rate between {st['spell'][0]} and {st['spell'][1]}, "
                f"twitching was recorded again, up to {st['last']} ({plural(st['days'], 'day')} from {st['first']})")
        fire("persistent", f"{what} (kneeemg counts twitching as persistent over {plural(cfg.persistent_days, 'day')} or more, with "
                           f"twitching, {cfg.twitching_rate_per_h:g} or more twitches, spasms and cramps per usable hour, "
                           f"on {plural(cfg.frequent_min_nights, 'night')} or more and on at least half of the nights "
                           f"long enough to tell, or going on after a frequent spell; the articles give no number).")
    elif since_days is not None and since_days >= cfg.persistent_days:  # the person's own account of it
        quiet = ""
        if rated and not twitching_nights:  # what the sensor found speaks against it: say so, and that both count
            quiet = (f" The sensor recorded no night with {cfg.twitching_rate_per_h:g} or more twitches, spasms and cramps "
                     f"per usable hour ({plural(len(rated), 'night')} long enough to tell). Tell the doctor both: the "
                     "twitching you notice, and what the sensor found.")
        fire("persistent", f"You have noticed the twitching since {since}, {plural(since_days, 'day')} (kneeemg counts "
                           f"{plural(cfg.persistent_days, 'day')} or more as persistent; the articles give no number)." + quiet)

    others = [s for s in OTHER_SYMPTOMS if feats.get(s) is True and s in recent]
    # (with other symptoms, any event the sensor recorded lately counts: a doctor's look errs on the safe side)
    if others and (twitching or any(night_events(n) > 0 for n in now)):
        fire("other_symptoms", f"You reported {join_words([SYMPTOM_WORDS[s] for s in others])} as well as the twitching in the knee.")

    meds = [m for m in LISTED_MEDICINES if feats.get(f"med_{m}") is True]
    if meds and twitching:
        fire("medication", f"You take a medicine the articles link to twitching ({join_words(meds)}).")

    if feats.get("known_deficiency") is True and twitching:  # (without twitching: the doctor's plan, see the advice)
        found = [kb.deficiency_name(d) for d in profile.get("known_deficiencies") or []]
        fire("deficiency", f"A blood test found a deficiency ({join_words(found)}).")

    if rated and twitching_nights:  # the latest night that gives a rate (one cut short tells nothing)
        last_night = max(rated, key=lambda n: n["date"])
        healthy = [d for d in days if d.get("date") and d["date"] <= last_night["date"]
                   and d.get("water_glasses") is not None and d["water_glasses"] >= cfg.good_water_glasses
                   and d.get("caffeine_drinks") is not None and d["caffeine_drinks"] <= 1]
        # (only nights that give a rate: a night cut short tells nothing, so it cannot count as a quiet one)
        since_healthy = [n for n in rated if n["date"] >= min(d["date"] for d in healthy)] if healthy else []
        # the knee went on twitching: on the latest night, and on at least half of the nights since the healthier days began
        went = sum(twitching_night(n, cfg) for n in since_healthy)
        if len(healthy) >= cfg.improvement_days and twitching_night(last_night, cfg) and 2 * went >= len(since_healthy):
            fire("no_improvement", f"You logged {plural(len(healthy), 'day')} with {cfg.good_water_glasses} or more glasses of water and at most "
                                   f"one caffeinated drink, and the knee still twitched ({cfg.twitching_rate_per_h:g} or more "
                                   f"twitches, spasms and cramps per usable hour): on the latest night ({last_night['date']}), "
                                   f"and on {share_of(went, len(since_healthy), 'night')} since {min(n['date'] for n in since_healthy)}.")

    conds = [c for c in kb.rules["known_condition"]["conditions"] if feats.get(f"cond_{c}") is True]
    if conds and twitching:
        # the rule's own section (conditions linked to twitching), then each condition's
        srcs = _once(kb.rule_text("known_condition")[1] + [
            s for c in conds for cause in kb.causes.values() if any(e["feature"] == f"cond_{c}" for e in cause["evidence"])
            for s in cause["sources"][:1]])
        names = join_words([kb.condition_name(c) for c in conds])
        fire("known_condition", f"You have {'a known condition' if len(conds) == 1 else 'known conditions'}: {names}.", srcs)

    joints = [c for c in kb.rules["joint_care"]["conditions"] if feats.get(f"cond_{c}") is True]
    if joints and twitching:
        names = join_words([kb.condition_name(c) for c in joints])
        fire("joint_care", f"You have {'a known joint or tendon condition' if len(joints) == 1 else 'known joint or tendon conditions'}: {names}.")

    lifestyle = [f for f in LIFESTYLE if feats.get(f) is True]
    if lifestyle and twitching:
        fire("self_care", f"Everyday factors were logged: {join_words([LIFESTYLE_WORDS[f] for f in lifestyle])}.")

    if not fired:
        _monitor(fire, cfg, days, nights, bool(profile.get("twitching_since")))
    return fired


def _monitor(fire: Any, cfg: TriageConfig, days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]],
             reports_twitching: bool = False) -> None:
    """The monitor rule, in the words that fit: nothing recorded, no nights, busy nights, or quiet ones.

    "Occasional twitching is normal" is said only when no night reached ``frequent_rate_per_h``.
    """
    if not nights and not days:
        fire("monitor", "Nothing has been recorded yet: no nights and no diary entries.", variant="empty")
        return
    if not nights:
        fire("monitor", "No nights have been recorded yet, and nothing in your diary calls for more than keeping an eye on it.",
             variant="no_nights")
        return
    rated = [(night_rate(n, cfg), n) for n in nights]
    busy = [(r, n) for r, n in rated if r is not None and r >= cfg.frequent_rate_per_h]
    if busy:
        top, n = max(busy, key=lambda x: (x[0], x[1]["date"]))
        count = "1 night" if len(busy) == 1 else f"{len(busy)} nights"
        last = max(date.fromisoformat(m["date"]) for r, m in rated if r is not None)
        recent = sum(1 for _, m in busy if date.fromisoformat(m["date"]) > last - timedelta(days=cfg.frequent_window_days))
        fire("monitor", f"{count} had {cfg.frequent_rate_per_h:g} or more twitches, spasms and cramps per usable hour (the most: "
                        f"about {top:.0f} per hour, on {n['date']}); kneeemg counts twitching as frequent only with "
                        f"{plural(cfg.frequent_min_nights, 'such night')} within {plural(cfg.frequent_window_days, 'day')} (its own threshold; "
                        f"the articles give no number), and the {plural(cfg.frequent_window_days, 'day')} up to the latest night, "
                        f"{last}, held {plural(recent, 'such night')}.", variant="busy")
        return
    count = "the night" if len(nights) == 1 else f"the {len(nights)} nights"
    if all(r is None for r, _ in rated):
        short = (f"less than {cfg.min_usable_hours:g} usable hour{'' if cfg.min_usable_hours == 1 else 's'}"
                 f"{'' if len(nights) == 1 else ' each'}" if cfg.min_usable_hours > 0 else "no usable time")
        fire("monitor", f"{count.capitalize()} recorded had {short}, too little to tell how often the knee twitches.",
             variant="short")
        return
    if all(night_events(n) == 0 for n in nights) and not reports_twitching:
        fire("monitor", f"The sensor recorded no twitch, spasm or cramp on {count} measured.", variant="quiet")
        return
    fire("monitor", "Nothing in what you recorded calls for more than keeping an eye on it." + _none_measured(nights))


def _none_measured(nights: Sequence[Mapping[str, Any]]) -> str:
    """" The sensor recorded no twitch ... on the N nights measured." when so (else "")."""
    if not nights or any(night_events(n) > 0 for n in nights):
        return ""
    which = "the night" if len(nights) == 1 else f"the {len(nights)} nights"
    return f" The sensor recorded no twitch, spasm or cramp on {which} measured."


def recent_symptoms(days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]], cfg: TriageConfig,
                    today: date | None = None, window_ends: date | None = None) -> set[str]:
    """Symptoms noted within ``cfg.symptom_window_days`` of the case's latest entry, or of
    ``today`` (default: today) when that is earlier: an entry dated after today (a recorder's
    clock ahead) does not push today's symptoms out. With ``window_ends`` (a triage of the
    history: today, or the night a report is about), the window ends there instead: a
    symptom noted months before is not recent because nothing was noted since."""
    last = latest_date(days, nights) if window_ends is None else window_ends
    if last is None:
        return set()
    first = min(last, today or date.today()) - timedelta(days=cfg.symptom_window_days - 1)
    return {s for d in days if d.get("date") and date.fromisoformat(d["date"]) >= first for s in d.get("symptoms") or []}


def noted_on(days: Sequence[Mapping[str, Any]], symptom: str) -> str:
    """" (noted on DATE)": the latest diary day that names ``symptom`` ("" when none does)."""
    noted = [d["date"] for d in days if d.get("date") and symptom in (d.get("symptoms") or [])]
    return f" (noted on {max(noted)})" if noted else ""


def level_of(fired: Sequence[FiredRule]) -> str:
    """The highest level among fired rules."""
    return LEVELS[max(LEVELS.index(f.level) for f in fired)]
