"""Accuracy benchmark: kneeemg against NeuroKit2, BioSPPy and psgscoring.

    KNEEEMG_DATA=/path/to/data python benchmarks/accuracy.py            # full run
    KNEEEMG_DATA=/path/to/data python benchmarks/accuracy.py --quick    # a few minutes of data (CI)

Same as ``kneeemg bench accuracy``. Writes a table, ``--json FILE`` and ``--plot FILE``.
Without the data directory only the simulated part runs.
"""

import sys

from kneeemg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "accuracy", *sys.argv[1:]]))
