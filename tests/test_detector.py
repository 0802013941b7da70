"""The public detector: streaming equals batch, kinds, artefacts, leg movements, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import signal as sps
from hypothesis import given, settings
from hypothesis import strategies as st

from signals import biphasic, bursts
from kneeemg.config import DetectorConfig
from kneeemg.dsp import StreamingDetector, detect
from kneeemg.shapes import hermite_rodriguez
from kneeemg.dsp import _kernels as K
from kneeemg.dsp.wasm import periodic_series
from kneeemg.errors import ConfigError, InputError
from kneeemg.events import Event

FS = 1000.0


@pytest.fixture(scope="module")
def signal():
    return bursts(FS, seconds=14.0, hum_uv=15.0)


@pytest.fixture(scope="module")
def batch(signal):
    return detect(signal[0], FS, keep_filtered=True)


def test_finds_each_event_with_its_kind(signal, batch):
    _, truth = signal
    found = [(e.channel, e.kind) for e in batch.events]
    assert sorted(found) == sorted((ch, kind) for ch, _, _, kind in truth)
    for ev in batch.events:
        ch, on, off, _ = min(truth, key=lambda t: abs(t[1] - ev.onset_s) + 10 * (t[0] != ev.channel))
        assert abs(ev.onset_s - on) < 0.015
        assert abs(ev.offset_s - off) < 0.06
        assert ev.snr_db > 10


def test_artefacts_are_excluded_time_not_events(batch):
    reasons = {(iv.channel, iv.reason) for iv in batch.excluded}
    assert (1, "flat") in reasons  # electrode off (its first epoch holds the step: saturation)
    assert (1, "settling") in reasons  # the epoch after it
    assert (0, "movement") in reasons or (0, "dc_jump") in reasons
    assert (0, "saturation") in reasons
    assert (0, "settling") in reasons and (1, "settling") in reasons
    assert batch.usable_s_per_channel[1] == pytest.approx(10.0)  # less 1 s settling, 2 s off, 1 s after
    assert batch.usable_s == pytest.approx(12.0)  # 1 s settling; at 11-12 s both channels are excluded
    assert batch.mains_hz == 50.0


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 13_999), max_size=8, unique=True))
def test_streaming_equals_batch_for_any_split(signal, batch, cuts):
    x, _ = signal
    det = StreamingDetector(FS, x.shape[1], keep_filtered=True)
    live = []
    bounds = [0, *sorted(cuts), len(x)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        live += det.process(x[a:b])
    res = det.finish()
    assert res.events == batch.events
    assert res.leg_movements == batch.leg_movements
    np.testing.assert_array_equal(res.filtered, batch.filtered)
    np.testing.assert_array_equal(res.epoch_flags, batch.epoch_flags)
    np.testing.assert_array_equal(res.floor_uv, batch.floor_uv)
    assert set(live) <= set(res.events)


@pytest.mark.parametrize("step", [1, 37, 63, 64, 65, 511])
def test_streaming_equals_batch_in_chunks_of_any_size(signal, batch, step):
    # chunks around the length from which a quiet stretch takes the faster loop (64)
    x, _ = signal
    det = StreamingDetector(FS, x.shape[1], keep_filtered=True)
    for a in range(0, len(x), step):
        det.process(x[a : a + step])
    res = det.finish()
    assert res.events == batch.events and res.leg_movements == batch.leg_movements
    np.testing.assert_array_equal(res.filtered, batch.filtered)
    np.testing.assert_array_equal(res.epoch_flags, batch.epoch_flags)
    np.testing.assert_array_equal(res.floor_uv, batch.floor_uv)


def _spiky(fs_hz, seconds=60.0, seed=11, kind="spike"):
    """3 uV noise with electrical artefacts at random times at least 2.5 s apart: single-sample
    spikes of 0.3-3 mV (a converter glitch, an electrode pop), or steps of the offset of
    90-150 uV (the 1-20 Hz rule takes larger ones for movement, and some of these too).
    Returns the signal (n, 1) and their samples."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, round(seconds * fs_hz))
    at = np.round((3.0 + np.cumsum(rng.uniform(2.5, 5.0, 40))) * fs_hz).astype(int)
    at = at[at < len(x) - 2 * fs_hz]
    sizes = rng.choice([-1.0, 1.0], len(at)) * (rng.uniform(300.0, 3000.0, len(at)) if kind == "spike"
                                                 else rng.uniform(90.0, 150.0, len(at)))
    for i, size in zip(at, sizes):
        if kind == "spike":
            x[i] += size
        else:
            x[i:] += size
    return x[:, None], at


@pytest.mark.parametrize("kind, fs_hz, mains_hz", [("spike", 1000.0, None), ("spike", 1000.0, 50.0), ("spike", 2000.0, None),
                                                   ("spike", 4000.0, 60.0), ("step", 500.0, None), ("step", 1000.0, 50.0),
                                                   ("step", 4000.0, 60.0)])
def test_electrical_spikes_and_steps_are_excluded_time_not_twitches(kind, fs_hz, mains_hz):
    x, at = _spiky(fs_hz, kind=kind)
    cfg = DetectorConfig(mains_hz=mains_hz)
    res = detect(x, fs_hz, config=cfg)
    assert res.events == []
    spans = [iv for iv in res.excluded if iv.reason in (kind, "movement")]
    for t in at / fs_hz:
        assert any(iv.start_s <= t < iv.stop_s for iv in spans), t
    assert sum(iv.stop_s - iv.start_s for iv in spans) <= 2.0 * len(at)  # the epochs they touch
    reasons = [iv.reason for iv in res.excluded]
    assert set(reasons) <= {"settling", kind, "movement"} and reasons.count(kind) > len(at) // 2
    # without the test, each is a twitch (or movement)
    off = detect(x, fs_hz, config=cfg.replace(**{f"{kind}_share": 0.0}))
    spans = [(e.onset_s, e.offset_s) for e in off.events] + [(iv.start_s, iv.stop_s) for iv in off.excluded if iv.reason == "movement"]
    assert all(any(a - 0.01 <= t < b for a, b in spans) for t in at / fs_hz) and len(off.events) >= len(at) // 2


@settings(max_examples=6, deadline=None)
@given(cuts=st.lists(st.integers(1, 59_999), max_size=8, unique=True))
def test_spikes_and_steps_streaming_equals_batch_for_any_split(cuts):
    x = _spiky(FS)[0] + _spiky(FS, seed=12, kind="step")[0]
    batch = detect(x, FS)
    assert {"spike", "step"} <= {iv.reason for iv in batch.excluded}
    det = StreamingDetector(FS, 1)
    bounds = [0, *sorted(cuts), len(x)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        det.process(x[a:b])
    res = det.finish()
    assert res.excluded == batch.excluded and res.events == batch.events
    np.testing.assert_array_equal(res.epoch_flags, batch.epoch_flags)


@pytest.mark.parametrize("fs_hz", [500.0, 1000.0, 2000.0, 4000.0])
def test_brief_potentials_are_not_taken_for_spikes_or_steps(fs_hz):
    # biphasic and triphasic potentials of 5-20 ms, 20 dB above the noise, and sharper ones
    # of 5 ms at 40 dB: every one is a twitch
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 3.0, round(90 * fs_hz))
    starts = []
    for k, (ms, phases, rms_uv) in enumerate([(ms, ph, 30.0) for ms in (5, 6, 7, 8, 10, 14, 20) for ph in (1, 2)]
                                             + [(5, 1, 300.0), (5, 2, 300.0), (7, 2, 300.0)]):
        n = round(ms * fs_hz / 1000)
        shape = hermite_rodriguez(n, phases)
        i = round((3.0 + 5.0 * k) * fs_hz)
        x[i : i + n] += rms_uv * shape / np.sqrt(np.mean(shape**2))
        starts.append(i)
    res = detect(x[:, None], fs_hz)
    assert {iv.reason for iv in res.excluded} == {"settling"}  # no spike, no step
    assert len(res.events) == len(starts) and all(e.kind == "twitch" for e in res.events)


def test_a_spike_inside_or_at_the_start_of_a_spasm_leaves_the_spasm():
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 3.0, 30_000)
    x[10_000:12_000] += rng.normal(0.0, 30.0, 2000) * np.hanning(2000) ** 0.1
    x[10_000] += 2000.0
    x[11_000] -= 2000.0
    res = detect(x[:, None], FS)
    assert [(e.kind, round(e.onset_s, 1)) for e in res.events] == [("spasm", 10.0)]
    assert [iv for iv in res.excluded if iv.reason == "spike"] == []


@pytest.mark.parametrize("chunk", [None, 333])
def test_a_spike_as_the_signal_ends_is_excluded_too(chunk):
    # its burst is still open when the stream ends (closed by finish())
    x = np.random.default_rng(19).normal(0.0, 3.0, (20_000, 1))
    x[19_950, 0] += 800.0
    det = StreamingDetector(FS, 1)
    for i in range(0, len(x), chunk or len(x)):
        det.process(x[i : i + (chunk or len(x))])
    res = det.finish()
    assert res.events == [] and [(iv.start_s, iv.reason) for iv in res.excluded][-1] == (19.0, "spike")


def test_the_spike_test_is_off_below_1_khz_and_when_set_to_0():
    x, at = _spiky(500.0)
    assert len(detect(x, 500.0).events) == len(at)  # a 5 ms potential spans 2-3 samples: no telling
    x, at = _spiky(FS)
    assert len(detect(x, FS, config=DetectorConfig(spike_share=0.0)).events) == len(at)


def test_events_are_reported_about_a_second_after_they_end():
    x, truth = bursts(FS, seconds=14.0, artefacts=False)
    det = StreamingDetector(FS, x.shape[1])
    chunk = 20  # 20 ms live chunks
    latency = []
    for a in range(0, len(x), chunk):
        for ev in det.process(x[a : a + chunk]):
            latency.append((a + chunk) / FS - ev.offset_s)
    assert len(latency) == len(truth)
    assert max(latency) <= 1.2  # the closing gap (0.1 s) plus one epoch


def test_short_onset_window_finds_potentials_the_envelope_dilutes():
    # 5 ms potentials (peak 6 x the noise's SD) fill a 7 ms onset window but not the 10 ms
    # envelope window (the default, where the onset window is off).
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 2.0, (20_000, 1))
    starts = (5.0, 8.0, 11.0, 14.0)
    for t in starts:
        x[round(t * 1000) : round(t * 1000) + 5, 0] += biphasic(1000.0, 0.005, 12.0)
    found = detect(x, 1000.0, config=DetectorConfig(onset_window_s=0.007)).events
    assert [e.kind for e in found] == ["twitch"] * 4
    # (a potential the envelope dates as briefer than the best-matching template's potential
    # takes that template's span: here up to 10 ms)
    assert all(abs(e.onset_s - t) <= 0.004 and 0.002 <= e.duration_s <= 0.011 for e, t in zip(found, starts))
    assert len(detect(x, 1000.0, config=DetectorConfig(potential_ratio=0)).events) < 4


def test_weak_potentials_on_a_coloured_background_are_found_by_their_shape():
    # Background with most of its power at low frequencies, as EMG background has (1.8 uV
    # RMS after the band-pass), and 10 ms triphasic potentials of 8 uV peak: too weak for
    # the envelope's onset level, far above what the matching template sees in the noise.
    rng = np.random.default_rng(7)
    background = sps.sosfilt(sps.butter(2, 60.0, fs=FS, output="sos"), rng.normal(0.0, 6.0, 30_000)) + 500.0
    x = background.copy()
    starts = (6.0, 10.0, 14.0, 18.0, 22.0, 26.0)
    for t in starts:
        x[round(t * FS) : round(t * FS) + 10] += 8.0 * hermite_rodriguez(10, 2)
    found = detect(x[:, None], FS).events
    assert all(e.kind == "twitch" and 0.005 <= e.duration_s <= 0.015 for e in found)
    assert sum(any(abs(e.onset_s - t) <= 0.005 for e in found) for t in starts) >= 5
    assert len(found) <= len(starts)
    assert detect(x[:, None], FS, config=DetectorConfig(potential_ratio=0)).events == []
    assert detect(background[:, None], FS).events == []


@pytest.mark.parametrize("seed", [1, 3])
def test_burst_that_grows_in_is_dated_from_its_start(seed):
    # A contraction reaching 2 x the noise RMS, growing in over 0.3 s from 6.0 s: its power
    # passes (1.36 x floor)^2, the change point's reference, at about 6.14 s (the noise moves
    # the estimate by a few tens of ms); the onset level (3 x floor) is reached only at about 6.3 s.
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, (20_000, 1))
    x[6000:10_000, 0] += rng.normal(0.0, 1.0, 4000) * np.clip(np.arange(4000) / 300.0, 0.0, 1.0) * 6.0
    (ev,) = detect(x, FS).events
    assert ev.kind == "spasm" and 6.08 < ev.onset_s < 6.23 and 9.5 < ev.offset_s <= 10.0
    (late,) = detect(x, FS, config=DetectorConfig(onset_search_s=0.1, onset_cusum_ratio=2.0)).events
    assert late.onset_s > ev.onset_s + 0.04


def test_quiet_signal_at_low_resolution_is_not_saturation():
    # Quiet EMG recorded with coarse steps repeats values in runs (here 9 levels of 1.5 µV);
    # only runs at the epoch's highest or lowest value are a rail.
    rng = np.random.default_rng(3)
    smooth = np.convolve(rng.normal(0.0, 4.0, 20_000), np.ones(6) / 6, mode="same")
    x = (np.round(smooth / 1.5) * 1.5)[:, None]
    assert {iv.reason for iv in detect(x, 1000.0).excluded} == {"settling"}
    x[12_300:12_600] = x.max()  # clipped for 0.3 s at the top of the range
    found = {(iv.reason, iv.start_s) for iv in detect(x, 1000.0).excluded}
    assert ("saturation", 12.0) in found and {r for r, _ in found} == {"settling", "saturation"}


def test_activity_clipped_by_the_recorders_range_is_still_a_burst():
    # A sleep lab's leg channel with a range of +-40 uV and a 20 s cramp of 200 uV RMS: the
    # signal touches a rail on each swing, for at most a few tens of ms, and the cramp is
    # found. A rail held for 0.3 s is still saturation; so are the short runs when the
    # stuck run is set as short as 5 ms.
    from kneeemg.simulate import _waveform

    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 3.0, 60_000)
    x[20_000:40_000] += _waveform("cramp", 20_000, 0, 200.0, 0, 1000.0)
    x = np.clip(x, -40.0, 40.0)
    x[50_300:50_600] = 40.0
    res = detect(x[:, None], 1000.0)
    assert np.mean(np.abs(x[20_000:40_000]) == 40.0) > 0.7
    assert [(e.kind, round(e.onset_s), round(e.offset_s)) for e in res.events] == [("cramp", 20, 40)]
    assert {(iv.reason, iv.start_s) for iv in res.excluded} == {("settling", 0.0), ("saturation", 50.0), ("settling", 51.0)}
    strict = detect(x[:, None], 1000.0, config=DetectorConfig(saturation_run_s=0.005))
    assert strict.events == [] and sum(iv.duration_s for iv in strict.excluded if iv.reason == "saturation") > 15


@pytest.mark.parametrize("hum_uv", [15.0, 50.0])
def test_electrode_letting_go_under_hum_gives_no_twitch(hum_uv):
    # The raw signal holds its last value from a moment inside an epoch. The mains notch
    # rings on for a few hundred ms where the hum stopped; that ringing had been a twitch.
    # A raw value held for 50 ms or more holds no activity: the epoch is flat.
    found = []
    for seed, t0 in enumerate((20.137, 20.411, 20.685, 20.93)):
        rng = np.random.default_rng(seed)
        t = np.arange(40_000) / FS
        x = rng.normal(0.0, 3.0, 40_000) + 800.0 + hum_uv * np.sin(2 * np.pi * 50.0 * t + seed)
        a = round(t0 * FS)
        x[a : a + 10_000] = x[a]
        res = detect(x[:, None], FS)
        found += res.events
        assert ("flat", 20.0) in {(iv.reason, iv.start_s) for iv in res.excluded}
    assert found == []


def test_a_coarse_quiet_signal_is_not_flat():
    # 1 uV of noise recorded in 3 uV steps holds 0 for 50 ms or more in about one epoch of
    # ten; only a value held up to an epoch's end makes it flat, which such noise seldom does.
    x = np.round(np.random.default_rng(0).normal(0.0, 1.0, 120_000) / 3.0) * 3.0
    runs = np.diff(np.flatnonzero(np.diff(np.r_[np.inf, x, np.inf]) != 0))
    assert (runs >= 50).sum() > 5
    assert not [iv for iv in detect(x[:, None], FS).excluded if iv.reason == "flat"]


def test_noise_alone_gives_no_events():
    rng = np.random.default_rng(5)
    res = detect(rng.normal(0, 4, (600_000, 1)) + 300, FS)  # ten minutes
    assert res.events == []
    assert res.usable_s == pytest.approx(599.0)
    assert float(np.median(res.floor_uv)) == pytest.approx(4.0 * 0.93, rel=0.1)  # band-passed white noise


def test_floor_follows_slow_drift_but_not_events():
    rng = np.random.default_rng(6)
    n = 240_000
    drift = np.linspace(2.0, 5.0, n)
    x = rng.normal(0, 1, n) * drift
    for t0 in range(10_000, n - 10_000, 4000):  # a spasm every 4 s for 4 minutes
        x[t0 : t0 + 1500] += rng.normal(0, 80, 1500)
    res = detect(x, FS)
    floor = res.floor_uv[:, 0]
    assert floor[30] < floor[-1]
    assert floor.max() < 6.0  # the spasms never leaked into the floor
    assert res.counts()["spasm"] == len(range(10_000, n - 10_000, 4000))


def test_weak_sustained_activity_does_not_lift_the_floor():
    # 70 s of noise, then 40 s of weak activity at 1.7 x its RMS: blocks of it must not teach
    # the floor, or the floor climbs to the activity's level and dates later bursts late.
    rng = np.random.default_rng(13)
    x = rng.normal(0, 3, (120_000, 1))
    x[70_000:110_000, 0] += rng.normal(0, 3 * np.sqrt(1.7**2 - 1), 40_000)
    noise = float(np.median(detect(x[:70_000], FS).floor_uv))
    res = detect(x, FS)
    assert float(res.floor_uv[:, 0].max()) < 1.1 * noise
    lifted = detect(x, FS, config=DetectorConfig(floor_admit_ratio=2.0))
    assert float(lifted.floor_uv[:, 0].max()) > 1.4 * noise


def test_floor_relearns_a_lasting_rise_of_the_noise():
    # The noise rises 2.5-fold at 120 s (an electrode's contact worsening) and stays so: its
    # blocks are never quiet by the old floor. Once hardly any block has been for about
    # floor_stale_s (300 s), every block teaches the floor; the "burst" that opened at the
    # rise ends when the floor has caught up, and is excluded time, not a cramp.
    rng = np.random.default_rng(14)
    x = rng.normal(0, 3, (900_000, 1))
    x[120_000:, 0] *= 2.5
    res = detect(x, FS)
    floor = res.floor_uv[:, 0]
    before, after = float(np.median(floor[60:120])), float(np.median(floor[-60:]))
    assert after == pytest.approx(2.5 * before, rel=0.1)
    assert floor[: 120 + 290].max() < 1.1 * before  # not before about floor_stale_s
    assert res.events == []
    (rise,) = [iv for iv in res.excluded if iv.reason == "noise_rise"]
    assert 119 <= rise.start_s <= 121 and 120 + 290 <= rise.stop_s <= 120 + 300 + 90
    assert res.usable_s == pytest.approx(900 - 1 - rise.duration_s, abs=1)


@pytest.mark.parametrize("flat_uv", [0.0, 800.0])  # no signal yet, or held at the electrode's DC offset
def test_a_recording_that_starts_flat_learns_its_floor_when_the_signal_comes(flat_uv):
    # The sensor ran before the electrode touched the skin: the warm-up teaches no floor.
    # The first usable block does, at once: no false cramp at the contact, no minutes lost.
    sig, truth = bursts(FS, seconds=14.0, artefacts=False)
    lead = np.random.default_rng(15).normal(800.0, 3.0, (10_000, 2))  # 10 s of background first
    ref = detect(np.vstack([lead, sig]), FS)
    lead[:, 0] = flat_uv
    x = np.vstack([lead, sig])
    res = detect(x, FS)
    assert np.all(np.abs(res.floor_uv[11:, 0] / ref.floor_uv[11:, 0] - 1) < 0.1)  # learned within 1 s of the contact
    found = sorted((e.channel, e.kind, round(e.onset_s, 2)) for e in res.events)
    assert found == sorted((e.channel, e.kind, round(e.onset_s, 2)) for e in ref.events)
    assert [(c, kind) for c, kind, _ in found] == sorted((c, kind) for c, _, _, kind in truth)
    lost = [(iv.reason, iv.stop_s) for iv in res.excluded if iv.channel == 0]  # the contact, not minutes after it
    assert lost[0] == ("flat", 10.0) and all(stop <= 11.0 for _, stop in lost)
    stream = StreamingDetector(FS, 2)
    for a in range(0, len(x), 333):
        stream.process(x[a : a + 333])
    assert stream.finish().events == res.events


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_a_flat_start_finds_the_mains_frequency_when_the_signal_comes(hz):
    # A flat warm-up has no spectrum to find the hum in (it used to give 50 Hz whatever the
    # hum): the search waits for the first warm-up-long window that is not flat.
    from kneeemg.dsp.detector import MAINS_SEARCH_S

    sig, truth = bursts(FS, seconds=14.0, artefacts=False)
    hum = 30.0 * np.sin(2 * np.pi * hz * np.arange(len(sig)) / FS)[:, None]
    x = np.vstack([np.full((10_000, 2), 5.0), sig + hum])
    res = detect(x, FS)
    assert res.mains_hz == hz and hz in res.notch_hz
    assert {(e.channel, e.kind) for e in res.events if e.snr_db > 10} == {(c, kind) for c, _, _, kind in truth}
    stream = StreamingDetector(FS, 2)
    for a in range(0, len(x), 777):
        stream.process(x[a : a + 777])
    assert stream.finish().events == res.events
    late = np.vstack([np.zeros((round(MAINS_SEARCH_S * FS) + 2000, 2)), sig + hum])  # the search is over first
    assert detect(late, FS).mains_hz is None
    assert detect(np.zeros((5000, 1)), FS).notch_hz == ()  # all flat: no hum, no notch


def test_an_electrode_that_comes_off_and_back_relearns_the_floor():
    # Off for 8 min, back with noise 1.7 x as high (it sits less well): the floor is learned
    # again when the signal comes back. It was kept, and the noisier background read as a
    # cramp of 25 minutes on a simulated night.
    rng = np.random.default_rng(21)
    x = rng.normal(0.0, 3.0, (round(700 * FS), 1))
    x[round(60 * FS) : round(540 * FS), 0] = 0.0
    x[round(540 * FS) :, 0] *= 1.7
    t0 = round(600 * FS)
    x[t0 : t0 + 150, 0] += rng.normal(0.0, 40.0, 150)  # a twitch a minute after the electrode is back
    res = detect(x, FS)
    assert [(e.kind, round(e.onset_s, 1)) for e in res.events] == [("twitch", 600.0)]
    before, after = res.floor_uv[55, 0], res.floor_uv[560, 0]
    assert after == pytest.approx(1.7 * before, rel=0.15)
    stream = StreamingDetector(FS, 1)
    for a in range(0, len(x), 4567):
        stream.process(x[a : a + 4567])
    assert stream.finish().events == res.events


def test_small_losses_cost_only_the_lost_time():
    # a link that drops 20 ms every 1.3 s (1.5 %): every epoch it touched was excluded (46 s of 60)
    rng = np.random.default_rng(23)
    x = rng.normal(0.0, 3.0, (60_000, 1))
    det = StreamingDetector(FS, 1)
    gaps = list(range(500, 60_000, 1300))
    for a in gaps:
        x[a : a + 20] = x[a - 1]
    done = 0
    for a in gaps:
        det.process(x[done:a])
        det.mark_lost(a, 20)
        done = a
    det.process(x[done:])
    res = det.finish()
    assert not [iv for iv in res.excluded if iv.reason == "lost"]
    assert res.usable_s == pytest.approx(60 - 1 - 20 * sum(a >= 1000 for a in gaps) / FS)  # less the settling second
    assert res.events == []


def test_lost_samples_are_never_usable_time():
    # 0.5 s lost and held at the last value: the flat-line test does not see half an epoch,
    # so the loss was counted as usable time; now the epochs it touches are excluded.
    rng = np.random.default_rng(22)
    x = rng.normal(0.0, 3.0, (60_000, 1))
    x[30_500:31_000] = x[30_499]
    x[45_000:45_150, 0] += rng.normal(0.0, 60.0, 150)  # a twitch held by a loss ...
    x[45_100:46_000] = x[45_099]  # ... that cuts it short: dropped, most of it is lost
    x[50_000:50_150, 0] += rng.normal(0.0, 60.0, 150)  # a twitch away from any loss: kept
    det = StreamingDetector(FS, 1)
    for a, b in ((0, 20_000), (20_000, 45_050), (45_050, 60_000)):
        if a <= 30_500 < b:
            det.mark_lost(30_500, 500)
        if a <= 45_100 < b:
            det.mark_lost(45_100, 900)
        det.process(x[a:b])
    res = det.finish()
    lost = [(iv.start_s, iv.stop_s) for iv in res.excluded if iv.reason == "lost"]
    assert lost == [(30.0, 31.0), (45.0, 46.0)]
    # less the settling second, the 2 epochs touched, and the epoch after each: a value held for
    # 0.5 s or more is a signal lost, and the filters settle once it moves again
    assert res.usable_s == pytest.approx(60 - 1 - 2 - 2, abs=0.5)
    assert [round(e.onset_s, 1) for e in res.events] == [50.0]
    with pytest.raises(InputError, match="mark_lost: sample 100 was already passed"):
        det = StreamingDetector(FS, 1)
        det.process(x[:1000])
        det.mark_lost(100, 10)
    with pytest.raises(InputError, match="n_samples=-1 must be a whole number"):
        StreamingDetector(FS, 1).mark_lost(0, -1)


def test_kinds_follow_duration_rules():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 3, (60_000, 1))
    x[5000:5300, 0] += rng.normal(0, 60, 300)  # 0.3 s -> twitch
    x[10_000:14_000, 0] += rng.normal(0, 60, 4000)  # 4 s -> spasm
    x[20_000:45_000, 0] += rng.normal(0, 60, 25_000)  # 25 s -> cramp
    res = detect(x, FS)
    assert [e.kind for e in res.events] == ["twitch", "spasm", "cramp"]
    assert res.events[2].duration_s == pytest.approx(25.0, abs=0.05)


def test_weak_sustained_contraction_stays_one_burst_and_rests_still_split():
    rng = np.random.default_rng(12)
    x = rng.normal(0, 3, (30_000, 1))
    # weak: 3 s at about 2.5 x floor, with a 0.3 s stretch at about 1.4 x floor in it
    x[5000:8000, 0] += rng.normal(0, 6.0, 3000)
    x[6200:6500, 0] = rng.normal(0, 3.6, 300)
    # strong: two 1 s contractions at 20 x floor, 0.3 s apart, with weak activity between them
    x[15_000:16_000, 0] += rng.normal(0, 60.0, 1000)
    x[16_000:16_300, 0] += rng.normal(0, 3.0, 300)
    x[16_300:17_300, 0] += rng.normal(0, 60.0, 1000)
    res = detect(x, FS)
    spans = [(e.onset_s, e.offset_s) for e in res.events]
    assert len(spans) == 3
    # the second strong contraction may be dated into the weak activity just before it
    # (1.4 x floor, above the change point's reference), but not into the first one
    np.testing.assert_allclose(spans[:2], [(5.0, 8.0), (15.0, 16.0)], atol=0.1)
    assert spans[1][1] < spans[2][0] < 16.35 and spans[2][1] == pytest.approx(17.3, abs=0.1)
    # the sustain level at the offset level and no bridge: the weak contraction splits
    off = detect(x, FS, config=DetectorConfig(sustain_ratio=2.0, bridge_max_s=0.0))
    assert len([e for e in off.events if e.onset_s < 9]) >= 2


@pytest.mark.parametrize("gap_sd_uv, joined", [(4.2, True), (3.0, False)], ids=["weak-activity", "silent"])
def test_a_long_dip_is_bridged_only_when_it_still_holds_activity(gap_sd_uv, joined):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, (30_000, 1))
    # a contraction at about 3 x floor for 4 s whose level falls for 0.3 s three times: to
    # weak activity (about 1.4 x floor) or to silence (the floor)
    x[5000:9000, 0] += rng.normal(0, 8.5, 4000)
    for a in (6000, 7000, 8000):
        x[a : a + 300, 0] = rng.normal(0, gap_sd_uv, 300)
    cfg = DetectorConfig(sustain_ratio=2.0)  # the sustain rule off: only the bridge can join the parts
    spans = [(e.onset_s, e.offset_s) for e in detect(x, FS, config=cfg).events]
    if joined:
        assert len(spans) == 1 and spans[0] == pytest.approx((5.0, 9.0), abs=0.05)
    else:
        assert len(spans) >= 3
    # without the bridge, each dip ends the burst
    assert len(detect(x, FS, config=cfg.replace(bridge_max_s=0.0)).events) >= 3


def test_close_bursts_merge():
    rng = np.random.default_rng(8)
    x = rng.normal(0, 3, (20_000, 1))
    x[5000:5040, 0] += biphasic(FS, 0.04, 100)
    x[5080:5120, 0] += biphasic(FS, 0.04, 100)  # 40 ms later: one event
    res = detect(x, FS)
    assert len(res.events) == 1
    assert res.events[0].onset_s == pytest.approx(5.0, abs=0.01)


def test_wasm_leg_movements_and_periodic_series():
    rng = np.random.default_rng(9)
    n = 200_000
    x = rng.normal(0, 2.5, (n, 1))
    onsets = [20_000, 40_000, 62_000, 85_000, 105_000]  # 20-23 s apart
    for t0 in onsets:
        x[t0 : t0 + 2000] += rng.normal(0, 30, (2000, 1))
    res = detect(x, FS)
    assert len(res.leg_movements) == 5
    for lm, t0 in zip(res.leg_movements, onsets):
        assert lm.kind == "lm"
        assert lm.onset_s == pytest.approx(t0 / FS, abs=0.1)
        assert lm.duration_s == pytest.approx(2.0, abs=0.2)
    assert len(res.plm_series) == 1 and len(res.plm_series[0].members) == 5
    assert res.summary()["leg_movements_thigh"]["in_series"] == 5


def test_periodic_series_rules():
    def lm(t):
        return Event(int(t * 1000), int(t * 1000) + 1000, 1000.0, 0, "lm", 50, 20, 20)

    times = [0, 20, 40, 60, 65, 85, 105, 125, 145, 300]
    series = periodic_series([lm(t) for t in times])
    # 65 is only 5 s after 60: it ends the first series (0-60) and starts a new one (65-145)
    assert [s.members for s in series] == [(0, 1, 2, 3), (4, 5, 6, 7, 8)]
    assert periodic_series([lm(t) for t in [0, 20, 40]]) == []


def test_summary_counts_and_rates(batch):
    s = batch.summary()
    assert s["counts"]["spasm"] == 2
    assert s["per_usable_hour"]["twitch"] == pytest.approx(3 / (batch.usable_s / 3600), rel=1e-3)
    assert set(s["excluded_s_by_reason"]) >= {"flat", "saturation"}


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((100, 1), np.nan), "NaN"),
        (np.zeros((100, 2, 2)), "expected (n_samples, 1)"),
        (np.array([["a"], ["b"]]), "dtype"),
        (np.zeros((100, 1), dtype=bool), "not true/false values"),
    ],
)
def test_bad_chunks_get_one_line_errors(bad, message):
    det = StreamingDetector(FS, 1)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        det.process(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("n", [300, 50_000])  # scanned directly, and summed first
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_are_found_where_they_are_and_nothing_is_processed(n, bad):
    x = np.random.default_rng(15).normal(0, 3, (n, 2))
    x[n - 7, 1] = bad
    det = StreamingDetector(FS, 2)
    det.process(x[:100])
    with pytest.raises(InputError, match=f"first at {(100 + n - 7) / FS:.3f} s"):
        det.process(x)
    assert det.samples_seen == 100


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
@pytest.mark.parametrize("hum_uv", [300.0, 3000.0])
def test_strong_mains_hum_is_not_movement(mains_hz, hum_uv):
    # the notches take the hum out of the band-pass; the low band's 20 Hz edge alone passed
    # 14 % of 50 Hz, and every quiet second read as movement
    rng = np.random.default_rng(17)
    t = np.arange(60_000) / FS
    x = rng.normal(0, 3, t.size)
    x[40_000:41_000] += rng.normal(0, 60, 1000)
    hum = hum_uv * (np.sin(2 * np.pi * mains_hz * t) + 0.2 * np.sin(2 * np.pi * 2 * mains_hz * t))
    res = detect(x + hum, FS)
    assert res.mains_hz == mains_hz
    assert res.summary()["excluded_s_by_reason"] == {"settling": 1.0}
    assert [(e.kind, round(e.onset_s)) for e in res.events] == [("spasm", 40)]


def test_noise_after_a_flat_stretch_gives_no_events():
    # the background's autocorrelation starts again with the floor: from a white guess, or
    # from a block or two, the potential test passed noise for potentials (5 in 20 seeds)
    found = []
    for seed in range(20):
        x = np.random.default_rng(seed).normal(0, 3, 100_000)
        x[:20_000] = 0.0  # the sensor on before the electrode touched the skin
        found += [(seed, e.kind, round(e.onset_s, 2)) for e in detect(x, FS).events]
    assert found == []


def test_coloured_noise_after_a_flat_stretch_gives_no_events():
    # learned from every 64th sample of 8 blocks (32 products per lag), the autocorrelation
    # of a background whose power lies at low frequencies was too rough, and the potential
    # test passed its noise for potentials in the seconds after an electrode came back
    # (6 twitches in these 12 seeds, none without the flat stretch; detected at 3.5 x floor,
    # as a band-limited recording is)
    sos = sps.butter(4, [10, 100], btype="band", fs=FS, output="sos")
    config = DetectorConfig(onset_ratio=3.5)
    found = []
    for seed in range(12):
        x = sps.sosfilt(sos, np.random.default_rng(seed).standard_normal(160_000))
        x *= 3.0 / x.std()
        x[60_000:100_000] = 0.0  # an electrode off for 40 s
        found += [(seed, e.kind, round(e.onset_s, 2)) for e in detect(x, FS, config=config).events]
    assert found == []


def test_a_flat_stretch_ending_inside_a_floor_block_learns_the_noise_that_follows():
    # the block that is partly flat passed for quiet and made the floor fresh at its own low
    # level (1.2 uV under noise of 2.8): the noise after it read as a burst for 161 s
    x = np.random.default_rng(0).normal(0, 3, 240_000) + 100.0
    x[20_000:60_200] = 100.0  # an electrode off from 20 s to 60.2 s, 50 ms into a 0.25 s block
    res = detect(x, FS)
    assert [(e.start_s, e.reason) for e in res.excluded if e.reason not in ("flat", "settling")] == []
    assert 2.5 < res.floor_uv[62:, 0].min() and res.floor_uv[62:, 0].max() < 3.2


@pytest.mark.parametrize("arrives_s", [10.2, 10.22])
def test_a_burst_opened_by_the_signal_s_arrival_ends_when_the_floor_has_caught_up(arrives_s):
    # it followed the floor only while that was stale: once fresh again, still a little low,
    # the noise kept it open for minutes (as noise_rise) and a spasm inside it was lost
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, 240_000) + 100.0
    x[: round(arrives_s * FS)] = 100.0  # the sensor on before the electrode touched the skin
    x[200_000:201_000] += rng.normal(0, 20, 1000)
    res = detect(x, FS)
    assert [(e.kind, round(e.onset_s)) for e in res.events] == [("spasm", 200)]
    assert sum(e.stop_s - e.start_s for e in res.excluded if e.reason == "noise_rise") < 5.0


@pytest.mark.parametrize("n, kind", [(2, None), (3, "twitch"), (499, "twitch"), (500, "spasm"), (10_000, "spasm"),
                                     (10_001, "cramp")])
def test_kind_boundaries_are_those_documented(n, kind):
    # twitch < twitch_max_s <= spasm <= spasm_max_s < cramp; under min_duration_s: no event
    det = StreamingDetector(FS, 1)
    ev = det._event((K.OUT_BURST, 0, 1000, 1000 + n, 50.0, 20.0, 3.0))
    assert (ev.kind if ev else None) == kind


@pytest.mark.parametrize("n, kept", [(499, False), (500, True), (10_000, True), (10_001, False)])
def test_leg_movements_outside_their_durations_are_left_out(n, kept):
    det = StreamingDetector(FS, 1)
    assert (det._event((K.OUT_LM, 0, 1000, 1000 + n, 50.0, 20.0, 3.0)) is not None) == kept


@pytest.mark.parametrize("chunk", [None, 777])
def test_a_burst_still_open_when_the_signal_ends_is_reported_to_the_end(chunk):
    rng = np.random.default_rng(18)
    x = rng.normal(0, 3, (20_000, 1))
    x[17_000:, 0] += rng.normal(0, 60, 3000)  # a spasm from 17 s to the end, 20 s
    if chunk is None:
        res = detect(x, FS)
    else:
        det = StreamingDetector(FS, 1)
        for i in range(0, len(x), chunk):
            det.process(x[i : i + chunk])
        res = det.finish()
    (ev,) = res.events
    assert ev.kind == "spasm" and abs(ev.onset_s - 17.0) < 0.02 and 19_980 <= ev.offset_sample <= 20_000


def test_an_abandoned_stream_closes_its_helper_thread():
    x = np.random.default_rng(16).normal(0, 3, (600_000, 2))
    det = StreamingDetector(FS, 2, threads=2)
    det.process(x)
    helpers = lambda: [t for t in threading.enumerate() if t.name.startswith("kneeemg-detector")]  # noqa: E731
    assert helpers()  # the filter runs on a thread of its own
    with pytest.raises(InputError, match="NaN"):
        det.process(np.full((10, 2), np.nan))
    det.close()
    assert not helpers()


@pytest.mark.parametrize("fs", [100.0, 250.0, 8000.0])
def test_rates_outside_range_are_refused(fs):
    with pytest.raises(ConfigError, match="resample"):
        StreamingDetector(fs, 1)


def test_config_validation():
    with pytest.raises(ConfigError, match="offset_ratio"):
        DetectorConfig(onset_ratio=1.0, offset_ratio=2.0)
    with pytest.raises(ConfigError, match="mains_hz"):
        DetectorConfig(mains_hz=55.5 + 100)
    with pytest.raises(ConfigError, match="unknown"):
        DetectorConfig().replace(nonsense=1)
    with pytest.raises(ConfigError, match="sustain_ratio"):
        DetectorConfig(sustain_ratio=2.5)
    with pytest.raises(ConfigError, match="sustain_rel"):
        DetectorConfig(sustain_rel=1.5)
    with pytest.raises(ConfigError, match="bridge_ratio"):
        DetectorConfig(bridge_ratio=0.9)
    with pytest.raises(ConfigError, match="spike_share must be 0 to 1"):
        DetectorConfig(spike_share=1.5)
    with pytest.raises(ConfigError, match="step_share must be 0 to 1"):
        DetectorConfig(step_share=1.1)
    with pytest.raises(ConfigError, match="onset_window_s"):
        DetectorConfig(onset_window_s=0.02)
    with pytest.raises(ConfigError, match="onset_cusum_ratio"):
        DetectorConfig(onset_cusum_ratio=1.0)
    with pytest.raises(ConfigError, match="onset_search_s"):
        DetectorConfig(onset_search_s=-1)
    # settings saved with older nights may name retired settings; they are skipped
    assert DetectorConfig.from_dict({"long_gap_s": 0.3, "onset_ratio": 4.0}) == DetectorConfig(onset_ratio=4.0)


def test_all_rates_and_many_channels_run():
    rng = np.random.default_rng(10)
    for fs in (500.0, 1000.0, 2000.0, 4000.0):
        x = rng.normal(0, 3, (int(6 * fs), 3))
        b = biphasic(fs, 0.02, 150)
        x[int(4 * fs) : int(4 * fs) + len(b), 1] += b
        res = detect(x, fs)
        assert [(e.channel, e.kind) for e in res.events] == [(1, "twitch")], fs
    res = detect(rng.normal(0, 3, (4000, 64)), 2000.0)
    assert res.epoch_flags.shape == (2, 64)


@pytest.mark.parametrize("n_channels", [1, 3, 20], ids=["pipelined", "channel-halves", "vector-lanes"])
def test_two_threads_give_the_same_result_as_one(n_channels):
    # long enough for several blocks, so that the threaded paths really run
    x = np.tile(bursts(FS, seconds=14.0, n_channels=n_channels)[0], (12, 1))
    one = detect(x, FS, keep_filtered=True, threads=1)
    two = detect(x, FS, keep_filtered=True, threads=2)
    chunked = StreamingDetector(FS, n_channels, keep_filtered=True, threads=2)
    for a in range(0, len(x), 70_001):
        chunked.process(x[a : a + 70_001])
    three = chunked.finish()
    assert len(one.events) > 12
    for other in (two, three):
        assert other.events == one.events and other.leg_movements == one.leg_movements
        np.testing.assert_array_equal(other.epoch_flags, one.epoch_flags)
        np.testing.assert_array_equal(other.floor_uv, one.floor_uv)
        np.testing.assert_array_equal(other.filtered, one.filtered)


def test_threads_setting_is_checked():
    with pytest.raises(InputError, match="threads"):
        StreamingDetector(FS, 1, threads=3)


@pytest.mark.parametrize("keep", [False, True])
def test_block_lengths_do_not_compile_the_kernels_again(keep):
    # Scratch rows of a multiple of 512 samples are padded (cache sets); the array the
    # filtered signal is copied to stays contiguous whatever the length, so numba compiles
    # the driver kernel once, not again for a chunk of 1024 samples.
    from kneeemg.dsp import _kernels as K

    x = np.random.default_rng(5).normal(0, 3, (8000, 2))
    det = StreamingDetector(1000.0, 2, keep_filtered=keep, threads=1)
    det.process(x[:3000])
    det.process(x[3000:4000])
    before = len(K.filter_detect_kernel.signatures)
    det.process(x[4000:5024])  # 1024 samples
    det.process(x[5024:])
    assert len(K.filter_detect_kernel.signatures) == before


def test_excluded_time_starts_where_the_stream_starts():
    det = StreamingDetector(FS, 1, start_sample=500)
    det.process(np.random.default_rng(16).normal(0, 3, (20_000, 1)))
    res = det.finish()
    assert [(iv.reason, iv.start_s, iv.stop_s) for iv in res.excluded] == [("settling", 0.5, 2.0)]
    assert res.summary()["excluded_s_by_reason"] == {"settling": 1.5} and res.usable_s == pytest.approx(18.5)


@pytest.mark.parametrize("start", ["a", 1.5, -1, True])
def test_start_sample_must_be_a_whole_number_of_samples(start):
    with pytest.raises(InputError, match="start_sample=.* must be a whole number of samples"):
        StreamingDetector(FS, 1, start_sample=start)


def test_a_wrong_number_of_labels_is_said_in_the_right_number():
    with pytest.raises(InputError, match=r"^1 channel label given for 2 channels; give one label per channel$"):
        StreamingDetector(2000.0, 2, labels=["left"])
