"""How fast the detector is, side by side with the tools people use today.

Every case runs on the same simulated data. Timings exclude data generation; numba
compilation is done (and cached) before timing, and the time of a first, uncached run is
measured separately in a fresh process with an empty cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: Live chunk length used by the streaming cases, s.
CHUNK_S = 0.020


@dataclass
class SpeedRow:
    """One timed case.

    Attributes
    ----------
    case : str
        Data set (``"8 h, 1 ch, 1 kHz"``...).
    tool : str
        What was timed.
    samples : int
        Channel-samples processed (samples x channels).
    seconds : float
        Wall time, s.
    chunk_median_us, chunk_p99_us : float or None
        Per-chunk time of the streaming cases, µs.
    extrapolated : bool
        Timed on a slice and scaled to the case (slow peers).
    """

    case: str
    tool: str
    samples: int
    seconds: float
    chunk_median_us: float | None = None
    chunk_p99_us: float | None = None
    extrapolated: bool = False

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class SpeedReport:
    """All rows of a speed run, plus the machine and the uncached first run."""

    rows: list[SpeedRow]
    first_run_s: float | None
    machine: dict[str, Any]
    command: str
    extra: dict[str, Any] = field(default_factory=dict)

    def ratio(self, case: str, tool: str, reference: str = "kneeemg pipeline, batch") -> float | None:
        """How many times faster the reference is than ``tool`` on ``case``."""
        rows = {r.tool: r for r in self.rows if r.case == case}
        if tool not in rows or reference not in rows:
            return None
        return rows[reference].samples_per_s / rows[tool].samples_per_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "machine": self.machine,
            "first_run_uncached_s": self.first_run_s,
            "rows": [dict(asdict(r), samples_per_s=r.samples_per_s) for r in self.rows],
            "extra": self.extra,
        }

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.as_dict(), indent=2))
        return path


def machine_info() -> dict[str, Any]:
    """CPU, core count, memory, Python and library versions of this machine."""
    import platform

    import numba
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }


def _signal(hours: float, channels: int, fs_hz: float, seed: int) -> np.ndarray:
    """A simulated night as one array (n_samples, channels), µV."""
    from ..simulate import simulate_night

    night = simulate_night(hours=hours, n_channels=channels, fs_hz=fs_hz, seed=seed)
    return night.read(0, night.info.n_samples)


def _timed(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Shortest of ``repeats`` runs of ``fn``, s (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _stream(x: np.ndarray, fs_hz: float, step: Callable[[np.ndarray], Any]) -> tuple[float, np.ndarray]:
    """Feed ``x`` in 20 ms chunks to ``step``; total seconds and per-chunk µs."""
    n = max(1, round(CHUNK_S * fs_hz))
    times = np.empty((len(x) + n - 1) // n)
    t_all = time.perf_counter()
    for k, a in enumerate(range(0, len(x), n)):
        t0 = time.perf_counter()
        step(x[a : a + n])
        times[k] = time.perf_counter() - t0
    return time.perf_counter() - t_all, times * 1e6


def time_case(name: str, x: np.ndarray, fs_hz: float, neurokit_s: float | None = 60.0) -> list[SpeedRow]:
    """Time every tool on one array ``x`` (n_samples, n_channels)."""
    from scipy import signal as sps

    from ..dsp import StreamingDetector, detect

    n_ch = x.shape[1]
    total = x.size
    rows: list[SpeedRow] = []
    detect(x[: int(10 * fs_hz)], fs_hz)  # compile (or load from the cache) before timing
    res = None

    def batch() -> None:
        nonlocal res
        res = detect(x, fs_hz)

    rows.append(SpeedRow(name, "kneeemg pipeline, batch", total, _timed(batch)))
    det = StreamingDetector(fs_hz, n_ch)
    secs, per_chunk = _stream(x, fs_hz, det.process)
    det.finish()
    rows.append(SpeedRow(name, "kneeemg pipeline, 20 ms chunks", total, secs,
                         float(np.median(per_chunk)), float(np.percentile(per_chunk, 99))))
    from ..config import DetectorConfig
    from ..dsp.filters import design

    d = design(fs_hz, DetectorConfig(), res.mains_hz, res.notch_hz)
    sos = d.sos
    rows.append(SpeedRow(name, "kneeemg filter stage alone, batch, 1 thread (same sections + 1-20 Hz band)", total,
                         _timed(lambda: _filter_stage(x, d))))
    rows.append(SpeedRow(name, "kneeemg detect stage alone, batch, 1 thread (windows, floor, templates, events)", total,
                         min(_detect_stage(x, fs_hz) for _ in range(3))))
    rows.append(SpeedRow(name, "scipy sosfilt, batch (filter only)", total, _timed(lambda: sps.sosfilt(sos, x, axis=0))))
    zi = np.zeros((sos.shape[0], 2, n_ch))

    def chunk_step(c: np.ndarray) -> None:
        nonlocal zi
        _, zi = sps.sosfilt(sos, c, axis=0, zi=zi)

    secs, per_chunk = _stream(x, fs_hz, chunk_step)
    rows.append(SpeedRow(name, "scipy sosfilt, 20 ms chunks with zi (filter only)", total, secs,
                         float(np.median(per_chunk)), float(np.percentile(per_chunk, 99))))
    if neurokit_s:
        row = _neurokit(name, x, fs_hz, neurokit_s)
        if row is not None:
            rows.append(row)
    return rows


def _filter_stage(x: np.ndarray, d: Any) -> tuple[np.ndarray, np.ndarray]:
    """kneeemg's filter kernel alone over ``x`` (n_samples, n_channels), in the detector's
    blocks and in one thread: the band-pass with its notches and the 1-20 Hz band.

    Returns the band-passed and low-band signals of the last block, shape (n_channels, n).
    """
    from ..dsp import _kernels as K
    from ..dsp.detector import _sections, block_rows

    n_ch = x.shape[1]
    sos, sos_low = _sections(d.sos), _sections(d.sos_low)
    kernel = K.filter_lanes_kernel
    z = np.zeros((len(sos), 2, n_ch))
    z_low = np.zeros((len(sos_low), 2, n_ch))
    rows = block_rows(n_ch)
    y = np.empty((n_ch, rows))
    lo = np.empty((n_ch, rows))
    n = 0
    for a in range(0, len(x), rows):
        blk = x[a : a + rows]
        n = len(blk)
        kernel(sos, sos_low, blk, z, z_low, y[:, :n], lo[:, :n], 0, n_ch)
    return y[:, :n], lo[:, :n]


def _detect_stage(x: np.ndarray, fs_hz: float) -> float:
    """Seconds kneeemg's detect kernel alone takes over ``x`` (n_samples, n_channels), in
    the detector's blocks and in one thread; the blocks are filtered in between, untimed."""
    from ..dsp import StreamingDetector
    from ..dsp.detector import block_rows

    det = StreamingDetector(fs_hz, x.shape[1], threads=1)
    warm = min(len(x) // 4, int(10 * fs_hz))
    det.process(x[:warm])  # the first floor and the filters' start
    rows = block_rows(x.shape[1])
    secs = 0.0
    for a in range(warm, len(x), rows):
        blk = x[a : a + rows]
        y, lo = det._buffers(len(blk), 0)
        outs = det._outputs(len(blk))
        det._filter(blk, y, lo, 0, x.shape[1])
        t0 = time.perf_counter()
        det._detect(blk, y, lo, a, 0, x.shape[1], outs)
        secs += time.perf_counter() - t0
    return secs * len(x) / max(1, len(x) - warm)


def _neurokit(name: str, x: np.ndarray, fs_hz: float, slice_s: float) -> SpeedRow | None:
    """NeuroKit2's emg_process + emg_activation on a slice of channel 0, scaled to the case."""
    try:
        import neurokit2 as nk
    except ImportError:
        return None
    n = min(len(x), int(slice_s * fs_hz))
    sig = x[:n, 0]

    def run() -> None:
        with warnings.catch_warnings():  # (its advice on the input is for its users, not this table's readers)
            warnings.simplefilter("ignore")
            cleaned = nk.emg_clean(sig, sampling_rate=int(fs_hz))
            amp = nk.emg_amplitude(cleaned)
            nk.emg_activation(emg_amplitude=amp, sampling_rate=int(fs_hz), method="threshold")
            nk.emg_process(sig, sampling_rate=int(fs_hz))

    run()  # warm-up
    secs = _timed(run, repeats=1) * (x.size / n)
    return SpeedRow(name, "NeuroKit2 emg_process + emg_activation", x.size, secs, extrapolated=True)


def first_run_seconds(python: str | None = None) -> float:
    """Seconds for a first detection of 10 s of data in a fresh process with no numba cache."""
    code = (
        "import time, numpy as np\n"
        "t=time.perf_counter()\n"
        "from kneeemg import detect\n"
        "detect(np.random.default_rng(0).normal(0,3,(10000,2)), 1000.0)\n"
        "print(time.perf_counter()-t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([python or sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def replay_peak_memory_mb(hours: float, channels: int, fs_hz: float, seed: int, python: str | None = None) -> dict[str, float]:
    """Peak resident memory of ``kneeemg replay`` over a night written to disk, in a fresh process.

    The night is first written as ``.kemg`` (not timed); the child process only replays it.
    """
    from ..simulate import simulate_night, write_simulated

    # VmHWM (peak resident set) of the child's own image: ru_maxrss would carry over the
    # peak of the (large) benchmark process that forked it, since Linux keeps it across exec.
    code = (
        "import sys, time\n"
        "from kneeemg import replay\n"
        "t = time.perf_counter(); r = replay(sys.argv[1])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(time.perf_counter() - t, int(hwm) / 1024)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.kemg"
        write_simulated(simulate_night(hours=hours, n_channels=channels, fs_hz=fs_hz, seed=seed), path)
        size_mb = path.stat().st_size / 1e6
        out = subprocess.run([python or sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    secs, rss = (float(v) for v in out.stdout.split()[-2:])
    return {"hours": hours, "channels": channels, "file_mb": round(size_mb, 1), "replay_s": round(secs, 2), "peak_rss_mb": round(rss, 1)}


def batch_nights_per_minute_per_core(n_nights: int, hours: float, workers: int, seed: int) -> dict[str, float]:
    """Throughput of ``kneeemg batch`` on the local process pool: nights per minute per core."""
    from ..batch import run_batch
    from ..simulate import simulate_night, write_simulated

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(n_nights):
            write_simulated(simulate_night(hours=hours, n_channels=1, fs_hz=1000.0, seed=seed + i), folder / f"n{i}.kemg")
        # once untimed: numba compiles the filters once per number of sections, and the
        # nights' mains hum may give them other numbers of notches than the cases above
        run_batch([str(folder)], Path(tmp) / "warm", workers=workers)
        t0 = time.perf_counter()
        result = run_batch([str(folder)], Path(tmp) / "out", workers=workers)
        secs = time.perf_counter() - t0
    if result.failed:
        raise RuntimeError(f"{len(result.failed)} nights failed in the batch benchmark")
    return {"nights": n_nights, "hours_each": hours, "workers": workers, "seconds": round(secs, 2),
            "nights_per_minute_per_core": round(n_nights / secs * 60 / workers, 2),
            "night_hours_per_minute_per_core": round(n_nights * hours / secs * 60 / workers, 1)}


def run_speed(quick: bool = False, seed: int = 0, command: str = "") -> SpeedReport:
    """Run every speed case.

    Parameters
    ----------
    quick : bool
        Ten minutes of data instead of eight hours (one minute for 64 channels), for CI.
    seed : int
        Seed of the simulated data.
    """
    hours = 10 / 60 if quick else 8.0
    hd_hours = 1 / 60 if quick else 10 / 60
    # first, while this process is idle, so the pool's workers have the cores to themselves;
    # short replays first fill numba's cache (a child that compiles the kernels measures
    # the compiler's memory and time, not the replay's: that is the first run, below)
    for ch in (1, 4):
        replay_peak_memory_mb(1 / 60, ch, 1000.0, seed)
    extra = {
        "replay_memory": replay_peak_memory_mb(hours, 4, 1000.0, seed),
        "batch_local_pool": batch_nights_per_minute_per_core(4 if quick else 8, 0.05 if quick else 1.0, os.cpu_count() or 1, seed),
    }
    rows: list[SpeedRow] = []
    span = f"{hours * 60:g} min" if hours < 1 else f"{hours:g} h"  # "10 min", not "0.166667 h"
    for ch in (1, 4):
        x = _signal(hours, ch, 1000.0, seed)
        rows += time_case(f"{span}, {ch} ch, 1 kHz", x, 1000.0)
        del x
    x = _signal(hd_hours, 64, 2000.0, seed)
    rows += time_case(f"{hd_hours * 60:g} min, 64 ch, 2 kHz", x, 2000.0, neurokit_s=None)
    del x
    return SpeedReport(rows, first_run_seconds(), machine_info(), command, extra)
