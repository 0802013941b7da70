"""Guidance: map twitch patterns and the diary onto two documents' causes and advice.

:func:`triage` gives an escalation level (``monitor`` < ``self_care`` < ``see_doctor`` <
``see_doctor_asap``), the causes that the person's own information speaks for, ranked by
a transparent log-odds score, and the advice, each item citing its document and section.
It is guidance, not a diagnosis. See ``docs/guidance.md``.
"""

from __future__ import annotations

from typing import Any

from .classifier import DISCLAIMER, CauseScore, TriageResult, triage, validate_case
from .features import TriageConfig
from .kb import CAUSE_IDS, LEVELS, KnowledgeBase, load_kb

__all__ = ["triage", "TriageResult", "CauseScore", "TriageConfig", "LEVELS", "DISCLAIMER", "CAUSE_IDS", "KnowledgeBase",
           "load_kb", "validate_case", "guidance_for_report", "LEVEL_WORDS"]

#: Each level in a few plain words, for people rather than programs.
LEVEL_WORDS = {"monitor": "Keep an eye on it", "self_care": "Try the changes below",
               "see_doctor": "Make an appointment with a doctor", "see_doctor_asap": "See a doctor soon"}


def guidance_for_report(result: TriageResult, max_causes: int = 5) -> dict[str, Any]:
    """The pieces an HTML report shows.

    Returns
    -------
    dict
        ``level``, ``level_text`` (plain words), ``reasons`` (list of str), ``causes`` (at
        most ``max_causes``, each with ``id``, ``name``, ``score``, ``evidence_for``,
        ``evidence_against``, ``sources``, ``description``), ``advice`` (``text``, ``source``),
        ``triggers`` (each with ``text``) and ``disclaimer``. Every string is plain text;
        the report escapes it.
    """
    d = result.as_dict()
    return {"level": d["level"], "level_text": LEVEL_WORDS[result.level], "reasons": d["reasons"],
            "causes": d["causes"][:max_causes], "advice": d["advice"], "triggers": d["triggers"], "disclaimer": d["disclaimer"]}
