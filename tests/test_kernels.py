"""Each numba kernel against its slow reference in tests/naive.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from signals import bursts
from kneeemg.config import DetectorConfig
from kneeemg.dsp import _kernels as K
from kneeemg.dsp.detector import StreamingDetector
from kneeemg.dsp.filters import design, initial_state


@pytest.mark.parametrize("fs_hz", [500.0, 1000.0, 2000.0, 4000.0])
@pytest.mark.parametrize("mains", [None, 50.0, 60.0])
def test_sosfilt_matches_scipy(fs_hz, mains):
    rng = np.random.default_rng(3)
    d = design(fs_hz, DetectorConfig(), mains)
    x = rng.normal(0, 10, (3000, 3))
    zi = rng.normal(0, 1, (3, d.sos.shape[0], 2))
    y_ref, zf_ref = naive.sosfilt(d.sos, x, zi)
    for kernel in (K.sosfilt_kernel, K.sosfilt_kernel_par):
        z = zi.copy()
        y = np.empty_like(x)
        kernel(d.sos, x, z, y)
        np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(z, zf_ref, rtol=1e-10, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 1999), max_size=6, unique=True), window=st.integers(2, 40), start=st.integers(0, 10_000))
def test_moving_rms_matches_naive_for_any_split(cuts, window, start):
    rng = np.random.default_rng(window)
    y = rng.normal(0, 5, (2000, 2))
    env_ref = naive.moving_rms(y, window)
    ring = np.zeros((2, window))
    rsum = np.zeros(2)
    env = np.empty_like(y)
    bounds = [0, *sorted(cuts), len(y)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        K.moving_rms_kernel(y[a:b], start + a, ring, rsum, env[a:b])
    np.testing.assert_allclose(env, env_ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mains", [None, 50.0])
def test_detect_kernel_matches_naive(mains):
    fs_hz = 1000.0
    x, _ = bursts(fs_hz, seconds=14.0, hum_uv=15.0 if mains else 0.0)
    cfg = DetectorConfig(mains_hz=mains)
    det = StreamingDetector(fs_hz, x.shape[1], config=cfg)
    det.process(x[: det._warmup])  # designs the filters and the parameter vector
    d = det.filter_design
    floor0 = det._initial_floor(x[: det._warmup])
    y, _ = naive.sosfilt(d.sos, x, initial_state(d.sos, x[0]))
    lo, _ = naive.sosfilt(d.sos_low, x, initial_state(d.sos_low, x[0]))
    env = naive.moving_rms(y, det._env_win)
    envw = naive.moving_rms(y, det._wasm_win)
    p = det._params
    ring_len = det._fring.shape[1]
    ref_records, ref_epochs = naive.detect(x, y, lo, env, envw, p, floor0, ring_len)

    fs, is_, fring = K.new_state(x.shape[1], ring_len, floor0)
    yh = np.vstack([np.zeros((det._env_win - 1, x.shape[1])), y])
    out_i = np.empty((len(x), 4), dtype=np.int64)
    out_f = np.empty((len(x), 3))
    ep_i = np.empty((len(x) // det._epoch + 2, x.shape[1] + 1), dtype=np.int64)
    ep_f = np.empty((len(x) // det._epoch + 2, x.shape[1]))
    n_out, n_ep = K.detect_kernel(x, yh, lo, env, envw, 0, p, fs, is_, fring, out_i, out_f, ep_i, ep_f)

    got = [(int(a), int(b), int(c), int(e), f0, f1, f2) for (a, b, c, e), (f0, f1, f2) in zip(out_i[:n_out], out_f[:n_out])]
    assert len(got) == len(ref_records) > 3
    for g, r in zip(sorted(got), sorted(ref_records)):
        assert g[:4] == r[:4]
        np.testing.assert_allclose(g[4:], r[4:], rtol=1e-9)
    assert n_ep == len(ref_epochs) == 14
    for k in range(n_ep):
        assert ep_i[k, 0] == ref_epochs[k][0]
        assert list(ep_i[k, 1:]) == ref_epochs[k][1]
        np.testing.assert_allclose(ep_f[k], ref_epochs[k][2], rtol=1e-12)
    # the test signal exercises the artefact rules
    all_flags = np.bitwise_or.reduce(ep_i[:n_ep, 1:], axis=None)
    assert all_flags & K.FLAG_FLAT and all_flags & K.FLAG_MOVEMENT and all_flags & K.FLAG_SATURATION

