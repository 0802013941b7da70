"""Filter design helpers (kneeemg.dsp.filters): how band-limited a recording's background is."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sg

from kneeemg.dsp.filters import BAND_LIMITED_DB, high_band_level_db


def _noise(seconds, fs_hz, sos=None, seed=0):
    x = np.random.default_rng(seed).normal(0.0, 3.0, int(seconds * fs_hz) + 2000)
    return (sg.sosfilt(sos, x) if sos is not None else x)[2000:, None]


def test_white_noise_fills_the_high_band():
    assert abs(high_band_level_db(_noise(60, 1000.0), 1000.0)) < 1.0
    assert abs(high_band_level_db(_noise(60, 512.0), 512.0)) < 1.5  # the high band is 200-230 Hz


@pytest.mark.parametrize("fs_hz, band, order, below", [(1000.0, 100.0, 8, -100), (1000.0, [10.0, 100.0], 4, -55),
                                                        (512.0, [10.0, 100.0], 4, -50), (1000.0, 175.0, 8, -44)])
def test_a_steeply_low_passed_channel_lies_far_below(fs_hz, band, order, below):
    sos = sg.butter(order, band, "lowpass" if np.isscalar(band) else "bandpass", fs=fs_hz, output="sos")
    assert high_band_level_db(_noise(60, fs_hz, sos), fs_hz) < below < BAND_LIMITED_DB


def test_a_gentle_low_pass_is_not_band_limited():
    # a first- or second-order low-pass at 100 Hz leaves the high band 30 dB down at most,
    # as real broadband recordings can be: such noise is not counted as band-limited
    for order in (1, 2):
        level = high_band_level_db(_noise(60, 1000.0, sg.butter(order, 100.0, fs=1000.0, output="sos")), 1000.0)
        assert BAND_LIMITED_DB < level < -10


def test_the_broadest_channel_decides_and_bursts_mains_and_flat_channels_do_not_count():
    fs = 1000.0
    narrow = _noise(120, fs, sg.butter(8, 100.0, fs=fs, output="sos"))
    wide = _noise(120, fs, seed=1)
    assert high_band_level_db(np.hstack([narrow, wide]), fs) == pytest.approx(high_band_level_db(wide, fs))
    # strong broadband bursts in a third of the segments, and a 50 Hz hum with the harmonics
    # a 100 Hz low-pass leaves
    t = np.arange(len(narrow)) / fs
    bursts = np.where((t % 3.0) < 1.0, 1.0, 0.0)[:, None] * _noise(120, fs, seed=2) * 30
    hum = sum(40.0 / k * np.sin(2 * np.pi * 50.0 * k * t) for k in range(1, 4))[:, None]
    assert high_band_level_db(narrow + bursts + hum, fs) < BAND_LIMITED_DB
    assert high_band_level_db(np.hstack([narrow, np.zeros_like(narrow)]), fs) == pytest.approx(high_band_level_db(narrow, fs))


def test_what_cannot_be_told_is_none():
    assert high_band_level_db(np.zeros((60_000, 2)), 1000.0) is None  # flat
    assert high_band_level_db(_noise(1, 1000.0), 1000.0) is None  # under 8 segments
    assert high_band_level_db(_noise(60, 450.0), 450.0) is None  # 200-202.5 Hz: too narrow a band
    assert high_band_level_db(np.full((60_000, 1), np.nan), 1000.0) is None
    x = np.zeros((60_000, 1))
    x[::7] = 1.0  # an impulse train: lines every 143 Hz, from the reference band to the top alike
    assert high_band_level_db(x, 1000.0) > BAND_LIMITED_DB
