"""Voltage units, as recording files spell them, and their factor to µV."""

from __future__ import annotations

import re

#: Physical units (lower case) and their factor to µV.
UNIT_TO_UV = {
    "uv": 1.0, "µv": 1.0, "μv": 1.0, "microvolt": 1.0, "microvolts": 1.0,
    "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3,
    "v": 1e6, "volt": 1e6, "volts": 1e6,
    "nv": 1e-3, "nanovolt": 1e-3, "nanovolts": 1e-3,
}
#: The units as a person reads them, for messages.
KNOWN_UNITS = "uV (µV, microvolt), mV (millivolt), V (volt), nV (nanovolt)"
_UNIT = "|".join(sorted(map(re.escape, UNIT_TO_UV), key=len, reverse=True))
#: Units that may follow an underscore at the end of a label: not a bare ``_V``, which ends
#: labels such as ``VM_V`` (a muscle's name) as often as it means volts.
_SUFFIX_UNIT = "|".join(sorted(map(re.escape, (u for u in UNIT_TO_UV if u != "v")), key=len, reverse=True))
#: A label that ends in a known unit: ``EMG (mV)``, ``EMG [V]``, ``EMG_uV``.
_LABEL_UNIT = re.compile(rf"(.*?\S)\s*(?:\(\s*({_UNIT})\s*\)|\[\s*({_UNIT})\s*\]|_({_SUFFIX_UNIT}))", re.IGNORECASE)


def uv_per(unit: str) -> float | None:
    """The factor from ``unit`` to µV (any case, spaces around it ignored), or None for a unit
    that is no voltage kneeemg knows."""
    return UNIT_TO_UV.get(unit.strip().lower())


def split_unit(label: str) -> tuple[str, str | None]:
    """``label`` without a known voltage unit at its end, and that unit: ``"EMG (mV)"`` gives
    ``("EMG", "mV")``; a label without one (``"VM (left)"``) comes back as it is, with None."""
    m = _LABEL_UNIT.fullmatch(label.strip())
    if not m:
        return label, None
    return m.group(1), next(g for g in m.groups()[1:] if g)
