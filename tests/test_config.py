"""Detector settings: values that would crash or silently mislead later are refused at once."""

from __future__ import annotations

import pytest

from kneeemg.config import DetectorConfig, as_config
from kneeemg.errors import ConfigError


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"band_low_hz": 0}, "band_low_hz=0 must be above 0"),
        ({"notch_q": 0}, "notch_q=0 must be above 0"),
        ({"floor_min_uv": 0}, "floor_min_uv=0 must be above 0"),
        ({"floor_window_s": 0}, "floor_window_s=0 must be above 0"),
        ({"twitch_max_s": 0}, "twitch_max_s=0 must be above 0"),
        ({"filter_order": 2.5}, "filter_order=2.5 must be a whole number"),
        ({"plm_min_count": 2.5}, "plm_min_count=2.5 must be a whole number"),
        ({"plm_min_count": 1}, "plm_min_count=1 must be at least 2"),
        ({"lm_min_s": 20.0, "lm_max_s": 10.0}, "lm_min_s=20 must not exceed lm_max_s=10"),
        ({"wasm_onset_uv": 1.0}, "wasm_offset_uv must not exceed wasm_onset_uv"),
        ({"mains_hz": 55}, "mains_hz=55 is not allowed; use 50, 60"),
        ({"mains_hz": True}, "mains_hz=True is not allowed"),
        ({"epoch_s": 1e-5}, "epoch_s=1e-05 must be 0.1 to 30 s"),
        ({"epoch_s": 31}, "epoch_s=31 must be 0.1 to 30 s"),
        ({"saturation_run_s": 0}, "saturation_run_s=0 must be above 0 and at most epoch_s"),
        ({"saturation_run_s": 2.0}, "saturation_run_s=2 must be above 0 and at most epoch_s"),
    ],
)
def test_out_of_range_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError, match=message) as info:
        DetectorConfig(**changes)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["band_low_hz", "envelope_window_s", "wasm_window_s", "floor_block_s", "floor_window_s",
                                  "floor_stale_s", "min_gap_s", "bridge_max_s", "warmup_s", "settle_s", "wasm_offset_hold_s"])
def test_a_time_or_rate_so_large_or_small_that_the_detector_cannot_run_is_refused(name, tmp_path, capsys):
    # each crashed the replay (a window or floor ring of terabytes, an infinity made an integer, a singular filter)
    from kneeemg.cli import main
    from kneeemg.simulate import simulate_night, write_simulated

    low = {"band_low_hz": 1e-9, "floor_block_s": 1e-9}.get(name)
    for value in ([low] if low else []) + [1e9, 1e308]:
        with pytest.raises(ConfigError, match=rf"^{name}=.* is out of range; give .* to .*; e\.g\. ") as info:
            DetectorConfig(**{name: value})
        assert "\n" not in str(info.value)
    path = write_simulated(simulate_night(hours=0.01, seed=1), tmp_path / "n.kemg")["recording"]
    assert main(["replay", str(path), "--set", f"{name}=1e308"]) == 2
    assert capsys.readouterr().err.startswith(f"kneeemg: error: the detector settings given ({name}=1e+308) are refused")


def test_valid_settings_still_pass():
    for changes in ({"mains_hz": 50}, {"mains_hz": 60.0}, {"mains_hz": None}, {"filter_order": 4.0},
                    {"epoch_s": 0.1}, {"saturation_run_s": 1.0}, {"lm_min_s": 2.0, "lm_max_s": 2.0}, {"plm_min_count": 2},
                    {"potential_ratio": 0, "bridge_max_s": 0, "onset_search_s": 0}):
        DetectorConfig(**changes)


@pytest.mark.parametrize("values", [None, [("onset_ratio", 4.0)], "onset_ratio=4", {1: 2}])
def test_from_dict_refuses_what_is_not_a_dict_of_settings(values):
    with pytest.raises(ConfigError, match="detector settings must be a dict"):
        DetectorConfig.from_dict(values)


def test_as_config_checks_the_type():
    cfg = DetectorConfig(onset_ratio=4.0)
    assert as_config(cfg) is cfg
    assert as_config(None) == DetectorConfig()
    with pytest.raises(ConfigError, match=r"^config must be a DetectorConfig \(make one from a dict with "
                                          r"DetectorConfig.from_dict\), not dict$"):
        as_config({"onset_ratio": 4.0})
    with pytest.raises(ConfigError, match="settings must be a DetectorConfig"):
        as_config("default", "settings")


def test_detector_settings_from_text():
    cfg = DetectorConfig.with_settings(["onset_ratio=4", "ENVELOPE_WINDOW_S=0.02", "onset_ratio=3.5"])
    assert cfg.onset_ratio == 3.5 and cfg.envelope_window_s == 0.02 and cfg.filter_order == 4
    assert DetectorConfig.with_settings(["filter_order=6"]).filter_order == 6


@pytest.mark.parametrize("settings, message", [
    (["onset_raito=4"], "unknown detector setting 'onset_raito' in 'onset_raito=4'; did you mean onset_ratio?"),
    (["mains_hz=50"], "unknown detector setting 'mains_hz' in 'mains_hz=50'; it has its own option: --mains 50, --mains 60"),
    (["onset_ratio"], "'onset_ratio' is not NAME=VALUE; give a detector setting's name"),
    (["filter_order=2.5"], "detector setting filter_order must be a whole number (got '2.5'), e.g. filter_order=4"),
    (["onset_ratio=high"], "detector setting onset_ratio must be a number (got 'high'), e.g. onset_ratio=3"),
    (["offset_ratio=5"], "the detector settings given (offset_ratio=5) are refused: offset_ratio must not exceed onset_ratio"),
])
def test_bad_detector_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ConfigError) as info:
        DetectorConfig.with_settings(settings)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content_hz, onset, narrow, used", [
    (None, 3.0, 3.5, 3.0),      # the whole band
    (250.0, 3.0, 3.5, 3.0),     # wider than a sleep lab's channel
    (200.0, 3.0, 3.5, 3.5),     # resampled from 400 Hz
    (100.0, 3.0, 3.5, 3.5),     # low-passed at 100 Hz
    (100.0, 4.0, 3.5, 4.0),     # a higher onset ratio asked for stays
    (100.0, 3.0, 0.0, 3.0),     # turned off
])
def test_a_narrow_recording_raises_the_onset_ratio_and_never_lowers_it(content_hz, onset, narrow, used):
    cfg = DetectorConfig(onset_ratio=onset, narrow_onset_ratio=narrow)
    got = cfg.for_content(content_hz)
    assert got.onset_ratio == used and got.replace(onset_ratio=onset) == cfg
