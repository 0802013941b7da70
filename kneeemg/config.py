"""Detector settings.

All tunable numbers of the signal path live in :class:`DetectorConfig`, with units in
their names. The defaults are documented, with their reasons, in ``docs/detector.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, get_type_hints

from .errors import ConfigError

MIN_FS_HZ = 500.0
MAX_FS_HZ = 4000.0
#: The longest recording asked for with a duration (``kneeemg record --duration``), s: two nights.
MAX_RECORD_S = 48 * 3600.0
#: The longest trend window (``kneeemg trends --days``), days.
MAX_TREND_DAYS = 3660
MAX_CHANNELS = 64
#: Shortest artefact epoch, s: several mains cycles, and longer than the 20 ms DC-jump window.
MIN_EPOCH_S = 0.1
#: A recording that holds nothing above this (Hz), such as a sleep lab's leg channel low-passed
#: at 100 Hz or resampled from 256 Hz, has a background narrow enough for its 10 ms envelope to
#: cross the default onset level now and then; it is detected with ``narrow_onset_ratio``
#: (docs/detector.md, "Known limits").
NARROW_CONTENT_HZ = 200.0
#: Settings of earlier versions that nights saved then may still carry (no longer used).
RETIRED_SETTINGS = frozenset({"long_burst_s", "long_gap_s"})


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the filter, noise floor, burst detector and artefact rules.

    Parameters
    ----------
    band_low_hz, band_high_hz : float
        Band-pass corners in Hz. The upper corner is capped at 0.45 * fs_hz.
    filter_order : int
        Butterworth order of each side of the band-pass (the cascade has this many
        second-order sections).
    mains_hz : float or None or "auto"
        Mains frequency to notch (50 or 60), ``None`` for no notch, or ``"auto"`` to find it
        (and its harmonics) in the spectrum of the first ``warmup_s`` seconds.
    notch_q : float
        Quality factor of each notch.
    envelope_window_s : float
        Length of the moving-RMS window of the detection envelope, in s. It keeps a burst
        open (offset and sustain levels) and places its offset.
    onset_window_s : float
        Length of a second moving-RMS window, in s, that may also start a burst (onset
        level); at most ``envelope_window_s``, and off when equal to it (the default). A
        shorter one (7 ms) finds more brief potentials, which fill it where the longer
        window dilutes them with noise, and also more small potentials of the background
        (docs/benchmarks.md).
    potential_ratio : float
        A brief potential below the onset level still starts a burst when its shape
        matches one of the potential templates (biphasic and triphasic, 5-20 ms; see
        ``docs/detector.md``): when the template's output reaches this many times the RMS
        that output has over the quiet background. 0 turns the test off.
    spike_share : float
        A burst briefer than ``twitch_max_s`` is an electrical spike, not an event, when the
        filters' response to one single-sample spike explains at least this share of its
        energy; its epochs are excluded as ``"spike"``. Real potentials of 5 ms or more stay
        below it (docs/detector.md). Applies at 1000 Hz and above; 0 turns the test off.
    step_share : float
        The same for one step of the raw signal's offset (the electrode's contact changing,
        too small to be a ``dc_jump`` or ``movement``); its epochs are excluded as ``"step"``.
        At every rate; 0 turns the test off.
    onset_search_s : float
        How far back, in s, a burst's onset is searched for (a change point) before the
        first sample that reached the onset level.
    onset_cusum_ratio : float
        Reference level of that change point, times the floor: the running sum of
        ``y**2 - (onset_cusum_ratio * floor)**2`` falls over noise and rises over activity
        stronger than this level. 1.36 is the reference of a likelihood-ratio CUSUM
        between noise at the floor and activity at the offset level, the weakest that
        keeps a burst open (``sqrt(4 ln 4 / 3)`` for an offset ratio of 2), so a burst
        that starts weakly or builds up slowly is dated from its start.
    floor_block_s : float
        Length of the blocks whose RMS feeds the noise floor, in s.
    floor_window_s : float
        How far back the noise floor looks, in s (quiet blocks only).
    floor_quantile : float
        Quantile of the quiet blocks' RMS taken as the floor (0.5 = median).
    floor_min_uv : float
        Lowest floor used for thresholds, in µV (guards against a zero floor).
    floor_admit_ratio : float
        A block teaches the floor only when its RMS is below this multiple of the current
        floor, so bursts (and the tails of bursts) never raise it. The RMS of a 0.25 s
        block of real quiet background stays within 0.8-1.3 x its median, so 1.5 leaves
        noise room, while weak sustained activity (1.5-2 x floor), if admitted, would lift
        the floor and with it the level that admits the next blocks (docs/detector.md).
    floor_stale_s : float
        When hardly any block has been admitted for about this long (the share of admitted
        blocks, a moving average, falls below 5 %: the noise itself rose), every block is
        admitted whatever its level until admitted blocks are common again, so the floor
        cannot get stuck.
    onset_ratio, offset_ratio : float
        Hysteresis thresholds as multiples of the floor: a burst starts when the envelope
        rises above ``onset_ratio * floor`` and ends when it stays below
        ``offset_ratio * floor`` for ``min_gap_s``.
    narrow_onset_ratio : float
        The onset ratio for a recording that holds nothing above ``NARROW_CONTENT_HZ``
        (200 Hz: an EDF channel low-passed by its recorder, a recording resampled from
        400 Hz or less, or one whose spectrum shows it, see
        :func:`kneeemg.playback.band_limit`; :meth:`for_content`), when it is higher than
        ``onset_ratio``. Quiet
        noise of so narrow a band swings more within 10 ms and crosses 3 x floor now and
        then; at 3.5 it does not. 0 turns this off.
    min_gap_s : float
        Bursts closer than this are one burst, in s.
    min_duration_s : float
        Bursts shorter than this are dropped, in s.
    sustain_ratio, sustain_rel : float
        A burst also stays open while the envelope is at least ``sustain_ratio * floor``
        and at least ``sustain_rel`` times the burst's RMS so far. A weak sustained
        contraction, whose envelope keeps dipping below the offset level, then stays one
        burst; the rest between two strong contractions, far below their own level, still
        ends the first. ``sustain_ratio`` equal to ``offset_ratio`` turns this off.
    bridge_ratio, bridge_max_s : float
        When the activity comes back within ``bridge_max_s`` after a dip that lasted
        ``min_gap_s`` (the envelope below the offset and sustain levels), the burst goes on
        if the gap since it last stood above its onset level (the dip and the weaker
        activity around it) has an RMS of at least ``bridge_ratio * floor`` and at least
        ``sustain_rel`` times the burst's RMS; otherwise it ended before the dip. The RMS of
        that gap is far steadier than the 10 ms envelope: a weak contraction, near the
        noise's own level, whose envelope sinks into the noise for a few hundred ms stays one
        burst, while a silent pause, or the rest between strong contractions, still ends it.
        ``bridge_max_s`` at most ``min_gap_s`` turns this off. A burst's end is known up to
        ``bridge_max_s`` after its last activity.
    twitch_max_s, spasm_max_s : float
        Kind boundaries: twitch < twitch_max_s <= spasm <= spasm_max_s < cramp.
    epoch_s : float
        Length of the epochs that artefact rules mark as excluded, in s (0.1 to 30).
    warmup_s : float
        Seconds buffered at the start to learn the first floor (and mains, when "auto").
    settle_s : float
        Seconds at the start in which the filters settle (a notch rings for about a second
        on hum that was there before the first sample): no detection, counted as excluded.
    flat_rms_uv : float
        An epoch whose filtered RMS is below this is flat (electrode off, lost data). So is
        one whose raw value is held (``saturation_run_s`` or longer) up to its end, at a
        value other than its highest or lowest.
    saturation_fraction : float
        An epoch with more than this fraction of samples stuck at its extreme raw value is
        saturated.
    saturation_run_s : float
        Samples are stuck when the raw value stays the same for at least this long (and at
        least 5 samples): at a rail (saturation) or, up to an epoch's end, anywhere else
        (flat). Strong activity
        clipped by the recorder's range touches the rails in shorter runs, one per swing,
        and is still measured.
    dc_jump_uv : float
        A step of the raw baseline larger than this within 20 ms marks a DC jump.
    movement_ratio : float
        An epoch whose 1-20 Hz RMS exceeds ``movement_ratio`` times its 20-450 Hz RMS (and
        ``movement_min_uv``) holds movement artefact.
    movement_min_uv : float
        Smallest 1-20 Hz RMS counted as movement, in µV.
    mains_ratio : float
        An epoch whose residual mains amplitude after the notch exceeds ``mains_ratio``
        times the floor is excluded.
    max_excluded_fraction : float
        An event is dropped when more than this fraction of it lies in excluded time.
    wasm_onset_uv, wasm_offset_uv : float
        WASM 2016 leg-movement thresholds above resting EMG, in µV.
    wasm_offset_hold_s : float
        A leg movement ends at the start of a period this long below the offset level.
    wasm_window_s : float
        Moving-RMS window of the WASM envelope, in s.
    lm_min_s, lm_max_s : float
        Allowed leg-movement durations, in s (``lm_min_s`` at most ``lm_max_s``).
    plm_min_count : int
        Fewest leg movements in a periodic series (a whole number, at least 2).
    plm_min_interval_s, plm_max_interval_s : float
        Onset-to-onset intervals allowed inside a periodic series, in s.
    """

    band_low_hz: float = 20.0
    band_high_hz: float = 450.0
    filter_order: int = 4
    mains_hz: float | str | None = "auto"
    notch_q: float = 30.0
    envelope_window_s: float = 0.010
    onset_window_s: float = 0.010
    onset_search_s: float = 0.5
    potential_ratio: float = 8.0
    spike_share: float = 0.9
    step_share: float = 0.85
    onset_cusum_ratio: float = 1.36
    floor_block_s: float = 0.25
    floor_window_s: float = 60.0
    floor_quantile: float = 0.5
    floor_min_uv: float = 0.5
    floor_admit_ratio: float = 1.5
    floor_stale_s: float = 300.0
    onset_ratio: float = 3.0
    offset_ratio: float = 2.0
    narrow_onset_ratio: float = 3.5
    min_gap_s: float = 0.1
    min_duration_s: float = 0.003
    sustain_ratio: float = 1.3
    sustain_rel: float = 0.4
    bridge_ratio: float = 1.2
    bridge_max_s: float = 1.0
    twitch_max_s: float = 0.5
    spasm_max_s: float = 10.0
    epoch_s: float = 1.0
    warmup_s: float = 2.0
    settle_s: float = 1.0
    flat_rms_uv: float = 0.2
    saturation_fraction: float = 0.05
    saturation_run_s: float = 0.05
    dc_jump_uv: float = 3000.0
    movement_ratio: float = 3.0
    movement_min_uv: float = 30.0
    mains_ratio: float = 3.0
    max_excluded_fraction: float = 0.5
    wasm_onset_uv: float = 8.0
    wasm_offset_uv: float = 2.0
    wasm_offset_hold_s: float = 0.5
    wasm_window_s: float = 0.1
    lm_min_s: float = 0.5
    lm_max_s: float = 10.0
    plm_min_count: int = 4
    plm_min_interval_s: float = 10.0
    plm_max_interval_s: float = 90.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first setting that is out of range."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "mains_hz":
                if value not in (None, "auto") and not (
                    isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) in (50.0, 60.0)
                ):
                    raise ConfigError(f"mains_hz={value!r} is not allowed; use 50, 60, 'auto' or None")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{f.name}={value!r} must be a finite number")
            if value < 0:
                raise ConfigError(f"{f.name}={value!r} must not be negative")
            if f.name in _WHOLE and value != int(value):
                raise ConfigError(f"{f.name}={value!r} must be a whole number; e.g. {f.default:g}")
            if f.name in _POSITIVE and value == 0:
                raise ConfigError(f"{f.name}={value!r} must be above 0; e.g. {f.default:g}")
            low, high = _RANGES.get(f.name, (0.0, math.inf))
            if not low <= value <= high:
                raise ConfigError(f"{f.name}={value!r} is out of range; give {low:g} to {high:g}; e.g. {f.default:g}")
        if not self.band_low_hz < self.band_high_hz:
            raise ConfigError("band_low_hz must be below band_high_hz; e.g. 20 and 450")
        if not 1 <= self.filter_order <= 8:
            raise ConfigError(f"filter_order={self.filter_order} must be 1 to 8")
        if not self.plm_min_count >= 2:
            raise ConfigError(f"plm_min_count={self.plm_min_count} must be at least 2 (leg movements in a series); e.g. 4")
        if not self.lm_min_s <= self.lm_max_s:
            raise ConfigError(f"lm_min_s={self.lm_min_s:g} must not exceed lm_max_s={self.lm_max_s:g}; e.g. 0.5 and 10")
        if not self.wasm_offset_uv <= self.wasm_onset_uv:
            raise ConfigError("wasm_offset_uv must not exceed wasm_onset_uv (hysteresis); e.g. 2 and 8")
        if not self.offset_ratio <= self.onset_ratio:
            raise ConfigError("offset_ratio must not exceed onset_ratio (hysteresis)")
        if not 0 < self.sustain_ratio <= self.offset_ratio:
            raise ConfigError("sustain_ratio must be above 0 and not above offset_ratio; e.g. 1.3 with offset_ratio 2")
        for name in ("spike_share", "step_share"):
            if not getattr(self, name) <= 1.0:
                example = getattr(DetectorConfig, name)  # the default
                raise ConfigError(f"{name} must be 0 to 1 (a share of a burst's energy); e.g. {example}")
        if not self.sustain_rel <= 1.0:
            raise ConfigError("sustain_rel must be 0 to 1 (a fraction of the burst's RMS)")
        if not self.bridge_ratio >= 1.0:
            raise ConfigError("bridge_ratio must be at least 1 (a multiple of the noise floor); e.g. 1.2")
        if not 0.0 < self.floor_quantile < 1.0:
            raise ConfigError("floor_quantile must lie strictly between 0 and 1")
        if not self.twitch_max_s < self.spasm_max_s:
            raise ConfigError("twitch_max_s must be below spasm_max_s")
        if not MIN_EPOCH_S <= self.epoch_s <= 30:
            raise ConfigError(f"epoch_s={self.epoch_s:g} must be {MIN_EPOCH_S:g} to 30 s; e.g. 1")
        if not 0 < self.saturation_run_s <= self.epoch_s:
            raise ConfigError(f"saturation_run_s={self.saturation_run_s:g} must be above 0 and at most epoch_s; e.g. 0.05")
        if self.envelope_window_s <= 0 or self.wasm_window_s <= 0 or self.floor_block_s <= 0:
            raise ConfigError("window lengths must be positive")
        if not 0 < self.onset_window_s <= self.envelope_window_s:
            raise ConfigError("onset_window_s must be positive and at most envelope_window_s")
        if not 0 <= self.onset_search_s <= 5:
            raise ConfigError("onset_search_s must be between 0 and 5 s")
        if not 1.0 < self.onset_cusum_ratio <= self.onset_ratio:
            raise ConfigError("onset_cusum_ratio must be above 1 and at most onset_ratio")
        if not self.plm_min_interval_s < self.plm_max_interval_s:
            raise ConfigError("plm_min_interval_s must be below plm_max_interval_s")

    @classmethod
    def with_settings(cls, settings: Iterable[str] = ()) -> "DetectorConfig":
        """The default settings with some changed, each given as text ``NAME=VALUE``
        (``onset_ratio=4``; a name given twice takes its last value). ``mains_hz`` has its
        own option (``--mains``) and is not set this way.

        Raises
        ------
        ConfigError
            In one line: an unknown name (with the closest one), a setting without ``=``, a
            value that is not a number of the field's kind, or values out of range.
        """
        changes = settings_from_text(cls, settings, "detector setting", "onset_ratio=4",
                                     own_options={"mains_hz": "--mains 50, --mains 60, --mains auto or --mains off"})
        try:
            return cls(**changes)
        except ConfigError as exc:
            given = ", ".join(f"{k}={v:g}" for k, v in changes.items())
            raise ConfigError(f"the detector settings given ({given}) are refused: {exc}") from None

    def for_content(self, content_hz: float | None) -> "DetectorConfig":
        """The settings to detect a recording that holds nothing above ``content_hz`` (Hz;
        None: its whole band) with: the same, with ``onset_ratio`` raised to
        ``narrow_onset_ratio`` when ``content_hz`` is at most :data:`NARROW_CONTENT_HZ`."""
        if content_hz is None or content_hz > NARROW_CONTENT_HZ or self.narrow_onset_ratio <= self.onset_ratio:
            return self
        return self.replace(onset_ratio=self.narrow_onset_ratio)

    def replace(self, **changes: Any) -> "DetectorConfig":
        """A copy with some settings changed (validated)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown detector setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "DetectorConfig":
        """Settings as saved with a night (``as_dict``); names of retired settings are skipped."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"detector settings must be a dict of setting names and values, not {type(values).__name__}")
        if not all(isinstance(k, str) for k in values):
            raise ConfigError("detector settings must be a dict with setting names (str) as keys")
        return cls().replace(**{k: v for k, v in values.items() if k not in RETIRED_SETTINGS})


def settings_from_text(cls: type, settings: Iterable[str], what: str, example: str,
                       own_options: Mapping[str, str] | None = None) -> dict[str, int | float]:
    """``NAME=VALUE`` texts as changes to the number fields of the dataclass ``cls``.

    Parameters
    ----------
    cls : dataclass type
        Its int fields take whole numbers, the others numbers.
    own_options : mapping, optional
        Fields set another way, refused with that way (``{"mains_hz": "--mains 50 ..."}``).
    settings : iterable of str
        E.g. ``["onset_ratio=4"]``; names are read case-insensitively, and a name given
        twice takes its last value.
    what, example : str
        How the messages name a setting ("threshold") and an example of one.

    Raises
    ------
    ConfigError
        In one line: a text without ``=``, an unknown name (with the closest one, or the
        list of names), or a value that is not a number of the field's kind.
    """
    if isinstance(settings, str):
        settings = [settings]
    hints = get_type_hints(cls)
    defaults = cls()
    own_options = own_options or {}
    kinds = {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in own_options}
    changes: dict[str, int | float] = {}
    for setting in settings:
        name, sep, text = str(setting).partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise ConfigError(f"{setting!r} is not NAME=VALUE; give a {what}'s name and its value, e.g. {example}")
        if name not in kinds:
            close = difflib.get_close_matches(name, kinds, n=1)
            hint = (f"it has its own option: {own_options[name]}" if name in own_options
                    else f"did you mean {close[0]}?" if close else f"the {what}s are {', '.join(kinds)}")
            raise ConfigError(f"unknown {what} {name!r} in {setting!r}; {hint}")
        kind = kinds[name]
        try:  # ("1_4" is a typo as often as 14)
            value: int | float | None = None if "_" in text else int(text) if kind is int else float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            default = getattr(defaults, name)
            raise ConfigError(f"{what} {name} must be {'a whole number' if kind is int else 'a number'} "
                              f"(got {text.strip()!r}), e.g. {name}={default:g}")
        changes[name] = value
    return changes


#: Settings that must be whole numbers, and settings that must be above 0 (the others may be 0).
_WHOLE = frozenset({"filter_order", "plm_min_count"})
_POSITIVE = frozenset({"band_low_hz", "notch_q", "floor_window_s", "floor_min_uv", "twitch_max_s"})
#: Settings with a range of their own (from, to, both allowed), beyond which the detector's
#: memory would outgrow any computer (a floor ring of 0.25 s blocks over 10^9 s, a window of
#: 10^9 s) or its filter could not be made; far wider than any use.
_RANGES = {"band_low_hz": (0.1, 1000.0), "envelope_window_s": (0.0, 1.0), "wasm_window_s": (0.0, 2.0),
           "floor_block_s": (0.05, 10.0), "floor_window_s": (1.0, 3600.0), "floor_stale_s": (0.0, 86400.0),
           "min_gap_s": (0.0, 60.0), "bridge_max_s": (0.0, 60.0), "warmup_s": (0.0, 3600.0), "settle_s": (0.0, 3600.0),
           "wasm_offset_hold_s": (0.0, 60.0), "min_duration_s": (0.0, 60.0), "twitch_max_s": (0.0, 3600.0),
           "spasm_max_s": (0.0, 86400.0), "lm_min_s": (0.0, 3600.0), "lm_max_s": (0.0, 3600.0),
           "plm_min_interval_s": (0.0, 86400.0), "plm_max_interval_s": (0.0, 86400.0)}


def as_config(value: Any, what: str = "config") -> DetectorConfig:
    """``value`` checked to be a :class:`DetectorConfig` (None gives the defaults).

    Parameters
    ----------
    value : DetectorConfig or None
    what : str
        The name of the argument, for the message.

    Raises
    ------
    ConfigError
        When ``value`` is anything else, a dict of settings included (make one with
        :meth:`DetectorConfig.from_dict`).
    """
    if value is None:
        return DetectorConfig()
    if not isinstance(value, DetectorConfig):
        raise ConfigError(f"{what} must be a DetectorConfig (make one from a dict with DetectorConfig.from_dict), "
                          f"not {type(value).__name__}")
    return value


def check_rate(fs_hz: float) -> float:
    """Return ``fs_hz`` as float, or raise if outside the supported 500-4000 Hz."""
    try:
        rate = float(fs_hz)
    except (TypeError, ValueError):
        raise ConfigError(f"sampling rate {fs_hz!r} is not a number") from None
    if not (MIN_FS_HZ <= rate <= MAX_FS_HZ):
        raise ConfigError(
            f"sampling rate {rate:g} Hz is outside the supported {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz; "
            f"resample the recording (e.g. with scipy.signal.resample_poly) first"
        )
    return rate


#: Shortest recording accepted, s: one noise-floor block of the detector. A recording shorter
#: than its warm-up (2 s) is still detected, with the floor learned from what there is, but one
#: without a whole block gives it no floor at all (and lies inside the 1 s settling time, of which
#: nothing is used). Not the warm-up: a recording stopped after half a second must stay readable.
MIN_RECORDING_S = DetectorConfig.floor_block_s


def settings_hash(settings: dict[str, Any]) -> str:
    """A short hash of detector settings (``DetectorConfig.as_dict()``, or what a night was
    found with): ``kneeemg import`` and ``kneeemg batch`` store a night once per hash."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
