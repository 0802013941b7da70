"""Where kneeemg keeps the user's own files (the history database).

The history lives in the user's data directory as ``platformdirs`` defines it for the
system (``~/.local/share/kneeemg`` on Linux, ``~/Library/Application Support/kneeemg`` on
macOS, ``%LOCALAPPDATA%\\kneeemg`` on Windows), unless ``--db`` or ``$KNEEEMG_DB`` names
another file. Nothing is created here; :class:`kneeemg.store.Store` creates the folder when
it opens the file.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the history database file.
DB_ENV_VAR = "KNEEEMG_DB"
#: File name of the history database inside the data directory.
DB_FILE_NAME = "history.sqlite3"


def user_data_path() -> Path:
    """The user's data directory for kneeemg (not created)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("kneeemg", appauthor=False))


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The history database: ``explicit`` (``--db``), else ``$KNEEEMG_DB``, else the data directory.

    Parameters
    ----------
    explicit : path, optional
        A path given on the command line; ``~`` is expanded.
    """
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return user_data_path() / DB_FILE_NAME
