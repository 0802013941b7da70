"""Numba kernels of the signal path.

Each kernel takes plain arrays and scalars, does no I/O and allocates nothing that outlives
the call. State is carried in arrays that the caller owns (see :mod:`kneeemg.dsp.state`),
so a signal processed in one piece or in any split into chunks gives identical results.
Every kernel has a slow, obviously right counterpart in ``tests/naive.py``.

Channels run in parallel (``prange``) in the ``*_par`` variants; the serial variants are
the same Python functions compiled without ``parallel=True`` (``prange`` then acts as
``range``), which is faster for the small chunks of live streaming.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

# --- indices into the per-channel float state ``fs`` ---------------------------------------
F_FLOOR = 0  # current noise floor, µV
F_BLK_Y2 = 1  # sum of y^2 in the current floor block
F_BLK_LO2 = 2  # sum of lo^2 in the current floor block
F_EP_Y2 = 3  # epoch: sum of y^2
F_EP_LO2 = 4  # epoch: sum of lo^2
F_EP_LOMAX = 5  # epoch: max |lo|
F_EP_HRE = 6  # epoch: sum of y * cos(w n)
F_EP_HIM = 7  # epoch: sum of y * sin(w n)
F_PREV_X = 8  # previous raw sample (stuck-sample runs)
F_B_PEAK = 9  # burst: running max |y|
F_B_Y2 = 10  # burst: running sum of y^2
F_B_PEAK_AT = 11  # burst: max |y| up to the last sample above the onset level
F_B_Y2_AT = 12  # burst: sum of y^2 up to that sample
F_B_FLOOR = 13  # burst: floor at onset
F_W_PEAK = 14  # WASM movement: running max |y|
F_W_Y2 = 15  # WASM movement: running sum of y^2
F_W_PEAK_AT = 16  # WASM movement: max |y| up to the start of the quiet run
F_W_Y2_AT = 17  # WASM movement: sum of y^2 up to the start of the quiet run
F_W_FLOOR = 18  # WASM movement: floor at onset
N_FSTATE = 19

# --- indices into the per-channel integer state ``is_`` ------------------------------------
I_LAST_ADMIT = 0  # absolute sample at which a block last entered the floor ring
I_EP_STUCK = 1  # epoch: samples in runs of >= STUCK_RUN identical raw values
I_RUN = 2  # length of the current run of identical raw values
I_IN = 3  # inside a burst
I_ON = 4  # burst onset (absolute sample)
I_LAST = 5  # last absolute sample whose envelope was at or above the offset level
I_W_IN = 6  # inside a WASM leg movement
I_W_ON = 7  # its onset
I_W_QSTART = 8  # start of the current quiet run (-1: none)
I_FR_N = 9  # filled entries of the floor ring
I_FR_POS = 10  # next write position in the floor ring
I_EP_N = 11  # samples in the current epoch
I_STRONG = 12  # last absolute sample of the burst whose envelope was at or above the onset level
I_PREV_FLAGS = 13  # flags of the previous epoch
N_ISTATE = 14

# --- indices into the parameter vector ``p`` -----------------------------------------------
P_ONSET = 0
P_OFFSET = 1
P_HOLD = 2  # samples below the offset level that end a burst
P_BLOCK = 3  # floor block length, samples
P_QUANT = 4  # floor quantile
P_FLOOR_MIN = 5
P_EPOCH = 6  # epoch length, samples
P_FLAT = 7
P_SAT_FRAC = 8
P_DCJUMP = 9
P_MOVE_RATIO = 10
P_MOVE_MIN = 11
P_MAINS_RATIO = 12
P_MAINS_W = 13  # mains angular frequency per sample (0: no check)
P_W_ON_UV = 14
P_W_OFF_UV = 15
P_W_HOLD = 16  # samples
P_W_WIN = 17  # WASM envelope window, samples
P_ENV_WIN = 18  # detection envelope window, samples
P_SETTLE = 19  # absolute sample before which the filters settle: no detection, excluded
P_ADMIT = 20  # a block enters the floor ring when its RMS is below this times the floor
P_STALE = 21  # ... or when no block has entered for this many samples
N_PARAMS = 22

# Epoch flag bits (reason an epoch of a channel is excluded).
FLAG_FLAT = 1
FLAG_SATURATION = 2
FLAG_DC_JUMP = 4
FLAG_MOVEMENT = 8
FLAG_MAINS = 16
FLAG_SETTLING = 32

#: Raw samples identical for this many in a row count as stuck (flat line or rail).
STUCK_RUN = 5

# Output record kinds.
OUT_BURST = 0
OUT_LM = 1


def new_state(n_channels: int, ring_len: int, floor_uv: np.ndarray, start_sample: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh detector state for a stream starting at ``start_sample``.

    Returns
    -------
    fs : ndarray, shape (n_channels, N_FSTATE)
    is_ : ndarray, shape (n_channels, N_ISTATE), int64
    fring : ndarray, shape (n_channels, ring_len)
    """
    fs = np.zeros((n_channels, N_FSTATE))
    fs[:, F_FLOOR] = floor_uv
    fs[:, F_PREV_X] = np.nan
    is_ = np.zeros((n_channels, N_ISTATE), dtype=np.int64)
    is_[:, I_W_QSTART] = -1
    is_[:, I_LAST_ADMIT] = start_sample
    return fs, is_, np.zeros((n_channels, ring_len))


def _sosfilt(sos, x, zi, y):
    """Cascade of second-order sections, transposed direct form II, state in ``zi``.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
    x : ndarray, shape (n_samples, n_channels)
    zi : ndarray, shape (n_channels, n_sections, 2), updated in place
    y : ndarray, shape (n_samples, n_channels), written
    """
    n, nch = x.shape
    nsec = sos.shape[0]
    for c in prange(nch):
        z = zi[c].copy()
        for i in range(n):
            v = x[i, c]
            for s in range(nsec):
                b0 = sos[s, 0]
                b1 = sos[s, 1]
                b2 = sos[s, 2]
                a1 = sos[s, 4]
                a2 = sos[s, 5]
                out = b0 * v + z[s, 0]
                z[s, 0] = b1 * v - a1 * out + z[s, 1]
                z[s, 1] = b2 * v - a2 * out
                v = out
            y[i, c] = v
        zi[c, :, :] = z


def _moving_rms(y, abs_start, ring, rsum, env):
    """Causal moving RMS over the last ``ring.shape[1]`` samples of ``y``.

    The running sum is recomputed exactly whenever the ring wraps (at absolute sample
    positions that are multiples of the window), so rounding cannot drift over a night
    and the result does not depend on how the signal was split into chunks.

    Parameters
    ----------
    y : ndarray, shape (n_samples, n_channels)
    abs_start : int
        Absolute index of ``y[0]``.
    ring : ndarray, shape (n_channels, window), squares of the last samples, updated
    rsum : ndarray, shape (n_channels,), running sum of ``ring``, updated
    env : ndarray, shape (n_samples, n_channels), written (µV)
    """
    n, nch = y.shape
    w = ring.shape[1]
    for c in prange(nch):
        s = rsum[c]
        for i in range(n):
            pos = (abs_start + i) % w
            v = y[i, c] * y[i, c]
            s += v - ring[c, pos]
            ring[c, pos] = v
            if pos == w - 1:
                s = 0.0
                for k in range(w):
                    s += ring[c, k]
            env[i, c] = math.sqrt(max(s, 0.0) / w)
        rsum[c] = s


def _quantile_of(values, count, q):
    """Linear-interpolation quantile of the first ``count`` entries (numpy's default)."""
    tmp = np.sort(values[:count])
    pos = q * (count - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, count - 1)
    frac = pos - lo
    return tmp[lo] * (1.0 - frac) + tmp[hi] * frac


def _detect(x, yh, lo, env, envw, abs_start, p, fs, is_, fring, out_i, out_f, ep_i, ep_f):
    """Noise floor, artefact epochs, hysteresis bursts and WASM leg movements.

    Parameters
    ----------
    x : ndarray, shape (n, n_channels)
        Raw signal, µV (stuck-sample runs).
    yh : ndarray, shape (n + env_window - 1, n_channels)
        Band-passed and notched signal, µV, preceded by the last ``env_window - 1`` samples
        of the previous chunk (zeros before the first chunk), so that burst onsets can look
        back across chunk boundaries.
    lo : ndarray, shape (n, n_channels)
        1-20 Hz band of the raw signal, µV (movement artefact, DC jumps).
    env, envw : ndarray, shape (n, n_channels)
        Moving RMS of ``y`` over the detection and the WASM windows, µV.
    abs_start : int
        Absolute sample index of row 0.
    p : ndarray, shape (N_PARAMS,)
    fs, is_ : ndarray, shape (n_channels, N_FSTATE) and (n_channels, N_ISTATE), updated
    fring : ndarray, shape (n_channels, ring_len), RMS of recent quiet blocks, updated
    out_i : ndarray int64, shape (cap, 4), written: kind, channel, onset, offset (exclusive)
    out_f : ndarray float64, shape (cap, 3), written: peak µV, rms µV, floor µV
    ep_i : ndarray int64, shape (n_epochs_cap, n_channels + 1): epoch index, flags per channel
    ep_f : ndarray float64, shape (n_epochs_cap, n_channels): floor at epoch end, µV

    Returns
    -------
    n_out, n_ep : int
        Records written to ``out_*`` and epochs written to ``ep_*``.
    """
    n, nch = x.shape
    onset_r = p[P_ONSET]
    offset_r = p[P_OFFSET]
    hold = int(p[P_HOLD])
    block = int(p[P_BLOCK])
    epoch = int(p[P_EPOCH])
    wmains = p[P_MAINS_W]
    w_on = p[P_W_ON_UV]
    w_off = p[P_W_OFF_UV]
    w_hold = int(p[P_W_HOLD])
    w_win = int(p[P_W_WIN])
    e_win = int(p[P_ENV_WIN])
    settle = int(p[P_SETTLE])
    ring_len = fring.shape[1]
    n_out = 0
    n_ep = 0
    hist = e_win - 1
    # Mains reference phase: computed exactly at the chunk and every epoch start, rotated
    # by one sample in between (cheaper than a cos and sin per sample).
    cw = math.cos(wmains)
    sw = math.sin(wmains)
    cr = math.cos(wmains * abs_start)
    sr = math.sin(wmains * abs_start)
    for i in range(n):
        a = abs_start + i
        j = i + hist  # row of sample ``a`` in ``yh``
        if a % epoch == 0:
            cr = math.cos(wmains * a)
            sr = math.sin(wmains * a)
        for c in range(nch):
            yv = yh[j, c]
            y2 = yv * yv
            lv = lo[i, c]
            floor = fs[c, F_FLOOR]
            # ---- artefact accumulators ----
            xv = x[i, c]
            if xv == fs[c, F_PREV_X]:
                is_[c, I_RUN] += 1
            else:
                is_[c, I_RUN] = 1
            fs[c, F_PREV_X] = xv
            if is_[c, I_RUN] == STUCK_RUN:
                is_[c, I_EP_STUCK] += STUCK_RUN
            elif is_[c, I_RUN] > STUCK_RUN:
                is_[c, I_EP_STUCK] += 1
            fs[c, F_EP_Y2] += y2
            fs[c, F_EP_LO2] += lv * lv
            if abs(lv) > fs[c, F_EP_LOMAX]:
                fs[c, F_EP_LOMAX] = abs(lv)
            fs[c, F_EP_HRE] += yv * cr
            fs[c, F_EP_HIM] += yv * sr
            is_[c, I_EP_N] += 1
            fs[c, F_BLK_Y2] += y2
            fs[c, F_BLK_LO2] += lv * lv
            # ---- hysteresis burst detector ----
            e = env[i, c]
            if is_[c, I_IN] == 0:
                if e >= onset_r * floor and a >= settle:
                    is_[c, I_IN] = 1
                    # Onset: earliest sample of the envelope window above the onset level.
                    thr = onset_r * floor
                    on = a
                    for k in range(hist, 0, -1):
                        if abs(yh[j - k, c]) >= thr:
                            on = a - k
                            break
                    is_[c, I_ON] = on
                    is_[c, I_LAST] = a
                    is_[c, I_STRONG] = a
                    fs[c, F_B_FLOOR] = floor
                    pk = 0.0
                    s2 = 0.0
                    for k in range(a - on, -1, -1):
                        v = yh[j - k, c]
                        s2 += v * v
                        if abs(v) > pk:
                            pk = abs(v)
                    fs[c, F_B_PEAK] = pk
                    fs[c, F_B_Y2] = s2
                    fs[c, F_B_PEAK_AT] = pk
                    fs[c, F_B_Y2_AT] = s2
            else:
                fs[c, F_B_Y2] += y2
                if abs(yv) > fs[c, F_B_PEAK]:
                    fs[c, F_B_PEAK] = abs(yv)
                if e >= onset_r * fs[c, F_B_FLOOR]:
                    is_[c, I_STRONG] = a
                    fs[c, F_B_PEAK_AT] = fs[c, F_B_PEAK]
                    fs[c, F_B_Y2_AT] = fs[c, F_B_Y2]
                if e >= offset_r * fs[c, F_B_FLOOR]:
                    is_[c, I_LAST] = a
                elif a - is_[c, I_LAST] >= hold:
                    # The burst ended: its offset is where the envelope last stood above the
                    # onset level, less the window's lag (the lower offset level only
                    # decides that the burst is over, so filter ringing does not stretch it).
                    on = is_[c, I_ON]
                    last = is_[c, I_STRONG]
                    off = last - e_win + 2
                    if off <= on:
                        off = on + 1
                    out_i[n_out, 0] = 0
                    out_i[n_out, 1] = c
                    out_i[n_out, 2] = on
                    out_i[n_out, 3] = off
                    out_f[n_out, 0] = fs[c, F_B_PEAK_AT]
                    out_f[n_out, 1] = math.sqrt(fs[c, F_B_Y2_AT] / (last - on + 1))
                    out_f[n_out, 2] = fs[c, F_B_FLOOR]
                    n_out += 1
                    is_[c, I_IN] = 0
            # ---- WASM leg movement ----
            ew = envw[i, c]
            if is_[c, I_W_IN] == 0:
                if ew >= floor + w_on and a >= settle:
                    is_[c, I_W_IN] = 1
                    is_[c, I_W_ON] = a
                    is_[c, I_W_QSTART] = -1
                    fs[c, F_W_FLOOR] = floor
                    fs[c, F_W_PEAK] = abs(yv)
                    fs[c, F_W_Y2] = y2
                    fs[c, F_W_PEAK_AT] = abs(yv)
                    fs[c, F_W_Y2_AT] = y2
            else:
                if ew < fs[c, F_W_FLOOR] + w_off:
                    if is_[c, I_W_QSTART] < 0:
                        is_[c, I_W_QSTART] = a
                        fs[c, F_W_PEAK_AT] = fs[c, F_W_PEAK]
                        fs[c, F_W_Y2_AT] = fs[c, F_W_Y2]
                    elif a - is_[c, I_W_QSTART] + 1 >= w_hold:
                        on = is_[c, I_W_ON]
                        off = is_[c, I_W_QSTART] - w_win + 1
                        if off <= on:
                            off = on + 1
                        out_i[n_out, 0] = 1
                        out_i[n_out, 1] = c
                        out_i[n_out, 2] = on
                        out_i[n_out, 3] = off
                        out_f[n_out, 0] = fs[c, F_W_PEAK_AT]
                        out_f[n_out, 1] = math.sqrt(fs[c, F_W_Y2_AT] / (is_[c, I_W_QSTART] - on))
                        out_f[n_out, 2] = fs[c, F_W_FLOOR]
                        n_out += 1
                        is_[c, I_W_IN] = 0
                else:
                    is_[c, I_W_QSTART] = -1
                fs[c, F_W_Y2] += y2
                if abs(yv) > fs[c, F_W_PEAK]:
                    fs[c, F_W_PEAK] = abs(yv)
            # ---- floor block end ----
            if (a + 1) % block == 0:
                rms_y = math.sqrt(fs[c, F_BLK_Y2] / block)
                rms_lo = math.sqrt(fs[c, F_BLK_LO2] / block)
                moving = rms_lo > p[P_MOVE_RATIO] * rms_y and rms_lo > p[P_MOVE_MIN]
                quiet = rms_y < p[P_ADMIT] * floor or a - is_[c, I_LAST_ADMIT] >= p[P_STALE]
                if quiet and rms_y >= p[P_FLAT] and not moving and a >= settle:
                    is_[c, I_LAST_ADMIT] = a
                    pos = is_[c, I_FR_POS]
                    fring[c, pos] = rms_y
                    is_[c, I_FR_POS] = (pos + 1) % ring_len
                    if is_[c, I_FR_N] < ring_len:
                        is_[c, I_FR_N] += 1
                    q = _quantile_of(fring[c], is_[c, I_FR_N], p[P_QUANT])
                    fs[c, F_FLOOR] = max(q, p[P_FLOOR_MIN])
                fs[c, F_BLK_Y2] = 0.0
                fs[c, F_BLK_LO2] = 0.0
        # ---- epoch end ----
        if (a + 1) % epoch == 0:
            ep_i[n_ep, 0] = a // epoch
            for c in range(nch):
                ep_i[n_ep, c + 1] = _end_epoch(fs, is_, p, c, a + 1 - epoch)
                ep_f[n_ep, c] = fs[c, F_FLOOR]
            n_ep += 1
        # rotate the mains phase by one sample
        t = cr * cw - sr * sw
        sr = sr * cw + cr * sw
        cr = t
    return n_out, n_ep


def _epoch_flags(fs, is_, p, c):
    """Exclusion flags of the epoch accumulated so far for channel ``c`` (0 = usable)."""
    n = is_[c, I_EP_N]
    if n == 0:
        return 0
    rms_y = math.sqrt(fs[c, F_EP_Y2] / n)
    rms_lo = math.sqrt(fs[c, F_EP_LO2] / n)
    flags = 0
    if rms_y < p[P_FLAT]:
        flags |= FLAG_FLAT
    elif is_[c, I_EP_STUCK] > p[P_SAT_FRAC] * n:
        flags |= FLAG_SATURATION
    if fs[c, F_EP_LOMAX] > p[P_DCJUMP]:
        flags |= FLAG_DC_JUMP
    elif rms_lo > p[P_MOVE_RATIO] * rms_y and rms_lo > p[P_MOVE_MIN]:
        flags |= FLAG_MOVEMENT
    if p[P_MAINS_W] > 0.0:
        amp = 2.0 * math.sqrt(fs[c, F_EP_HRE] ** 2 + fs[c, F_EP_HIM] ** 2) / n
        hum_power = 0.5 * amp * amp
        if amp > p[P_MAINS_RATIO] * fs[c, F_FLOOR] and hum_power > 0.5 * rms_y * rms_y:
            flags |= FLAG_MAINS
    return flags


def _end_epoch(fs, is_, p, c, epoch_start):
    """Flags of the epoch starting at ``epoch_start`` for channel ``c``; reset its sums.

    Besides :func:`_epoch_flags`, an epoch is "settling" when it lies before the end of the
    start-up settling time, or follows an epoch that was flat, saturated or had a DC jump
    (the filters ring when the signal comes back).
    """
    flags = _epoch_flags(fs, is_, p, c)
    if epoch_start < p[P_SETTLE]:
        flags |= FLAG_SETTLING
    elif flags == 0 and is_[c, I_PREV_FLAGS] & (FLAG_FLAT | FLAG_SATURATION | FLAG_DC_JUMP):
        flags = FLAG_SETTLING
    is_[c, I_PREV_FLAGS] = flags
    _reset_epoch(fs, is_, c)
    return flags


def _reset_epoch(fs, is_, c):
    fs[c, F_EP_Y2] = 0.0
    fs[c, F_EP_LO2] = 0.0
    fs[c, F_EP_LOMAX] = 0.0
    fs[c, F_EP_HRE] = 0.0
    fs[c, F_EP_HIM] = 0.0
    is_[c, I_EP_STUCK] = 0
    is_[c, I_EP_N] = 0


_jit = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
_epoch_flags = numba.njit(**_jit)(_epoch_flags)
_reset_epoch = numba.njit(**_jit)(_reset_epoch)
_quantile_of = numba.njit(**_jit)(_quantile_of)
_end_epoch = numba.njit(**_jit)(_end_epoch)

sosfilt_kernel = numba.njit(**_jit)(_sosfilt)
sosfilt_kernel_par = numba.njit(parallel=True, **_jit)(_sosfilt)
moving_rms_kernel = numba.njit(**_jit)(_moving_rms)
moving_rms_kernel_par = numba.njit(parallel=True, **_jit)(_moving_rms)
detect_kernel = numba.njit(**_jit)(_detect)
end_epoch_kernel = _end_epoch
