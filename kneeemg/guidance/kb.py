"""Loading and checking the knowledge base (``kb.toml``, package data)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import ConfigError

#: The cause ids the knowledge base must define.
CAUSE_IDS = ("muscle_fatigue", "joint_overuse", "dehydration", "nutrient_deficiency", "medication_side_effect", "stimulants",
             "alcohol", "stress", "anxiety", "everyday_triggers", "arthritis", "patellar_tendonitis", "knee_injury",
             "nerve_compression", "failed_back_surgery", "peroneal_nerve_damage", "neurological_disorder", "neuromyotonia", "als")


@dataclass(frozen=True)
class KnowledgeBase:
    documents: dict[str, dict[str, str]]
    causes: dict[str, dict[str, Any]]
    warning_signs: list[dict[str, str]]
    rules: dict[str, dict[str, str]]

    def cite(self, doc: str, heading: str) -> str:
        """``'"Title", section "Heading"'``."""
        return f'"{self.documents[doc]["title"]}", section "{heading}"'

    def citations(self) -> list[tuple[str, str]]:
        """Every (document, heading) the knowledge base cites."""
        out = []
        for c in self.causes.values():
            out += [(s["doc"], s["heading"]) for s in c["sources"]]
            out += [(a["doc"], a["heading"]) for a in c["advice"]]
            out += [(e["doc"], e["heading"]) for e in c["evidence"]]
        out += [(w["doc"], w["heading"]) for w in self.warning_signs]
        out += [(r["doc"], r["heading"]) for r in self.rules.values()]
        return sorted(set(out))

    def texts(self) -> list[str]:
        """Every sentence the knowledge base shows a person."""
        out = []
        for c in self.causes.values():
            out += [c["name"], c["description"], *(a["text"] for a in c["advice"]), *(e["reason"] for e in c["evidence"])]
        out += [w["text"] for w in self.warning_signs] + [r["text"] for r in self.rules.values()]
        return out


@lru_cache(maxsize=1)
def load_kb() -> KnowledgeBase:
    """The packaged knowledge base, checked for completeness."""
    raw = tomllib.loads(resources.files("kneeemg.guidance").joinpath("kb.toml").read_text(encoding="utf-8"))
    causes = {c["id"]: c for c in raw["causes"]}
    missing = set(CAUSE_IDS) - set(causes)
    if missing:
        raise ConfigError(f"the knowledge base lacks cause(s) {', '.join(sorted(missing))}")
    for c in causes.values():
        if not 0 < c["prior"] < 1:
            raise ConfigError(f"cause {c['id']}: prior must lie between 0 and 1")
        for e in c["evidence"]:
            if e["dir"] not in ("for", "against") or (e["lr"] > 1) != (e["dir"] == "for"):
                raise ConfigError(f"cause {c['id']}: evidence {e['feature']} must have lr > 1 for, < 1 against")
    return KnowledgeBase(raw["documents"], causes, raw["warning_signs"], raw["rules"])
