"""Guidance: map twitch patterns and the diary onto two documents' causes and advice.

:func:`triage` gives an escalation level (``monitor`` < ``self_care`` < ``see_doctor`` <
``see_doctor_asap``), the causes that the person's own information speaks for, ranked by
a transparent log-odds score, and the advice, each item citing its document and section.
It is guidance, not a diagnosis. See ``docs/guidance.md``.
"""

from .classifier import DISCLAIMER, LEVELS, TriageResult, triage, validate_case
from .features import TriageConfig
from .kb import CAUSE_IDS, load_kb

__all__ = ["triage", "TriageResult", "TriageConfig", "LEVELS", "DISCLAIMER", "CAUSE_IDS", "load_kb", "validate_case",
           "guidance_for_report"]


def guidance_for_report(result: TriageResult) -> dict:
    """The pieces the HTML report shows: level in words, reasons, top causes, advice, disclaimer."""
    words = {"monitor": "Keep an eye on it", "self_care": "Try the changes below",
             "see_doctor": "Make an appointment with a doctor", "see_doctor_asap": "See a doctor soon"}
    d = result.as_dict()
    d["level_text"] = words[result.level]
    d["causes"] = d["causes"][:5]
    return d
