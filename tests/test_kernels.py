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
from kneeemg.dsp.detector import StreamingDetector, _sections
from kneeemg.shapes import hermite_rodriguez
from kneeemg.dsp.filters import design, initial_state


@pytest.mark.parametrize("kernel", [K.filter_kernel, K.filter_lanes_kernel], ids=["per-channel", "lanes"])
@pytest.mark.parametrize("fs_hz", [500.0, 1000.0, 2000.0, 4000.0])
@pytest.mark.parametrize("mains", [None, 50.0, 60.0])
def test_filters_match_scipy(fs_hz, mains, kernel):
    rng = np.random.default_rng(3)
    d = design(fs_hz, DetectorConfig(), mains)
    nch = 9
    x = rng.normal(0, 10, (3000, nch)) + rng.normal(0, 500, nch)
    zi = rng.normal(0, 1, (nch, d.sos.shape[0], 2))
    zi_low = rng.normal(0, 1, (nch, d.sos_low.shape[0], 2))
    y_ref, zf_ref = naive.sosfilt(d.sos, x, zi)
    lo_ref, zl_ref = naive.sosfilt(d.sos_low, x, zi_low)
    z = np.ascontiguousarray(zi.transpose(1, 2, 0))
    zl = np.ascontiguousarray(zi_low.transpose(1, 2, 0))
    y = np.full((nch, len(x)), np.nan)
    lo = np.full((nch, len(x)), np.nan)
    # channels 1:8 only (four side by side, two, one alone), in two calls: the others stay untouched
    kernel(_sections(d.sos), _sections(d.sos_low), x[:1700], z, zl, y[:, :1700], lo[:, :1700], 1, 8)
    kernel(_sections(d.sos), _sections(d.sos_low), x[1700:], z, zl, y[:, 1700:], lo[:, 1700:], 1, 8)
    np.testing.assert_allclose(y[1:8].T, y_ref[:, 1:8], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(lo[1:8].T, lo_ref[:, 1:8], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(z[:, :, 1:8].transpose(2, 0, 1), zf_ref[1:8], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(zl[:, :, 1:8].transpose(2, 0, 1), zl_ref[1:8], rtol=1e-10, atol=1e-9)
    assert np.isnan(y[[0, 8]]).all() and np.isnan(lo[[0, 8]]).all()
    np.testing.assert_array_equal(z[:, :, [0, 8]], zi.transpose(1, 2, 0)[:, :, [0, 8]])


@pytest.mark.parametrize("fs_hz, mains, order", [(1000.0, 50.0, 4), (2000.0, None, 4), (1000.0, 60.0, 1), (500.0, 50.0, 8)])
def test_both_filter_kernels_give_identical_results(fs_hz, mains, order):
    # A channel gets exactly what it gets when filtered alone, in a vector's lanes (groups of
    # four) and with the band-pass cut in two overlapping halves (a pair, one alone); in
    # calls shorter and longer than the halves' lag (PIPE_DEPTH), the state carried over.
    rng = np.random.default_rng(4)
    d = design(fs_hz, DetectorConfig(filter_order=order), mains)
    nch = 23  # five groups of four, a pair, one alone
    x = rng.normal(0, 10, (2000, nch)) + rng.normal(0, 300, nch)
    cuts = [0, 1, 3, K.PIPE_DEPTH, K.PIPE_DEPTH + 1, 2 * K.PIPE_DEPTH + 1, 700, 2000]
    outs = []
    for kernel in (K.filter_kernel, K.filter_lanes_kernel):
        z = np.full((d.sos.shape[0], 2, nch), 0.5)
        zl = np.full((d.sos_low.shape[0], 2, nch), 0.25)
        y = np.full((nch, len(x)), np.nan)
        lo = np.full((nch, len(x)), np.nan)
        for a, b in zip(cuts, cuts[1:]):
            kernel(_sections(d.sos), _sections(d.sos_low), x[a:b], z, zl, y[:, a:b], lo[:, a:b], 0, nch)
        outs.append((y, lo, z, zl))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("win", [1, 10, 100, 700, 2048])
def test_moving_window_sum_stays_exact(win):
    # a loud stretch, then quiet: the running sum must not keep the loud stretch's rounding,
    # and equals the plain sum, oldest first, each time it is recomputed
    rng = np.random.default_rng(win)
    y = np.concatenate([rng.normal(0, 3, 3000), rng.normal(0, 3000, 1500), rng.normal(0, 1, 6000)])
    ring = np.zeros(win)
    laps = K._laps(win)
    pos = lap = 0
    rsum = 0.0
    for i, v in enumerate(y):
        rsum, pos, lap = K._window_push(ring, pos, lap, laps, rsum, v, v * v)
        exact = np.sum(y[max(0, i - win + 1) : i + 1] ** 2)
        assert rsum == pytest.approx(exact, rel=1e-9, abs=1e-9 * 3000**2 * win)
        if pos == 0 and lap == 0:
            plain = 0.0
            for u in y[i - win + 1 : i + 1]:
                plain += u * u
            assert rsum == plain
    assert rsum == pytest.approx(np.sum(y[-win:] ** 2), rel=1e-9)


def test_first_nonfinite():
    x = np.zeros((50, 3))
    assert K.first_nonfinite(x) == -1
    x[31, 2] = np.inf
    x[40, 0] = np.nan
    assert K.first_nonfinite(x) == 31


def _detect_inputs(mains, seconds=14.0, onset_window_s=0.010, noise_step=False, potentials=False, dips=False,
                   flat_start=False, flat_middle=False, clipped=False):
    fs_hz = 1000.0
    x, _ = bursts(fs_hz, seconds=seconds, hum_uv=15.0 if mains else 0.0)
    if clipped:
        # the second channel recorded with a range of +-20 uV around its offset: the spasm at
        # 5 s, made stronger and smoother, stays at the rails for a few ms per swing
        x[5000:5800, 1] += np.convolve(np.random.default_rng(7).normal(0, 100, 800), np.ones(8) / 8, mode="same")
        x[:, 1] = np.clip(x[:, 1], 780.0, 820.0)
    if flat_start:
        x[:3000, 0] = 0.0  # the first electrode touches the skin only after the warm-up
    if flat_middle:
        x[9000:11_000, 0] = x[9000, 0]  # the electrode comes off for 2 s ...
        x[11_000:, 0] *= 2.0  # ... and sits less well when it is back
    if potentials:
        # triphasic potentials of 20 ms: at 10 uV too weak for the onset level (the
        # potential test finds some of them), at 13 uV dated as briefer by the envelope
        for t0, peak in ((2.5, 13.0), (8.6, 10.0), (9.5, 10.0)):
            i = round(t0 * fs_hz)
            x[i : i + 20, 0] += peak * hermite_rodriguez(20, 2)
        # single-sample spikes (electrical artefacts), a strong and a weak one, and a small
        # step of the offset
        x[3700, 0] += 150.0
        x[10_100, 0] -= 60.0
        x[7000:, 1] += 150.0
    cfg = DetectorConfig(mains_hz=mains, onset_window_s=onset_window_s)
    if dips:
        # a contraction at about 3 x floor whose level falls for 0.3 s twice: to weak
        # activity, which the bridge joins to it, and to silence, which ends it (the sustain
        # rule off, so that the bridge decides)
        sd = np.full(1900, 8.5)
        sd[500:800] = 2.8  # 12.5-12.8 s: about 1.4 x floor with the noise
        sd[1200:1500] = 0.0  # 13.2-13.5 s
        x[12_000:13_900, 1] += np.random.default_rng(5).normal(0, 1, 1900) * sd
        cfg = cfg.replace(sustain_ratio=2.0)
    if noise_step:
        # the noise rises 2.5-fold at 7 s; a short stale time and floor window let the floor
        # go stale and re-learn it (with an open burst) within the signal
        x[7000:] = x[7000:] * 2.5
        cfg = cfg.replace(floor_stale_s=1.0, floor_window_s=2.0)
    det = StreamingDetector(fs_hz, x.shape[1], config=cfg)
    det.process(x[: det._warmup])  # designs the filters and the parameter vector
    d = det.filter_design
    floor0, acf0, known0 = det._initial_floor(x[: det._warmup])
    y, _ = naive.sosfilt(d.sos, x, initial_state(d.sos, x[0]))
    lo, _ = naive.sosfilt(d.sos_low, x, initial_state(d.sos_low, x[0]))
    return x, y, lo, det, floor0, acf0, known0


def _check_windows(ring, fs, y, b, det):
    """After a chunk that ends at sample ``b``: each moving window's ring and the history
    ring hold the last samples of ``y`` (n_samples, n_channels) at ``absolute index %
    length``, and each window's running sum is their sum of squares."""
    lengths = (det._env_win, det._wasm_win, det._onset_win, det._search)
    sums = (K.F_RS_E, K.F_RS_W, K.F_RS_T, None)
    onset_on = det._onset_win < det._env_win  # the onset window's ring is used only when it is on
    start = 0
    for win, col in zip(lengths, sums):
        part = ring[:, start : start + win]
        start += win
        if col == K.F_RS_T and not onset_on:
            continue
        last = np.arange(max(0, b - win), b)
        np.testing.assert_array_equal(part[:, last % win], y[last].T)
        if col is not None:
            exact = np.sum(y[last] ** 2, axis=0)
            # a running sum keeps rounding errors of the largest values it held (a flat stretch
            # after a burst sums to almost 0)
            atol = max(1e-9 * exact.max(), 1e-12 * win * float(np.max(y[:b] ** 2)))
            np.testing.assert_allclose(fs[:, col], exact, rtol=1e-9, atol=atol)


@pytest.mark.parametrize("onset_window_s, noise_step, potentials, dips, flat_start, flat_middle, clipped",
                         [(0.010, False, False, False, False, False, False), (0.006, False, False, False, False, False, False),
                          (0.010, True, False, False, False, False, False), (0.010, False, True, False, False, False, False),
                          (0.010, False, False, True, False, False, False), (0.010, False, False, False, True, False, False),
                          (0.010, False, False, False, False, True, False), (0.010, False, False, False, False, False, True)],
                         ids=["onset-window-off", "onset-window-6ms", "noise-step", "potentials-spikes-step", "dips", "flat-start",
                              "flat-middle", "clipped"])
@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, 13_999), max_size=5, unique=True), mains=st.sampled_from([None, 50.0]))
def test_detect_kernel_matches_naive_for_any_split(cuts, mains, onset_window_s, noise_step, potentials, dips, flat_start,
                                                   flat_middle, clipped):
    x, y, lo, det, floor0, acf0, known0 = _detect_inputs(mains, onset_window_s=onset_window_s, noise_step=noise_step,
                                                           potentials=potentials, dips=dips, flat_start=flat_start,
                                                           flat_middle=flat_middle, clipped=clipped)
    assert known0.all() != flat_start
    env2 = naive.moving_ms(y, det._env_win)
    envw2 = naive.moving_ms(y, det._wasm_win)
    p = det._params
    ring_len = det._fring.shape[2]
    envt2 = naive.moving_ms(y, det._onset_win)
    corr = np.stack([naive.template_outputs(y[:, c], det._tmpl, det._tlen) for c in range(x.shape[1])], axis=1)
    ref_records, ref_epochs = naive.detect(x, y, lo, env2, envw2, envt2, p, floor0, ring_len, corr, det._tmpl, det._tlen,
                                           acf0, known0, det._spk, det._stp)

    nch = x.shape[1]
    fs, is_, fring, pts = K.new_state(nch, ring_len, floor0, acf0, known0)
    ring = np.zeros((nch, det._env_win + det._wasm_win + det._onset_win + det._search))
    yt = np.ascontiguousarray(y.T)
    lot = np.ascontiguousarray(lo.T)
    got, n_ep, epochs = [], 0, []
    bounds = [0, *sorted(cuts), len(x)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        n = b - a
        out_i = np.empty((n + 8, nch, 3), dtype=np.int64)
        out_f = np.empty((n + 8, nch, 3))
        n_out = np.zeros(nch, dtype=np.int64)
        ep_i = np.empty((n // det._epoch + 2, nch + 1), dtype=np.int64)
        ep_f = np.empty((n // det._epoch + 2, nch))
        # the channels in two calls, as two threads would run them
        for c0, c1 in ((0, 1), (1, nch)):
            k = K.detect_kernel(x[a:b], np.ascontiguousarray(yt[:, a:b]), np.ascontiguousarray(lot[:, a:b]), a, p,
                                det._mtab, det._tmpl, det._tlen, det._spk, det._stp, ring, fs, is_, fring, pts, out_i, out_f, n_out, ep_i, ep_f, c0, c1)
        n_ep += k
        _check_windows(ring, fs, y, b, det)
        epochs += [(int(ep_i[j, 0]), list(ep_i[j, 1:]), ep_f[j].copy()) for j in range(k)]
        got += [(int(out_i[j, c, 0]), c, int(out_i[j, c, 1]), int(out_i[j, c, 2]), *out_f[j, c])
                for c in range(nch) for j in range(n_out[c])]
    assert len(got) == len(ref_records) > 3
    if potentials:  # both uses of the templates are exercised: a span, and a potential found by its shape alone
        spans = [tuple(int(v) for v in r[:4]) for r in ref_records]
        assert (K.OUT_BURST, 0, 2500, 2520) in spans
        assert mains is not None or (K.OUT_BURST, 0, 8600, 8620) in spans
        # the spikes are told apart from potentials
        spikes = [r[2:4] for r in ref_records if r[0] == K.OUT_SPIKE]
        assert len(spikes) == 2 and all(on <= t < off for (on, off), t in zip(spikes, (3700, 10_100))), spans
        assert any(r[0] == K.OUT_STEP and r[1] == 1 and r[2] <= 7000 < r[3] for r in ref_records), spans
    if dips:  # the contraction is joined across its weak dip and ends at its silent one
        # (the part after the silent dip is still open when the signal ends)
        late = [r[2:4] for r in ref_records if r[1] == 1 and r[2] >= 11_500]
        assert len(late) == 1 and late[0][0] < 12_500 and 12_800 < late[0][1] <= 13_200
    for g, r in zip(sorted(got), sorted(ref_records)):
        assert g[:4] == r[:4]
        np.testing.assert_allclose(g[4:], r[4:], rtol=1e-9)
    assert n_ep == len(ref_epochs) == 14
    for (ei, ef, eflo), (ri, rf, rflo) in zip(epochs, ref_epochs):
        assert ei == ri and ef == rf
        np.testing.assert_allclose(eflo, rflo, rtol=1e-12)
    if clipped:  # the clipped spasm is found and its epoch is usable, with most of its samples at the rails
        (spasm,) = [r for r in ref_records if r[0] == K.OUT_BURST and r[1] == 1 and 4900 <= r[2] <= 5100]
        assert epochs[5][1][1] == 0 and np.mean(np.isin(x[5000:5800, 1], (780.0, 820.0))) > 0.6
    # the test signal exercises the artefact rules
    all_flags = np.bitwise_or.reduce(np.array([e[1] for e in epochs]), axis=None)
    assert all_flags & K.FLAG_FLAT and all_flags & K.FLAG_MOVEMENT and all_flags & K.FLAG_SATURATION


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(0.1, 100.0) | st.sampled_from([1.0, 2.0, 3.0]), min_size=1, max_size=60),
       ring_len=st.integers(1, 12),
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


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]) | st.floats(0.0, 4.0), max_size=40),
       probe=st.sampled_from([-1.0, 0.5, 1.0, 2.0, 3.0, 5.0]) | st.floats(-1.0, 5.0), right=st.booleans())
def test_sorted_place_is_numpys_searchsorted(values, probe, right):
    srt = np.sort(np.array(values + [9.0] * 3))  # with values after the counted ones
    count = len(values)
    side = "right" if right else "left"
    assert K._sorted_place(srt, count, probe, right) == np.searchsorted(srt[:count], probe, side=side)


@pytest.mark.parametrize("rows", [37, 500, 14_000])
def test_filter_detect_in_sub_blocks_equals_each_kernel_once(rows):
    # the driver filters and detects in sub-blocks of `rows` samples; the records, epochs,
    # state and kept filtered signal are those of one call of each kernel over the whole
    x, _, _, det, floor0, acf0, _ = _detect_inputs(50.0, potentials=True)
    nch = x.shape[1]
    n = len(x)
    runs = []
    for driver in (True, False):
        z = np.ascontiguousarray(initial_state(det.filter_design.sos, x[0]).transpose(1, 2, 0))
        zl = np.ascontiguousarray(initial_state(det.filter_design.sos_low, x[0]).transpose(1, 2, 0))
        fs, is_, fring, pts = K.new_state(nch, det._fring.shape[2], floor0, acf0)
        ring = np.zeros_like(det._ring)
        out_i = np.zeros((n + 8, nch, 3), dtype=np.int64)
        out_f = np.zeros((n + 8, nch, 3))
        n_out = np.full(nch, 99 if driver else 0, dtype=np.int64)  # the driver sets it, whatever it held
        ep_i = np.zeros((n // det._epoch + 2, nch + 1), dtype=np.int64)
        ep_f = np.zeros((n // det._epoch + 2, nch))
        y = np.zeros((nch, n))
        lo = np.zeros((nch, n))
        args = (0, det._params, det._mtab, det._tmpl, det._tlen, det._spk, det._stp, ring, fs, is_, fring, pts, out_i,
                out_f, n_out, ep_i, ep_f)
        if driver:
            ybuf, lobuf = np.empty(nch * rows), np.empty(nch * rows)
            n_ep = 0
            for c0, c1 in ((0, 1), (1, nch)):  # as two threads run them
                n_ep = K.filter_detect_kernel(det._sos, det._sos_low, x, z, zl, ybuf, lobuf, y, True, *args, c0, c1)
        else:
            K.filter_lanes_kernel(det._sos, det._sos_low, x, z, zl, y, lo, 0, nch)
            n_ep = K.detect_kernel(x, y, lo, *args, 0, nch)
        runs.append((n_ep, y, z, zl, fs, is_, fring, pts, ring, n_out.copy(),
                     [out_i[: n_out[c], c] for c in range(nch)], [out_f[: n_out[c], c] for c in range(nch)],
                     ep_i[:n_ep], ep_f[:n_ep]))
    (a, b) = runs
    assert a[0] == b[0] == 14 and a[9].sum() > 3
    for u, v in zip(a[1:], b[1:]):
        if isinstance(u, list):
            for p, q in zip(u, v):
                np.testing.assert_array_equal(p, q)
        else:
            np.testing.assert_array_equal(u, v)
