"""The public detector: :class:`StreamingDetector` and :func:`detect`.

Both run the same code: :func:`detect` feeds the whole signal to a
:class:`StreamingDetector` in one call. The wrapper validates input, designs the filters,
keeps the state between chunks, turns the kernels' raw records into
:class:`~kneeemg.events.Event` objects and drops events that lie mostly in excluded time.
See ``docs/detector.md`` for the rules and their defaults.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

from ..config import MAX_CHANNELS, DetectorConfig, as_config, check_rate
from ..errors import InputError
from ..events import Event, sort_events
from ..words import plural
from . import _kernels as K
from .filters import FilterDesign, band_edges, design, find_mains, initial_state
from .potentials import artefact_shape, block_lag_means, templates
from .result import DetectionResult

log = logging.getLogger(__name__)

#: Seconds at the start of a stream in which the mains frequency is looked for when the
#: warm-up is flat on every channel (see ``StreamingDetector._mains_found``).
MAINS_SEARCH_S = 30.0
#: An epoch more than this share of which was lost while recording is excluded as "lost";
#: with less lost, the rest of it stays usable (lost samples never count as usable time).
LOST_EPOCH_SHARE = 0.25
#: Most samples per channel the kernels see at once (bounds the temporary arrays; larger
#: blocks mean fewer hand-overs between the two threads) ...
MAX_BLOCK = 1 << 17
#: ... and most values (samples x channels): with many channels a block is shorter, which
#: bounds the scratch memory (each thread works through its block in cache-sized sub-blocks).
MAX_BLOCK_VALUES = 1 << 19
#: Values (samples x channels) of the sub-blocks in which one thread filters and detects,
#: so that the filtered signals are read while they are still in the processor's cache.
SUB_BLOCK_VALUES = 1 << 15
#: ... and fewest samples of a sub-block (each channel's detect kernel has a start-up cost).
SUB_BLOCK_MIN_ROWS = 512
#: Channel-samples of a call from which a second thread shares the work.
THREADED_MIN = 1 << 15
#: Padding of the rows of the per-channel scratch arrays, in samples, when rows ``n`` samples
#: long would lie a multiple of 4 KiB apart (all in the same cache sets, when a kernel writes
#: every channel per sample). Blocks are this much shorter than a power of two, so that
#: their rows need none: unpadded rows keep the arrays contiguous, and the kernels are then
#: compiled once for every number of channels.
ROW_PAD = 8
#: From this many values, the input is first tested for NaN and infinity by summing it.
SUM_CHECK_MIN = 1 << 14
#: Records of the detect kernel that are excluded time, not events, and the epoch flag each sets.
EXCLUDED_RECORDS = {K.OUT_NOISE: K.FLAG_NOISE_RISE, K.OUT_SPIKE: K.FLAG_SPIKE, K.OUT_STEP: K.FLAG_STEP}


def block_rows(n_channels: int) -> int:
    """Samples per block the kernels get for ``n_channels`` channels."""
    return min(MAX_BLOCK, max(1024, MAX_BLOCK_VALUES // max(1, n_channels))) - ROW_PAD


def _sections(sos: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """Second-order sections as a tuple of tuples (the filter kernels' form)."""
    return tuple(tuple(float(v) for v in row) for row in sos)


def _state(sos: np.ndarray, first_sample_uv: np.ndarray) -> np.ndarray:
    """Filter state in the kernels' layout (n_sections, 2, n_channels)."""
    return np.ascontiguousarray(initial_state(sos, first_sample_uv).transpose(1, 2, 0))


def _labels(labels: Sequence[str] | None, n_channels: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"ch{i}" for i in range(n_channels))
    labels = tuple(str(x) for x in labels)
    if len(labels) != n_channels:
        raise InputError(f"{plural(len(labels), 'channel label')} given for {plural(n_channels, 'channel')}; give one label "
                         "per channel")
    return labels


class StreamingDetector:
    """Detect twitches, spasms, cramps and leg movements chunk by chunk.

    Parameters
    ----------
    fs_hz : float
        Sampling rate, 500-4000 Hz.
    n_channels : int
        Number of channels, 1-64.
    config : DetectorConfig, optional
        Settings; the defaults when omitted.
    labels : sequence of str, optional
        Channel names (``ch0``, ``ch1``, ... when omitted).
    start_sample : int
        Absolute index of the first sample that will be passed in.
    keep_filtered : bool
        Keep the band-passed signal (float32) for :attr:`DetectionResult.filtered`.
    threads : int, optional
        Threads for large calls (1 or 2; default 2 when the machine has two cores or
        more). Two threads take half of the channels each, or, with one channel, one
        filters the next block while the other detects in the current one. Small calls
        (live chunks) always run in the calling thread. The results do not depend on it.

    Notes
    -----
    The first ``config.warmup_s`` seconds are buffered to learn the noise floor (and the
    mains frequency when ``mains_hz="auto"``; when they are flat on every channel, up to
    :data:`MAINS_SEARCH_S` seconds are buffered until the signal comes, to find the mains
    frequency in it), then processed like the rest; after that an
    event is returned by :meth:`process` at most about ``max(min_gap_s, bridge_max_s) +
    epoch_s`` seconds after it ends. Splitting the signal differently never changes the result.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        config: DetectorConfig | None = None,
        labels: Sequence[str] | None = None,
        start_sample: int = 0,
        keep_filtered: bool = False,
        threads: int | None = None,
    ) -> None:
        self.fs_hz = check_rate(fs_hz)
        if threads is None:
            threads = 2 if (os.cpu_count() or 1) >= 2 else 1
        if threads not in (1, 2):
            raise InputError(f"threads={threads!r} is not supported; use 1 or 2")
        self.threads = int(threads)
        self._pool: ThreadPoolExecutor | None = None
        if not isinstance(n_channels, (int, np.integer)) or not 1 <= n_channels <= MAX_CHANNELS:
            raise InputError(f"n_channels={n_channels!r} is not supported; use 1 to {MAX_CHANNELS} channels")
        self.n_channels = int(n_channels)
        self.config = as_config(config)
        self.labels = _labels(labels, self.n_channels)
        if isinstance(start_sample, bool) or not isinstance(start_sample, (int, np.integer)) or start_sample < 0:
            raise InputError(f"start_sample={start_sample!r} must be a whole number of samples, 0 or more")
        self.start_sample = int(start_sample)
        self.keep_filtered = keep_filtered
        cfg = self.config
        self._epoch = max(1, round(cfg.epoch_s * self.fs_hz))
        self._env_win = max(2, round(cfg.envelope_window_s * self.fs_hz))
        self._wasm_win = max(2, round(cfg.wasm_window_s * self.fs_hz))
        self._onset_win = min(self._env_win, max(2, round(cfg.onset_window_s * self.fs_hz)))
        self._search = max(self._env_win, round(cfg.onset_search_s * self.fs_hz))
        self._block = max(1, round(cfg.floor_block_s * self.fs_hz))
        self._warmup = max(self._block, round(cfg.warmup_s * self.fs_hz))
        self._pending_raw: list[np.ndarray] = []
        self._n_buffered = 0
        # mains search: the warm-up-long windows of the start tried so far, and the first
        # that is not flat (None: none yet)
        self._mains_tried = 0
        self._mains_window: int | None = None
        self._lost: list[tuple[int, int]] = []  # lost sample spans whose epochs are not all decided yet
        self._next = self.start_sample  # absolute index of the next sample to process
        self._design: FilterDesign | None = None
        # per-epoch flags and floor, in buffers that grow by doubling (amortised O(1) appends,
        # so a long night does not make each chunk slower)
        self._ep_flags = np.zeros((64, self.n_channels), dtype=np.uint16)
        self._ep_floor = np.zeros((64, self.n_channels), dtype=np.float32)
        self._ep_lost = np.zeros(64, dtype=np.int64)  # samples lost in each epoch
        self._n_epochs = 0
        self._first_epoch: int | None = None
        self._pending: list[tuple[int, int, int, int, float, float, float]] = []
        self._events: list[Event] = []
        self._lms: list[Event] = []
        self._filtered: list[np.ndarray] = []
        self._finished = False

    # ------------------------------------------------------------------ public API
    @property
    def filter_design(self) -> FilterDesign | None:
        """The filters in use (None until the warm-up is over)."""
        return self._design

    @property
    def samples_seen(self) -> int:
        """Samples passed in so far."""
        return self._next - self.start_sample + self._n_buffered

    def process(self, chunk_uv: np.ndarray) -> list[Event]:
        """Feed the next samples; return the events finalised by them.

        Parameters
        ----------
        chunk_uv : ndarray, shape (n_samples, n_channels) or (n_samples,) for one channel
            Raw signal in µV.

        Returns
        -------
        list of Event
            Twitches, spasms and cramps that ended and were confirmed in this call, in onset
            order. Leg movements are only in the final :class:`DetectionResult`.
        """
        if self._finished:
            raise InputError("this detector has finished; create a new StreamingDetector for more data")
        x = self._check(chunk_uv)
        if len(x) == 0:
            return []
        if self._design is None:
            self._pending_raw.append(x)
            self._n_buffered += len(x)
            if self._n_buffered < self._warmup or not self._mains_found(final=False):
                return []
            x = self._start()
        return self._run(x)

    def mark_lost(self, start_sample: int, n_samples: int) -> None:
        """Declare ``n_samples`` from ``start_sample`` on (absolute indices) lost while
        recording; the caller passes them held at the last value, as the readers do.

        Lost samples are never counted as usable time. An epoch more than
        :data:`LOST_EPOCH_SHARE` of which is lost is excluded (reason ``"lost"``) on every
        channel, and an event lying mostly in such epochs is dropped; an epoch with less lost
        stays usable for the rest of its samples (a link that drops 2 % of its frames in 20 ms
        gaps had every epoch it touched excluded: 46 s of a minute). Call it before passing
        those samples.

        Raises
        ------
        InputError
            For a negative or non-integer start or count, or samples already passed.
        """
        for name, v in (("start_sample", start_sample), ("n_samples", n_samples)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InputError(f"mark_lost: {name}={v!r} must be a whole number, 0 or more")
        if start_sample < self.start_sample + self.samples_seen:
            raise InputError(f"mark_lost: sample {start_sample} was already passed (next is "
                             f"{self.start_sample + self.samples_seen}); mark lost samples before passing them")
        if n_samples:
            self._lost.append((int(start_sample), int(start_sample) + int(n_samples)))

    def finish(self) -> DetectionResult:
        """Close open bursts and the last epoch; return the result of the whole stream."""
        if self._finished:
            raise InputError("finish() was already called on this detector")
        if self._design is None and self._n_buffered:
            self._mains_found(final=True)
            self._run(self._start())
        self._finished = True
        self.close()
        if self._design is not None:
            self._close()
        self._finalise_pending(final=True)
        return self._result()

    def close(self) -> None:
        """Stop the detector's helper thread (of ``threads=2``), if it has one; :meth:`finish`
        does this too. For a stream that is abandoned, e.g. after an error."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # ------------------------------------------------------------------ internals
    def _check(self, chunk_uv: np.ndarray) -> np.ndarray:
        x = np.asarray(chunk_uv)
        if x.ndim == 1 and self.n_channels == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise InputError(
                f"chunk has shape {x.shape}; expected (n_samples, {self.n_channels}) in µV, one column per channel"
            )
        if x.dtype.kind not in "fiu":
            raise InputError(f"chunk has dtype {x.dtype}; pass real numbers in µV (not true/false values)"
                             if x.dtype.kind == "b" else f"chunk has dtype {x.dtype}; pass real numbers in µV")
        x = np.ascontiguousarray(x, dtype=np.float64)
        # numpy's vectorised sum is the faster test for large arrays (a NaN or infinity makes
        # it non-finite); the scan then finds where, and serves small live chunks directly
        row = -1 if x.size >= SUM_CHECK_MIN and math.isfinite(float(x.sum())) else K.first_nonfinite(x)
        if row >= 0:
            t = (self.start_sample + self.samples_seen + row) / self.fs_hz
            raise InputError(
                f"the signal has NaN or infinite values (first at {t:.3f} s); "
                "fill or cut the gap before detecting (lost samples are held at the last value)"
            )
        return x

    def _buffered(self) -> np.ndarray:
        """The samples buffered before the start, as one array (kept as one)."""
        if len(self._pending_raw) > 1:
            self._pending_raw = [np.concatenate(self._pending_raw, axis=0)]
        return self._pending_raw[0]

    def _mains_found(self, final: bool) -> bool:
        """Whether the start's mains search is over.

        The mains frequency is looked for in the warm-up, unless all its channels are flat (the
        sensor ran before the electrodes touched the skin): then in the first later window of
        the same length that is not, within :data:`MAINS_SEARCH_S`. Until such a window or that
        much signal has come in, the start waits (``final``: the stream ended, the search ends
        with the windows there are). Windows are whole warm-ups from the first sample, so the
        result does not depend on the chunking.
        """
        if self.config.mains_hz != "auto" or self._mains_window is not None:
            return True
        most = max(1, int(MAINS_SEARCH_S * self.fs_hz) // self._warmup)
        if self._mains_tried >= min(most, self._n_buffered // self._warmup):
            return final or self._mains_tried >= most  # no new whole window: nothing to join yet
        x = self._buffered()
        while self._mains_tried < min(most, len(x) // self._warmup):
            k = self._mains_tried
            w = x[k * self._warmup : (k + 1) * self._warmup]
            self._mains_tried += 1
            if float(np.max(np.std(w, axis=0))) >= self.config.flat_rms_uv:
                self._mains_window = k
                return True
        return final or self._mains_tried >= most

    def _start(self) -> np.ndarray:
        """Design filters and seed the state from the warm-up buffer; return the buffer."""
        x = self._buffered()
        self._pending_raw = []
        self._n_buffered = 0
        cfg = self.config
        head = x[: self._warmup]  # exactly the warm-up, whatever the chunking
        if cfg.mains_hz == "auto":
            high = band_edges(self.fs_hz, cfg)[1]
            k = self._mains_window or 0
            mains, notches = find_mains(x[k * self._warmup : (k + 1) * self._warmup], self.fs_hz, high_hz=high)
            self._design = design(self.fs_hz, cfg, mains, notches)
        else:
            mains = None if cfg.mains_hz is None else float(cfg.mains_hz)
            self._design = design(self.fs_hz, cfg, mains)
        d = self._design
        log.debug("filters: band %s Hz, notches %s Hz", d.band_hz, d.notch_hz)
        nch = self.n_channels
        self._sos = _sections(d.sos)
        self._sos_low = _sections(d.sos_low)
        self._z = _state(d.sos, x[0])
        self._z_low = _state(d.sos_low, x[0])
        self._tmpl, self._tlen = templates(d.sos, self.fs_hz)
        n_band = len(d.sos) - len(d.notch_hz)  # the band-pass's sections come first
        self._spk = artefact_shape(d.sos, self.fs_hz, "spike", n_band)
        self._stp = artefact_shape(d.sos, self.fs_hz, "step", n_band)
        # the history also feeds the templates, and the artefact tests (windows from a
        # template's length before a burst's first sample on)
        longest = max(len(self._spk), len(self._stp))
        self._search = max(self._search, max(self._tmpl.shape[1], self._env_win) + 2 * longest + 1)
        # rows padded to whole cache lines: two threads write neighbouring channels' rings
        self._ring = np.zeros((nch, -(-(self._env_win + self._wasm_win + self._onset_win + self._search) // 8) * 8))
        ring_len = max(1, round(cfg.floor_window_s / cfg.floor_block_s))
        floor, acf, known = self._initial_floor(head)
        self._fs, self._is, self._fring, self._pts = K.new_state(nch, ring_len, floor, acf, known)
        self._params = self._param_vector()
        w = self._params[K.P_MAINS_W]
        k = np.arange(self._epoch)
        self._mtab = np.ascontiguousarray(np.vstack([np.cos(w * k), np.sin(w * k)]))
        self._bufs: dict[str, np.ndarray] = {}
        # views of the scratch memory for the block lengths seen (live chunks repeat one length)
        self._views: dict[tuple[str, int, int], tuple[np.ndarray, ...]] = {}
        return x

    def _param_vector(self) -> np.ndarray:
        cfg, d = self.config, self._design
        p = np.zeros(K.N_PARAMS)
        p[K.P_ONSET] = cfg.onset_ratio
        p[K.P_OFFSET] = cfg.offset_ratio
        p[K.P_HOLD] = max(1, round(cfg.min_gap_s * self.fs_hz))
        p[K.P_SUSTAIN] = cfg.sustain_ratio
        p[K.P_SUSTAIN_REL] = cfg.sustain_rel
        p[K.P_BLOCK] = self._block
        p[K.P_QUANT] = cfg.floor_quantile
        p[K.P_FLOOR_MIN] = cfg.floor_min_uv
        p[K.P_EPOCH] = self._epoch
        p[K.P_FLAT] = cfg.flat_rms_uv
        p[K.P_SAT_FRAC] = cfg.saturation_fraction
        p[K.P_SAT_RUN] = max(K.STUCK_RUN, round(cfg.saturation_run_s * self.fs_hz))
        p[K.P_SPIKE] = cfg.spike_share
        p[K.P_STEP] = cfg.step_share
        p[K.P_SPIKE_MAX] = cfg.twitch_max_s * self.fs_hz
        p[K.P_DCJUMP] = cfg.dc_jump_uv
        p[K.P_MOVE_RATIO] = cfg.movement_ratio
        p[K.P_MOVE_MIN] = cfg.movement_min_uv
        p[K.P_MAINS_RATIO] = cfg.mains_ratio
        p[K.P_MAINS_W] = 2.0 * math.pi * d.mains_hz / self.fs_hz if d.mains_hz else 0.0
        p[K.P_W_ON_UV] = cfg.wasm_onset_uv
        p[K.P_W_OFF_UV] = cfg.wasm_offset_uv
        p[K.P_W_HOLD] = max(1, round(cfg.wasm_offset_hold_s * self.fs_hz))
        p[K.P_W_WIN] = self._wasm_win
        p[K.P_ENV_WIN] = self._env_win
        p[K.P_ONSET_WIN] = self._onset_win
        p[K.P_SEARCH] = self._search
        p[K.P_CUSUM] = cfg.onset_cusum_ratio
        p[K.P_POTENTIAL] = cfg.potential_ratio
        p[K.P_BRIDGE] = cfg.bridge_ratio
        p[K.P_BRIDGE_MAX] = round(cfg.bridge_max_s * self.fs_hz)
        p[K.P_SETTLE] = self.start_sample + round(cfg.settle_s * self.fs_hz)
        p[K.P_ADMIT] = cfg.floor_admit_ratio
        p[K.P_STALE] = round(cfg.floor_stale_s * self.fs_hz)
        return p

    def _initial_floor(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First floor: median RMS of the warm-up's non-flat filtered blocks, per channel;
        the first autocorrelation of the background (shape (n_channels, L_max)): the median
        over those blocks, lag by lag; and whether each channel had such a block (bool, shape
        (n_channels,); a flat warm-up leaves the floor to the first usable blocks after it)."""
        y = np.empty((self.n_channels, len(x)))
        K.filter_lanes_kernel(self._sos, self._sos_low, x, self._z.copy(), self._z_low.copy(), y, np.empty_like(y), 0,
                              self.n_channels)
        y = y.T
        nb = len(y) // self._block
        floor = np.full(self.n_channels, self.config.floor_min_uv)
        l_max = self._tmpl.shape[1]
        acf = np.zeros((self.n_channels, l_max))
        acf[:, -1] = floor**2  # white noise at the floor until the warm-up says otherwise
        known = np.zeros(self.n_channels, dtype=bool)
        if nb:
            rms = np.sqrt((y[: nb * self._block] ** 2).reshape(nb, self._block, -1).mean(axis=1))
            lags = block_lag_means(y, l_max, self._block)
            for c in range(self.n_channels):
                ok = rms[:, c] >= self.config.flat_rms_uv
                if ok.any():
                    floor[c] = max(float(np.median(rms[ok, c])), self.config.floor_min_uv)
                    acf[c] = np.median(lags[ok, c], axis=0)
                    known[c] = True
        return floor, acf, known

    def _run(self, x: np.ndarray) -> list[Event]:
        before = len(self._events)
        n, nch = x.shape
        rows = block_rows(nch)
        blocks = [x[s : s + rows] for s in range(0, n, rows)]
        starts = [self._next + s for s in range(0, n, rows)]
        if self.threads < 2 or n * nch < THREADED_MIN:
            for blk, start in zip(blocks, starts):
                y = self._kept(len(blk))
                outs = self._outputs(len(blk))
                self._keep(y, outs, self._filter_detect(blk, y, start, 0, nch, outs, self._sub_buffers(len(blk), 0)))
        elif nch > 1:
            # two threads, half of the channels each
            half = (nch + 1) // 2
            for blk, start in zip(blocks, starts):
                y = self._kept(len(blk))
                outs = self._outputs(len(blk))
                # each thread's scratch, handed out here (the worker touches no shared dict)
                mine, its = self._sub_buffers(len(blk), 0), self._sub_buffers(len(blk), 1)
                other = self._worker().submit(self._filter_detect, blk, y, start, half, nch, outs, its)
                n_ep = self._filter_detect(blk, y, start, 0, half, outs, mine)
                other.result()
                self._keep(y, outs, n_ep)
        else:
            # one channel: the worker filters block k + 1 while this thread detects in block k
            bufs = [self._buffers(len(blocks[0]), 0), self._buffers(len(blocks[0]), 1)]
            nxt = self._worker().submit(self._filter, blocks[0], *bufs[0], 0, nch)
            for k, (blk, start) in enumerate(zip(blocks, starts)):
                nxt.result()
                if k + 1 < len(blocks):
                    y1, lo1 = bufs[(k + 1) % 2]
                    nxt = self._worker().submit(self._filter, blocks[k + 1], y1[:, : len(blocks[k + 1])],
                                                lo1[:, : len(blocks[k + 1])], 0, nch)
                y, lo = (b[:, : len(blk)] for b in bufs[k % 2])
                self._collect(blk, y, lo, start)
        self._next += n
        self._finalise_pending(final=False)
        return self._events[before:]

    def _worker(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kneeemg-detector")
        return self._pool

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        """A C-contiguous scratch array of ``shape``, its memory kept between calls."""
        size = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or len(buf) < size:
            buf = np.empty(max(size, 2 * (0 if buf is None else len(buf))), dtype=dtype)
            self._bufs[name] = buf
            self._views.clear()  # views of the old memory must not be handed out again
        return buf[:size].reshape(shape)

    def _view(self, key: tuple[str, int, int], make: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        """Views of the scratch memory cached under ``key`` (made by ``make`` the first time)."""
        if key not in self._views:
            if len(self._views) > 64:
                self._views.clear()
            self._views[key] = make()
        return self._views[key]

    def _buffers(self, n: int, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Filtered and low-band arrays, shape (n_channels, n), of scratch ``slot``."""

        def make() -> tuple[np.ndarray, np.ndarray]:
            pad = ROW_PAD if self.n_channels > 1 and n % 512 == 0 else 0
            shape = (self.n_channels, n + pad)
            return self._buffer(f"y{slot}", shape)[:, :n], self._buffer(f"lo{slot}", shape)[:, :n]

        return self._view(("yl", n, slot), make)

    def _kept(self, n: int) -> np.ndarray:
        """Where :meth:`_filter_detect` copies the filtered signal of a block of ``n``
        samples, shape (n_channels, n): contiguous, so the kernel is compiled once whatever
        the block's length; (n_channels, 0) when the filtered signal is not kept."""

        def make() -> tuple[np.ndarray]:
            return (self._buffer("kept", (self.n_channels, n if self.keep_filtered else 0)),)

        return self._view(("kept", n, 0), make)[0]

    def _outputs(self, n: int) -> tuple[np.ndarray, ...]:
        """The detect kernel's output arrays for a block of ``n`` samples."""

        def make() -> tuple[np.ndarray, ...]:
            nch = self.n_channels
            # At most one record per sample and channel, one epoch per epoch length (plus
            # the partial ones at both ends).
            n_ep = n // self._epoch + 2
            return (self._buffer("out_i", (n + 8, nch, 3), np.int64), self._buffer("out_f", (n + 8, nch, 3)),
                    self._buffer("n_out", (nch,), np.int64), self._buffer("ep_i", (n_ep, nch + 1), np.int64),
                    self._buffer("ep_f", (n_ep, nch)))

        return self._view(("out", n, 0), make)

    def _filter(self, x: np.ndarray, y: np.ndarray, lo: np.ndarray, c0: int, c1: int) -> None:
        K.filter_lanes_kernel(self._sos, self._sos_low, x, self._z, self._z_low, y, lo, c0, c1)

    def _detect(self, x: np.ndarray, y: np.ndarray, lo: np.ndarray, start: int, c0: int, c1: int,
                outs: tuple[np.ndarray, ...]) -> int:
        outs[2][c0:c1] = 0  # n_out: the kernel writes records after the ones counted there
        return K.detect_kernel(x, y, lo, start, self._params, self._mtab, self._tmpl, self._tlen, self._spk,
                               self._stp, self._ring, self._fs, self._is, self._fring, self._pts, *outs, c0, c1)

    def _sub_buffers(self, n: int, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Scratch ``slot``'s filtered and low-band arrays for the sub-blocks of a block of
        ``n`` samples (flat, n_channels x sub-block samples)."""
        rows = min(n, max(SUB_BLOCK_MIN_ROWS, SUB_BLOCK_VALUES // self.n_channels) - ROW_PAD)
        size = self.n_channels * max(1, rows)

        def make() -> tuple[np.ndarray, np.ndarray]:
            return self._buffer(f"ys{slot}", (size,)), self._buffer(f"los{slot}", (size,))

        return self._view(("sub", size, slot), make)

    def _filter_detect(self, x: np.ndarray, y: np.ndarray, start: int, c0: int, c1: int, outs: tuple[np.ndarray, ...],
                       scratch: tuple[np.ndarray, np.ndarray]) -> int:
        """Both stages for channels ``c0:c1`` (one thread's share, with its ``scratch`` from
        :meth:`_sub_buffers`), in sub-blocks that stay in the cache; the filtered signal goes
        to ``y`` (n_channels, n) only when it is kept. Returns the epochs written."""
        ybuf, lobuf = scratch
        return K.filter_detect_kernel(self._sos, self._sos_low, x, self._z, self._z_low, ybuf, lobuf, y,
                                      self.keep_filtered, start, self._params, self._mtab, self._tmpl, self._tlen,
                                      self._spk, self._stp, self._ring, self._fs, self._is, self._fring, self._pts, *outs,
                                      c0, c1)

    def _collect(self, x: np.ndarray, y: np.ndarray, lo: np.ndarray, start: int) -> None:
        """Detect in all channels of a filtered block in this thread and keep what it found."""
        outs = self._outputs(len(x))
        n_ep = self._detect(x, y, lo, start, 0, self.n_channels, outs)
        self._keep(y, outs, n_ep)

    def _keep(self, y: np.ndarray, outs: tuple[np.ndarray, ...], n_ep: int) -> None:
        """Keep the filtered signal, the epochs and the raw records of one block."""
        out_i, out_f, n_out, ep_i, ep_f = outs
        if self.keep_filtered:
            self._filtered.append(y.T.astype(np.float32))
        self._take_epochs(ep_i[:n_ep], ep_f[:n_ep])
        for c in np.flatnonzero(n_out):
            for k in range(int(n_out[c])):
                self._pending.append((int(out_i[k, c, 0]), int(c), int(out_i[k, c, 1]), int(out_i[k, c, 2]),
                                      float(out_f[k, c, 0]), float(out_f[k, c, 1]), float(out_f[k, c, 2])))

    def _take_epochs(self, ep_i: np.ndarray, ep_f: np.ndarray) -> None:
        if len(ep_i) == 0:
            return
        if self._first_epoch is None:
            self._first_epoch = int(ep_i[0, 0])
        need = self._n_epochs + len(ep_i)
        if need > len(self._ep_flags):
            size = max(need, 2 * len(self._ep_flags))
            self._ep_flags = np.resize(self._ep_flags, (size, self.n_channels))
            self._ep_floor = np.resize(self._ep_floor, (size, self.n_channels))
            self._ep_lost = np.resize(self._ep_lost, size)
        self._ep_lost[self._n_epochs : need] = 0
        self._ep_flags[self._n_epochs : need] = ep_i[:, 1:]
        self._ep_floor[self._n_epochs : need] = ep_f
        if self._lost:
            self._mark_lost_epochs(self._n_epochs, need)
        self._n_epochs = need

    def _mark_lost_epochs(self, k0: int, k1: int) -> None:
        """Count the lost samples in the epochs ``k0:k1`` (rows of the flags), and flag as
        lost those more than :data:`LOST_EPOCH_SHARE` lost."""
        E, first = self._epoch, self._first_epoch or 0
        lo, hi = (first + k0) * E, (first + k1) * E
        keep = []
        for on, off in self._lost:
            a, b = max(on, lo), min(off, hi)
            for k in range(a // E, (b - 1) // E + 1) if a < b else ():
                self._ep_lost[k - first] += min(b, (k + 1) * E) - max(a, k * E)
            if off > hi:
                keep.append((on, off))
        self._lost = keep
        lost = self._ep_lost[k0:k1] > LOST_EPOCH_SHARE * E
        self._ep_flags[k0:k1][lost] |= K.FLAG_LOST

    def _close(self) -> None:
        """End the stream: close open bursts and leg movements, flag the partial epoch."""
        a_end = self._next
        fs, is_, p = self._fs, self._is, self._params
        w_win = self._wasm_win
        for c in range(self.n_channels):
            if is_[c, K.I_IN]:
                on, last = int(is_[c, K.I_ON]), int(is_[c, K.I_STRONG])
                off = min(a_end, max(on + 1, int(is_[c, K.I_B_END])))
                rms = math.sqrt(fs[c, K.F_B_Y2_AT] / (last - on + 1))
                kind = K.OUT_NOISE if is_[c, K.I_B_NOISE] else K.OUT_BURST
                if kind == K.OUT_BURST:
                    kind = K._artefact_kind(off - on, fs[c, K.F_B_Y2_AT], fs[c, K.F_B_SPIKE], fs[c, K.F_B_STEP], p)
                self._pending.append((kind, c, on, off, fs[c, K.F_B_PEAK_AT], rms, fs[c, K.F_B_FLOOR]))
                is_[c, K.I_IN] = 0
            if is_[c, K.I_W_IN]:
                on = int(is_[c, K.I_W_ON])
                q = int(is_[c, K.I_W_QSTART])
                end, y2, pk = (q, fs[c, K.F_W_Y2_AT], fs[c, K.F_W_PEAK_AT]) if q >= 0 else (a_end, fs[c, K.F_W_Y2], fs[c, K.F_W_PEAK])
                off = max(on + 1, end - (w_win - 1 if q >= 0 else 0))
                rms = math.sqrt(y2 / max(1, end - on))
                self._pending.append((K.OUT_LM, c, on, min(off, a_end), pk, rms, fs[c, K.F_W_FLOOR]))
                is_[c, K.I_W_IN] = 0
        if a_end % self._epoch and is_[0, K.I_EP_N] > 0:
            flags = K.end_partial_epoch(fs, is_, p, (a_end // self._epoch) * self._epoch)
            ep_i = np.array([[a_end // self._epoch, *flags]], dtype=np.int64)
            self._take_epochs(ep_i, fs[None, :, K.F_FLOOR].copy())

    def _flags(self) -> np.ndarray:
        """Flags of every epoch decided so far, shape (n_epochs, n_channels) (a view)."""
        return self._ep_flags[: self._n_epochs]

    def _finalise_pending(self, final: bool) -> None:
        """Turn raw records whose epochs are all decided into events (or drop them)."""
        if not self._pending:
            return
        flags = self._flags()
        first = self._first_epoch or 0
        decided_end = (first + len(flags)) * self._epoch  # samples before this are decided
        keep: list[tuple] = []
        for rec in self._pending:
            kind, c, on, off = rec[0], rec[1], rec[2], rec[3]
            if off > decided_end and not final:
                keep.append(rec)
                continue
            if kind in EXCLUDED_RECORDS:  # the noise itself rose, or an electrical artefact: excluded, no event
                self._mark(flags, first, c, on, off, EXCLUDED_RECORDS[kind])
                continue
            if self._excluded_fraction(flags, first, c, on, off) > self.config.max_excluded_fraction:
                continue
            ev = self._event(rec)
            if ev is not None:
                (self._lms if kind == K.OUT_LM else self._events).append(ev)
        self._pending = keep

    def _mark(self, flags: np.ndarray, first: int, c: int, on: int, off: int, bit: int) -> None:
        """Set ``bit`` in channel ``c``'s flags of the decided epochs that samples ``on:off`` touch."""
        E = self._epoch
        for e in range(on // E, (off - 1) // E + 1):
            k = e - first
            if 0 <= k < len(flags):
                flags[k, c] |= bit

    def _excluded_fraction(self, flags: np.ndarray, first: int, c: int, on: int, off: int) -> float:
        E = self._epoch
        bad = 0
        for e in range(on // E, (off - 1) // E + 1):
            k = e - first
            if 0 <= k < len(flags) and flags[k, c]:
                bad += min(off, (e + 1) * E) - max(on, e * E)
        return bad / max(1, off - on)

    def _event(self, rec: tuple) -> Event | None:
        kind_code, c, on, off, peak, rms, floor = rec
        cfg = self.config
        dur = (off - on) / self.fs_hz
        if kind_code == K.OUT_LM:
            if not cfg.lm_min_s <= dur <= cfg.lm_max_s:
                return None
            kind = "lm"
        else:
            if dur < cfg.min_duration_s:
                return None
            kind = "twitch" if dur < cfg.twitch_max_s else ("spasm" if dur <= cfg.spasm_max_s else "cramp")
        snr = 20.0 * math.log10(max(rms, 1e-12) / max(floor, 1e-12))
        return Event(on, off, self.fs_hz, c, kind, peak, rms, snr, self.labels[c])

    def _result(self) -> DetectionResult:
        flags = self._flags().copy()
        floors = self._ep_floor[: self._n_epochs].copy()
        filtered = np.concatenate(self._filtered, axis=0) if self._filtered else None
        d = self._design
        return DetectionResult(
            events=sort_events(self._events),
            leg_movements=sort_events(self._lms),
            fs_hz=self.fs_hz,
            n_samples=self._next - self.start_sample,
            start_sample=self.start_sample,
            labels=self.labels,
            config=self.config,
            epoch_samples=self._epoch,
            first_epoch=self._first_epoch or 0,
            epoch_flags=flags,
            floor_uv=floors,
            epoch_lost=self._ep_lost[: self._n_epochs].copy(),
            filtered=filtered,
            mains_hz=d.mains_hz if d else None,
            notch_hz=d.notch_hz if d else (),
        )


def detect(
    signal_uv: np.ndarray,
    fs_hz: float,
    config: DetectorConfig | None = None,
    labels: Sequence[str] | None = None,
    keep_filtered: bool = False,
    threads: int | None = None,
) -> DetectionResult:
    """Detect twitches, spasms, cramps and leg movements in a whole signal.

    Parameters
    ----------
    signal_uv : ndarray, shape (n_samples, n_channels) or (n_samples,)
        Raw surface EMG in µV.
    fs_hz : float
        Sampling rate, 500-4000 Hz.
    config : DetectorConfig, optional
    labels : sequence of str, optional
    keep_filtered : bool
        Keep the filtered signal in the result.
    threads : int, optional
        1 or 2 (see :class:`StreamingDetector`); the result does not depend on it.

    Returns
    -------
    DetectionResult
    """
    x = np.asarray(signal_uv)
    n_ch = 1 if x.ndim == 1 else (x.shape[1] if x.ndim == 2 else -1)
    if n_ch < 1:
        raise InputError(f"signal has shape {x.shape}; expected (n_samples, n_channels) in µV")
    det = StreamingDetector(fs_hz, n_ch, config=config, labels=labels, keep_filtered=keep_filtered, threads=threads)
    try:
        det.process(x)
        return det.finish()
    finally:
        det.close()
