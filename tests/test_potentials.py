"""Potential templates: shapes, alignment and outputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

import naive
from kneeemg.config import DetectorConfig
from kneeemg.dsp import _kernels as K
from kneeemg.dsp.filters import design
from kneeemg.dsp.potentials import SPIKE_ENERGY_KEPT, block_lag_means, spike_shape, templates


@pytest.mark.parametrize("fs_hz, mains_hz", [(1000.0, None), (1000.0, 50.0), (2000.0, 60.0)])
def test_templates_are_unit_energy_columns_at_the_end(fs_hz, mains_hz):
    tmpl, tlen = templates(design(fs_hz, DetectorConfig(), mains_hz).sos, fs_hz)
    shapes = tmpl[0]
    assert shapes.shape[1] == len(tlen) == K.N_TEMPLATES
    np.testing.assert_allclose(np.sum(shapes**2, axis=0), 1.0)
    np.testing.assert_allclose(tmpl[1, -1], 1.0)  # the lag-0 weight is the energy
    for j, (length, n_potential) in enumerate(tlen):
        assert length >= n_potential >= 3
        assert np.all(shapes[: len(shapes) - length, j] == 0.0) and shapes[len(shapes) - length, j] != 0.0


def test_template_outputs_are_the_correlation_ending_at_each_sample():
    tmpl, tlen = templates(design(1000.0, DetectorConfig(), None).sos, 1000.0)
    y = np.random.default_rng(2).normal(0.0, 3.0, 300)
    out = naive.template_outputs(y, tmpl, tlen)
    l_max = tmpl.shape[1]
    padded = np.concatenate([np.zeros(l_max), y])
    for a in (0, 5, 57, 299):
        window = padded[a + 1 : a + 1 + l_max]  # the L_max samples ending at y[a]
        np.testing.assert_allclose(out[a], window @ tmpl[0], rtol=1e-12, atol=1e-12)


def test_template_noise_follows_from_the_background_autocorrelation():
    # coloured noise: each template's output mean square equals its weights times the
    # background's autocorrelation (the law the detector uses instead of running the templates)
    fs_hz = 1000.0
    d = design(fs_hz, DetectorConfig(), None)
    tmpl, tlen = templates(d.sos, fs_hz)
    rng = np.random.default_rng(4)
    y = sps.sosfilt(d.sos, sps.sosfilt(sps.butter(2, 60.0, fs=fs_hz, output="sos"), rng.normal(0.0, 5.0, 400_000)))
    predicted = tmpl[1].T @ block_lag_means(y[:, None], tmpl.shape[1], len(y))[0, 0]
    measured = np.mean(naive.template_outputs(y, tmpl, tlen)[1000:] ** 2, axis=0)
    np.testing.assert_allclose(predicted, measured, rtol=0.01)
    assert predicted.max() / predicted.min() > 2.0  # the templates see this background very differently


@pytest.mark.parametrize("fs_hz, mains_hz", [(1000.0, None), (1000.0, 50.0), (4000.0, 60.0)])
def test_spike_shape_is_the_start_of_the_filters_response_at_unit_energy(fs_hz, mains_hz):
    sos = design(fs_hz, DetectorConfig(), mains_hz).sos
    spk = spike_shape(sos, fs_hz)
    unit = np.zeros(round(fs_hz))
    unit[0] = 1.0
    h = sps.sosfilt(sos, unit)
    np.testing.assert_allclose(spk * np.sqrt(np.sum(h[: len(spk)] ** 2)), h[: len(spk)], rtol=1e-12)
    assert np.sum(spk**2) == pytest.approx(1.0)
    kept = np.sum(h[: len(spk)] ** 2) / np.sum(h**2)
    assert SPIKE_ENERGY_KEPT <= kept and np.sum(h[: len(spk) - 1] ** 2) / np.sum(h**2) < SPIKE_ENERGY_KEPT


def test_no_spike_shape_below_the_rate_that_tells_spikes_from_potentials():
    assert spike_shape(design(500.0, DetectorConfig(), None).sos, 500.0).size == 0


def test_spike_energy_is_the_best_window_that_looks_like_a_spike():
    # the kernel and the plain version agree, on a spike in noise and on noise alone
    fs_hz = 1000.0
    sos = design(fs_hz, DetectorConfig(), 50.0).sos
    spk = spike_shape(sos, fs_hz)
    x = np.random.default_rng(3).normal(0.0, 3.0, 600)
    x[300] += 200.0
    y = sps.sosfilt(sos, x)
    h_len = 256
    energy = 200.0**2 * np.sum(sps.sosfilt(sos, np.eye(1, 600)[0])[: len(spk)] ** 2)  # the spike's, in its window
    after = 300 + len(spk) + len(spk) // 2 + 5  # the spike's widened windows are in
    got = {}
    for a, share in ((after, 0.9), (250, 0.9), (after, 0.0)):
        hring = np.zeros(h_len)
        for i in range(a - h_len + 1, a + 1):
            hring[i % h_len] = y[i]
        got[a, share] = K._spike_energy(hring, a, spk, 40, share)
        want = naive.spike_energy(y, a - len(spk) - len(spk) // 2 + 1, spk, 40, share)
        assert got[a, share] == pytest.approx(want, rel=1e-9)
    assert got[after, 0.9] == pytest.approx(energy, rel=0.05)  # the spike, with a little noise
    assert got[250, 0.9] == 0.0  # noise alone looks like no spike
    assert got[after, 0.0] >= got[after, 0.9]
