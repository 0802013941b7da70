"""Numba kernels of the signal path.

Each kernel takes plain arrays and scalars, does no I/O and allocates nothing that outlives
the call. State is carried in arrays that the caller owns (a
:class:`~kneeemg.dsp.detector.StreamingDetector` holds them), so a signal processed in one
piece or in any split into chunks gives identical results.
Every kernel has a slow, obviously right counterpart in ``tests/naive.py``.

A chunk goes through two kernels: a filter kernel (band-pass and low band) and
:func:`_detect` (envelopes, floor, potential templates, epochs, bursts, leg movements),
called one after the other on cache-sized sub-blocks by :func:`_filter_detect`.
All work on a range of channels ``c0:c1`` and release the GIL, so the caller can run
channel groups, or the two stages of consecutive blocks, on several cores at once. The filtered signals are stored
channel-major, shape (n_channels, n_samples), so that threads working on different
channels do not write to the same cache lines.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from llvmlite import ir

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
F_RS_E = 19  # running sum of y^2 over the detection envelope window
F_RS_W = 20  # running sum of y^2 over the WASM window
F_EP_XMAX = 21  # epoch: highest raw sample
F_EP_XMIN = 22  # epoch: lowest raw sample
F_RS_T = 23  # running sum of y^2 over the onset window
F_ADMIT = 24  # share of recent floor blocks that were quiet (moving average, 1 at the start)
F_PT_SCORE = 25  # burst: best template score (output^2 / noise) in its first L_max samples
F_B_SPIKE = 26  # burst: the energy of the single-sample spike that fits its start (:func:`_shape_energy`), µV²
F_B_STEP = 27  # burst: the same for one step of the raw signal's offset
N_FSTATE = 28

# --- indices into the per-channel integer state ``is_`` ------------------------------------
I_EP_STUCK_HI = 0  # epoch: samples in runs of >= P_SAT_RUN identical raw values at the epoch's highest value
I_RUN = 1  # length of the current run of identical raw values
I_IN = 2  # inside a burst
I_ON = 3  # burst onset (absolute sample)
I_LAST = 4  # last absolute sample whose envelope was at or above the offset level
I_W_IN = 5  # inside a WASM leg movement
I_W_ON = 6  # its onset
I_W_QSTART = 7  # start of the current quiet run (-1: none)
I_FR_N = 8  # filled entries of the floor ring
I_FR_POS = 9  # next write position in the floor ring
I_EP_N = 10  # samples in the current epoch
I_STRONG = 11  # last absolute sample of the burst whose envelope was at or above the onset level
I_PREV_FLAGS = 12  # flags of the previous epoch
I_EP_STUCK_LO = 13  # epoch: the same at the epoch's lowest value
I_B_END = 14  # burst: offset (exclusive) implied by the last sample of a window above the onset level
I_STALE = 15  # 1 while the floor is stale: every usable block teaches it
I_B_NOISE = 16  # burst: its floor was re-learned while it was open (a lasting rise of the noise)
I_GATE = 17  # the potential test is open up to this absolute sample (the envelope rose near it)
I_PT_N = 18  # samples of the current floor block whose lag products were summed
I_B_PT_ON = 19  # burst: start of the template that matched best in its first L_max samples ...
I_B_PT_LEN = 20  # ... and the length of the potential it models (0: none matched)
I_B_PT_UNTIL = 21  # burst: last sample at which templates are tried (-1: none)
I_B_PT_MIN = 22  # burst: earliest sample such a template may start at (after the previous burst)
I_ACF_N = 23  # blocks the autocorrelation has learned from since the floor started again (up to ring_len)
I_B_ART0 = 24  # burst: the sample it started at, which the spike and step tests look back at (-1: none)
N_ISTATE = 25

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
P_STALE = 21  # ... or, when hardly any block has for about this many samples, every block
P_SUSTAIN = 22  # a burst stays open while the envelope is at or above this times its floor ...
P_SUSTAIN_REL = 23  # ... and at or above this times the burst's RMS so far
P_ONSET_WIN = 24  # onset window, samples (at most P_ENV_WIN)
P_SEARCH = 25  # samples of history a burst onset is searched back in (at least P_ENV_WIN)
P_CUSUM = 26  # reference level of the onset's change point, times the floor
P_POTENTIAL = 27  # a template output this many times its noise RMS starts a burst (0: off)
P_BRIDGE = 28  # activity back after a dip continues the burst when the gap's RMS is this times its floor ...
P_BRIDGE_MAX = 29  # ... and the dip lasted at most this many samples (not above P_HOLD: off)
P_SAT_RUN = 30  # raw samples identical for this many in a row at an epoch's extreme are stuck
P_SPIKE = 31  # a brief burst is a spike when one spike's filtered response explains this share of it (0: off)
P_SPIKE_MAX = 32  # ... and it lasts fewer samples than this (the same for steps)
P_STEP = 33  # a brief burst is a step when one offset step's filtered response explains this share of it (0: off)
N_PARAMS = 34

# Epoch flag bits (reason an epoch of a channel is excluded).
FLAG_FLAT = 1
FLAG_SATURATION = 2
FLAG_DC_JUMP = 4
FLAG_MOVEMENT = 8
FLAG_MAINS = 16
FLAG_SETTLING = 32
FLAG_NOISE_RISE = 64  # set afterwards, by the caller, over the span of an OUT_NOISE record
FLAG_LOST = 128  # set afterwards, by the caller, over samples lost while recording
FLAG_SPIKE = 256  # set afterwards, by the caller, over the span of an OUT_SPIKE record
FLAG_STEP = 512  # set afterwards, by the caller, over the span of an OUT_STEP record

#: Fewest raw samples identical in a row that count as stuck (flat line or rail) when their
#: value is the highest or the lowest of their epoch, whatever the rate (``P_SAT_RUN`` is the
#: run in use, from ``saturation_run_s``). Runs at other values are the quantisation steps of
#: a quiet signal recorded at low resolution, not a rail; short runs at the rails are
#: activity clipped by the recorder's range, which still holds bursts.
STUCK_RUN = 5
#: Below this share of quiet floor blocks the floor is stale and every block teaches it,
#: until the share is back above the second value (hysteresis).
STALE_SHARE = 0.05
FRESH_SHARE = 0.25

#: The potential test is tried while the detection envelope's RMS has been at least this
#: times the floor within the longest template (a cheap gate: the test costs a few hundred
#: multiplications, and in noise the gate is rarely open).
POTENTIAL_GATE = 2.0
#: Number of potential templates (the columns of ``tmpl[0]``; fixed, so that their sums stay
#: in registers).
N_TEMPLATES = 10
#: The background's autocorrelation, from which each template's noise follows, is learned
#: from every this many samples of quiet blocks.
POTENTIAL_STRIDE = 64

#: A moving window's running sum is recomputed from its samples about every this many
#: samples (a serial sum as long as the window: recomputing at every turn of the ring
#: would double the cost of the window).
WINDOW_RESUM = 1024

#: Quiet stretches shorter than this many samples are taken in one sample at a time.
QUIET_SPAN_MIN = 64
#: Samples of a quiet stretch whose sums' changes are taken in one vectorised loop.
QUIET_PIECE = 256
#: Steps by which the second half of the band-pass runs behind the first (:func:`_filter_pipe`).
PIPE_DEPTH = 4
PIPE_VALUES = 2 * PIPE_DEPTH  # the A outputs held, two channels at most

#: A floor that starts again (after a flat warm-up or stretch) tries the potential test only
#: once the background's autocorrelation has learned from this many blocks (the warm-up's 2 s)
#: after its first, and it learns from every sample of them, not every ``POTENTIAL_STRIDE``-th:
#: from one or two blocks, or from every 64th sample of eight (32 products per lag), it is too
#: rough, and noise passed for potentials.
ACF_MIN_BLOCKS = 8

# Output record kinds.
OUT_BURST = 0
OUT_LM = 1
OUT_NOISE = 2  # a "burst" that lasted until the floor was re-learned: the noise itself rose
OUT_SPIKE = 3  # a brief "burst" that one single-sample spike (an electrical artefact) explains
OUT_STEP = 4  # a brief "burst" that one step of the raw signal's offset (an electrode artefact) explains


def new_state(n_channels: int, ring_len: int, floor_uv: np.ndarray, acf: np.ndarray,
              known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh detector state for a stream whose first noise floor is ``floor_uv`` (per channel)
    and whose background's first autocorrelation is ``acf`` (n_channels, L_max), in the
    order of :func:`kneeemg.dsp.potentials.block_lag_means`.

    A channel whose ``known`` is False (its warm-up was flat: the electrode did not touch
    the skin yet) starts with a stale floor, so that its first usable block teaches the
    floor at once and a burst opened by the signal's arrival is the rise of the noise; its
    share of quiet blocks starts at :data:`FRESH_SHARE`, so the first quiet block after
    that one makes the floor fresh again (a burst does not teach it then).

    Returns
    -------
    fs : ndarray, shape (n_channels, N_FSTATE)
    is_ : ndarray, shape (n_channels, N_ISTATE), int64
    fring : ndarray, shape (n_channels, 2, ring_len)
        Quiet-block RMS values in arrival order (``[:, 0]``) and the same values sorted
        (``[:, 1]``, first ``I_FR_N`` entries).
    pts : ndarray, shape (n_channels, 2, L_max)
        The quiet background's autocorrelation, µV² (``[:, 0]``), and the sum of the lag
        products over the current floor block (``[:, 1]``).
    """
    fs = np.zeros((n_channels, N_FSTATE))
    fs[:, F_FLOOR] = floor_uv
    fs[:, F_PREV_X] = np.nan
    fs[:, F_EP_XMAX] = -np.inf
    fs[:, F_EP_XMIN] = np.inf
    fs[:, F_ADMIT] = 1.0
    is_ = np.zeros((n_channels, N_ISTATE), dtype=np.int64)
    if known is not None:
        unknown = ~np.asarray(known, dtype=bool)
        fs[unknown, F_ADMIT] = FRESH_SHARE
        is_[unknown, I_STALE] = 1
    is_[:, I_ACF_N] = ring_len  # the warm-up's autocorrelation counts as learned ...
    if known is not None:
        is_[~np.asarray(known, dtype=bool), I_ACF_N] = 0  # ... unless it was flat
    is_[:, I_W_QSTART] = -1
    is_[:, I_GATE] = -1
    is_[:, I_B_PT_UNTIL] = -1
    is_[:, I_B_ART0] = -1
    acf = np.asarray(acf, dtype=np.float64).reshape(n_channels, -1)
    pts = np.zeros((n_channels, 2, acf.shape[1]))
    pts[:, 0] = acf
    return fs, is_, np.zeros((n_channels, 2, ring_len)), pts


@intrinsic
def _stack_lanes(typingctx, sections, lanes):
    """Stack space for the state of ``lanes`` channels (a literal) through ``sections``.

    Stack memory (not a heap array) lets LLVM keep the filter state in registers once the
    loop over the sections, whose count is fixed by the tuple type, is unrolled.
    """
    if not isinstance(sections, types.UniTuple) or not isinstance(lanes, types.IntegerLiteral):
        return None
    size = max(1, 2 * lanes.literal_value * sections.count)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=size)

    return types.CPointer(types.float64)(sections, lanes), codegen


@intrinsic
def _stack_floats(typingctx, n):
    """Stack space for ``n`` float64 values, ``n`` a compile-time constant."""
    if not isinstance(n, types.IntegerLiteral):
        return None
    size = max(1, n.literal_value)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=size)

    return types.CPointer(types.float64)(n), codegen


def _cascade_step(sos, w, v):
    """One sample through a cascade of sections whose state ``w`` is (z0, z1) per section."""
    for s in range(len(sos)):
        k = sos[s]
        out = k[0] * v + w[2 * s]
        w[2 * s] = k[1] * v - k[4] * out + w[2 * s + 1]
        w[2 * s + 1] = k[2] * v - k[5] * out
        v = out
    return v


def _load_state(z, c, w):
    """Channel ``c`` of the state ``z`` (n_sections, 2, n_channels) into the flat ``w``."""
    for s in range(z.shape[0]):
        w[2 * s] = z[s, 0, c]
        w[2 * s + 1] = z[s, 1, c]


def _store_state(w, z, c):
    """The flat ``w`` back into channel ``c`` of the state ``z``."""
    for s in range(z.shape[0]):
        z[s, 0, c] = w[2 * s]
        z[s, 1, c] = w[2 * s + 1]


def _filter_channels(sos, sos_low, x, z, zl, y, lo, c0, c1):
    """Band-pass and low band of each channel; the state of a channel stays in registers.

    Both cascades are transposed direct form II second-order sections, the arithmetic of
    ``scipy.signal.sosfilt(sos, x, zi=zi)``. The detector runs :func:`_filter_lanes`; this
    plain channel-by-channel kernel defines the arithmetic the vector kernels reproduce, and
    the tests compare them with it value for value.

    Parameters
    ----------
    sos, sos_low : tuple of tuples of 6 floats
        Sections (b0, b1, b2, 1, a1, a2) of the band-pass cascade and of the 1-20 Hz band.
        The number of sections is part of the tuple type, so each count is compiled once.
    x : ndarray, shape (n_samples, n_channels)
    z, zl : ndarray, shape (n_sections, 2, n_channels), state, updated in place
    y, lo : ndarray, shape (n_channels, n_samples), written
    c0, c1 : int
        Channels to filter.
    """
    n = x.shape[0]
    ns = len(sos)
    nl = len(sos_low)
    for c in range(c0, c1):
        w = numba.carray(_stack_lanes(sos, 1), (2 * ns,))
        wl = numba.carray(_stack_lanes(sos_low, 1), (2 * nl,))
        _load_state(z, c, w)
        _load_state(zl, c, wl)
        for i in range(n):
            xv = x[i, c]
            y[c, i] = _cascade_step(sos, w, xv)
            lo[c, i] = _cascade_step(sos_low, wl, xv)
        _store_state(w, z, c)
        _store_state(wl, zl, c)


def _emit_sections(builder, vt, wptr, vptr, count, coef):
    """LLVM IR of one step through ``count`` sections on vectors of type ``vt``: the input
    vector at ``vptr`` (replaced by the output), the state at ``wptr`` (z0 vector, z1
    vector per section), ``coef(s, j)`` the vector of coefficient ``j`` (b0, b1, b2, 1, a1,
    a2) of section ``s``. The arithmetic of :func:`_cascade_step` in every lane."""
    vp = builder.bitcast(vptr, vt.as_pointer())
    x = builder.load(vp, align=8)
    states = builder.bitcast(wptr, vt.as_pointer())
    for s in range(count):
        b0, b1, b2, a1, a2 = (coef(s, j) for j in (0, 1, 2, 4, 5))
        p0 = builder.gep(states, [ir.Constant(ir.IntType(64), 2 * s)])
        p1 = builder.gep(states, [ir.Constant(ir.IntType(64), 2 * s + 1)])
        z0 = builder.load(p0, align=8)
        z1 = builder.load(p1, align=8)
        out = builder.fadd(builder.fmul(b0, x), z0)
        builder.store(builder.fadd(builder.fsub(builder.fmul(b1, x), builder.fmul(a1, out)), z1), p0, align=8)
        builder.store(builder.fsub(builder.fmul(b2, x), builder.fmul(a2, out)), p1, align=8)
        x = out
    builder.store(x, vp, align=8)


@intrinsic
def _lanes_step(typingctx, sections, w, v, lanes):
    """One sample of ``lanes`` channels (a literal) through a cascade of sections, the
    channels in the lanes of one vector: the arithmetic of :func:`_cascade_step` on all of
    them at once.

    ``w`` points at the state, (z0 of each lane, z1 of each lane) per section, and ``v`` at
    the ``lanes`` input values, which are replaced by the outputs.
    """
    if not isinstance(sections, types.UniTuple) or not isinstance(lanes, types.IntegerLiteral):
        return None
    count = sections.count
    width = lanes.literal_value

    def codegen(context, builder, signature, args):
        secs, wptr, vptr, _ = args
        vt = ir.VectorType(ir.DoubleType(), width)
        i32 = ir.IntType(32)
        undef = ir.Constant(vt, ir.Undefined)
        zeros = ir.Constant(ir.VectorType(i32, width), [0] * width)

        def splat(value):
            return builder.shuffle_vector(builder.insert_element(undef, value, ir.Constant(i32, 0)), undef, zeros)

        _emit_sections(builder, vt, wptr, vptr, count, lambda s, j: splat(builder.extract_value(secs, [s, j])))
        return context.get_dummy_value()

    return types.none(sections, w, v, lanes), codegen


def _pipe_plan(n_band, n_low, lanes):
    """The streams of :func:`_pipe_step` (``lanes`` 1 or 2 channels, a vector of four
    lanes): per stream (cascade, first section, sections), the cascade 0 for the band-pass,
    1 for the 1-20 Hz band, -1 for none; and the slots (sections per stream, the longest).

    The band-pass is cut in two halves, A (the first sections) and B (the rest); with one
    channel the 1-20 Hz band is a third stream."""
    half = (n_band + 1) // 2
    streams = [(0, 0, half), (0, half, n_band - half)]
    if lanes == 1:
        streams += [(1, 0, n_low), (-1, 0, 0)]
    return streams, max(1, max(count for _, _, count in streams))


@intrinsic
def _stack_pipe(typingctx, sos, sos_low, lanes):
    """Stack space for the state of :func:`_pipe_step`: two vectors of four values per slot."""
    if not (isinstance(sos, types.UniTuple) and isinstance(sos_low, types.UniTuple)
            and isinstance(lanes, types.IntegerLiteral)):
        return None
    size = 8 * _pipe_plan(sos.count, sos_low.count, lanes.literal_value)[1]

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=size)

    return types.CPointer(types.float64)(sos, sos_low, lanes), codegen


@intrinsic
def _pipe_step(typingctx, sos, sos_low, w, v, lanes):
    """One step of ``lanes`` channels (a literal, 1 or 2) through the band-pass cut in two
    halves that run side by side in one vector of four lanes (:func:`_pipe_plan`): half A
    takes a new sample while half B takes A's output of ``PIPE_DEPTH`` samples before (the
    caller holds them), so the two halves overlap instead of waiting for each other. With
    one channel the 1-20 Hz band runs in a third lane. Slot ``s`` holds section ``s`` of
    each stream; a shorter stream is followed by identity sections (b = a = 1, 0, 0),
    which pass a value on unchanged (x * 1 + 0; a zero's sign aside, as -0.0 + 0.0 is
    0.0). Each lane's arithmetic is that of :func:`_cascade_step`.

    ``w`` points at the state, (z0 vector, z1 vector) per slot, and ``v`` at the four
    inputs (the lanes of each stream), which are replaced by the outputs.
    """
    if not (isinstance(sos, types.UniTuple) and isinstance(sos_low, types.UniTuple)
            and isinstance(lanes, types.IntegerLiteral)):
        return None
    half = lanes.literal_value
    streams, slots = _pipe_plan(sos.count, sos_low.count, half)

    def codegen(context, builder, signature, args):
        band, low, wptr, vptr, _ = args
        dbl = ir.DoubleType()
        vt = ir.VectorType(dbl, 4)
        i32 = ir.IntType(32)
        identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

        def coef(k, s, j):
            cascade, first, count = streams[k // half]
            if s >= count or cascade < 0:
                return ir.Constant(dbl, identity[j])
            return builder.extract_value(band if cascade == 0 else low, [first + s, j])

        def lanes_of(s, j):
            vec = ir.Constant(vt, ir.Undefined)
            for k in range(4):
                vec = builder.insert_element(vec, coef(k, s, j), ir.Constant(i32, k))
            return vec

        _emit_sections(builder, vt, wptr, vptr, slots, lanes_of)
        return context.get_dummy_value()

    return types.none(sos, sos_low, w, v, lanes), codegen


def _pipe_take(x, i, c, lanes, v, hist, slot):
    """The inputs of a step of :func:`_pipe_step`: sample ``i`` of channels ``c:c + lanes``
    into half A (and, with one channel, the 1-20 Hz band's lane); half A's output of
    ``PIPE_DEPTH`` steps before, held in ``hist[slot]``, into half B."""
    for k in range(lanes):
        v[k] = x[i, c + k]
        v[lanes + k] = hist[slot, k]
    if lanes == 1:
        v[2] = v[0]
        v[3] = 0.0


def _pipe_give(x, i, c, lanes, v, hist, slot, lo, sos_low, wlp, up, u):
    """After a step of :func:`_pipe_step`: half A's output into ``hist[slot]``, and sample
    ``i``'s 1-20 Hz band, from the step's third lane (one channel) or through a vector of
    its own (two channels, state at ``wlp``, scratch ``u`` at ``up``)."""
    for k in range(lanes):
        hist[slot, k] = v[k]
    if lanes == 1:
        lo[c, i] = v[2]
    else:
        for k in range(2):
            u[k] = x[i, c + k]
        _lanes_step(sos_low, wlp, up, 2)
        for k in range(2):
            lo[c + k, i] = u[k]


def _filter_pipe(sos, sos_low, x, z, zl, y, lo, c, lanes):
    """Channels ``c:c + lanes`` (``lanes`` 1 or 2) through both cascades, the band-pass in
    two halves that overlap (:func:`_pipe_step`); with two channels the 1-20 Hz band in a
    vector of its own.

    Half B takes half A's output of ``PIPE_DEPTH`` samples before (held in ``hist``), so
    a step need not wait for the one before it to finish. The first ``PIPE_DEPTH`` samples
    go through half A alone (half B's state is put back after each step) and the last
    ``PIPE_DEPTH`` through half B alone (the other lanes' state is put back).
    """
    n = x.shape[0]
    ns = len(sos)
    nl = len(sos_low)
    if n == 0:
        return
    half = (ns + 1) // 2
    slots = max(half, ns - half, nl if lanes == 1 else 1)  # :func:`_pipe_plan`'s, which sizes the stack
    wp = _stack_pipe(sos, sos_low, lanes)
    w = numba.carray(wp, (slots, 2, 4))
    kept = numba.carray(_stack_pipe(sos, sos_low, lanes), (slots, 2, 4))
    vp = _stack_floats(4)
    v = numba.carray(vp, (4,))
    hist = numba.carray(_stack_floats(PIPE_VALUES), (PIPE_DEPTH, 2))
    wlp = _stack_lanes(sos_low, 2)
    wl = numba.carray(wlp, (nl, 2, 2))
    up = _stack_floats(2)
    u = numba.carray(up, (2,))
    for s in range(slots):
        for r in range(2):
            for k in range(4):
                w[s, r, k] = 0.0
    for d in range(PIPE_DEPTH):
        for k in range(2):
            hist[d, k] = 0.0
    for r in range(2):
        for k in range(lanes):
            for s in range(ns):
                w[s if s < half else s - half, r, k if s < half else lanes + k] = z[s, r, c + k]
        if lanes == 1:
            for s in range(nl):
                w[s, r, 2] = zl[s, r, c]
    if lanes == 2:
        for s in range(nl):
            for r in range(2):
                for k in range(2):
                    wl[s, r, k] = zl[s, r, c + k]
    head = min(n, PIPE_DEPTH)
    for i in range(head):
        # half A alone: half B's state is put back after the step
        for s in range(slots):
            for r in range(2):
                for k in range(4):
                    kept[s, r, k] = w[s, r, k]
        _pipe_take(x, i, c, lanes, v, hist, i)
        _pipe_step(sos, sos_low, wp, vp, lanes)
        for s in range(slots):
            for r in range(2):
                for k in range(lanes, 2 * lanes):
                    w[s, r, k] = kept[s, r, k]
        _pipe_give(x, i, c, lanes, v, hist, i, lo, sos_low, wlp, up, u)
    slot = 0
    for i in range(PIPE_DEPTH, n):
        _pipe_take(x, i, c, lanes, v, hist, slot)
        _pipe_step(sos, sos_low, wp, vp, lanes)
        for k in range(lanes):
            y[c + k, i - PIPE_DEPTH] = v[lanes + k]
        _pipe_give(x, i, c, lanes, v, hist, slot, lo, sos_low, wlp, up, u)
        slot = slot + 1 if slot + 1 < PIPE_DEPTH else 0
    for j in range(n - head, n):
        # half B alone, on half A's outputs still held
        for s in range(slots):
            for r in range(2):
                for k in range(4):
                    kept[s, r, k] = w[s, r, k]
        for k in range(lanes):
            v[lanes + k] = hist[slot, k]
        _pipe_step(sos, sos_low, wp, vp, lanes)
        for s in range(slots):
            for r in range(2):
                for k in range(4):
                    if k < lanes or k >= 2 * lanes:
                        w[s, r, k] = kept[s, r, k]
        for k in range(lanes):
            y[c + k, j] = v[lanes + k]
        slot = slot + 1 if slot + 1 < head else 0
    for r in range(2):
        for k in range(lanes):
            for s in range(ns):
                z[s, r, c + k] = w[s if s < half else s - half, r, k if s < half else lanes + k]
        if lanes == 1:
            for s in range(nl):
                zl[s, r, c] = w[s, r, 2]
    if lanes == 2:
        for s in range(nl):
            for r in range(2):
                for k in range(2):
                    zl[s, r, c + k] = wl[s, r, k]


def _filter_group(sos, sos_low, x, z, zl, y, lo, c, lanes):
    """Channels ``c:c + lanes`` (``lanes`` 4: a vector's lanes) through both cascades side
    by side."""
    n = x.shape[0]
    ns = len(sos)
    nl = len(sos_low)
    wp = _stack_lanes(sos, lanes)
    wlp = _stack_lanes(sos_low, lanes)
    vp = _stack_floats(4)
    ulp = _stack_floats(4)
    w = numba.carray(wp, (ns, 2, lanes))
    wl = numba.carray(wlp, (nl, 2, lanes))
    v = numba.carray(vp, (4,))
    u = numba.carray(ulp, (4,))
    for s in range(ns):
        for r in range(2):
            for k in range(lanes):
                w[s, r, k] = z[s, r, c + k]
    for s in range(nl):
        for r in range(2):
            for k in range(lanes):
                wl[s, r, k] = zl[s, r, c + k]
    for i in range(n):
        for k in range(lanes):
            v[k] = x[i, c + k]
            u[k] = v[k]
        _lanes_step(sos, wp, vp, lanes)
        _lanes_step(sos_low, wlp, ulp, lanes)
        for k in range(lanes):
            y[c + k, i] = v[k]
            lo[c + k, i] = u[k]
    for s in range(ns):
        for r in range(2):
            for k in range(lanes):
                z[s, r, c + k] = w[s, r, k]
    for s in range(nl):
        for r in range(2):
            for k in range(lanes):
                zl[s, r, c + k] = wl[s, r, k]


def _filter_lanes(sos, sos_low, x, z, zl, y, lo, c0, c1):
    """:func:`_filter_channels` with channels side by side in the lanes of vectors, four
    at a time; a last pair, or one channel alone, has its band-pass cut in two halves that
    overlap in one vector (:func:`_filter_pipe`): same arguments, same arithmetic."""
    c = c0
    while c + 4 <= c1:
        _filter_group(sos, sos_low, x, z, zl, y, lo, c, 4)
        c += 4
    if c + 2 <= c1:
        _filter_pipe(sos, sos_low, x, z, zl, y, lo, c, 2)
        c += 2
    if c < c1:
        _filter_pipe(sos, sos_low, x, z, zl, y, lo, c, 1)


def _first_nonfinite(x):
    """Row of the first NaN or infinite value of ``x`` (n_samples, n_channels), or -1."""
    n, nch = x.shape
    for i in range(n):
        for c in range(nch):
            if not math.isfinite(x[i, c]):
                return i
    return -1


def _window_push(ring, pos, lap, laps, rsum, v, v2):
    """Put sample ``v`` (square ``v2``) at ``pos`` of a moving window's ring and update the
    running sum of squares. The sum is recomputed exactly every ``laps`` times the
    ring wraps (at absolute positions fixed by the window), so rounding cannot drift over a
    night and the sum does not depend on how the signal was split into chunks.

    Returns the new sum, the next position and the next lap.
    """
    old = ring[pos]
    rsum += v2 - old * old
    ring[pos] = v
    win = ring.shape[0]
    if pos < win - 1:
        return rsum, pos + 1, lap
    if lap < laps - 1:
        return rsum, 0, lap + 1
    rsum = 0.0
    for k in range(win):
        rsum += ring[k] * ring[k]
    return rsum, 0, 0


def _laps(win):
    """Turns of a window's ring between two exact sums (every ``WINDOW_RESUM`` samples or so)."""
    return max(1, WINDOW_RESUM // win)


def _take_in(yv, ring_e, ring_w, ring_t, hring, rs_e, pe, le, n_le, rs_w, pw, lw, n_lw, rs_t, pt, lt, n_lt, ph, short):
    """Sample ``yv`` into the moving windows (envelope, WASM and, when ``short``, onset) and
    the history ring. Returns each window's new sum, position and lap, and the ring's
    next position."""
    y2 = yv * yv
    rs_e, pe, le = _window_push(ring_e, pe, le, n_le, rs_e, yv, y2)
    rs_w, pw, lw = _window_push(ring_w, pw, lw, n_lw, rs_w, yv, y2)
    if short:
        rs_t, pt, lt = _window_push(ring_t, pt, lt, n_lt, rs_t, yv, y2)
    hring[ph] = yv
    ph = ph + 1 if ph + 1 < hring.shape[0] else 0
    return rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph


def _quiet_run(y, i, s1, abs_start, ring_e, ring_w, ring_t, hring, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph, short,
               e_level, t_level, w_level, gate, pend):
    """Take in samples ``y[i:s1]`` (the moving windows and the history ring) while nothing
    can start: every window below its level and the potential test's gate (open up to
    absolute sample ``gate``) closed.

    Returns the index of the first sample at which something may start (already taken
    in; ``pushed`` True) or ``s1`` (``pushed`` False), then the windows' sums, positions and
    laps, the ring's position and ``pend``.

    Samples at which the gate is open go through the rings one by one; the rest through
    :func:`_quiet_span`, which writes no ring. The samples it took in from ``y[pend]`` on
    (``pend`` -1: none) are not yet in the rings: the caller writes them
    (:func:`_fill_rings`) before it reads a ring, which a long quiet stretch then does once.
    """
    n_le = _laps(ring_e.shape[0])
    n_lw = _laps(ring_w.shape[0])
    n_lt = _laps(ring_t.shape[0])
    h_len = hring.shape[0]
    # one by one while the gate is open, and through a stretch too short to repay the set-up
    # of :func:`_quiet_span` and of the rings' filling (a live chunk's)
    lead = s1 if s1 - i < QUIET_SPAN_MIN else gate - abs_start + 1
    if pend >= 0 and i < lead:
        _fill_rings(y, pend, i, abs_start, ring_e, ring_w, ring_t, hring, short)
        pend = -1
    while i < min(s1, lead):
        # :func:`_take_in`, written out: numba compiles this loop about 1.7 times slower
        # when it inlines that function here.
        yv = y[i]
        y2 = yv * yv
        rs_e, pe, le = _window_push(ring_e, pe, le, n_le, rs_e, yv, y2)
        rs_w, pw, lw = _window_push(ring_w, pw, lw, n_lw, rs_w, yv, y2)
        if short:
            rs_t, pt, lt = _window_push(ring_t, pt, lt, n_lt, rs_t, yv, y2)
        hring[ph] = yv
        ph = ph + 1 if ph + 1 < h_len else 0
        if rs_e >= e_level or rs_w >= w_level or (short and rs_t >= t_level) or abs_start + i <= gate:
            return i, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph, True, pend
        i += 1
    if i >= s1:
        return s1, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph, False, pend
    if pend < 0:
        pend = i
    j, rs_e, rs_w, rs_t = _quiet_span(y, i, s1, abs_start, ring_e, ring_w, ring_t, rs_e, rs_w, rs_t, short, e_level,
                                      t_level, w_level)
    pe, le, pw, lw, pt, lt, ph = _positions(abs_start + min(j + 1, s1), ring_e.shape[0], ring_w.shape[0],
                                            ring_t.shape[0], h_len, short, pt, lt)
    return j, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph, j < s1, pend


def _positions(a, e_win, w_win, t_win, h_len, short, pt, lt):
    """The windows' positions and laps, and the history ring's position, at which absolute
    sample ``a`` goes (the onset window's ``pt``, ``lt`` kept unless ``short``)."""
    if short:
        pt = a % t_win
        lt = a // t_win % _laps(t_win)
    return a % e_win, a // e_win % _laps(e_win), a % w_win, a // w_win % _laps(w_win), pt, lt, a % h_len


def _next_resum(i, abs_start, win):
    """Index of the first sample from ``i`` on after which :func:`_window_push` recomputes
    the sum of a window of ``win`` samples (the last of a run of ``_laps(win)`` turns)."""
    period = win * _laps(win)
    return i + (period - 1 - (abs_start + i) % period)


def _resum_at(y, ring, k, abs_start):
    """Sum of squares of the window of ``len(ring)`` samples that ends at ``y[k]``, oldest
    first (:func:`_window_push`'s exact recomputation, from the signal and, before the
    chunk, from the ring)."""
    win = ring.shape[0]
    rsum = 0.0
    for m in range(k - win + 1, k + 1):
        v = y[m] if m >= 0 else ring[(abs_start + m) % win]
        rsum += v * v
    return rsum


def _span_step(yv, oe, ow, ot, rs_e, rs_w, rs_t, short):
    """The windows' sums after taking in ``yv`` and dropping ``oe``, ``ow`` and ``ot``
    (:func:`_window_push`'s arithmetic)."""
    y2 = yv * yv
    rs_e += y2 - oe * oe
    rs_w += y2 - ow * ow
    if short:
        rs_t += y2 - ot * ot
    return rs_e, rs_w, rs_t


def _quiet_span(y, i, s1, abs_start, ring_e, ring_w, ring_t, rs_e, rs_w, rs_t, short, e_level, t_level, w_level):
    """The moving windows' sums over ``y[i:s1]`` until one reaches its level, with the
    arithmetic of :func:`_window_push` (the same sums, bit for bit) but writing no ring:
    each window's oldest sample is read from ``y`` or, before the chunk, from its ring
    (which still holds it: a ring is written only up to the sample before, or not at all).

    Returns the index of the sample at which a window reached its level (or ``s1``) and
    the sums after it.
    """
    e_win = ring_e.shape[0]
    w_win = ring_w.shape[0]
    t_win = ring_t.shape[0]
    lead = max(e_win, w_win, t_win if short else 0)  # from here on every window's oldest sample is in y
    d_e = numba.carray(_stack_floats(QUIET_PIECE), (QUIET_PIECE,))
    d_w = numba.carray(_stack_floats(QUIET_PIECE), (QUIET_PIECE,))
    d_t = numba.carray(_stack_floats(QUIET_PIECE), (QUIET_PIECE,))
    while i < s1:
        r_e = _next_resum(i, abs_start, e_win)
        r_w = _next_resum(i, abs_start, w_win)
        r_t = _next_resum(i, abs_start, t_win) if short else s1
        stop = min(s1, r_e, r_w, r_t)
        for k in range(i, min(stop, lead)):
            # the dropped samples written out here and below: a helper that takes the rings
            # as arguments made this loop twice as slow
            oe = y[k - e_win] if k >= e_win else ring_e[(abs_start + k) % e_win]
            ow = y[k - w_win] if k >= w_win else ring_w[(abs_start + k) % w_win]
            ot = (y[k - t_win] if k >= t_win else ring_t[(abs_start + k) % t_win]) if short else 0.0
            rs_e, rs_w, rs_t = _span_step(y[k], oe, ow, ot, rs_e, rs_w, rs_t, short)
            if rs_e >= e_level or rs_w >= w_level or (short and rs_t >= t_level):
                return k, rs_e, rs_w, rs_t
        k = max(i, lead)
        while k < stop:
            # In pieces: each sample's change of each sum (its square less the dropped
            # sample's, :func:`_span_step`'s terms) in a loop of their own, which the
            # compiler vectorises, then the sums, added in sample order as before.
            q = min(stop, k + QUIET_PIECE)
            yk = y[k:q]
            ye = y[k - e_win : q - e_win]
            yw = y[k - w_win : q - w_win]
            for m in range(q - k):
                y2 = yk[m] * yk[m]
                d_e[m] = y2 - ye[m] * ye[m]
                d_w[m] = y2 - yw[m] * yw[m]
            if short:
                yt = y[k - t_win : q - t_win]
                for m in range(q - k):
                    d_t[m] = yk[m] * yk[m] - yt[m] * yt[m]
                for m in range(q - k):
                    rs_e += d_e[m]
                    rs_w += d_w[m]
                    rs_t += d_t[m]
                    if rs_e >= e_level or rs_w >= w_level or rs_t >= t_level:
                        return k + m, rs_e, rs_w, rs_t
            else:
                for m in range(q - k):
                    rs_e += d_e[m]
                    rs_w += d_w[m]
                    if rs_e >= e_level or rs_w >= w_level:
                        return k + m, rs_e, rs_w, rs_t
            k = q
        i = stop
        if i == s1:
            break
        # a sample after which a window's sum is recomputed: taken in as above first, each
        # window's sum then recomputed if it is that window's
        oe = y[i - e_win] if i >= e_win else ring_e[(abs_start + i) % e_win]
        ow = y[i - w_win] if i >= w_win else ring_w[(abs_start + i) % w_win]
        ot = (y[i - t_win] if i >= t_win else ring_t[(abs_start + i) % t_win]) if short else 0.0
        rs_e, rs_w, rs_t = _span_step(y[i], oe, ow, ot, rs_e, rs_w, rs_t, short)
        if i == r_e:
            rs_e = _resum_at(y, ring_e, i, abs_start)
        if i == r_w:
            rs_w = _resum_at(y, ring_w, i, abs_start)
        if short and i == r_t:
            rs_t = _resum_at(y, ring_t, i, abs_start)
        if rs_e >= e_level or rs_w >= w_level or (short and rs_t >= t_level):
            return i, rs_e, rs_w, rs_t
        i += 1
    return s1, rs_e, rs_w, rs_t


def _fill_rings(y, i0, i1, abs_start, ring_e, ring_w, ring_t, hring, short):
    """Write the samples ``y[i0:i1]`` into the windows' rings and the history ring."""
    _ring_fill(ring_e, y, i0, i1, abs_start)
    _ring_fill(ring_w, y, i0, i1, abs_start)
    if short:
        _ring_fill(ring_t, y, i0, i1, abs_start)
    _ring_fill(hring, y, i0, i1, abs_start)


def _ring_fill(ring, y, i0, i1, abs_start):
    """Write the samples ``y[i0:i1]`` that the ring still holds afterwards (its last
    ``len(ring)``) at their positions, ``absolute index % len(ring)``."""
    r_len = ring.shape[0]
    k = max(i0, i1 - r_len)
    pos = (abs_start + k) % r_len
    while k < i1:
        run = min(i1 - k, r_len - pos)
        src = y[k : k + run]  # views indexed by the loop counter: a plain copy loop
        dst = ring[pos : pos + run]
        for m in range(run):
            dst[m] = src[m]
        k += run
        pos = 0


def _window_end(a, long_on, long_win, short_on, short_win, end):
    """Offset (exclusive) of activity whose moving window(s) stand above the onset level at
    sample ``a``: one past the oldest sample of the window, the latest of the windows above
    (and of ``end``, the offset found so far)."""
    if long_on:
        end = max(end, a - long_win + 2)
    if short_on:
        end = max(end, a - short_win + 2)
    return end


def _floor_levels(floor, onset_r, w_on, e_win, t_win, w_win):
    """The onset threshold (µV) and the levels that start a burst (envelope and onset
    windows), a WASM movement and open the potential test, as sums of squares over the
    windows, from the floor."""
    on_thr = onset_r * floor
    return (on_thr, on_thr * on_thr * e_win, on_thr * on_thr * t_win, (floor + w_on) ** 2 * w_win,
            (POTENTIAL_GATE * floor) ** 2 * e_win)


def _burst_levels(b_floor, onset_r, offset_r, sustain_r, e_win, t_win):
    """A burst's onset (envelope and onset windows), offset and sustain levels, as sums of
    squares over the windows, from the floor it is measured against."""
    return ((onset_r * b_floor) ** 2 * e_win, (onset_r * b_floor) ** 2 * t_win, (offset_r * b_floor) ** 2 * e_win,
            (sustain_r * b_floor) ** 2 * e_win)


def _change_point(hring, a, n_back, level2):
    """Onset of the activity that is under way at absolute sample ``a``: its change point.

    Over the last ``n_back + 1`` samples held in the ring ``hring`` (indexed by absolute
    sample modulo its length), the running sum of ``y**2 - level2`` falls while only noise
    is present and rises once activity starts; the sample after its (last) minimum is the
    onset (a CUSUM change-point estimate).
    """
    h_len = hring.shape[0]
    s = 0.0
    s_min = 0.0
    on = a - n_back
    for k in range(n_back, -1, -1):
        v = hring[(a - k) % h_len]
        s += v * v - level2
        if s <= s_min:
            s_min = s
            on = a - k + 1
    return min(on, a)


def _gather(hring, a, win):
    """The ``len(win)`` filtered samples that end at absolute sample ``a``, from the ring."""
    h_len = hring.shape[0]
    l_max = win.shape[0]
    k = (a - l_max + 1) % h_len  # one modulo, then two contiguous runs of the ring
    first = min(l_max, h_len - k)
    for m in range(first):
        win[m] = hring[k + m]
    for m in range(first, l_max):
        win[m] = hring[m - first]


def _lag_products(y, hring, abs_start, s0, s1, acc, stride):
    """Add the lag products ``y[i] * y[i - k]`` (``k = L_max - 1 - m`` into ``acc[m]``) of
    every ``stride``-th absolute sample of ``y[s0:s1]``, in sample order.

    Samples before the chunk come from the history ring, which holds them until the
    chunk's samples are written to it. Returns the number of samples taken.
    """
    h_len = hring.shape[0]
    l_max = acc.shape[0]
    first = s0 + (-(abs_start + s0)) % stride
    taken = 0
    for i in range(first, s1, stride):
        taken += 1
        v = y[i]
        j0 = i - l_max + 1
        if j0 >= 0:
            w = y[j0 : i + 1]  # a view: indexing it by the loop counter lets the loop be vectorised
            for m in range(l_max):
                acc[m] += v * w[m]
        else:
            for m in range(l_max):
                j = j0 + m
                acc[m] += v * (y[j] if j >= 0 else hring[(abs_start + j) % h_len])
    return taken


def _template_noise(wts, acf, least, out):
    """Each template's output mean square over a background of autocorrelation ``acf``:
    ``out[j] = sum_m wts[m, j] * acf[m]`` (at least ``least``), µV²."""
    for j in range(out.shape[0]):
        out[j] = 0.0
    for m in range(acf.shape[0]):
        for j in range(out.shape[0]):
            out[j] += wts[m, j] * acf[m]
    for j in range(out.shape[0]):
        out[j] = max(out[j], least)


def _template_outputs(hring, a, tmpl, win, out):
    """Each potential template's output at absolute sample ``a``: its correlation with the
    filtered samples it covers, which end at ``a`` (``out[j]``, µV, for a unit-energy template).

    ``tmpl`` (L_max, n_templates) holds template ``j`` in column ``j``, at its end (zeros
    before a shorter one); ``win`` is scratch space of ``L_max`` values. The templates are
    summed side by side, sample by sample, so the sums are independent of one another.
    """
    l_max = tmpl.shape[0]
    _gather(hring, a, win)
    acc = numba.carray(_stack_floats(N_TEMPLATES), (N_TEMPLATES,))
    for j in range(N_TEMPLATES):
        acc[j] = 0.0
    for m in range(l_max):
        v = win[m]
        for j in range(N_TEMPLATES):
            acc[j] += tmpl[m, j] * v
    for j in range(N_TEMPLATES):
        out[j] = acc[j]


def _best_template(hring, a, tmpl, win, out, noise2, level2):
    """The template whose output at ``a`` stands highest above its noise mean square
    ``noise2[j]``, at least ``level2`` times it, and that ratio; (-1, 0) when none does."""
    _template_outputs(hring, a, tmpl, win, out)
    best = -1
    score = 0.0
    for j in range(out.shape[0]):
        r = out[j] * out[j] / noise2[j]
        if r >= level2 and r > score:
            best = j
            score = r
    return best, score


def _shape_energy(hring, a0, shape, back, share):
    """The energy of one artefact's whole filtered response, for the window that it explains
    best where it explains nearly all, for a burst that started at absolute sample ``a0``.

    ``shape`` is the start of the response, scaled so that the whole response has unit energy
    (:func:`kneeemg.dsp.potentials.artefact_shape`); its samples hold ``w`` of it. For each
    window of ``len(shape)`` samples of the history ring that starts from ``back`` samples
    before ``a0`` up to ``a0``, with ``c`` its correlation with ``shape``, the artefact that
    fits it best explains ``c**2 / w`` of its energy, and its whole response has the energy
    ``c**2 / w**2`` (µV²). The window counts when the energy explained is at least ``share``
    of the energy of the window widened by ``len(shape) // 2`` samples on each side (so that a
    potential longer than the window, of which a part resembles the shape, does not count).
    Returns the largest whole-response energy of a window that counts (0 when none does). The
    ring must hold the samples up to ``a0 + len(shape) + len(shape) // 2 - 1``.
    """
    h_len = hring.shape[0]
    n = shape.shape[0]
    m = n // 2
    w = 0.0
    for k in range(n):
        w += shape[k] * shape[k]
    best = 0.0
    for s in range(a0 - back, a0 + 1):
        acc = 0.0
        for k in range(n):
            acc += hring[(s + k) % h_len] * shape[k]
        e = 0.0
        for k in range(-m, n + m):
            v = hring[(s + k) % h_len]
            e += v * v
        if acc * acc >= share * e * w and acc * acc / (w * w) > best:
            best = acc * acc / (w * w)
    return best


def _artefact_kind(n_span, b_y2, b_spike, b_step, p):
    """The record kind of a burst of ``n_span`` samples and energy ``b_y2`` (µV², from its
    onset to its last sample above the onset level): OUT_SPIKE or OUT_STEP when it is briefer
    than ``p[P_SPIKE_MAX]`` samples and ``b_spike`` or ``b_step`` (:func:`_shape_energy` at its
    start) is at least ``p[P_SPIKE]`` or ``p[P_STEP]`` of its energy (the one that explains
    more when both are), else OUT_BURST."""
    if n_span >= p[P_SPIKE_MAX] or b_y2 <= 0.0:
        return OUT_BURST
    spike = p[P_SPIKE] > 0.0 and b_spike > 0.0 and b_spike >= p[P_SPIKE] * b_y2
    step = p[P_STEP] > 0.0 and b_step > 0.0 and b_step >= p[P_STEP] * b_y2
    if spike and (not step or b_spike >= b_step):
        return OUT_SPIKE
    return OUT_STEP if step else OUT_BURST


def _raw_pass(x, s0, s1, x_max, x_min, prev_x, run, stuck_hi, stuck_lo, run_min):
    """Raw samples ``x[s0:s1]`` into an epoch's highest and lowest values and the samples
    stuck at them (runs of at least ``run_min`` identical values). Returns the new state.

    A stretch in which no sample equals the one before (:func:`_raw_distinct`) holds no
    run: only its highest and lowest values count, found without branches
    (:func:`_raw_extremes`).
    """
    seg = x[s0:s1]
    if seg.shape[0] > 0 and seg[0] != prev_x and _raw_distinct(seg):
        hi, lo = _raw_extremes(seg)
        if hi > x_max:
            x_max = hi
            stuck_hi = 0
        if lo < x_min:
            x_min = lo
            stuck_lo = 0
        return x_max, x_min, seg[seg.shape[0] - 1], 1, stuck_hi, stuck_lo
    for i in range(seg.shape[0]):
        xv = seg[i]
        if xv > x_max:
            x_max = xv
            stuck_hi = 0
        if xv < x_min:
            x_min = xv
            stuck_lo = 0
        if xv == prev_x:
            run += 1
            add = run_min if run == run_min else (1 if run > run_min else 0)
            if xv == x_max:
                stuck_hi += add
            if xv == x_min:
                stuck_lo += add
        else:
            run = 1
        prev_x = xv
    return x_max, x_min, prev_x, run, stuck_hi, stuck_lo


def _raw_distinct(seg):
    """True when no sample of ``seg`` equals the one before it."""
    same = False
    for i in range(1, seg.shape[0]):
        same |= seg[i] == seg[i - 1]
    return not same


def _raw_extremes(seg):
    """Highest and lowest value of ``seg`` (at least one sample), four running extremes at
    a time (independent of one another, so the processor overlaps them)."""
    n = seg.shape[0]
    h0 = h1 = h2 = h3 = l0 = l1 = l2 = l3 = seg[0]
    i = 0
    while i + 4 <= n:
        a, b, c, d = seg[i], seg[i + 1], seg[i + 2], seg[i + 3]
        h0 = a if a > h0 else h0
        h1 = b if b > h1 else h1
        h2 = c if c > h2 else h2
        h3 = d if d > h3 else h3
        l0 = a if a < l0 else l0
        l1 = b if b < l1 else l1
        l2 = c if c < l2 else l2
        l3 = d if d < l3 else l3
        i += 4
    while i < n:
        v = seg[i]
        h0 = v if v > h0 else h0
        l0 = v if v < l0 else l0
        i += 1
    return max(max(h0, h1), max(h2, h3)), min(min(l0, l1), min(l2, l3))


def _power_pass(y, lo, mtab, mains, s0, s1, ep_pos, ep_y2, ep_lo2, ep_lomax, blk_y2, blk_lo2, hre, him):
    """Samples ``s0:s1`` of the filtered signal and of the low band into the epoch's and the
    floor block's sums of squares, the epoch's largest low-band value and, with ``mains``,
    the epoch's mains phasor (``ep_pos`` is the position of ``s0`` in its epoch)."""
    ys = y[s0:s1]
    ls = lo[s0:s1]
    cos = mtab[0, ep_pos : ep_pos + (s1 - s0)]
    sin = mtab[1, ep_pos : ep_pos + (s1 - s0)]
    for i in range(ys.shape[0]):
        yv = ys[i]
        lv = ls[i]
        y2 = yv * yv
        lv2 = lv * lv
        ep_y2 += y2
        ep_lo2 += lv2
        if abs(lv) > ep_lomax:
            ep_lomax = abs(lv)
        blk_y2 += y2
        blk_lo2 += lv2
        if mains:
            hre += yv * cos[i]
            him += yv * sin[i]
    return ep_y2, ep_lo2, ep_lomax, blk_y2, blk_lo2, hre, him


def _quantile_sorted(srt, count, q):
    """Linear-interpolation quantile (numpy's default) of the sorted ``srt[:count]``."""
    pos = q * (count - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, count - 1)
    frac = pos - lo
    return srt[lo] * (1.0 - frac) + srt[hi] * frac


@intrinsic
def _move(typingctx, arr, dst, src, count):
    """Move ``count`` values of the contiguous 1-D ``arr`` from index ``src`` to index
    ``dst`` (the ranges may overlap): one ``memmove``. Unchecked: the caller keeps
    ``count >= 0`` and both ranges inside ``arr``."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        a, d, s, n = args
        data = context.make_array(signature.args[0])(context, builder, a).data
        size = ir.Constant(ir.IntType(64), context.get_abi_sizeof(context.get_data_type(arr.dtype)))
        cgutils.raw_memmove(builder, builder.gep(data, [d]), builder.gep(data, [s]), n, size)
        return context.get_dummy_value()

    return types.none(arr, types.int64, types.int64, types.int64), codegen


def _sorted_place(srt, count, value, right):
    """``np.searchsorted(srt[:count], value, side="right" if right else "left")`` for a
    sorted ``srt`` without NaN: a binary search whose steps select without branching
    (a branch per step would be mispredicted half the time)."""
    if count == 0:
        return 0
    base = 0
    n = count
    while n > 1:
        half = n >> 1
        v = srt[base + half]
        base = base + half if (v <= value if right else v < value) else base
        n -= half
    v = srt[base]
    return base + (1 if (v <= value if right else v < value) else 0)


def _ring_push(ring, srt, count, pos, value):
    """Put ``value`` in the ring at ``pos`` (replacing the oldest when full) and keep
    ``srt[:count]`` sorted: the values between the replaced one's place and the new one's
    move by one (places found by binary search, the values moved by one ``memmove``).

    Returns the new count.
    """
    if count < ring.shape[0]:
        ring[pos] = value
        k = _sorted_place(srt, count, value, False)
        _move(srt, k + 1, k, count - k)
        srt[k] = value
        return count + 1
    old = ring[pos]
    ring[pos] = value
    k = _sorted_place(srt, count, old, False)  # the replaced value's place
    if value >= old:
        # the values after it that are below ``value`` move down by one
        j = max(k, _sorted_place(srt, count, value, False) - 1)
        _move(srt, k, k + 1, j - k)
    else:
        # the values before it that are above ``value`` move up by one
        j = min(k, _sorted_place(srt, count, value, True))
        _move(srt, j + 1, j, k - j)
    srt[j] = value
    return count


def _detect(x, y, lo, abs_start, p, mtab, tmpl, tlen, spk, stp, ring, fs, is_, fring, pts, out_i, out_f, n_out, ep_i,
            ep_f, c0, c1):
    """Envelopes, noise floor, artefact epochs, hysteresis bursts and WASM leg movements.

    Channels are independent: each one is run from start to end with its state in local
    variables (loaded from and stored back to ``fs``/``is_``), which is what makes this
    kernel fast, and lets two threads take different channels at the same time.

    Parameters
    ----------
    x : ndarray, shape (n, n_channels)
        Raw signal, µV (stuck-sample runs).
    y : ndarray, shape (n_channels, n)
        Band-passed and notched signal, µV.
    lo : ndarray, shape (n_channels, n)
        1-20 Hz band of the raw signal, µV (movement artefact, DC jumps).
    abs_start : int
        Absolute sample index of row 0.
    p : ndarray, shape (N_PARAMS,)
    mtab : ndarray, shape (2, epoch samples)
        cos and sin of the mains phase at each position of an epoch (unused without mains).
    tmpl : ndarray, shape (2, L_max, n_templates)
        Potential templates (unit energy), one per column, at the column's end (``[0]``),
        and the weights that turn the background's autocorrelation into each template's
        noise (``[1]``; see :func:`kneeemg.dsp.potentials.templates`).
    tlen : ndarray int64, shape (n_templates, 2)
        Each template's length and the length of the potential it models, samples.
    spk, stp : ndarray, shape (L_spike,) and (L_step,)
        The first samples of the filters' responses to a single-sample spike and to a step,
        each response at unit energy (:func:`kneeemg.dsp.potentials.artefact_shape`; a test is
        off when its shape is empty).
    ring : ndarray, shape (n_channels, >= env_window + wasm_window + onset_window + search), updated
        The last filtered samples: the detection envelope's window, the WASM window's, the
        onset window's, then the history that a burst onset is searched back in and the
        templates, lag products and artefact tests read, each at position ``absolute index % length``.
    fs, is_ : ndarray, shape (n_channels, N_FSTATE) and (n_channels, N_ISTATE), updated
    fring : ndarray, shape (n_channels, 2, ring_len), RMS of recent quiet blocks (arrival
        order and sorted), updated
    pts : ndarray, shape (n_channels, 2, L_max), background autocorrelation (see :func:`new_state`), updated
    out_i : ndarray int64, shape (cap, n_channels, 3), written: kind, onset, offset (exclusive)
    out_f : ndarray float64, shape (cap, n_channels, 3), written: peak µV, rms µV, floor µV
    n_out : ndarray int64, shape (n_channels,), updated: records per channel. A channel's
        records are written after the ``n_out[c]`` already there (the caller sets it to 0
        for a fresh output), and ``n_out[c]`` is increased by their number.
    ep_i : ndarray int64, shape (n_epochs_cap, n_channels + 1): epoch index, flags per channel
    ep_f : ndarray float64, shape (n_epochs_cap, n_channels): floor at epoch end, µV
    c0, c1 : int
        Channels to process (the epoch index column is written when ``c0 == 0``).

    Returns
    -------
    n_ep : int
        Epochs written to ``ep_*`` (the same for every channel).
    """
    n = x.shape[0]
    epoch = int(p[P_EPOCH])
    n_ep = 0
    first_end = abs_start + (epoch - abs_start % epoch)  # one past the end of the first epoch
    for end in range(first_end, abs_start + n + 1, epoch):
        if c0 == 0:
            ep_i[n_ep, 0] = (end - 1) // epoch
        n_ep += 1
    for c in range(c0, c1):
        k = n_out[c]
        n_out[c] = k + _detect_channel(x[:, c], y[c], lo[c], abs_start, p, mtab, tmpl, tlen, spk, stp, ring[c], fs[c],
                                       is_[c], fring[c], pts[c], out_i[k:, c], out_f[k:, c], ep_i[:, c + 1], ep_f[:, c])
    return n_ep


def _filter_detect(sos, sos_low, x, z, zl, ybuf, lobuf, y_keep, keep, abs_start, p, mtab, tmpl, tlen, spk, stp, ring,
                   fs, is_, fring, pts, out_i, out_f, n_out, ep_i, ep_f, c0, c1):
    """Both stages, :func:`_filter_lanes` and :func:`_detect`, over ``x`` in sub-blocks of
    ``len(ybuf) // n_channels`` rows, so that the detect stage reads the filtered signals
    while they are still in the processor's cache. The results are those of one call of
    each over the whole of ``x``: the state carries over, and the kernels give the same
    results for any split of a signal.

    Parameters
    ----------
    ybuf, lobuf : ndarray, shape (>= n_channels * rows,)
        Scratch space for the filtered signal and the low band of a sub-block.
    y_keep : ndarray, shape (n_channels, n_samples)
        The filtered signal is copied here (channels ``c0:c1``) when ``keep`` is true.
    Others as in :func:`_filter_channels` and :func:`_detect`; ``n_out`` is set here.

    Returns
    -------
    n_ep : int
        Epochs written to ``ep_*``.
    """
    n, nch = x.shape
    flat = x.reshape(n * nch)
    rows = ybuf.shape[0] // nch
    for c in range(c0, c1):
        n_out[c] = 0
    n_ep = 0
    a = 0
    while a < n:
        m = min(rows, n - a)
        # rows a:a + m, typed as contiguous (as the kernels are compiled for whole blocks)
        xs = flat[a * nch : (a + m) * nch].reshape((m, nch))
        y = ybuf[: nch * m].reshape((nch, m))
        lo = lobuf[: nch * m].reshape((nch, m))
        filter_lanes_kernel(sos, sos_low, xs, z, zl, y, lo, c0, c1)
        n_ep += detect_kernel(xs, y, lo, abs_start + a, p, mtab, tmpl, tlen, spk, stp, ring, fs, is_, fring, pts,
                              out_i, out_f, n_out, ep_i[n_ep:], ep_f[n_ep:], c0, c1)
        if keep:
            for c in range(c0, c1):
                for i in range(m):
                    y_keep[c, a + i] = y[c, i]
        a += m
    return n_ep


def _detect_channel(x, y, lo, abs_start, p, mtab, tmpl, tlen, spk, stp, ring, fs, is_, fring, pts, out_i, out_f,
                    ep_flags, ep_floor):
    """:func:`_detect` for one channel (1-D views of the same arrays). Returns records written.

    Levels are compared as sums of squares over the envelope windows against squared
    thresholds times the window length (no square root or division per sample).
    """
    n = x.shape[0]
    onset_r = p[P_ONSET]
    offset_r = p[P_OFFSET]
    hold = int(p[P_HOLD])
    sustain_r = p[P_SUSTAIN]
    block = int(p[P_BLOCK])
    epoch = int(p[P_EPOCH])
    sat_run = int(p[P_SAT_RUN])
    mains = p[P_MAINS_W] > 0.0
    w_on = p[P_W_ON_UV]
    w_off = p[P_W_OFF_UV]
    w_hold = int(p[P_W_HOLD])
    w_win = int(p[P_W_WIN])
    e_win = int(p[P_ENV_WIN])
    t_win = int(p[P_ONSET_WIN])
    short = t_win < e_win  # the onset window is on
    cusum_r = p[P_CUSUM]
    rel_s = p[P_SUSTAIN_REL] ** 2 * e_win
    rel2 = p[P_SUSTAIN_REL] ** 2
    bridge_r = p[P_BRIDGE]
    bridge_max = int(p[P_BRIDGE_MAX])
    bridging = bridge_max > hold
    settle = int(p[P_SETTLE])
    flat = p[P_FLAT]
    admit = p[P_ADMIT]
    # The share of quiet blocks decays by exp(-3) (to 5 %) over floor_stale_s without one.
    admit_decay = min(1.0, 3.0 * block / max(p[P_STALE], 1.0))
    move_ratio = p[P_MOVE_RATIO]
    move_min = p[P_MOVE_MIN]
    quant = p[P_QUANT]
    floor_min = p[P_FLOOR_MIN]
    qring = fring[0]
    srt = fring[1]
    ring_len = qring.shape[0]
    # potential test: a template output above pot_r2 times its noise mean square
    pot_r2 = p[P_POTENTIAL] ** 2
    n_t = tmpl.shape[2]
    l_max = tmpl.shape[1]
    potential = pot_r2 > 0.0 and n_t == N_TEMPLATES
    t_shapes = tmpl[0]
    t_wts = tmpl[1]
    acf = pts[0]
    acf_blk = pts[1]
    acf_decay = 1.0 / ring_len  # an average over about floor_window_s of quiet blocks
    # artefact tests: a brief burst that one single-sample spike's or one offset step's
    # filtered shape explains
    spike_on = p[P_SPIKE] > 0.0 and spk.shape[0] > 0
    step_on = p[P_STEP] > 0.0 and stp.shape[0] > 0
    # a test looks back once the samples its windows read are in
    spike_wait = spk.shape[0] + spk.shape[0] // 2 - 1 if spike_on else -1
    step_wait = stp.shape[0] + stp.shape[0] // 2 - 1 if step_on else -1
    shape_back = max(l_max, e_win)  # an artefact that opens a burst lies in the window (or template) that opened it
    win = np.empty(l_max)
    c_out = np.empty(n_t)
    pt_noise = np.empty(n_t)  # each template's output mean square over the quiet background ...
    noise_ok = False  # ... computed from acf when a template is next tried
    hist = e_win - 1
    h_len = int(p[P_SEARCH])
    ring_e = ring[:e_win]
    ring_w = ring[e_win : e_win + w_win]
    ring_t = ring[e_win + w_win : e_win + w_win + t_win]
    hring = ring[e_win + w_win + t_win : e_win + w_win + t_win + h_len]
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
    x_max = fs[F_EP_XMAX]
    x_min = fs[F_EP_XMIN]
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
    rs_e = fs[F_RS_E]
    rs_w = fs[F_RS_W]
    rs_t = fs[F_RS_T]
    admit_rate = fs[F_ADMIT]
    stale = is_[I_STALE]
    acf_n = is_[I_ACF_N]
    b_noise = is_[I_B_NOISE]
    stuck_hi = is_[I_EP_STUCK_HI]
    stuck_lo = is_[I_EP_STUCK_LO]
    run = is_[I_RUN]
    inb = is_[I_IN]
    on = is_[I_ON]
    last = is_[I_LAST]
    strong = is_[I_STRONG]
    b_end = is_[I_B_END]
    w_in = is_[I_W_IN]
    w_on_at = is_[I_W_ON]
    qstart = is_[I_W_QSTART]
    fr_n = is_[I_FR_N]
    fr_pos = is_[I_FR_POS]
    ep_n = is_[I_EP_N]
    prev_flags = is_[I_PREV_FLAGS]
    gate = is_[I_GATE]
    pt_n = is_[I_PT_N]
    pt_on = is_[I_B_PT_ON]
    pt_len = is_[I_B_PT_LEN]
    pt_until = is_[I_B_PT_UNTIL]
    pt_min = is_[I_B_PT_MIN]
    pt_score = fs[F_PT_SCORE]
    b_spike = fs[F_B_SPIKE]
    b_step = fs[F_B_STEP]
    art0 = is_[I_B_ART0]
    n_out = 0
    k_ep = 0
    # Levels as sums of squares over each window (threshold^2 x window length), compared
    # with the windows' running sums; recomputed whenever the floor they derive from changes.
    on_thr, on_s, on_t_s, w_on_s, gate_s = _floor_levels(floor, onset_r, w_on, e_win, t_win, w_win)
    b_on_s, b_on_t_s, b_off_s, b_sus_s = _burst_levels(b_floor, onset_r, offset_r, sustain_r, e_win, t_win)
    w_off_s = (w_floor + w_off) ** 2 * w_win
    # positions inside the epoch, floor block and envelope windows (counters, no modulo)
    ep_pos = abs_start % epoch
    blk_pos = abs_start % block
    pe = abs_start % e_win
    pw = abs_start % w_win
    pt = abs_start % t_win
    n_le = _laps(e_win)
    n_lw = _laps(w_win)
    n_lt = _laps(t_win)
    le = abs_start // e_win % n_le
    lw = abs_start // w_win % n_lw
    lt = abs_start // t_win % n_lt
    ph = abs_start % h_len
    pend = abs_start - abs_start - 1  # samples from y[pend] on are not yet in the rings (-1: none)
    s0 = abs_start - abs_start  # an int64 from the start (a literal 0 would compile the passes twice)
    while s0 < n:
        # A segment runs to the next floor block or epoch end (or the chunk's end). Its
        # accumulators are summed first, each in its own tight loop (sample order kept, so
        # the sums are those of a sample-by-sample loop); then the detectors run sample by
        # sample; then the block and epoch ends.
        seg = min(n - s0, block - blk_pos, epoch - ep_pos)
        s1 = s0 + seg
        if potential:
            # before the segment's samples overwrite the ring's oldest ones; a floor that starts
            # again learns the autocorrelation from every sample of its first blocks (not from
            # a flat stretch: there it waits for the signal)
            stride = 1 if fr_n > 0 and acf_n < ACF_MIN_BLOCKS else POTENTIAL_STRIDE
            pt_n += _lag_products(y, hring, abs_start, s0, s1, acf_blk, stride)
        ep_n += seg
        x_max, x_min, prev_x, run, stuck_hi, stuck_lo = _raw_pass(x, s0, s1, x_max, x_min, prev_x, run, stuck_hi,
                                                                  stuck_lo, sat_run)
        ep_y2, ep_lo2, ep_lomax, blk_y2, blk_lo2, hre, him = _power_pass(y, lo, mtab, mains, s0, s1, ep_pos, ep_y2,
                                                                         ep_lo2, ep_lomax, blk_y2, blk_lo2, hre, him)
        i = s0
        while i < s1:
            pushed = False
            if inb == 0 and w_in == 0 and abs_start + i >= settle:
                # Nothing is open: run through the samples at which nothing can start (the
                # windows below every level that starts something and the potential test's
                # gate closed) in a tight loop; it stops after taking in the first sample at
                # which something may start, which the code below then looks at.
                e_level = min(on_s, gate_s) if potential else on_s
                i, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph, pushed, pend = _quiet_run(
                    y, i, s1, abs_start, ring_e, ring_w, ring_t, hring, rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph,
                    short, e_level, on_t_s, w_on_s, gate if potential else -1, pend)
                if i == s1:
                    break
            if pend >= 0:
                # the code below reads the rings
                _fill_rings(y, pend, i + 1 if pushed else i, abs_start, ring_e, ring_w, ring_t, hring, short)
                pend = -1
            a = abs_start + i
            yv = y[i]
            y2 = yv * yv
            ay = abs(yv)
            if not pushed:
                rs_e, pe, le, rs_w, pw, lw, rs_t, pt, lt, ph = _take_in(
                    yv, ring_e, ring_w, ring_t, hring, rs_e, pe, le, n_le, rs_w, pw, lw, n_lw, rs_t, pt, lt, n_lt, ph, short)
            # ---- hysteresis burst detector ----
            if inb == 0:
                if (rs_e >= on_s or (short and rs_t >= on_t_s)) and a >= settle:
                    inb = 1
                    # The onset is the change point before the earliest sample of the envelope
                    # window above the onset level, searched back over the history ring (onset_search_s).
                    on_core = a
                    for k in range(hist, 0, -1):
                        if abs(hring[(a - k) % h_len]) >= on_thr:
                            on_core = a - k
                            break
                    n_back = max(0, min(h_len - 1 - (a - on_core), on_core - last - 1, on_core - settle))
                    on = _change_point(hring, on_core, n_back, (cusum_r * floor) ** 2)
                    b_end = _window_end(a, rs_e >= on_s, e_win, short and rs_t >= on_t_s, t_win, a - e_win + 2)
                    # Templates are tried over its first L_max samples: the best match gives the
                    # span of a burst that turns out briefer than the potential it models (the
                    # envelope dates such a burst poorly).
                    pt_len = 0
                    pt_score = 0.0
                    pt_until = a + l_max if potential else -1
                    pt_min = max(last + 1, settle)
                elif potential and a >= settle and acf_n >= ACF_MIN_BLOCKS:
                    # Below the onset level, a brief potential is found by its shape: the output
                    # of a template far above that template's noise (a matched filter). It starts
                    # where the best template starts and lasts as long as the potential it models.
                    if rs_e >= gate_s:
                        gate = a + l_max
                    if a <= gate:
                        if not noise_ok:
                            _template_noise(t_wts, acf, floor_min * floor_min, pt_noise)
                            noise_ok = True
                        best, _ = _best_template(hring, a, t_shapes, win, c_out, pt_noise, pot_r2)
                        if best >= 0:
                            inb = 1
                            on = max(a - tlen[best, 0] + 1, last + 1, settle)
                            b_end = max(on + tlen[best, 1], on + 1)
                            pt_len = 0
                            pt_until = -1
                if inb == 1:
                    last = a
                    strong = a
                    b_floor = floor
                    b_noise = 0
                    b_spike = 0.0
                    b_step = 0.0
                    art0 = a if spike_on or step_on else -1
                    b_on_s, b_on_t_s, b_off_s, b_sus_s = _burst_levels(b_floor, onset_r, offset_r, sustain_r, e_win, t_win)
                    pk = 0.0
                    s2 = 0.0
                    for k in range(a - on, -1, -1):
                        v = hring[(a - k) % h_len]
                        s2 += v * v
                        if abs(v) > pk:
                            pk = abs(v)
                    b_peak = pk
                    b_y2 = s2
                    b_peak_at = pk
                    b_y2_at = s2
            else:
                # It stays open while the envelope is above the offset level, or above the lower
                # sustain level and not far below the burst's own RMS so far: a weak sustained
                # contraction dips towards the floor without ending, while the rest between two
                # strong contractions, far below their level, still ends the first.
                b2 = b_y2 + y2
                active = rs_e >= b_off_s or (rs_e >= b_sus_s and rs_e * (a - on + 1) >= rel_s * b2)
                dip = a - last
                ended = False
                if bridging and active and dip > hold:
                    # The activity is back after a dip longer than the hold. The gap since the
                    # burst last stood above its onset level (samples strong + 1 .. a - 1, the
                    # dip and the weaker activity around it) bridges it to the burst when the
                    # gap's RMS is at or above the bridge level and not far below the burst's;
                    # otherwise the burst ended before the dip.
                    g2 = b_y2 - b_y2_at
                    n_gap = a - 1 - strong
                    ended = (g2 < (bridge_r * b_floor) ** 2 * n_gap
                             or g2 * (strong - on + 1) < rel2 * b_y2_at * n_gap)
                if not ended:
                    b_y2 = b2
                    if ay > b_peak:
                        b_peak = ay
                    t_on = short and rs_t >= b_on_t_s
                    if rs_e >= b_on_s or t_on:
                        strong = a
                        b_end = _window_end(a, rs_e >= b_on_s, e_win, t_on, t_win, b_end)
                        b_peak_at = b_peak
                        b_y2_at = b_y2
                    if active:
                        last = a
                    else:
                        # below the levels for the hold (or, bridging, for bridge_max samples)
                        ended = dip >= (bridge_max if bridging else hold)
                if ended:
                    # The burst ended: its offset is where a window last stood above the onset
                    # level, less that window's lag (the lower offset level only decides that
                    # the burst is over, so filter ringing does not stretch it).
                    off = b_end
                    if off <= on:
                        off = on + 1
                    r_on = on
                    if pt_len > off - on:
                        r_on = pt_on
                        off = pt_on + pt_len
                    kind = OUT_NOISE if b_noise == 1 else OUT_BURST
                    if kind == OUT_BURST:
                        kind = _artefact_kind(off - r_on, b_y2_at, b_spike, b_step, p)
                    out_i[n_out, 0] = kind
                    out_i[n_out, 1] = r_on
                    out_i[n_out, 2] = off
                    out_f[n_out, 0] = b_peak_at
                    out_f[n_out, 1] = math.sqrt(b_y2_at / (strong - on + 1))
                    out_f[n_out, 2] = b_floor
                    n_out += 1
                    inb = 0
            if inb == 1 and art0 >= 0:
                # The artefact tests look back at the burst's start once the samples after it are in.
                if a == art0 + spike_wait:
                    b_spike = _shape_energy(hring, art0, spk, shape_back, p[P_SPIKE])
                if a == art0 + step_wait:
                    b_step = _shape_energy(hring, art0, stp, shape_back, p[P_STEP])
            if inb == 1 and a <= pt_until:
                if not noise_ok:
                    _template_noise(t_wts, acf, floor_min * floor_min, pt_noise)
                    noise_ok = True
                best, sc = _best_template(hring, a, t_shapes, win, c_out, pt_noise, pot_r2)
                if best >= 0 and sc > pt_score:
                    pt_score = sc
                    pt_on = max(a - tlen[best, 0] + 1, pt_min)
                    pt_len = tlen[best, 1]
            # ---- WASM leg movement ----
            if w_in == 0:
                if rs_w >= w_on_s and a >= settle:
                    w_in = 1
                    w_on_at = a
                    qstart = -1
                    w_floor = floor
                    w_off_s = (w_floor + w_off) ** 2 * w_win
                    w_peak = ay
                    w_y2 = y2
                    w_peak_at = ay
                    w_y2_at = y2
            else:
                if rs_w < w_off_s:
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
            i += 1
        s0 = s1
        a = abs_start + s1 - 1  # the segment's last sample
        # ---- floor block end ----
        blk_pos += seg
        if blk_pos == block:
            blk_pos = 0
            rms_y = math.sqrt(blk_y2 / block)
            rms_lo = math.sqrt(blk_lo2 / block)
            moving = rms_lo > move_ratio * rms_y and rms_lo > move_min
            # Quiet blocks teach the floor. When hardly any block has been quiet for about
            # floor_stale_s (under 5 %: the noise itself rose), every block does, until quiet
            # ones are common again (25 %) by the floor they have taught.
            usable = rms_y >= flat and not moving and a >= settle
            # A floor that starts again has no level to judge its first block by: the floor
            # from before the flat stretch (or the warm-up's guess) says nothing of the noise
            # now, and a block partly flat would pass for quiet and make the floor fresh at
            # its own low level (the noise that followed then read as a burst for minutes).
            quiet = rms_y < admit * floor and not (stale == 1 and fr_n == 0)
            if rms_y < flat and a >= settle:
                # No signal (an electrode off, data lost): the noise may differ when it comes
                # back, so the floor starts again as after a flat warm-up (stale, no levels).
                stale = 1
                admit_rate = FRESH_SHARE
                fr_n = 0
                fr_pos = 0
                acf_n = 0
            if usable:
                admit_rate += admit_decay * ((1.0 if quiet else 0.0) - admit_rate)
                if stale == 0 and admit_rate < STALE_SHARE:
                    stale = 1
                elif stale == 1 and admit_rate > FRESH_SHARE:
                    stale = 0
            if usable and (quiet or stale == 1):
                lesson = stale == 1 and fr_n == 0  # the first block of a floor that starts again may be partly flat
                fr_n = _ring_push(qring, srt, fr_n, fr_pos, rms_y)
                fr_pos = (fr_pos + 1) % ring_len
                floor = max(_quantile_sorted(srt, fr_n, quant), floor_min)
                on_thr, on_s, on_t_s, w_on_s, gate_s = _floor_levels(floor, onset_r, w_on, e_win, t_win, w_win)
                if potential and pt_n > 0 and not lesson:
                    # a floor that starts again (after a flat warm-up or stretch) learns the
                    # autocorrelation afresh too: the mean of its blocks after the first, until
                    # ring_len of them
                    if acf_n < ring_len:
                        acf_n += 1
                    d = 1.0 / acf_n if acf_n < ring_len else acf_decay
                    for m in range(l_max):
                        acf[m] += d * (acf_blk[m] / pt_n - acf[m])
                    noise_ok = False
                # A burst or movement open since before the noise rose is measured against
                # the new floor once it is higher, so it can end; such a burst is the rise of
                # the noise, not activity (reported as OUT_NOISE), and it follows the floor as
                # long as that rises, also once the floor is fresh again.
                if inb == 1 and floor > b_floor and (stale == 1 or b_noise == 1):
                    b_floor = floor
                    b_noise = 1
                    b_on_s, b_on_t_s, b_off_s, b_sus_s = _burst_levels(b_floor, onset_r, offset_r, sustain_r, e_win, t_win)
                if stale == 1 and w_in == 1 and floor > w_floor:
                    w_floor = floor
                    w_off_s = (w_floor + w_off) ** 2 * w_win
            blk_y2 = 0.0
            blk_lo2 = 0.0
            for m in range(l_max):
                acf_blk[m] = 0.0
            pt_n = 0
        # ---- epoch end ----
        ep_pos += seg
        if ep_pos == epoch:
            ep_pos = 0
            flags = _epoch_flags(ep_n, ep_y2, ep_lo2, ep_lomax, hre, him, _rail_stuck(stuck_hi, stuck_lo, x_max, x_min),
                                 run >= sat_run, floor, p)
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
            stuck_hi = 0
            stuck_lo = 0
            x_max = -np.inf
            x_min = np.inf
            ep_n = 0
    if pend >= 0:
        _fill_rings(y, pend, n, abs_start, ring_e, ring_w, ring_t, hring, short)
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
    fs[F_EP_XMAX] = x_max
    fs[F_EP_XMIN] = x_min
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
    fs[F_RS_E] = rs_e
    fs[F_RS_W] = rs_w
    fs[F_RS_T] = rs_t
    fs[F_ADMIT] = admit_rate
    is_[I_EP_STUCK_HI] = stuck_hi
    is_[I_EP_STUCK_LO] = stuck_lo
    is_[I_RUN] = run
    is_[I_IN] = inb
    is_[I_ON] = on
    is_[I_LAST] = last
    is_[I_STRONG] = strong
    is_[I_B_END] = b_end
    is_[I_W_IN] = w_in
    is_[I_W_ON] = w_on_at
    is_[I_W_QSTART] = qstart
    is_[I_FR_N] = fr_n
    is_[I_FR_POS] = fr_pos
    is_[I_EP_N] = ep_n
    is_[I_PREV_FLAGS] = prev_flags
    is_[I_STALE] = stale
    is_[I_ACF_N] = acf_n
    is_[I_B_NOISE] = b_noise
    is_[I_GATE] = gate
    is_[I_PT_N] = pt_n
    is_[I_B_PT_ON] = pt_on
    is_[I_B_PT_LEN] = pt_len
    is_[I_B_PT_UNTIL] = pt_until
    is_[I_B_PT_MIN] = pt_min
    fs[F_PT_SCORE] = pt_score
    fs[F_B_SPIKE] = b_spike
    fs[F_B_STEP] = b_step
    is_[I_B_ART0] = art0
    return n_out


def _rail_stuck(stuck_hi, stuck_lo, x_max, x_min):
    """Stuck samples of an epoch at its highest or lowest value (counted once when the
    whole epoch is one value)."""
    return stuck_hi if x_max == x_min else stuck_hi + stuck_lo


def _epoch_flags(n, sum_y2, sum_lo2, lo_max, hum_re, hum_im, stuck, held, floor, p):
    """Exclusion flags of one epoch of one channel from its sums (0 = usable).

    ``stuck`` counts the samples held at the epoch's rails; ``held`` says that the raw value
    was held (``P_SAT_RUN`` samples or more) up to the epoch's end. A signal that stops
    there holds no activity: what the filters show after it is their own ringing (a notch
    rings on for a few hundred ms where hum stops), so such an epoch is flat even while its
    filtered RMS is not. (Runs that end inside an epoch do not count: a quiet signal
    recorded at a resolution coarser than its noise repeats a value now and then.)
    """
    if n == 0:
        return 0
    rms_y = math.sqrt(sum_y2 / n)
    rms_lo = math.sqrt(sum_lo2 / n)
    flags = 0
    if rms_y < p[P_FLAT]:
        flags |= FLAG_FLAT
    elif stuck > p[P_SAT_FRAC] * n:
        flags |= FLAG_SATURATION
    elif held:
        flags |= FLAG_FLAT
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
                         fs[c, F_EP_HIM], _rail_stuck(is_[c, I_EP_STUCK_HI], is_[c, I_EP_STUCK_LO], fs[c, F_EP_XMAX],
                                                      fs[c, F_EP_XMIN]), is_[c, I_RUN] >= p[P_SAT_RUN], fs[c, F_FLOOR], p)
        if epoch_start < p[P_SETTLE]:
            f |= FLAG_SETTLING
        elif f == 0 and is_[c, I_PREV_FLAGS] & (FLAG_FLAT | FLAG_SATURATION | FLAG_DC_JUMP):
            f = FLAG_SETTLING
        out[c] = f
    return out


_jit = dict(cache=True, nogil=True, error_model="numpy")
# Fused multiply-add is allowed in the filters (the same code runs for any chunking, so
# streaming still equals batch exactly); nothing else is reordered.
_jit_filter = dict(_jit, fastmath={"contract"})
_epoch_flags = numba.njit(**_jit)(_epoch_flags)
_rail_stuck = numba.njit(**_jit)(_rail_stuck)
_quantile_sorted = numba.njit(**_jit)(_quantile_sorted)
# The raw signal is finite (checked before the kernels), so its extremes may be found in any
# order (vectorised): no NaN, and -0.0 equals 0.0 wherever they are compared.
_raw_distinct = numba.njit(**_jit)(_raw_distinct)
_raw_extremes = numba.njit(**dict(_jit, fastmath={"nnan", "nsz"}))(_raw_extremes)
_raw_pass = numba.njit(**_jit)(_raw_pass)
_power_pass = numba.njit(**_jit)(_power_pass)
_change_point = numba.njit(**_jit)(_change_point)
_gather = numba.njit(**_jit)(_gather)
_lag_products = numba.njit(**_jit)(_lag_products)
_template_noise = numba.njit(**_jit)(_template_noise)
_template_outputs = numba.njit(**_jit)(_template_outputs)
_best_template = numba.njit(**_jit)(_best_template)
_shape_energy = numba.njit(**_jit)(_shape_energy)
_artefact_kind = numba.njit(**_jit)(_artefact_kind)
_burst_levels = numba.njit(inline="always", **_jit)(_burst_levels)
_floor_levels = numba.njit(inline="always", **_jit)(_floor_levels)
_window_end = numba.njit(**_jit)(_window_end)
_sorted_place = numba.njit(**_jit)(_sorted_place)
_ring_push = numba.njit(**_jit)(_ring_push)
_laps = numba.njit(inline="always", **_jit)(_laps)
_window_push = numba.njit(**_jit)(_window_push)
_take_in = numba.njit(inline="always", **_jit)(_take_in)
_span_step = numba.njit(**_jit)(_span_step)
_resum_at = numba.njit(**_jit)(_resum_at)
_next_resum = numba.njit(**_jit)(_next_resum)
_quiet_span = numba.njit(**_jit)(_quiet_span)
_positions = numba.njit(**_jit)(_positions)
_ring_fill = numba.njit(**_jit)(_ring_fill)
_fill_rings = numba.njit(**_jit)(_fill_rings)
_quiet_run = numba.njit(**_jit)(_quiet_run)
_detect_channel = numba.njit(**_jit)(_detect_channel)
_cascade_step = numba.njit(inline="always", **_jit_filter)(_cascade_step)
_load_state = numba.njit(**_jit)(_load_state)
_store_state = numba.njit(**_jit)(_store_state)

first_nonfinite = numba.njit(**_jit)(_first_nonfinite)
filter_kernel = numba.njit(**_jit_filter)(_filter_channels)
_filter_group = numba.njit(**_jit_filter)(_filter_group)
_pipe_take = numba.njit(**_jit)(_pipe_take)
_pipe_give = numba.njit(**_jit_filter)(_pipe_give)
_filter_pipe = numba.njit(**_jit_filter)(_filter_pipe)
filter_lanes_kernel = numba.njit(**_jit_filter)(_filter_lanes)
detect_kernel = numba.njit(**_jit)(_detect)
filter_detect_kernel = numba.njit(**_jit)(_filter_detect)
