"""Potential templates: shapes, alignment and outputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

import naive
from kneeemg.config import DetectorConfig
from kneeemg.dsp import _kernels as K
from kneeemg.dsp.filters import design
from kneeemg.dsp.potentials import ARTEFACT_ENERGY_KEPT, artefact_shape, block_lag_means, templates


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


@pytest.mark.parametrize("kind", ["spike", "step"])
@pytest.mark.parametrize("fs_hz, mains_hz", [(1000.0, None), (1000.0, 50.0), (4000.0, 60.0)])
def test_artefact_shape_is_the_start_of_the_filters_response_at_unit_energy(kind, fs_hz, mains_hz):
    d = design(fs_hz, DetectorConfig(), mains_hz)
    n_band = len(d.sos) - len(d.notch_hz)
    shape = artefact_shape(d.sos, fs_hz, kind, n_band)
    unit = np.zeros(round(fs_hz)) if kind == "spike" else np.ones(round(fs_hz))
    unit[0] = 1.0
    h = sps.sosfilt(d.sos, unit)  # band-pass and notches
    np.testing.assert_allclose(shape * np.sqrt(np.sum(h**2)), h[: len(shape)], rtol=1e-12)  # the whole at unit energy
    assert 0.7 < np.sum(shape**2) < 1.0
    # as long as the band-pass alone needs to hold the share of its energy
    band = sps.sosfilt(design(fs_hz, DetectorConfig(), None).sos, unit)
    held = np.cumsum(band**2) / np.sum(band**2)
    assert held[len(shape) - 1] >= ARTEFACT_ENERGY_KEPT > held[len(shape) - 2]
    if mains_hz:  # the notches' ringing would have made it longer
        assert len(artefact_shape(d.sos, fs_hz, kind)) > len(shape)


def test_no_spike_shape_below_the_rate_that_tells_spikes_from_potentials():
    sos = design(500.0, DetectorConfig(), None).sos
    assert artefact_shape(sos, 500.0, "spike").size == 0 and artefact_shape(sos, 500.0, "step").size > 0
    with pytest.raises(ValueError, match="spike"):
        artefact_shape(sos, 500.0, "pop")


@pytest.mark.parametrize("kind", ["spike", "step"])
def test_shape_energy_is_the_best_window_that_looks_like_the_artefact(kind):
    # the kernel and the plain version agree, on an artefact in noise and on noise alone
    fs_hz = 1000.0
    d = design(fs_hz, DetectorConfig(), 50.0)
    sos = d.sos
    shape = artefact_shape(sos, fs_hz, kind, len(sos) - len(d.notch_hz))
    x = np.random.default_rng(3).normal(0.0, 3.0, 900)
    x[600] += 200.0
    if kind == "step":
        x[601:] += 200.0
    y = sps.sosfilt(sos, x)
    h_len = 512
    wait = len(shape) + len(shape) // 2
    unit = np.zeros(900) if kind == "spike" else np.ones(900)
    unit[0] = 1.0
    energy = 200.0**2 * np.sum(sps.sosfilt(sos, unit) ** 2)  # the artefact's whole response
    got = {}
    for a0, share in ((600, 0.9), (300, 0.9), (600, 0.0)):
        a = a0 + wait - 1  # the last sample the test reads
        hring = np.zeros(h_len)
        for i in range(a - h_len + 1, a + 1):
            hring[i % h_len] = y[i]
        got[a0, share] = K._shape_energy(hring, a0, shape, 40, share)
        assert got[a0, share] == pytest.approx(naive.shape_energy(y, a0, shape, 40, share), rel=1e-9)
    assert got[600, 0.9] == pytest.approx(energy, rel=0.05)  # the artefact, told from a little noise
    assert got[300, 0.9] == 0.0  # noise alone looks like no artefact
    assert got[600, 0.0] >= got[600, 0.9]
