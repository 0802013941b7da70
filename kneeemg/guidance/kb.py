"""Loading and checking the knowledge base (``kb.toml``, package data).

The knowledge base is data, not code: causes with their priors, evidence and advice,
warning signs and escalation rules, each citing a document and a section heading. It is
checked completely when loaded, so a mistake in it is a one-line :class:`ConfigError`
naming the entry, never a wrong answer later.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..diary import CONDITIONS, DEFICIENCIES
from ..errors import ConfigError
from .features import FEATURE_INPUTS, WARNING_SYMPTOMS

#: The cause ids the knowledge base must define.
CAUSE_IDS = ("muscle_fatigue", "joint_overuse", "dehydration", "nutrient_deficiency", "medication_side_effect", "stimulants",
             "alcohol", "stress", "anxiety", "everyday_triggers", "arthritis", "patellar_tendonitis", "knee_injury",
             "nerve_compression", "failed_back_surgery", "peroneal_nerve_damage", "neurological_disorder", "neuromyotonia", "als")
#: Escalation levels, lowest first.
LEVELS = ("monitor", "self_care", "see_doctor", "see_doctor_asap")
#: Each level in a few plain words, for people rather than programs.
LEVEL_WORDS = {"monitor": "Keep an eye on it", "self_care": "Try the changes below",
               "see_doctor": "Make an appointment with a doctor", "see_doctor_asap": "See a doctor soon"}
#: The rules the knowledge base must describe (their logic is in rules.py).
RULE_IDS = ("warning_sign", "frequent", "persistent", "other_symptoms", "medication", "deficiency", "no_improvement",
            "known_condition", "joint_care", "self_care", "monitor")
#: Headings that stand for D1 passages under no heading of their own.
PSEUDO_HEADINGS = ("(introduction)", "(closing advice)")
#: The monitor rule's other wordings: busy nights not yet frequent, a diary without nights, nothing recorded.
MONITOR_VARIANTS = ("busy", "no_nights", "empty", "quiet", "short")
#: Every rule's other wordings: the monitor rule's, and the warning sign's for more than one sign.
RULE_VARIANTS = {"monitor": MONITOR_VARIANTS, "warning_sign": ("several",)}
#: Placeholders a text may hold, filled from the case (``{deficiencies}``: the profile's, in words).
PLACEHOLDERS = ("deficiencies",)


@dataclass(frozen=True)
class KnowledgeBase:
    """The parsed knowledge base (see ``kb.toml`` for the meaning of every field)."""

    documents: dict[str, dict[str, str]]
    causes: dict[str, dict[str, Any]]
    warning_signs: list[dict[str, str]]
    rules: dict[str, dict[str, Any]]
    general_advice: list[dict[str, Any]]
    condition_names: dict[str, str] = field(default_factory=dict)
    deficiency_names: dict[str, str] = field(default_factory=dict)

    def condition_name(self, cid: str) -> str:
        """A profile condition as people write it (``als`` -> ``ALS (amyotrophic lateral sclerosis)``)."""
        return self.condition_names.get(cid, cid.replace("_", " "))

    def deficiency_name(self, did: str) -> str:
        """A profile deficiency as people write it (``vitamin_b12`` -> ``vitamin B12``)."""
        return self.deficiency_names.get(did, did.replace("_", " "))

    def cite(self, doc: str, heading: str) -> str:
        """``'"Title", section "Heading"'``."""
        return f'"{self.documents[doc]["title"]}", section "{heading}"'

    def rule_text(self, name: str, variant: str | None = None) -> tuple[str, list[dict[str, str]]]:
        """A rule's text and sources, or those of one of its wordings (see RULE_VARIANTS)."""
        r = self.rules[name]
        v = r[variant] if variant else r
        return v["text"], v["sources"]

    def cite_all(self, sources: list[dict[str, str]]) -> str:
        """Several citations joined by "; "."""
        return "; ".join(self.cite(s["doc"], s["heading"]) for s in sources)

    def citations(self) -> list[tuple[str, str]]:
        """Every (document id, heading) the knowledge base cites."""
        out = []
        for c in self.causes.values():
            out += [(s["doc"], s["heading"]) for s in c["sources"]]
            out += [(a["doc"], a["heading"]) for a in c["advice"]]
            out += [(e["doc"], e["heading"]) for e in c["evidence"]]
        out += [(w["doc"], w["heading"]) for w in self.warning_signs]
        out += [(s["doc"], s["heading"]) for r in self.rules.values() for s in r["sources"]]
        out += [(s["doc"], s["heading"]) for r, vs in RULE_VARIANTS.items() for v in vs for s in self.rules[r][v]["sources"]]
        out += [(a["doc"], a["heading"]) for a in self.general_advice]
        return sorted(set(out))

    def texts(self) -> list[str]:
        """Every sentence of the knowledge base that a person can see."""
        out = []
        for c in self.causes.values():
            out += [c["name"], c["description"], c["prior_reason"], *(a["text"] for a in c["advice"]),
                    *(e["reason"] for e in c["evidence"]), *([c["requires_text"]] if c.get("requires") else [])]
        out += [w["text"] for w in self.warning_signs] + [r["text"] for r in self.rules.values()]
        out += [r["name"] for r in self.rules.values()] + [self.rules[r][v]["text"] for r, vs in RULE_VARIANTS.items() for v in vs]
        out += [a["text"] for a in self.general_advice]
        out += [*self.condition_names.values(), *self.deficiency_names.values()]
        return out


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"knowledge base: {where} lacks {key}")
    if not isinstance(table[key], kind):
        raise ConfigError(f"knowledge base: {where}.{key} has the wrong type")
    return table[key]


def _check_placeholders(text: str, where: str) -> None:
    for name in re.findall(r"\{([^{}]*)\}", text):
        if name not in PLACEHOLDERS:
            raise ConfigError(f"knowledge base: {where} holds unknown placeholder {{{name}}}; known: {', '.join(PLACEHOLDERS)}")


def _check_features(names: Any, where: str) -> None:
    if not isinstance(names, list):
        raise ConfigError(f"knowledge base: {where} must be a list of features")
    for f in names:
        if f not in FEATURE_INPUTS:
            raise ConfigError(f"knowledge base: {where} names unknown feature {f!r}")


def _check_source(s: Any, docs: dict[str, Any], where: str) -> None:
    if not isinstance(s, dict):
        raise ConfigError(f"knowledge base: {where} must be a table with doc and heading")
    doc = _need(s, "doc", str, where)
    heading = _need(s, "heading", str, where)
    if doc not in docs:
        raise ConfigError(f"knowledge base: {where} cites unknown document {doc!r}")
    if not heading.strip():
        raise ConfigError(f"knowledge base: {where} has an empty heading")


def parse_kb(text: str) -> KnowledgeBase:
    """Parse and check a knowledge base from TOML text; ConfigError names the bad entry."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"knowledge base: not valid TOML ({exc})") from None
    docs = _need(raw, "documents", dict, "the file")
    for key, d in docs.items():
        _need(d, "title", str, f"documents.{key}")
        _need(d, "file", str, f"documents.{key}")
    causes: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(_need(raw, "causes", list, "the file")):
        cid = _need(c, "id", str, f"causes[{i}]")
        if cid in causes:
            raise ConfigError(f"knowledge base: cause {cid} is defined twice")
        for key in ("name", "description", "prior_reason"):
            _need(c, key, str, f"cause {cid}")
        prior = _need(c, "prior", (int, float), f"cause {cid}")
        if not 0 < prior < 1:
            raise ConfigError(f"knowledge base: cause {cid}: prior={prior} must lie strictly between 0 and 1")
        for j, s in enumerate(_need(c, "sources", list, f"cause {cid}")):
            _check_source(s, docs, f"cause {cid} sources[{j}]")
        if "requires" in c:
            _check_features(c["requires"], f"cause {cid} requires")
            if not c["requires"]:
                raise ConfigError(f"knowledge base: cause {cid} requires is empty")
            _need(c, "requires_text", str, f"cause {cid}")
        for cond in _need(c, "known_when", list, f"cause {cid}") if "known_when" in c else []:
            if cond not in CONDITIONS:
                raise ConfigError(f"knowledge base: cause {cid} known_when names unknown condition {cond!r}")
        for j, a in enumerate(_need(c, "advice", list, f"cause {cid}")):
            _need(a, "text", str, f"cause {cid} advice[{j}]")
            _check_placeholders(a["text"], f"cause {cid} advice[{j}]")
            _check_source(a, docs, f"cause {cid} advice[{j}]")
            for key in ("when", "unless"):
                _check_features(a.get(key, []), f"cause {cid} advice[{j}]")
            if set(a.get("when", [])) & set(a.get("unless", [])):
                raise ConfigError(f"knowledge base: cause {cid} advice[{j}] names a feature in both when and unless")
        for j, e in enumerate(_need(c, "evidence", list, f"cause {cid}")):
            where = f"cause {cid} evidence[{j}]"
            feat = _need(e, "feature", str, where)
            if feat not in FEATURE_INPUTS:
                raise ConfigError(f"knowledge base: {where} names unknown feature {feat!r}")
            lr = _need(e, "lr", (int, float), where)
            if e.get("dir") not in ("for", "against") or lr <= 0 or lr == 1 or (lr > 1) != (e["dir"] == "for"):
                raise ConfigError(f"knowledge base: {where} ({feat}) needs dir 'for' with lr > 1 or 'against' with 0 < lr < 1")
            _check_placeholders(_need(e, "reason", str, where), where)
            _check_source(e, docs, where)
        causes[cid] = c
    missing = set(CAUSE_IDS) - set(causes)
    if missing:
        raise ConfigError(f"knowledge base: cause(s) {', '.join(sorted(missing))} are missing")
    signs = _need(raw, "warning_signs", list, "the file")
    for j, w in enumerate(signs):
        _need(w, "symptom", str, f"warning_signs[{j}]")
        _need(w, "text", str, f"warning_signs[{j}]")
        _check_source(w, docs, f"warning_signs[{j}]")
    if sorted(w["symptom"] for w in signs) != sorted(WARNING_SYMPTOMS):
        raise ConfigError(f"knowledge base: warning_signs must be exactly {', '.join(WARNING_SYMPTOMS)}")
    rules = _need(raw, "rules", dict, "the file")
    if set(rules) != set(RULE_IDS):
        raise ConfigError(f"knowledge base: rules must be exactly {', '.join(RULE_IDS)}")
    for name, r in rules.items():
        if r.get("level") not in LEVELS:
            raise ConfigError(f"knowledge base: rules.{name}.level must be one of {', '.join(LEVELS)}")
        _need(r, "name", str, f"rules.{name}")
        for v, table in [(None, r)] + [(v, _need(r, v, dict, f"rules.{name}")) for v in RULE_VARIANTS.get(name, ())]:
            where = f"rules.{name}" + (f".{v}" if v else "")
            _need(table, "text", str, where)
            for j, s in enumerate(_need(table, "sources", list, where)):
                _check_source(s, docs, f"{where} sources[{j}]")
    for name in ("known_condition", "joint_care"):
        for cond in _need(rules[name], "conditions", list, f"rules.{name}"):
            if cond not in CONDITIONS:
                raise ConfigError(f"knowledge base: rules.{name} names unknown condition {cond!r}")
            if not any(e["feature"] == f"cond_{cond}" for c in causes.values() for e in c["evidence"]):
                raise ConfigError(f"knowledge base: no cause takes condition {cond!r} as evidence")
    general = raw.get("general_advice", [])
    for j, a in enumerate(general):
        _need(a, "text", str, f"general_advice[{j}]")
        _check_source(a, docs, f"general_advice[{j}]")
        if not set(_need(a, "levels", list, f"general_advice[{j}]")) <= set(LEVELS):
            raise ConfigError(f"knowledge base: general_advice[{j}].levels must name levels among {', '.join(LEVELS)}")
        for key in ("when", "unless"):
            _check_features(a.get(key, []), f"general_advice[{j}].{key}")
        for key in ("first", "needs_records"):
            if not isinstance(a.get(key, False), bool):
                raise ConfigError(f"knowledge base: general_advice[{j}].{key} must be true or false")
    names = {}
    for table, ids in (("condition_names", CONDITIONS), ("deficiency_names", DEFICIENCIES)):
        given = _need(raw, table, dict, "the file")
        if set(given) != set(ids) or not all(isinstance(v, str) and v.strip() for v in given.values()):
            raise ConfigError(f"knowledge base: {table} must give a name (text) to exactly {', '.join(ids)}")
        names[table] = given
    return KnowledgeBase(docs, causes, signs, rules, general, names["condition_names"], names["deficiency_names"])


@lru_cache(maxsize=1)
def _packaged() -> KnowledgeBase:
    return parse_kb(resources.files("kneeemg.guidance").joinpath("kb.toml").read_text(encoding="utf-8"))


def load_kb(path: str | Path | None = None) -> KnowledgeBase:
    """The packaged knowledge base, or one from ``path`` (for trying changes), checked."""
    if path is None:
        return _packaged()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"knowledge base {p} does not exist; check the path")
    return parse_kb(p.read_text(encoding="utf-8"))
