"""Reprocess many nights: a local process pool or a Dask cluster.

Each night is one task: it streams its recording from disk through the same detector path
as ``kneeemg replay`` (memory bounded whatever the night's length), and writes its results
into a folder of its own, atomically (written under a temporary name, then renamed). A
batch that is stopped and started again skips every night whose folder already holds a
result for the same file (size and modification time) and the same settings; a night that
fails is recorded with its error, so it neither stops the others nor is retried until the
file or the settings change.

Output layout::

    OUT/nights/<night_id>/result.json   status, summary, metrics, settings, version, timing
    OUT/nights/<night_id>/events.csv    the night's twitches, spasms and cramps (successful nights)
    OUT/nights/<night_id>/leg_movements.csv, excluded.csv
    OUT/cohort.csv, OUT/cohort.parquet  one row per night
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import numbers
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .config import DetectorConfig, as_config, settings_hash
from .errors import InputError, KneeEmgError
from .paths import ARTEFACTS_SUFFIX, TRUTH_SUFFIX, check_output_dir, path_text

log = logging.getLogger(__name__)

#: File endings that folders are searched for.
RECORDING_SUFFIXES = (".kemg", ".edf", ".bdf", ".csv", ".tsv", ".hea", ".mat", ".txt")

#: Cohort table columns, in order (more may follow: per-kind rates).
COHORT_COLUMNS = (
    "night_id", "path", "status", "error", "recording_s", "usable_s", "usable_fraction", "lost_s",
    "twitches", "spasms", "cramps", "twitch_per_h", "spasm_per_h", "cramp_per_h", "leg_movements",
    "plm_series", "fs_hz", "channels", "settings_hash", "settings", "kneeemg_version", "elapsed_s", "skipped",
)


@dataclass(frozen=True)
class NightJob:
    """One night to process (picklable: sent to worker processes)."""

    path: str
    out_dir: str
    settings: dict[str, Any]
    channels: tuple[str, ...] | None = None
    resample_hz: float | None = None
    fs_hz: float | None = None

    def all_settings(self) -> dict[str, Any]:
        """Everything that changes what the night's detection finds: the detector settings and,
        when given, the channels, the resampling rate and the rate of CSV files without a time
        column (as :func:`kneeemg.store.night_settings`, so ``kneeemg import`` and ``kneeemg
        batch`` store a night under the same settings hash). ``fs_hz`` is left out for a file
        with its own rate, which does not use it (:func:`kneeemg.store.used_fs`)."""
        from .store import night_settings

        return night_settings(self.path, DetectorConfig.from_dict(self.settings), self.channels, self.resample_hz,
                              self.fs_hz)


def discover_inputs(inputs: Iterable[str | os.PathLike[str]], exclude: str | os.PathLike[str] | None = None) -> list[Path]:
    """Recordings named by files, folders (searched recursively) and glob patterns.

    A WFDB record counts once (by its ``.hea``, also when its ``.dat`` is named); sorted and
    without duplicates. Nothing the batch wrote into its output folder ``exclude`` (its
    ``nights`` folder and cohort tables) is taken, wherever that folder is; nor, in the
    folders searched, what any other batch run wrote (see :func:`is_batch_output`).

    Raises
    ------
    InputError
        When an input names nothing.
    """
    found: dict[Path, None] = {}
    out = Path(exclude).expanduser().resolve() if exclude is not None else None

    def ours(f: Path) -> bool:  # written by the batch into its output folder
        return out is not None and ((out / "nights") in f.parents or (f.parent == out and f.name.startswith(("cohort.", ".cohort."))))

    def add(f: Path) -> None:
        f = f.resolve()
        if f.suffix.lower() == ".dat" and f.with_suffix(".hea").is_file():
            f = f.with_suffix(".hea")  # a WFDB record, named by its header
        if not ours(f):
            found[f] = None

    for raw in inputs:
        text = str(raw)
        if not text:  # (Path("") is the current folder: every recording below it)
            raise InputError("an input is empty; give a recording file, a folder or a pattern")
        p = Path(text).expanduser()
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in RECORDING_SUFFIXES and not _is_sidecar(f) \
                        and not is_batch_output(f):
                    add(f)
        elif p.is_file():
            add(p)
        else:
            matches = sorted(glob.glob(text, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file() and not _is_sidecar(Path(m))]
            if not files:
                raise InputError(f"{text}: no such file, folder or matching recording; check the path or pattern")
            for f in files:
                add(f)
    return sorted(found)


def is_batch_output(path: Path) -> bool:
    """Whether ``path`` is a file a batch run wrote: its cohort tables (beside a ``nights``
    folder), or a file of one of its night folders (each holds a ``result.json``)."""
    if path.name.startswith(("cohort.", ".cohort.")) and (path.parent / "nights").is_dir():
        return True
    if (path.parent / "result.json").is_file() and path.parent.parent.name == "nights":
        return True
    return any(p.name == "nights" and any((p.parent / n).is_file() for n in ("cohort.csv", "cohort.parquet"))
               for p in path.parents)


def _is_sidecar(path: Path) -> bool:
    """Files written beside recordings (ground truth, events) are not recordings: by their
    names, or, for a CSV file of another name, by the header kneeemg gave it."""
    from .io.text import kneeemg_table

    name = path.name.lower()
    return (name.endswith((TRUTH_SUFFIX, ARTEFACTS_SUFFIX, ".events.csv")) or name == "events.csv" or name.endswith(".dat")
            or (name.endswith(".csv") and kneeemg_table(path) is not None))


def night_id(path: str | os.PathLike[str]) -> str:
    """A stable, readable id: the file's stem and a hash of its absolute path."""
    p = Path(path).resolve()
    digest = hashlib.sha1(os.fsencode(p)).hexdigest()[:10]  # the name's bytes: any file name
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in p.stem)[:40]
    return f"{stem}-{digest}"


#: Address schemes of a Dask scheduler.
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler(scheduler: str | None) -> None:
    """Check that ``scheduler`` is None, ``"local"`` or a scheduler address (``tcp://host:8786``).

    Raises
    ------
    InputError
        When it is none of them (before anything is started).
    """
    if scheduler is None or scheduler == "local":
        return
    if not str(scheduler).strip():
        raise InputError("--scheduler is empty; give a Dask scheduler address like tcp://10.0.0.5:8786 (host and port), "
                         "or 'local' to start a cluster on this machine")
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(str(scheduler))
        parse_host_port(location)
    except ValueError:
        scheme = None
    if scheme not in SCHEDULER_SCHEMES:
        raise InputError(f"--scheduler {scheduler} is not a Dask scheduler address; give one like tcp://10.0.0.5:8786 "
                         "(host and port), or 'local' to start a cluster on this machine")


def _fingerprint(path: Path) -> dict[str, Any]:
    """Size and time of the recording's file (and of the other files it is made of: a WFDB
    record's signal files), to tell whether it changed since it was processed."""
    from .store import recording_files

    first, *others = recording_files(path)
    st = first.stat()
    out: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if others:
        out["parts"] = [[f.stat().st_size, f.stat().st_mtime_ns] for f in others]
    return out


def _done(job: NightJob, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The stored row of a night already processed with the same file and settings."""
    result = Path(job.out_dir) / "nights" / night_id(job.path) / "result.json"
    try:
        stored = json.loads(result.read_text())
        if stored.get("fingerprint") == _fingerprint(Path(job.path)) and stored["row"]["settings_hash"] == settings_hash(settings):
            row = stored["row"]  # (its error as text that can be stored: an earlier kneeemg kept a non-UTF-8 file name as it was)
            return dict(row, error=path_text(row["error"])) if row.get("error") else row
    except (OSError, ValueError, KeyError):
        return None
    return None


def process_night(job: NightJob) -> dict[str, Any]:
    """Detect one night and write its folder; return its cohort row (never raises).

    A night already done (same file, same settings) is not processed again: its stored row
    is returned with ``skipped=True``.
    """
    from . import __version__

    settings = job.all_settings()
    row = _done(job, settings)
    if row is not None:
        return dict(row, skipped=True)
    t0 = time.perf_counter()
    path = Path(job.path)
    nid = night_id(path)
    row = {c: None for c in COHORT_COLUMNS}
    row.update(night_id=nid, path=path_text(path), settings_hash=settings_hash(settings),
               settings=json.dumps(settings, sort_keys=True), kneeemg_version=__version__, skipped=False)
    from .io.native import being_recorded

    if being_recorded(path):  # processed now and again when complete, its start would count twice
        return dict(row, status="error", elapsed_s=0.0,
                    error=f"{path_text(path)} is still being recorded; process it once the recording has ended")
    try:
        fingerprint = _fingerprint(path)
    except OSError as exc:
        return dict(row, status="error", error=f"cannot read {path_text(path)}: {exc.strerror}", elapsed_s=0.0)
    final = Path(job.out_dir) / "nights" / nid
    tmp = Path(tempfile.mkdtemp(prefix=f".{nid}-", dir=final.parent))
    try:
        return _process_into(job, path, settings, row, fingerprint, t0, tmp, final)
    finally:  # interrupted (Ctrl-C), the half-written folder goes
        shutil.rmtree(tmp, ignore_errors=True)


def _process_into(job: NightJob, path: Path, settings: dict[str, Any], row: dict[str, Any], fingerprint: dict[str, Any],
                  t0: float, tmp: Path, final: Path) -> dict[str, Any]:
    """Detect the night into the folder ``tmp``, then put it in place as ``final``."""
    try:
        from .events import write_events_csv
        from .metrics import night_metrics, rates_if_long_enough
        from .playback import replay
        from .store import file_hash

        config = DetectorConfig.from_dict(job.settings)
        # one thread per night: the pool already runs a night per core
        result = replay(path, channels=list(job.channels) if job.channels else None, config=config,
                        resample_hz=job.resample_hz, fs_hz=job.fs_hz, threads=1)
        summary = rates_if_long_enough(result.summary())  # (a night under 1 h of usable time gives no rate)
        metrics = night_metrics(result)
        write_events_csv(result.events, tmp / "events.csv")
        write_events_csv(result.leg_movements, tmp / "leg_movements.csv")
        with (tmp / "excluded.csv").open("w", encoding="utf-8") as fh:
            fh.write("start_s,stop_s,channel,reason\n")
            fh.writelines(f"{iv.start_s},{iv.stop_s},{iv.channel},{iv.reason}\n" for iv in result.excluded)
        counts, rates = summary["counts"], summary["per_usable_hour"]
        row.update(
            status="ok", error="", recording_s=summary["recording_s"], usable_s=summary["usable_s"],
            usable_fraction=summary["usable_fraction"], lost_s=summary.get("lost_s", 0.0),
            twitches=counts["twitch"], spasms=counts["spasm"], cramps=counts["cramp"],
            twitch_per_h=rates["twitch"], spasm_per_h=rates["spasm"], cramp_per_h=rates["cramp"],
            leg_movements=summary["leg_movements_thigh"]["count"],
            plm_series=summary["leg_movements_thigh"]["periodic_series"],
            fs_hz=result.fs_hz, channels=",".join(result.labels),
        )
        extra = {"summary": summary, "metrics": metrics.as_dict(), "content_hash": file_hash(path)}
    except Exception as exc:  # noqa: BLE001 - one bad night must not stop the batch
        log.debug("night %s failed:\n%s", path, traceback.format_exc())
        # (text that can be stored: a file name in it that is not UTF-8 is written as \\xNN, as path_text does)
        message = path_text(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        # kneeemg's own errors are already a sentence for the user; others keep their class
        row.update(status="error", error=message if isinstance(exc, KneeEmgError) else f"{type(exc).__name__}: {message}")
        extra = {}
    row["elapsed_s"] = round(time.perf_counter() - t0, 3)
    (tmp / "result.json").write_text(json.dumps({"row": row, "fingerprint": fingerprint, **extra}, indent=1, default=str))
    _replace_dir(tmp, final)
    return row


#: A night's scratch folder older than this was left by a run that was killed.
STALE_SCRATCH_S = 3600.0


def _remove_stale(nights: Path) -> None:
    """Remove the scratch folders (``.<night>-...``, ``<night>.old-<pid>``) that a killed run left."""
    now = time.time()
    for d in nights.iterdir():
        if d.is_dir() and (d.name.startswith(".") or ".old-" in d.name) and now - d.stat().st_mtime > STALE_SCRATCH_S:
            shutil.rmtree(d, ignore_errors=True)


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, replacing an older result; a reader sees one or the other."""
    if final.exists():
        old = final.with_name(final.name + f".old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@dataclass
class BatchResult:
    """The cohort: one row per night, and where the tables were written."""

    rows: list[dict[str, Any]]
    csv_path: Path
    parquet_path: Path

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "ok"]

    @property
    def processed(self) -> int:
        """Nights actually processed in this run (not skipped as already done)."""
        return sum(1 for r in self.rows if not r.get("skipped"))


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: DetectorConfig | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    channels: Sequence[str] | None = None,
    resample_hz: float | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
    fs_hz: float | None = None,
    db: str | os.PathLike[str] | None = None,
) -> BatchResult:
    """Process every recording named by ``inputs`` and write the cohort table.

    Parameters
    ----------
    inputs : sequence of str or path
        Files, folders or glob patterns.
    out_dir : path
        Output folder (created).
    config : DetectorConfig, optional
        The same settings for every night.
    workers : int, optional
        Worker processes (at least 1; default: one per core).
    scheduler : str, optional
        None for the local process pool; ``"local"`` to start a Dask ``LocalCluster``; or the
        address of a running Dask scheduler (``tcp://host:8786``).
    channels, resample_hz, fs_hz : optional
        As :func:`kneeemg.replay`, the same for every night (``fs_hz`` only for CSV
        files without a time column).
    progress : callable, optional
        Called as ``progress(done, total, row)`` after each night.
    db : path, optional
        The history database the nights are imported into afterwards (:func:`kneeemg.store.import_batch`):
        checked before any night, and never one of the recordings.

    Raises
    ------
    InputError
        Before any night is processed: inputs that name nothing, an output folder that cannot
        be written or holds a ``cohort.csv`` or ``cohort.parquet`` that a batch did not write,
        a bad number of workers or scheduler address, workers given for an existing cluster,
        a ``db`` that is one of the recordings.
    StoreError
        Before any night is processed: a ``db`` that is not a kneeemg history.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1):
        raise InputError(f"--workers {workers} is not allowed; give a whole number of at least 1 (or leave it out: one per core)")
    check_scheduler(scheduler)
    if workers is not None and scheduler not in (None, "local"):
        raise InputError(f"--workers sets how many worker processes this machine starts, and the cluster at {scheduler} "
                         "has its own; leave out --workers (start more `dask worker` processes there instead)")
    paths = discover_inputs(inputs, exclude=out_dir)
    if not paths:
        raise InputError("no recordings found in the inputs; name files, folders or glob patterns")
    if db is not None:
        from .paths import check_db_apart
        from .store import Store

        check_db_apart(db, paths, "one of the recordings of the batch")
        Store(db).close()  # a db that is no kneeemg history is said now, not after the nights
    out = check_output_dir(out_dir, "--out")
    check_cohort_tables(out)
    (out / "nights").mkdir(exist_ok=True)
    _remove_stale(out / "nights")
    settings = as_config(config).as_dict()
    jobs = [NightJob(str(p), str(out.resolve()), settings, tuple(channels) if channels else None, resample_hz, fs_hz)
            for p in paths]
    n_workers = workers or os.cpu_count() or 1
    if scheduler:
        rows = _run_dask(jobs, scheduler, n_workers, progress)
    else:
        rows = _run_local(jobs, n_workers, progress)
    rows.sort(key=lambda r: r["path"])
    csv_path, parquet_path = write_cohort(rows, out)
    return BatchResult(rows, csv_path, parquet_path)


def _run_local(jobs: list[NightJob], workers: int, progress: Callable | None) -> list[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rows: list[dict[str, Any]] = []
    if workers == 1:
        for job in jobs:
            rows.append(process_night(job))
            if progress:
                progress(len(rows), len(jobs), rows[-1])
        return rows
    # spawn, not fork: a process with other threads running (a detector's worker thread,
    # a caller's own threads) cannot be forked safely.
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(process_night, job) for job in jobs]
        try:
            for fut in as_completed(futures):
                rows.append(fut.result())
                if progress:
                    progress(len(rows), len(jobs), rows[-1])
        except BaseException:  # Ctrl-C: no other night starts (leaving the pool would wait for every one)
            pool.shutdown(cancel_futures=True)
            raise
    return rows


def _run_dask(jobs: list[NightJob], scheduler: str, workers: int, progress: Callable | None) -> list[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address and that it runs") from None
    rows: list[dict[str, Any]] = []
    try:
        futures = client.map(process_night, jobs, pure=False)
        for fut in as_completed(futures):
            rows.append(fut.result())
            if progress:
                progress(len(rows), len(jobs), rows[-1])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return rows


def check_cohort_tables(out: Path) -> None:
    """Refuse, before any night, an output folder whose ``cohort.csv`` or ``cohort.parquet``
    is not a cohort table a batch wrote (a file of the same name is replaced at the end).

    Raises
    ------
    InputError
        Naming the file and what to do.
    """
    from .paths import check_output_file

    head = ",".join(COHORT_COLUMNS[:3]).encode()
    check_output_file(out / "cohort.csv", "--out", "kneeemg cohort table", head)
    pq = out / "cohort.parquet"
    if pq.is_file() and pq.stat().st_size > 0:
        try:
            import pyarrow.parquet

            ours = pyarrow.parquet.read_schema(pq).names[:3] == list(COHORT_COLUMNS[:3])
        except Exception:  # noqa: BLE001 - not Parquet at all, or unreadable: not ours either
            ours = False
        if not ours:
            raise InputError(f"--out {pq} already exists and is not a kneeemg cohort table, so it is not replaced; "
                             "choose another --out or move that file away first")
    elif pq.exists() and not pq.is_file():
        raise InputError(f"--out {pq} is a folder, not the cohort table a batch writes; choose another --out or move "
                         "that folder away first")


def write_cohort(rows: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """Write the cohort table as CSV and Parquet (atomically); return both paths."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(COHORT_COLUMNS))
    csv_path, parquet_path = out / "cohort.csv", out / "cohort.parquet"
    tmp_csv, tmp_pq = out / ".cohort.csv.tmp", out / ".cohort.parquet.tmp"
    frame.to_csv(tmp_csv, index=False)
    frame.to_parquet(tmp_pq, index=False)
    os.replace(tmp_csv, csv_path)
    os.replace(tmp_pq, parquet_path)
    return csv_path, parquet_path
