"""The night report: one self-contained HTML file (figures inlined), readable on a phone.

Layers, each usable on its own:

* :mod:`.model` -- :class:`ReportInput` / :class:`DoctorInput` (plain data) and
  :func:`report_input` / :func:`doctor_input`, which gather them from the history database;
* :mod:`.traces` -- real EMG around the largest spasm and typical twitches, filtered by the
  detector itself;
* :mod:`.plots` -- the matplotlib figures, as base64 PNG;
* :mod:`.render` -- the HTML (:func:`render_report`, :func:`render_doctor`); all user text
  is escaped.

:func:`write_report` ties them together; ``kneeemg report`` and ``kneeemg demo`` call it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import DoctorInput, ReportInput, doctor_input, report_input
from .render import PAGE_START, render_doctor, render_report, summary_words
from .traces import Snippet

if TYPE_CHECKING:
    from ..guidance import TriageConfig

#: How every report and doctor's summary begins (an existing file is replaced only when it does).
REPORT_SIGNATURE = PAGE_START.encode()

__all__ = ["write_report", "build_report", "build_doctor_report", "ReportInput", "DoctorInput", "Snippet",
           "report_input", "doctor_input", "render_report", "render_doctor", "summary_words"]


def build_report(store: Any, night: int | str | None = None, recording: Any = None, config: TriageConfig | None = None) -> str:
    """HTML of one night's report from ``store`` (the latest night when ``night`` is None);
    ``config``: the guidance's :class:`~kneeemg.guidance.TriageConfig` (its defaults when None)."""
    return render_report(report_input(store, night, recording, config=config))


def build_doctor_report(store: Any, config: TriageConfig | None = None) -> str:
    """HTML of the doctor's summary from ``store`` (``config`` as for :func:`build_report`)."""
    return render_doctor(doctor_input(store, config=config))


def write_report(out: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, night: int | str | None = None,
                 doctor: bool = False, recording: Any = None, config: TriageConfig | None = None) -> Path:
    """Write a night's report (or, with ``doctor=True``, the doctor's summary) to ``out``.

    Parameters
    ----------
    out : path
        The HTML file to write; written to a temporary name first and moved into place, so
        an existing report is never left half-written. An existing file that is not a
        report (a recording, the history database...) is never replaced.
    db : path, optional
        History database (the default one in the user data folder when omitted).
    night : int or str, optional
        Night id or date; the latest night when omitted.
    doctor : bool
        Write the short summary for an appointment instead (of the last
        :data:`~kneeemg.report.model.DOCTOR_DAYS` days; it takes no ``night``).
    recording : kneeemg.io.base.Recording, optional
        The night's recording, for the EMG traces when the night's file is not on disk
        (the demo's simulated night).
    config : kneeemg.guidance.TriageConfig, optional
        The guidance's thresholds (:meth:`~kneeemg.guidance.TriageConfig.with_settings`
        builds one from ``NAME=VALUE`` texts); the defaults when omitted.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        No such night (or no nights yet); a ``night`` given with ``doctor``; the output
        folder does not exist; ``out`` names a file that is not a report, or the database itself.
    """
    from ..errors import InputError
    from ..paths import check_output_file, db_path, replacing
    from ..store import Store
    from .model import DOCTOR_DAYS

    if doctor and night is not None:
        raise InputError(f"--doctor summarises the last {DOCTOR_DAYS} days and takes no NIGHT (got {night}); leave out "
                         f"{night} for the summary, or leave out --doctor for the report of that night")

    path = check_output_file(out, "--out", "kneeemg report", REPORT_SIGNATURE, inputs=(db_path(db),))
    with Store(db, create=False) as store:
        text = build_doctor_report(store, config) if doctor else build_report(store, night, recording, config)
    try:
        with replacing(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror}); choose another --out") from None
    return path
