"""Speed benchmark: the full pipeline against scipy's filter and NeuroKit2.

    python benchmarks/speed.py            # full run: 8-hour nights (several minutes)
    python benchmarks/speed.py --quick    # ten minutes of data (CI)

Same as ``kneeemg bench speed``. Writes a table, ``--json FILE`` and ``--plot FILE``.
"""

import sys

from kneeemg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "speed", *sys.argv[1:]]))
