#!/usr/bin/env python3
"""Entry point of Cello's load benchmarks: ``python benches/run.py --help``.

``make bench`` runs it with the defaults, ``make bench-quick`` with ``--quick``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.cli import main  # needs the path above

if __name__ == "__main__":
    sys.exit(main())
