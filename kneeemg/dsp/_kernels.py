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
P_LONG_MIN = 22  # a burst this long (samples) ...
P_LONG_HOLD = 23  # ... ends only after this many samples below the offset level
N_PARAMS = 24

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
    fring : ndarray, shape (n_channels, 2, ring_len)
        Quiet-block RMS values in arrival order (``[:, 0]``) and the same values sorted
        (``[:, 1]``, first ``I_FR_N`` entries).
    """
    fs = np.zeros((n_channels, N_FSTATE))
    fs[:, F_FLOOR] = floor_uv
    fs[:, F_PREV_X] = np.nan
    is_ = np.zeros((n_channels, N_ISTATE), dtype=np.int64)
    is_[:, I_W_QSTART] = -1
    is_[:, I_LAST_ADMIT] = start_sample
    return fs, is_, np.zeros((n_channels, 2, ring_len))


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
        pos = abs_start % w
        for i in range(n):
            v = y[i, c] * y[i, c]
            s += v - ring[c, pos]
            ring[c, pos] = v
            if pos == w - 1:
                s = 0.0
                for k in range(w):
                    s += ring[c, k]
                pos = 0
            else:
                pos += 1
            env[i, c] = math.sqrt(max(s, 0.0) / w)
        rsum[c] = s


def _quantile_sorted(srt, count, q):
    """Linear-interpolation quantile (numpy's default) of the sorted ``srt[:count]``."""
    pos = q * (count - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, count - 1)
    frac = pos - lo
    return srt[lo] * (1.0 - frac) + srt[hi] * frac


def _ring_push(ring, srt, count, pos, value):
    """Put ``value`` in the ring at ``pos`` (replacing the oldest when full) and keep
    ``srt[:count]`` sorted by removing the replaced value and inserting the new one.

    Returns the new count.
    """
    n = count
    if count == ring.shape[0]:
        old = ring[pos]
        k = np.searchsorted(srt[:n], old)
        for m in range(k, n - 1):
            srt[m] = srt[m + 1]
        n -= 1
    ring[pos] = value
    k = np.searchsorted(srt[:n], value)
    for m in range(n, k, -1):
        srt[m] = srt[m - 1]
    srt[k] = value
    return n + 1


def _detect(x, yh, lo, env, envw, abs_start, p, fs, is_, fring, out_i, out_f, n_out, ep_i, ep_f):
    """Noise floor, artefact epochs, hysteresis bursts and WASM leg movements.

    Channels are independent: each one is run from start to end with its state in local
    variables (loaded from and stored back to ``fs``/``is_``), which is what makes this
    kernel fast, and lets the channel-parallel variant split channels across cores.

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
    fring : ndarray, shape (n_channels, 2, ring_len), RMS of recent quiet blocks (arrival
        order and sorted), updated
    out_i : ndarray int64, shape (n_channels, cap, 3), written: kind, onset, offset (exclusive)
    out_f : ndarray float64, shape (n_channels, cap, 3), written: peak µV, rms µV, floor µV
    n_out : ndarray int64, shape (n_channels,), written: records per channel
    ep_i : ndarray int64, shape (n_epochs_cap, n_channels + 1): epoch index, flags per channel
    ep_f : ndarray float64, shape (n_epochs_cap, n_channels): floor at epoch end, µV

    Returns
    -------
    n_ep : int
        Epochs written to ``ep_*`` (the same for every channel).
    """
    n, nch = x.shape
    epoch = int(p[P_EPOCH])
    n_ep = 0
    first_end = abs_start + (epoch - abs_start % epoch)  # one past the end of the first epoch
    for end in range(first_end, abs_start + n + 1, epoch):
        ep_i[n_ep, 0] = (end - 1) // epoch
        n_ep += 1
    for c in prange(nch):
        n_out[c] = _detect_channel(x[:, c], yh[:, c], lo[:, c], env[:, c], envw[:, c], abs_start, p, fs[c], is_[c],
                                   fring[c], out_i[c], out_f[c], ep_i[:, c + 1], ep_f[:, c])
    return n_ep


def _detect_channel(x, yh, lo, env, envw, abs_start, p, fs, is_, fring, out_i, out_f, ep_flags, ep_floor):
    """:func:`_detect` for one channel (1-D views of the same arrays). Returns records written."""
    n = x.shape[0]
    onset_r = p[P_ONSET]
    offset_r = p[P_OFFSET]
    hold = int(p[P_HOLD])
    long_min = int(p[P_LONG_MIN])
    long_hold = int(p[P_LONG_HOLD])
    block = int(p[P_BLOCK])
    epoch = int(p[P_EPOCH])
    wmains = p[P_MAINS_W]
    w_on = p[P_W_ON_UV]
    w_off = p[P_W_OFF_UV]
    w_hold = int(p[P_W_HOLD])
    w_win = int(p[P_W_WIN])
    e_win = int(p[P_ENV_WIN])
    settle = int(p[P_SETTLE])
    flat = p[P_FLAT]
    admit = p[P_ADMIT]
    stale = p[P_STALE]
    move_ratio = p[P_MOVE_RATIO]
    move_min = p[P_MOVE_MIN]
    quant = p[P_QUANT]
    floor_min = p[P_FLOOR_MIN]
    ring = fring[0]
    srt = fring[1]
    ring_len = ring.shape[0]
    hist = e_win - 1
    # ---- load the state into locals ----
    floor = fs[F_FLOOR]
    blk_y2 = fs[F_BLK_Y2]
    blk_lo2 = fs[F_BLK_LO2]
    ep_y2 = fs[F_EP_Y2]
    ep_lo2 = fs[F_EP_LO2]
    ep_lomax = fs[F_EP_LOMAX]
    hre = fs[F_EP_HRE]
    him = fs[F_EP_HIM]
    prev_x = fs[F_PREV_X]
    b_peak = fs[F_B_PEAK]
    b_y2 = fs[F_B_Y2]
    b_peak_at = fs[F_B_PEAK_AT]
    b_y2_at = fs[F_B_Y2_AT]
    b_floor = fs[F_B_FLOOR]
    w_peak = fs[F_W_PEAK]
    w_y2 = fs[F_W_Y2]
    w_peak_at = fs[F_W_PEAK_AT]
    w_y2_at = fs[F_W_Y2_AT]
    w_floor = fs[F_W_FLOOR]
    last_admit = is_[I_LAST_ADMIT]
    ep_stuck = is_[I_EP_STUCK]
    run = is_[I_RUN]
    inb = is_[I_IN]
    on = is_[I_ON]
    last = is_[I_LAST]
    strong = is_[I_STRONG]
    w_in = is_[I_W_IN]
    w_on_at = is_[I_W_ON]
    qstart = is_[I_W_QSTART]
    fr_n = is_[I_FR_N]
    fr_pos = is_[I_FR_POS]
    ep_n = is_[I_EP_N]
    prev_flags = is_[I_PREV_FLAGS]
    n_out = 0
    k_ep = 0
    # Mains reference phase: computed exactly at the chunk and every epoch start, rotated
    # by one sample in between (cheaper than a cos and sin per sample).
    cw = math.cos(wmains)
    sw = math.sin(wmains)
    cr = math.cos(wmains * abs_start)
    sr = math.sin(wmains * abs_start)
    # positions inside the current epoch and floor block (counters, not a modulo per sample)
    ep_pos = abs_start % epoch
    blk_pos = abs_start % block
    for i in range(n):
        a = abs_start + i
        j = i + hist  # row of sample ``a`` in ``yh``
        if ep_pos == 0:
            cr = math.cos(wmains * a)
            sr = math.sin(wmains * a)
        yv = yh[j]
        y2 = yv * yv
        ay = abs(yv)
        lv = lo[i]
        # ---- artefact accumulators ----
        xv = x[i]
        if xv == prev_x:
            run += 1
        else:
            run = 1
        prev_x = xv
        if run == STUCK_RUN:
            ep_stuck += STUCK_RUN
        elif run > STUCK_RUN:
            ep_stuck += 1
        ep_y2 += y2
        ep_lo2 += lv * lv
        if abs(lv) > ep_lomax:
            ep_lomax = abs(lv)
        hre += yv * cr
        him += yv * sr
        ep_n += 1
        blk_y2 += y2
        blk_lo2 += lv * lv
        # ---- hysteresis burst detector ----
        e = env[i]
        if inb == 0:
            if e >= onset_r * floor and a >= settle:
                inb = 1
                # Onset: earliest sample of the envelope window above the onset level.
                thr = onset_r * floor
                on = a
                for k in range(hist, 0, -1):
                    if abs(yh[j - k]) >= thr:
                        on = a - k
                        break
                last = a
                strong = a
                b_floor = floor
                pk = 0.0
                s2 = 0.0
                for k in range(a - on, -1, -1):
                    v = yh[j - k]
                    s2 += v * v
                    if abs(v) > pk:
                        pk = abs(v)
                b_peak = pk
                b_y2 = s2
                b_peak_at = pk
                b_y2_at = s2
        else:
            b_y2 += y2
            if ay > b_peak:
                b_peak = ay
            if e >= onset_r * b_floor:
                strong = a
                b_peak_at = b_peak
                b_y2_at = b_y2
            if e >= offset_r * b_floor:
                last = a
            elif a - last >= (long_hold if last - on >= long_min else hold):
                # The burst ended: its offset is where the envelope last stood above the
                # onset level, less the window's lag (the lower offset level only decides
                # that the burst is over, so filter ringing does not stretch it).
                off = strong - e_win + 2
                if off <= on:
                    off = on + 1
                out_i[n_out, 0] = OUT_BURST
                out_i[n_out, 1] = on
                out_i[n_out, 2] = off
                out_f[n_out, 0] = b_peak_at
                out_f[n_out, 1] = math.sqrt(b_y2_at / (strong - on + 1))
                out_f[n_out, 2] = b_floor
                n_out += 1
                inb = 0
        # ---- WASM leg movement ----
        ew = envw[i]
        if w_in == 0:
            if ew >= floor + w_on and a >= settle:
                w_in = 1
                w_on_at = a
                qstart = -1
                w_floor = floor
                w_peak = ay
                w_y2 = y2
                w_peak_at = ay
                w_y2_at = y2
        else:
            if ew < w_floor + w_off:
                if qstart < 0:
                    qstart = a
                    w_peak_at = w_peak
                    w_y2_at = w_y2
                elif a - qstart + 1 >= w_hold:
                    off = qstart - w_win + 1
                    if off <= w_on_at:
                        off = w_on_at + 1
                    out_i[n_out, 0] = OUT_LM
                    out_i[n_out, 1] = w_on_at
                    out_i[n_out, 2] = off
                    out_f[n_out, 0] = w_peak_at
                    out_f[n_out, 1] = math.sqrt(w_y2_at / (qstart - w_on_at))
                    out_f[n_out, 2] = w_floor
                    n_out += 1
                    w_in = 0
            else:
                qstart = -1
            w_y2 += y2
            if ay > w_peak:
                w_peak = ay
        # ---- floor block end ----
        blk_pos += 1
        if blk_pos == block:
            blk_pos = 0
            rms_y = math.sqrt(blk_y2 / block)
            rms_lo = math.sqrt(blk_lo2 / block)
            moving = rms_lo > move_ratio * rms_y and rms_lo > move_min
            quiet = rms_y < admit * floor or a - last_admit >= stale
            if quiet and rms_y >= flat and not moving and a >= settle:
                last_admit = a
                fr_n = _ring_push(ring, srt, fr_n, fr_pos, rms_y)
                fr_pos = (fr_pos + 1) % ring_len
                floor = max(_quantile_sorted(srt, fr_n, quant), floor_min)
            blk_y2 = 0.0
            blk_lo2 = 0.0
        # ---- epoch end ----
        ep_pos += 1
        if ep_pos == epoch:
            ep_pos = 0
            flags = _epoch_flags(ep_n, ep_y2, ep_lo2, ep_lomax, hre, him, ep_stuck, floor, p)
            if a + 1 - epoch < settle:
                flags |= FLAG_SETTLING
            elif flags == 0 and prev_flags & (FLAG_FLAT | FLAG_SATURATION | FLAG_DC_JUMP):
                flags = FLAG_SETTLING
            prev_flags = flags
            ep_flags[k_ep] = flags
            ep_floor[k_ep] = floor
            k_ep += 1
            ep_y2 = 0.0
            ep_lo2 = 0.0
            ep_lomax = 0.0
            hre = 0.0
            him = 0.0
            ep_stuck = 0
            ep_n = 0
        # rotate the mains phase by one sample
        t = cr * cw - sr * sw
        sr = sr * cw + cr * sw
        cr = t
    # ---- store the state ----
    fs[F_FLOOR] = floor
    fs[F_BLK_Y2] = blk_y2
    fs[F_BLK_LO2] = blk_lo2
    fs[F_EP_Y2] = ep_y2
    fs[F_EP_LO2] = ep_lo2
    fs[F_EP_LOMAX] = ep_lomax
    fs[F_EP_HRE] = hre
    fs[F_EP_HIM] = him
    fs[F_PREV_X] = prev_x
    fs[F_B_PEAK] = b_peak
    fs[F_B_Y2] = b_y2
    fs[F_B_PEAK_AT] = b_peak_at
    fs[F_B_Y2_AT] = b_y2_at
    fs[F_B_FLOOR] = b_floor
    fs[F_W_PEAK] = w_peak
    fs[F_W_Y2] = w_y2
    fs[F_W_PEAK_AT] = w_peak_at
    fs[F_W_Y2_AT] = w_y2_at
    fs[F_W_FLOOR] = w_floor
    is_[I_LAST_ADMIT] = last_admit
    is_[I_EP_STUCK] = ep_stuck
    is_[I_RUN] = run
    is_[I_IN] = inb
    is_[I_ON] = on
    is_[I_LAST] = last
    is_[I_STRONG] = strong
    is_[I_W_IN] = w_in
    is_[I_W_ON] = w_on_at
    is_[I_W_QSTART] = qstart
    is_[I_FR_N] = fr_n
    is_[I_FR_POS] = fr_pos
    is_[I_EP_N] = ep_n
    is_[I_PREV_FLAGS] = prev_flags
    return n_out


def _epoch_flags(n, sum_y2, sum_lo2, lo_max, hum_re, hum_im, stuck, floor, p):
    """Exclusion flags of one epoch of one channel from its sums (0 = usable)."""
    if n == 0:
        return 0
    rms_y = math.sqrt(sum_y2 / n)
    rms_lo = math.sqrt(sum_lo2 / n)
    flags = 0
    if rms_y < p[P_FLAT]:
        flags |= FLAG_FLAT
    elif stuck > p[P_SAT_FRAC] * n:
        flags |= FLAG_SATURATION
    if lo_max > p[P_DCJUMP]:
        flags |= FLAG_DC_JUMP
    elif rms_lo > p[P_MOVE_RATIO] * rms_y and rms_lo > p[P_MOVE_MIN]:
        flags |= FLAG_MOVEMENT
    if p[P_MAINS_W] > 0.0:
        amp = 2.0 * math.sqrt(hum_re**2 + hum_im**2) / n
        hum_power = 0.5 * amp * amp
        if amp > p[P_MAINS_RATIO] * floor and hum_power > 0.5 * rms_y * rms_y:
            flags |= FLAG_MAINS
    return flags


def end_partial_epoch(fs, is_, p, epoch_start):
    """Flags of the unfinished last epoch of each channel, at the end of a stream.

    Returns
    -------
    ndarray int64, shape (n_channels,)
    """
    nch = fs.shape[0]
    out = np.zeros(nch, dtype=np.int64)
    for c in range(nch):
        f = _epoch_flags(is_[c, I_EP_N], fs[c, F_EP_Y2], fs[c, F_EP_LO2], fs[c, F_EP_LOMAX], fs[c, F_EP_HRE],
                         fs[c, F_EP_HIM], is_[c, I_EP_STUCK], fs[c, F_FLOOR], p)
        if epoch_start < p[P_SETTLE]:
            f |= FLAG_SETTLING
        elif f == 0 and is_[c, I_PREV_FLAGS] & (FLAG_FLAT | FLAG_SATURATION | FLAG_DC_JUMP):
            f = FLAG_SETTLING
        out[c] = f
    return out


_jit = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
_epoch_flags = numba.njit(**_jit)(_epoch_flags)
_quantile_sorted = numba.njit(**_jit)(_quantile_sorted)
_ring_push = numba.njit(**_jit)(_ring_push)
_detect_channel = numba.njit(**_jit)(_detect_channel)

sosfilt_kernel = numba.njit(**_jit)(_sosfilt)
sosfilt_kernel_par = numba.njit(parallel=True, **_jit)(_sosfilt)
moving_rms_kernel = numba.njit(**_jit)(_moving_rms)
moving_rms_kernel_par = numba.njit(parallel=True, **_jit)(_moving_rms)
detect_kernel = numba.njit(**_jit)(_detect)
detect_kernel_par = numba.njit(parallel=True, **_jit)(_detect)
