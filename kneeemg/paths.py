"""Where kneeemg keeps the user's own files (the history database), and the checks that an
output file never replaces something it should not.

The history lives in the user's data directory as ``platformdirs`` defines it for the
system (``~/.local/share/kneeemg`` on Linux, ``~/Library/Application Support/kneeemg`` on
macOS, ``%LOCALAPPDATA%\\kneeemg`` on Windows), unless ``--db`` or ``$KNEEEMG_DB`` names
another file. Nothing is created here; :class:`kneeemg.store.Store` creates the folder when
it opens the file.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from .errors import InputError

#: Environment variable naming the history database file.
DB_ENV_VAR = "KNEEEMG_DB"
#: File name of the history database inside the data directory.
DB_FILE_NAME = "history.sqlite3"
#: Endings of the ground-truth files written beside a simulated recording (never outputs of a detection).
TRUTH_SUFFIX = ".truth.csv"
ARTEFACTS_SUFFIX = ".artefacts.csv"


def is_ground_truth(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a simulated recording's ground truth (``*.truth.csv``,
    ``*.artefacts.csv``), by its own name or, through symbolic links, by the file's."""
    names = (str(path), str(Path(path).expanduser().resolve()))
    return any(name.lower().endswith((TRUTH_SUFFIX, ARTEFACTS_SUFFIX)) for name in names)


def path_text(path: str | os.PathLike[str]) -> str:
    """``path`` (or a text naming one) as text that can be stored and printed (UTF-8): the
    bytes of a file name that are not UTF-8 are written as ``\\xNN`` (a surrogate that no
    file name's byte gives, as ``\\udNNN``)."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return os.fsencode(text).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def stored_path(text: str) -> Path:
    """The file that :func:`path_text` wrote as ``text``: the name itself when it names a file,
    else with each ``\\xNN`` turned back into its byte (a file name that is not UTF-8)."""
    plain = Path(text)
    if plain.exists() or "\\x" not in text:
        return plain
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    return Path(os.fsdecode(raw))


def user_data_path() -> Path:
    """The user's data directory for kneeemg (not created)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("kneeemg", appauthor=False))


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The history database: ``explicit`` (``--db``), else ``$KNEEEMG_DB``, else the data directory.

    Parameters
    ----------
    explicit : path, optional
        A path given on the command line; ``~`` is expanded. None for the default.

    Raises
    ------
    InputError
        ``explicit`` is empty text (``--db ""``): see :func:`check_db_given`.
    """
    if explicit is not None:
        check_db_given(explicit)
        return Path(explicit).expanduser()
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return user_data_path() / DB_FILE_NAME


def check_given(path: str | os.PathLike[str] | None, option: str, what: str = "a file name") -> None:
    """Refuse a path given as empty text (``--case ""``): it is not the same as leaving the
    option out, nor the current folder. ``what`` says what to give ("a JSON case file").

    Raises
    ------
    InputError
        "``option`` is empty; give ``what``".
    """
    if path is not None and str(path) == "":
        raise InputError(f"{option} is empty; give {what}")


def check_recording_named(path: str | os.PathLike[str]) -> None:
    """Refuse a recording named by empty text: ``Path("")`` is the current folder.

    Raises
    ------
    InputError
        "the recording's name is empty; give a recording file".
    """
    if str(path) == "":
        raise InputError("the recording's name is empty; give a recording file")


def check_db_given(db: str | os.PathLike[str] | None) -> None:
    """Refuse a history database given as empty text (``--db ""``): it does not mean the
    default history (that is ``--db`` left out), so nothing is read or written.

    Raises
    ------
    InputError
        "--db is empty; give a history database file, or leave --db out for the default one".
    """
    check_given(db, "--db", "a history database file, or leave --db out for the default one")


def check_db_apart(db: str | os.PathLike[str] | None, inputs: Iterable[str | os.PathLike[str]], what: str) -> None:
    """Refuse, before anything is written, a history database (``--db``, else ``$KNEEEMG_DB``)
    that is one of the files a command reads: opening it would turn that file (an empty one, a
    recording being written) into an SQLite database.

    Parameters
    ----------
    db : path, optional
        The ``--db`` given (None: ``$KNEEEMG_DB`` or the data directory; empty is refused).
    inputs : iterable of path
        The files the command reads.
    what : str
        What those files are, for the message (``"one of the recordings to import"``).

    Raises
    ------
    InputError
        With a one-line message naming the file and what to do.
    """
    p = db_path(db)
    option = "--db" if db is not None else (f"${DB_ENV_VAR}" if os.environ.get(DB_ENV_VAR) else None)
    for src in inputs:
        q = Path(src).expanduser()
        same = os.path.abspath(q) == os.path.abspath(p)
        if not same and q.exists() and p.exists():
            try:
                same = os.path.samefile(q, p)
            except OSError:
                same = False
        if same:
            named = f"{option} {path_text(p)}" if option else f"the history database {path_text(p)}"
            fix = (f"give another {option} (the history is a file of its own, e.g. history.sqlite3)" if option
                   else "leave the history database out of the files to read")
            raise InputError(f"{named} is {what}; {fix}")


def check_output_file(path: str | os.PathLike[str], option: str, what: str, signature: bytes | None,
                      inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Check, before any work, that ``path`` may be written as a ``what``.

    An existing file is replaced only when it is empty or starts with ``signature`` (an
    earlier output of the same kind): a recording, a history database or any other file
    given by mistake is never overwritten, nor is any of ``inputs``. With ``signature``
    None (a kind of file that others write too, such as EDF) an existing file is never
    replaced.

    Parameters
    ----------
    path : path
        The output file (``~`` is expanded).
    option : str
        The command-line option that names it (for the messages), e.g. ``"--out"``.
    what : str
        What is written, e.g. ``"kneeemg report"``.
    signature : bytes or None
        How a file of that kind begins; None: an existing file is refused.
    inputs : iterable of path
        Files the same command reads.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    check_given(path, option)
    p = Path(path).expanduser()
    if p.is_symlink():
        p = Path(os.path.realpath(p))  # a link to the output: the file it points to is written
    if p.is_dir():
        raise InputError(f"{option} {p} is a folder; give a file name")
    if not p.parent.is_dir():
        raise InputError(f"{option} {p}: folder {p.parent} does not exist; create it or choose another {option}")
    _probe_write(p.parent, option, p)
    if not p.exists():
        return p
    if signature is None:
        raise InputError(f"{option} {p} already exists and is not replaced ({what}s never replace a file); "
                         f"choose a new name for {option}")
    for src in inputs:
        if src is not None and Path(src).expanduser().exists() and os.path.samefile(p, Path(src).expanduser()):
            raise InputError(f"{option} {p} is the file being read; choose another {option}")
    try:
        with p.open("rb") as fh:
            head = fh.read(len(signature))
    except OSError as exc:
        raise InputError(f"{option} {p}: cannot read it to check what it is ({exc.strerror}); choose another {option}") from None
    if head and head != signature:
        raise InputError(f"{option} {p} already exists and is not a {what}, so it is not replaced; "
                         f"choose another {option} or move that file away first")
    return p


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it when the block ends without error.

    A reader sees the old file or the new one, never a half-written one; on an error the
    temporary file is removed and ``path`` is left as it was.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def check_output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Create the output folder ``path`` when missing and check that a file can be written there.

    Called before any work (and before any sensor is contacted), so that a bad folder is
    reported at once, not after hours. The check writes and removes a scratch file: the
    permission bits alone do not tell (root, read-only file systems, sysfs).

    Raises
    ------
    InputError
        When ``path`` is empty, or it (or a folder above it) is a file, or the folder cannot be
        created or written; the message names ``option``.
    """
    check_given(path, option, "a folder")
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists() and not q.is_dir():
            what = "is a file, not a folder" if q == p else f"cannot be made: {q} is a file, not a folder"
            raise InputError(f"{option} {p} {what}; give a folder (it is created when missing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {p}: cannot create the folder ({exc.strerror or exc}); choose another {option}") from None
    _probe_write(p, option, p)
    return p


@contextmanager
def output_folder(path: str | os.PathLike[str], option: str = "--out") -> Iterator[Path]:
    """:func:`check_output_dir` for a block that writes into the folder: the folders it
    created are removed again at the end of the block when they are still empty (the
    sensor could not be opened, the recording was stopped before it began), so a failed
    command leaves nothing behind. A folder that holds anything is never touched."""
    p = Path(path).expanduser()
    made = [q for q in (p, *p.parents) if not q.exists()]  # deepest first
    folder = check_output_dir(p, option)
    try:
        yield folder
    finally:
        for q in made:
            try:
                q.rmdir()  # only an empty folder goes
            except OSError:
                break


def _probe_write(folder: Path, option: str, named: Path) -> None:
    """Write and remove a scratch file in ``folder``: the permission bits alone do not tell
    (root, read-only file systems, sysfs)."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".kneeemg-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = "" if named == folder else f" {folder}"
        raise InputError(f"{option} {named}: cannot write in the folder{where} ({exc.strerror or exc}); "
                         f"choose another {option}") from None
