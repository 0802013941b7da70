"""Benchmarks: speed (:mod:`kneeemg.bench.speed`) and accuracy (:mod:`kneeemg.bench.accuracy`).

``kneeemg bench speed|accuracy`` and the scripts in ``benchmarks/`` call these.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

#: How the benchmarks' output files begin: JSON (an object) and PNG.
JSON_SIGNATURE = b"{"
PNG_SIGNATURE = b"\x89PNG"


def check_outputs(json_path: str | os.PathLike[str] | None, plot_path: str | os.PathLike[str] | None) -> None:
    """Check, before a benchmark runs (minutes), that its ``--json`` and ``--plot`` files may
    be written: a folder that is missing or cannot be written, or a file that is no earlier
    output of the kind, is an :class:`~kneeemg.errors.InputError` now, not after the run."""
    from ..paths import check_output_file

    if json_path is not None:  # (an empty one is refused, not taken as none)
        check_output_file(json_path, "--json", "benchmark JSON file", JSON_SIGNATURE)
    if plot_path is not None:
        check_output_file(plot_path, "--plot", "PNG image", PNG_SIGNATURE)
        if Path(plot_path).suffix.lower() != ".png":  # (matplotlib takes the format from the name, after the run)
            raise InputError(f"--plot {plot_path} is not a .png file; name the plot like accuracy.png")
        if json_path is not None and Path(json_path).expanduser().resolve() == Path(plot_path).expanduser().resolve():
            raise InputError(f"--json and --plot both name {plot_path}; give each its own file")
