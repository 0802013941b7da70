"""The channels read when none are chosen: a sleep-lab file's leg EMG, not its ECG or EEG.

A file whose labels name no other kind of signal (a plain EMG file, kneeemg's own files) is
read whole. When some labels name other signals (ECG, EEG, EOG, respiration, SpO2, body
position, chin EMG, ...), only the channels whose labels name leg EMG are read; with none
of those, the file is refused and ``--channels`` asked for.
"""

from __future__ import annotations

import re

from ..errors import InputError

#: Words of a label (upper case, split at anything not a letter or digit) that name another
#: signal, whole or as a word's beginning (``RESP`` also names ``RESPIRATION``).
OTHER_STARTS = ("ECG", "EKG", "EEG", "EOG", "RESP", "THOR", "ABDOM", "CHEST", "AIRFLOW", "FLOW", "NASAL", "ORONASAL",
                "THERM", "CANNULA", "EFFORT", "SNORE", "SPO2", "SAO2", "OXIM", "PLETH", "PULSE", "POSITION", "BODY",
                "TEMP", "LIGHT", "CHIN", "SUBMENT", "MENTAL", "CPAP", "ETCO2", "MARKER", "EVENT", "AUDIO", "MIC",
                "HEART")
#: Whole words that name another signal (too short to take as a beginning).
OTHER_WORDS = {"HR", "POS", "SAT", "LOC", "ROC", "E1", "E2", "ACC", "CO2", "PR", "ABD", "ABDO"}
#: A label that is an EEG derivation of the 10-20 system, such as ``C3-M2`` or ``Fpz-Cz``.
_EEG_PAIR = re.compile(r"(FP|AF|F|FC|C|CP|P|PO|O|T|M|A)[0-9Z]{1,2}\s*-\s*(FP|AF|F|FC|C|CP|P|PO|O|T|M|A)[0-9Z]{1,2}")
#: Parts of a word (anywhere in it: "AntTib", "LeftThigh") and whole words that name a thigh
#: muscle (the quadriceps, where kneeemg's sensor sits, or the hamstrings) ...
THIGH_PARTS = ("QUAD", "THIGH", "VAST", "FEMOR", "HAMSTR", "SEMIT")
THIGH_WORDS = {"VM", "VL", "RF", "VMO", "BF", "ST"}
#: ... and the shin: the tibialis anterior, where sleep labs record leg EMG, so that a
#: polysomnogram's "Leg L", "LAT" or "PLM" channel is that muscle.
SHIN_PARTS = ("TIB", "LEG", "PLM")
SHIN_WORDS = {"TA", "LAT", "RAT", "LAT1", "LAT2", "RAT1", "RAT2"}
#: Parts of a word and whole words that name a leg muscle or place.
LEG_PARTS = (*THIGH_PARTS, *SHIN_PARTS, "KNEE")
LEG_WORDS = THIGH_WORDS | SHIN_WORDS


def _words(label: str) -> list[str]:
    return [w for w in re.split(r"[^A-Z0-9]+", label.upper()) if w]


def is_other_signal(label: str) -> bool:
    """Whether ``label`` names a signal that is not leg EMG (ECG, EEG, chin EMG, ...)."""
    words = _words(label)
    return (any(w in OTHER_WORDS or w.startswith(OTHER_STARTS) for w in words)
            or _EEG_PAIR.fullmatch(label.strip().upper()) is not None)


def is_leg_emg(label: str) -> bool:
    """Whether ``label`` names a leg muscle or place (and no other signal)."""
    words = _words(label)
    return not is_other_signal(label) and any(w in LEG_WORDS or any(p in w for p in LEG_PARTS) for w in words)


def _names(label: str, parts: tuple[str, ...], whole: set[str]) -> bool:
    return any(w in whole or any(p in w for p in parts) for w in _words(label))


def muscle_site(labels: tuple[str, ...] | list[str], own: bool = False) -> str | None:
    """Where the channels were recorded, for the words that go with the leg movements:
    ``"thigh"`` for kneeemg's own sensor (``own``) or when every label names a thigh muscle
    (``VM``, ``Quadriceps``), ``"shin"`` when every label names the shin (``TA``, or a sleep
    lab's ``Leg L``), else None (the labels do not say, such as ``ch0`` or ``EMG``)."""
    if own:
        return "thigh"
    sites = {"thigh" if _names(lab, THIGH_PARTS, THIGH_WORDS) else "shin" if _names(lab, SHIN_PARTS, SHIN_WORDS)
             else None for lab in labels}
    return sites.pop() if len(sites) == 1 else None


def default_channels(labels: tuple[str, ...], source: str) -> tuple[list[int], str | None]:
    """The channels to read when none are chosen, and a note saying which were taken (None
    when all are).

    Raises
    ------
    InputError
        Some labels name other signals and none names leg EMG.
    """
    other = [lab for lab in labels if is_other_signal(lab)]
    if not other:
        return list(range(len(labels))), None
    leg = [i for i, lab in enumerate(labels) if is_leg_emg(lab)]
    names = ", ".join(repr(lab) for lab in labels)
    if not leg:
        raise InputError(f"{source}: no channel is labelled as leg EMG, and {', '.join(map(repr, other))} "
                         f"{'is another signal' if len(other) == 1 else 'are other signals'} (its channels: {names}); "
                         "choose the leg EMG channels with --channels LABEL ...")
    left_out = [lab for i, lab in enumerate(labels) if i not in leg]
    return leg, (f"without --channels, read the leg EMG channel{'s' if len(leg) > 1 else ''} "
                 f"{', '.join(repr(labels[i]) for i in leg)} and left out {', '.join(map(repr, left_out))} "
                 "(other signals by their labels); choose others with --channels")
