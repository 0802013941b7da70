"""The simulator: determinism, truth, statistics; and the detector's accuracy on it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from kneeemg.dsp import detect
from kneeemg.errors import ConfigError, InputError
from kneeemg import replay
from kneeemg.scoring import score_events
from kneeemg.simulate import SimConfig, _motor_units, simulate_night


@pytest.fixture(scope="module")
def night():
    return simulate_night(hours=0.5, n_channels=2, seed=11)


def test_same_seed_same_samples_whatever_the_split(night):
    again = simulate_night(hours=0.5, n_channels=2, seed=11)
    a = night.read(123_456, 456_789)
    b = np.vstack([again.read(123_456, 200_001), again.read(200_001, 456_789)])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, simulate_night(hours=0.5, n_channels=2, seed=12).read(123_456, 456_789))


def test_truth_is_consistent(night):
    truth = night.info.annotations
    assert truth == sorted(truth, key=lambda e: (e.onset_sample, e.channel))
    for e in truth:
        assert e.kind == ("twitch" if e.duration_s < 0.5 else "spasm" if e.duration_s <= 10 else "cramp")
        assert e.onset_s >= 3.0
        for a in night.info.annotated_artefacts:
            if a.channel == e.channel:
                assert e.offset_s <= a.start_s or e.onset_s >= a.stop_s
    assert {e.kind for e in truth} >= {"twitch", "spasm"}
    assert all(lm.kind == "lm" and 0.5 <= lm.duration_s <= 10 for lm in night.truth_leg_movements)


def test_background_level_and_hum(night):
    fs = night.info.fs_hz
    x = night.read(0, int(600 * fs))
    busy = np.zeros(len(x), bool)
    for e in night.info.annotations + []:
        if e.onset_sample < len(x):
            busy[max(0, e.onset_sample - 500) : e.offset_sample + 500] = True
    for a in night.info.annotated_artefacts:
        busy[int(a.start_s * fs) : int(a.stop_s * fs) + 500] = True
    sos = sps.butter(4, [20, 450], "bandpass", fs=fs, output="sos")
    y = sps.sosfiltfilt(sos, x, axis=0)
    for ch in range(2):
        y_ch = y[~busy, ch]
        f, p = sps.welch(y_ch, fs=fs, nperseg=2000)
        k = np.argmin(np.abs(f - night.mains_hz))
        assert p[k] > 20 * np.median(p[(f > 100) & (f < 400)])  # hum stands out
        clean = y_ch
        for k in (1, 2, 3):  # the fundamental and the two harmonics the simulator adds
            clean = sps.filtfilt(*sps.iirnotch(k * night.mains_hz, 30, fs=fs), clean)
        assert 2.0 * 0.8 < np.sqrt(np.mean(clean**2)) < 5.0 * 1.1


def test_spasms_are_motor_unit_bursts_of_the_documented_strength(night):
    c = SimConfig()
    fs = night.info.fs_hz
    spasms = [e for e in night.info.annotations if e.kind == "spasm"]
    assert spasms
    for e in spasms:
        assert c.spasm_rms_uv[0] * 0.5 < e.rms_uv < c.spasm_rms_uv[1] * 1.2
    # built from motor-unit action potentials (3-8 ms wide), not white noise: the power sits
    # below a few hundred Hz, where white noise would spread it evenly up to fs/2
    rng = np.random.default_rng(0)
    burst = _motor_units(int(2 * fs), fs, 100.0, rng, brief=False)
    f, p = sps.welch(burst, fs=fs, nperseg=1000)
    assert p[f > 400].sum() / p.sum() < 0.05
    assert np.sqrt(np.mean(burst[300:-300] ** 2)) == pytest.approx(100.0, rel=0.1)


def test_bad_arguments():
    with pytest.raises(InputError, match="hours"):
        simulate_night(hours=0)
    with pytest.raises(Exception, match="500-4000"):
        simulate_night(hours=0.1, fs_hz=100)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_detector_meets_its_targets_on_simulated_nights(seed):
    """The spine's target: >= 95 % of spasms and cramps, >= 90 % of twitches, >= 90 % precision."""
    night = simulate_night(hours=1.0, n_channels=2, seed=seed)
    res = replay(night, chunk_s=7.3)
    score = score_events(res.events, night.info.annotations)
    tw, sp = score.per_kind["twitch"], score.per_kind["spasm"]
    assert tw.tp + tw.fn > 30 and sp.tp + sp.fn > 5
    assert tw.sensitivity >= 0.90 and tw.precision >= 0.90
    assert sp.sensitivity >= 0.95 and sp.precision >= 0.90
    cr = score.per_kind["cramp"]
    if cr.tp + cr.fn:
        assert cr.sensitivity >= 0.95
    assert score.onset_error_ms < 30


def test_electrode_pops_are_planned_apart_and_leave_the_rest_of_the_night_as_it_was():
    busy = SimConfig(spike_rate_per_h=20.0, step_rate_per_h=20.0)
    with_pops = simulate_night(hours=0.5, n_channels=1, seed=4, config=busy)
    without = simulate_night(hours=0.5, n_channels=1, seed=4, config=SimConfig(spike_rate_per_h=0.0, step_rate_per_h=0.0))
    assert with_pops.info.annotations == without.info.annotations  # the same events
    pops = [a for a in with_pops.info.annotated_artefacts if a.reason in ("spike", "step")]
    assert {a.reason for a in pops} == {"spike", "step"} and len(pops) >= 10
    x, y = with_pops.read(), without.read()
    differs = np.flatnonzero(x[:, 0] != y[:, 0])
    fs = with_pops.info.fs_hz
    inside = np.zeros(len(x), bool)
    for a in pops:
        inside[round(a.start_s * fs) : round(a.stop_s * fs)] = True
        i = round(a.start_s * fs)
        if a.reason == "spike":  # one sample of 0.3-3 mV
            assert a.stop_s - a.start_s == pytest.approx(1 / fs) and 300.0 <= abs(x[i, 0] - y[i, 0]) <= 3000.0
        else:  # a step of 100-150 uV, recovering over 0.25-5 s
            step = x[i : round(a.stop_s * fs), 0] - y[i : round(a.stop_s * fs), 0]
            assert 100.0 <= abs(step[0]) <= 150.0 and abs(step[-1]) < 0.01 * abs(step[0]) and 0.25 <= a.stop_s - a.start_s <= 5.0
    assert inside[differs].all()  # nothing else changed
    # and the detector takes them for what they are: no event, their time excluded
    res = detect(x, fs)
    assert score_events(res.events, with_pops.info.annotations).per_kind["twitch"].precision == \
        score_events(detect(y, fs).events, without.info.annotations).per_kind["twitch"].precision
    told = {iv.start_s // 1 for iv in res.excluded if iv.reason in ("spike", "step", "movement")}
    assert all(a.start_s // 1 in told for a in pops)


def test_cramps_are_found():
    cfg = SimConfig(cramps_per_night=40.0)  # about five in an hour
    night = simulate_night(hours=1.0, n_channels=1, seed=5, config=cfg)
    res = detect(night.read(), night.info.fs_hz)
    score = score_events(res.events, night.info.annotations)
    cr = score.per_kind["cramp"]
    assert cr.tp + cr.fn >= 3
    assert cr.sensitivity >= 0.95 and cr.precision >= 0.9


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hours": float("nan")}, "--hours"),
        ({"hours": 49}, "--hours"),
        ({"n_channels": 0}, "--channels"),
        ({"n_channels": 2.5}, "--channels"),
        ({"fs_hz": 100}, r"give fs_hz \(--fs\) in that range"),
        ({"hours": "1"}, r"hours='1' must be a number more than 0 and at most 48 \(--hours\)"),
        ({"fs_hz": float("inf")}, "--fs"),
        ({"seed": -3}, "--seed"),
        ({"seed": 1.5}, "--seed"),
    ],
)
def test_bad_settings_are_one_line_input_errors_naming_the_option(kwargs, message):
    with pytest.raises(InputError, match=message) as info:
        simulate_night(**{"hours": 0.01, **kwargs})
    assert "\n" not in str(info.value) and "scipy" not in str(info.value) and "resample" not in str(info.value)


def test_only_kemg_edf_and_bdf_files_are_written(tmp_path):
    from kneeemg.simulate import write_simulated

    night = simulate_night(hours=0.002, seed=4)
    for name in ("x.csv", "x", "x.kemg.txt"):
        with pytest.raises(InputError, match=r"name a \.kemg, \.edf or \.bdf file"):
            write_simulated(night, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    assert write_simulated(night, tmp_path / "x.kemg")["recording"].exists()


def test_an_empty_output_path_is_named_as_empty():
    from kneeemg.simulate import check_simulated_path

    with pytest.raises(InputError, match=r"^--out is empty; name a \.kemg, \.edf or \.bdf file$"):
        check_simulated_path("", "--out")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"noise_min_uv": 6.0}, "noise_min_uv=6.0 must be above 0 and at most noise_max_uv=5.0"),
        ({"noise_min_uv": 0.0}, "noise_min_uv=0.0 must be above 0"),
        ({"twitch_rate_per_h": -1.0}, "twitch_rate_per_h=-1.0 must be a number of at least 0"),
        ({"cramps_per_night": float("nan")}, "cramps_per_night=nan must be a number"),
        ({"spasm_s": (8.0, 0.5)}, r"spasm_s=\(8.0, 0.5\) must be a \(low, high\) pair with 0 < low <= high"),
        ({"jerk_rms_uv": (0.0, 150.0)}, "jerk_rms_uv=.* must be a .low, high. pair with 0 < low"),
        ({"cluster_size": (4, 10.5)}, "cluster_size=.* must be whole numbers"),
        ({"mains_uv": 5.0}, "mains_uv=5.0 must be a tuple of numbers"),
        ({"jerk_fraction": 2.0}, "jerk_fraction=2.0 must be 0 to 1"),
    ],
)
def test_sim_config_is_checked(changes, message):
    with pytest.raises(ConfigError, match=message) as info:
        SimConfig(**changes)
    assert "\n" not in str(info.value)


def test_sim_config_edges_still_pass():
    SimConfig(mains_hz=60.0, mains_uv=(0.0, 0.0), twitch_rate_per_h=0.0, noise_min_uv=3.0, noise_max_uv=3.0, jerk_fraction=1.0)


def test_config_must_be_a_sim_config():
    with pytest.raises(ConfigError, match="config must be a SimConfig"):
        simulate_night(hours=0.01, config={"cramps_per_night": 4.0})


def test_python_api_messages_name_the_argument(tmp_path):
    from kneeemg.simulate import write_simulated

    with pytest.raises(InputError, match=r"^path .*x\.csv: cannot write a \.csv"):
        write_simulated(simulate_night(hours=0.002, seed=4), tmp_path / "x.csv")


def test_simulate_never_writes_over_a_ground_truth_file_already_there(tmp_path, capsys):
    from kneeemg.cli import main

    notes = tmp_path / "z.kemg.truth.csv"
    notes.write_text("my own notes\n")
    assert main(["simulate", "--hours", "0.01", "--out", str(tmp_path / "z.kemg")]) == 2
    assert "its ground truth z.kemg.truth.csv already exists" in capsys.readouterr().err
    assert notes.read_text() == "my own notes\n" and not (tmp_path / "z.kemg").exists()


@pytest.mark.parametrize("suffix", [".kemg", ".edf"])
def test_an_interrupted_simulation_leaves_no_part_of_a_night(tmp_path, monkeypatch, suffix):
    from kneeemg.simulate import SimulatedNight, write_simulated

    night = simulate_night(hours=0.05, n_channels=1, seed=4)
    calls = []
    real = SimulatedNight.read

    def read(self, a, b):
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, a, b)

    monkeypatch.setattr(SimulatedNight, "read", read)
    with pytest.raises(KeyboardInterrupt):
        write_simulated(night, tmp_path / f"n{suffix}", chunk_s=30.0)
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


def test_a_simulated_night_is_at_least_as_long_as_the_detector_needs(tmp_path, capsys):
    from kneeemg.cli import main

    with pytest.raises(SystemExit):  # an option error, said by argparse
        main(["simulate", "--hours", "1e-6", "--out", str(tmp_path / "short.kemg")])
    err = capsys.readouterr().err
    assert "shorter than the 0.25 s the detector needs; give at least 7e-05 h" in err and err.count("\n") == 1
    assert not (tmp_path / "short.kemg").exists()
    assert main(["simulate", "--hours", "7e-05", "--out", str(tmp_path / "least.kemg")]) == 0  # the least it names
    assert main(["replay", str(tmp_path / "least.kemg")]) == 0
