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
from .kb import CAUSE_IDS, LEVEL_WORDS, LEVELS, KnowledgeBase, load_kb

__all__ = ["triage", "TriageResult", "CauseScore", "TriageConfig", "LEVELS", "DISCLAIMER", "CAUSE_IDS", "KnowledgeBase",
           "load_kb", "validate_case", "guidance_for_report", "LEVEL_WORDS"]


def guidance_for_report(result: TriageResult, max_causes: int = 5) -> dict[str, Any]:
    """The pieces an HTML report shows.

    Returns
    -------
    dict
        ``level``, ``level_text`` (plain words), ``reasons`` (list of str), ``also`` (under
        a warning sign, what the appointment rules found, list of str), ``causes`` (at
        most ``max_causes``, each with ``id``, ``name``, ``label`` (what to show: the known
        condition's name or the cause's), ``known_condition`` (the condition in words, or
        None), ``reasons`` (the evidence in words), ``score``, ``evidence_for``,
        ``evidence_against``, ``sources``, ``description``), ``advice`` (``text``,
        ``source``), ``triggers`` (each with ``text``), ``notes`` (what kneeemg could not use,
        e.g. a medicine it does not know) and ``disclaimer``. Every string is
        plain text; the report escapes it. ``score`` is for doctors and programs: the scores
        are written-down judgments that order the causes, not probabilities to show a person
        (``docs/guidance.md``).
    """
    d = result.as_dict()
    causes = [dict(cd, label=c.label, reasons=c.reasons()) for c, cd in zip(result.causes, d["causes"])]
    return {"level": d["level"], "level_text": result.level_text, "reasons": d["reasons"], "also": d["also"],
            "causes": causes[:max_causes], "advice": d["advice"], "triggers": d["triggers"], "notes": d["notes"],
            "disclaimer": d["disclaimer"]}
