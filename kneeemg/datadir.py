"""Where the public EMG recordings used by tests and benchmarks live.

They are never part of the repository. Set the ``KNEEEMG_DATA`` environment variable (or
pass ``--data-dir``) to the folder that holds ``uci-lower-limb/``, ``physionet-emgdb/``,
``emggo/`` and ``musclesynergies/``; ``docs/data.md`` says where to download each.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

ENV_VAR = "KNEEEMG_DATA"


def find_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The data directory from ``explicit`` or ``$KNEEEMG_DATA``, or None if neither is set.

    Raises
    ------
    InputError
        When a directory is named but does not exist or is a file.
    """
    raw = explicit if explicit is not None else os.environ.get(ENV_VAR)
    if not raw:
        return None
    path = Path(raw).expanduser()
    if path.is_file():
        raise InputError(f"data directory {path} is a file, not a folder; set {ENV_VAR} or --data-dir to the folder of public recordings")
    if not path.is_dir():
        raise InputError(f"data directory {path} does not exist; set {ENV_VAR} or --data-dir to the folder of public recordings")
    return path
