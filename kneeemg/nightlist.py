"""The list of stored nights, one row each: for the nights table and its CSV export."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import InputError

#: The columns of :func:`write_nights_csv`, in order (hours and rates per usable hour; a
#: rate is empty for a night too short to give one).
NIGHTS_CSV_COLUMNS = ("id", "date", "usable_h", "twitches", "twitches_per_h", "spasms", "cramps", "clusters",
                      "plm_per_h", "channels", "source")


def night_rows(nights: Iterable[Any], config: Any) -> list[dict[str, Any]]:
    """One row per stored night (:class:`kneeemg.store.StoredNight`), with the columns of
    :data:`NIGHTS_CSV_COLUMNS`.

    ``twitches_per_h`` and ``plm_per_h`` are None when the night has less usable time than
    ``config.min_usable_hours`` (a :class:`kneeemg.guidance.TriageConfig`): too short to
    give a rate, as in trends, triage and the report. ``channels`` joins the channel
    labels with ", ".
    """
    rows = []
    for n in nights:
        m = n.metrics
        counts = m.get("counts", {})
        rate = n.twitch_rate(config)
        plm = (m.get("leg_movements") or {}).get("plm_index")
        rows.append({"id": n.id, "date": n.date, "usable_h": n.usable_s / 3600, "twitches": counts.get("twitch"),
                     "twitches_per_h": rate, "spasms": counts.get("spasm"), "cramps": counts.get("cramp"),
                     "clusters": (m.get("clusters") or {}).get("count"),
                     "plm_per_h": None if plm is None or rate is None else plm,  # a night too short for a rate gives neither
                     "channels": ", ".join(n.labels), "source": n.source})
    return rows


def csv_signature() -> bytes:
    """How a nights CSV written by :func:`write_nights_csv` begins (its header)."""
    return ",".join(NIGHTS_CSV_COLUMNS).encode()


def check_nights_csv(path: str | os.PathLike[str], inputs: Iterable[Any] = ()) -> Path:
    """Check, before any work, that ``path`` may be written as a nights CSV: a new file, an
    empty one or an earlier nights CSV, never one of ``inputs`` (the history database) or any
    other file given by mistake.

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    from .paths import check_output_file

    return check_output_file(path, "--csv", "nights CSV", csv_signature(), inputs=inputs)


def write_nights_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], inputs: Iterable[Any] = ()) -> Path:
    """Write ``rows`` (from :func:`night_rows`) to ``path`` as CSV: hours to 0.01 h, rates to
    0.1 an hour, an empty cell where a value is missing.

    ``path`` is checked as by :func:`check_nights_csv`, then written under a temporary name
    and moved into place: a reader sees the old file or the new one, never half of one.

    Raises
    ------
    InputError
        When ``path`` may not be written (one line saying why), before anything is written.
    """
    from .paths import replacing

    path = check_nights_csv(path, inputs)

    def cell(key: str, value: Any) -> Any:
        if value is None:
            return ""
        if key == "usable_h":
            return f"{value:.2f}"
        if key in ("twitches_per_h", "plm_per_h"):
            return f"{value:.1f}"
        return value

    try:
        with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(NIGHTS_CSV_COLUMNS)
            for row in rows:
                writer.writerow([cell(k, row[k]) for k in NIGHTS_CSV_COLUMNS])
    except OSError as exc:
        raise InputError(f"--csv {path} cannot be written ({exc.strerror}); choose another path") from None
    return path
