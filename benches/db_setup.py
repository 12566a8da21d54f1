"""Create and fill the TechEmpower tables (``world``, ``fortune``) in PostgreSQL; idempotent.

    python3 benches/db_setup.py [--url postgresql://postgres@127.0.0.1:5432/test]

The URL defaults to ``$CELLO_BENCH_DATABASE_URL``, else the local server's database
``test``. ``benches/run.py`` runs the same step itself before a database scenario.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.database import DatabaseUnavailable, database_url, ensure_database

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=database_url())
    args = parser.parse_args()
    try:
        print(ensure_database(args.url))
    except DatabaseUnavailable as error:
        sys.exit(f"db_setup: {error}")
