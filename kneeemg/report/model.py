"""What a report shows, as plain data, and how it is gathered from the history database.

:class:`ReportInput` (one night) and :class:`DoctorInput` (the summary for an appointment)
hold only plain values -- dicts, lists, arrays, events -- so the HTML can be built and tested
without a database. :func:`report_input` and :func:`doctor_input` fill them from a
:class:`~kneeemg.store.Store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ..events import Event, ExcludedInterval
from ..trends import store_direction
from .traces import Snippet, night_snippets

if TYPE_CHECKING:
    from ..guidance import TriageConfig

#: Nights shown in the trend of the night report.
TREND_NIGHTS = 14
#: Days covered by the doctor's summary.
DOCTOR_DAYS = 28


@dataclass
class ReportInput:
    """Everything the night report shows.

    Attributes
    ----------
    date : str or None
        The evening the night began (YYYY-MM-DD).
    recording_s, usable_s, lost_s : float
        Recorded, usable and lost time, s.
    labels : tuple of str
        Channel names.
    metrics : dict
        :meth:`kneeemg.metrics.NightMetrics.as_dict` of the night.
    events : list of Event
        Twitches, spasms and cramps.
    excluded : list of ExcludedInterval
        Artefact time per channel.
    epoch_s : float or None
        Epoch length of ``epoch_flags`` and ``floor_uv``, s (None when not stored).
    epoch_flags : ndarray, shape (n_epochs, n_channels), uint16 (uint8 before spikes were told), or None
        Exclusion bitmask per epoch (0 = usable).
    floor_uv : ndarray, shape (n_epochs, n_channels), or None
        Noise floor per epoch, µV.
    diary : dict or None
        The diary entry of that day (``DiaryDay.as_dict()``).
    guidance : dict or None
        :func:`kneeemg.guidance.guidance_for_report` output.
    trend : list of dict
        :meth:`kneeemg.store.Store.trend` rows, oldest first.
    trend_words : str
        The trend's direction in a sentence.
    snippets : list of Snippet
        Filtered EMG around chosen events.
    snippets_note : str
        Why there are no traces, when there are none.
    min_usable_hours : float
        The guidance's ``min_usable_hours``: a night with less usable time gives no rate, here
        as in the nights list, the trend and the guidance.
    site : str or None
        The muscle recorded (:func:`night_site`): ``"thigh"``, ``"shin"``, or None when the
        channels' labels do not say.
    """

    date: str | None
    recording_s: float
    usable_s: float
    lost_s: float
    labels: tuple[str, ...]
    metrics: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    excluded: list[ExcludedInterval] = field(default_factory=list)
    epoch_s: float | None = None
    epoch_flags: np.ndarray | None = None
    floor_uv: np.ndarray | None = None
    diary: dict[str, Any] | None = None
    guidance: dict[str, Any] | None = None
    trend: list[dict[str, Any]] = field(default_factory=list)
    trend_words: str = ""
    snippets: list[Snippet] = field(default_factory=list)
    snippets_note: str = ""
    min_usable_hours: float = 1.0
    site: str | None = "thigh"


def night_site(night: Any) -> str | None:
    """The muscle a stored night was recorded from (:func:`~kneeemg.io.channels.muscle_site`):
    the thigh for kneeemg's own recordings (``.kemg``) and the demonstration's simulated
    nights, else what the channels' labels name (a sleep lab's ``Leg L``: the shin)."""
    from pathlib import PurePath

    from ..demo import DEMO_SOURCE
    from ..io.channels import muscle_site

    own = PurePath(night.source).suffix.lower() == ".kemg" or night.source.startswith(DEMO_SOURCE)
    return muscle_site(tuple(night.labels), own=own)


@dataclass
class DoctorInput:
    """Everything the doctor's summary shows.

    Attributes
    ----------
    profile : dict
        ``Profile.as_dict()``.
    days : list of dict
        Diary entries (``DiaryDay.as_dict()``) of the period, oldest first.
    trend : list of dict
        :meth:`kneeemg.store.Store.trend` rows, oldest first.
    trend_words : str
        The trend's direction in a sentence.
    guidance : dict or None
        :func:`kneeemg.guidance.guidance_for_report` output.
    today : datetime.date
        The day the summary is written (for "how long it has been going on").
    min_usable_hours : float
        The guidance's ``min_usable_hours`` the trend was made with: a night with less
        usable time gives no rate.
    sites : tuple
        The muscles of the nights shown (:func:`night_site`), each once, in the order thigh,
        shin, not known: ``("thigh",)`` when every night is from kneeemg's sensor.
    """

    profile: dict[str, Any]
    days: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    trend_words: str = ""
    guidance: dict[str, Any] | None = None
    today: date = field(default_factory=date.today)
    min_usable_hours: float = 1.0
    sites: tuple[str | None, ...] = ("thigh",)


def guidance_dict(store: Any, until: str | None = None, config: TriageConfig | None = None,
                  own: int | None = None) -> dict[str, Any]:
    """Triage the store's case (profile, diary, recent nights) for a report.

    With ``until`` (the date of the night a report is about) only the nights and diary days
    up to that date count, and the triage is made as on that day. ``config`` is the
    guidance's :class:`~kneeemg.guidance.TriageConfig` (its defaults when None). ``own``: the
    night a report is about, which counts for its recording (:meth:`~kneeemg.store.Store.trend`).
    """
    from ..guidance import guidance_for_report, triage

    case = store.case_for_triage(until=until, own=own, config=config)
    today = date.fromisoformat(until) if until else None
    return guidance_for_report(triage(case["profile"], case["diary"], case["nights"], config=config, today=today,
                                      symptoms_until=today or date.today()))


def report_input(store: Any, night: int | str | None = None, recording: Any = None,
                 config: TriageConfig | None = None) -> ReportInput:
    """Gather one night's report from the history (the latest night when ``night`` is None).

    Everything is as of that night: the trend, its direction and the guidance use only that
    night and the nights (and diary days) before it, never later ones, and that night's own
    numbers, also when another import of its recording counts elsewhere (other channels). The latest night's
    guidance is as of today: diary days noted after it count (a symptom noted this morning
    is in the report of last night).

    Parameters
    ----------
    store : kneeemg.store.Store
    night : int or str, optional
        Night id or date.
    recording : kneeemg.io.base.Recording, optional
        The night's recording, when it is not (or no longer) a file on disk; else the file
        the night was imported from is read for the EMG traces.
    config : kneeemg.guidance.TriageConfig, optional
        The guidance's thresholds (the defaults when omitted).
    """
    from ..guidance import TriageConfig

    n = store.night(night)
    events = store.events(n.id)
    epochs = store.epochs(n.id)
    trend = store.trend(TREND_NIGHTS, until=n.date, own=n.id, config=config)
    day = store.day(n.date) if n.date else None
    snippets, note = night_snippets(n, events, recording)
    return ReportInput(
        date=n.date, recording_s=n.recording_s, usable_s=n.usable_s, lost_s=n.lost_s, labels=tuple(n.labels),
        metrics=n.metrics, events=events, excluded=store.excluded(n.id),
        epoch_s=epochs[0] if epochs else None, epoch_flags=epochs[1] if epochs else None,
        floor_uv=epochs[2] if epochs else None, diary=day.as_dict() if day is not None else None,
        guidance=guidance_dict(store, until=None if n.id == store.night().id else n.date, config=config, own=n.id),
        trend=trend, trend_words=store_direction(store, n.date, n.id, config),
        snippets=snippets, snippets_note=note, min_usable_hours=(config or TriageConfig()).min_usable_hours,
        site=night_site(n))


def doctor_input(store: Any, today: date | None = None, config: TriageConfig | None = None) -> DoctorInput:
    """Gather the doctor's summary: the profile and the last :data:`DOCTOR_DAYS` days
    (``config``: the guidance's :class:`~kneeemg.guidance.TriageConfig`, its defaults when None)."""
    from ..guidance import TriageConfig

    if not (store.days() or store.profile().as_dict()):
        store.night()  # a clear error when nothing is recorded yet (a diary alone gives a summary: its symptoms)
    today = today or date.today()
    trend = store.trend(DOCTOR_DAYS, config=config)
    # the diary of the last DOCTOR_DAYS days, and from the first night shown on
    since = (today - timedelta(days=DOCTOR_DAYS - 1)).isoformat()
    days = [d.as_dict() for d in store.days(since=min(trend[0]["date"], since) if trend else since)]
    shown = {i for row in trend for i in row.get("night_ids") or (row["night_id"],)}
    found = {night_site(n) for n in store.nights() if n.id in shown}
    sites = tuple(site for site in ("thigh", "shin", None) if site in found) or ("thigh",)
    return DoctorInput(profile=store.profile().as_dict(), days=days, trend=trend, trend_words=store_direction(store, config=config),
                       guidance=guidance_dict(store, config=config), today=today,
                       min_usable_hours=(config or TriageConfig()).min_usable_hours, sites=sites)
