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


@pytest.mark.parametrize("kernel", [K.detect_kernel, K.detect_kernel_par], ids=["serial", "parallel"])
@pytest.mark.parametrize("mains", [None, 50.0])
def test_detect_kernel_matches_naive(mains, kernel):
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
    ring_len = det._fring.shape[2]
    ref_records, ref_epochs = naive.detect(x, y, lo, env, envw, p, floor0, ring_len)

    fs, is_, fring = K.new_state(x.shape[1], ring_len, floor0)
    yh = np.vstack([np.zeros((det._env_win - 1, x.shape[1])), y])
    nch = x.shape[1]
    out_i = np.empty((nch, len(x), 3), dtype=np.int64)
    out_f = np.empty((nch, len(x), 3))
    n_out = np.zeros(nch, dtype=np.int64)
    ep_i = np.empty((len(x) // det._epoch + 2, nch + 1), dtype=np.int64)
    ep_f = np.empty((len(x) // det._epoch + 2, nch))
    n_ep = kernel(x, yh, lo, env, envw, 0, p, fs, is_, fring, out_i, out_f, n_out, ep_i, ep_f)

    got = [(int(out_i[c, k, 0]), c, int(out_i[c, k, 1]), int(out_i[c, k, 2]), *out_f[c, k]) for c in range(nch) for k in range(n_out[c])]
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



@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(0.1, 100.0), min_size=1, max_size=60), ring_len=st.integers(1, 12),
       q=st.floats(0.05, 0.95))
def test_floor_ring_keeps_the_quantile_of_the_last_blocks(values, ring_len, q):
    ring = np.zeros(ring_len)
    srt = np.zeros(ring_len)
    count, pos = 0, 0
    for i, v in enumerate(values):
        count = K._ring_push(ring, srt, count, pos, v)
        pos = (pos + 1) % ring_len
        recent = values[max(0, i + 1 - ring_len) : i + 1]
        assert list(srt[:count]) == sorted(recent)
        assert K._quantile_sorted(srt, count, q) == pytest.approx(np.quantile(recent, q))
