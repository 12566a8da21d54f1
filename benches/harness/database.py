"""The PostgreSQL database of the TechEmpower scenarios: its tables, its fill, and reads
the answer checks make.

TechEmpower's schema, lower-cased as PostgreSQL folds unquoted names: ``world`` holds
10,000 rows ``(id, randomnumber)`` with random numbers from 1 to 10,000, ``fortune`` the 12
standard fortunes. ``ensure_database`` creates and fills both and is idempotent: tables
already right are left as they are (the update scenario rewrites ``world`` rows; their
numbers stay in range, so a second run keeps them).

The harness is stdlib-only, so it talks to the server through ``psql``.

    python3 benches/db_setup.py [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = [
    "APP_ENV_URL",
    "DEFAULT_URL",
    "ENV_URL",
    "FORTUNES",
    "WORLD_ROWS",
    "DatabaseUnavailable",
    "database_url",
    "ensure_database",
    "query_rows",
]

#: Where the database is (the user's setting); the harness reads it.
ENV_URL = "CELLO_BENCH_DATABASE_URL"
#: What the apps read: set by the harness only for the servers of database scenarios, so
#: the other scenarios' servers open no pool even when ENV_URL is set in the shell.
APP_ENV_URL = "CELLO_BENCH_DB_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
WORLD_ROWS = 10_000

#: TechEmpower's 12 fortunes (the 13th is added by each app at request time).
FORTUNES: tuple[tuple[int, str], ...] = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
)


class DatabaseUnavailable(RuntimeError):
    """psql is missing or the server refused: the database scenarios cannot run."""


def database_url() -> str:
    return os.environ.get(ENV_URL) or DEFAULT_URL


def _psql(url: str, sql: str) -> str:
    psql = shutil.which("psql")
    if psql is None:
        raise DatabaseUnavailable("psql is not on PATH (apt-get install postgresql-client)")
    argv = [psql, url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise DatabaseUnavailable(f"psql {url}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_database(url: str | None = None) -> str:
    """Create and fill ``world`` and ``fortune`` unless they already hold the right rows.

    Returns what it did, one line per table.
    """
    url = url or database_url()
    _psql(
        url,
        "CREATE TABLE IF NOT EXISTS world ("
        " id integer NOT NULL PRIMARY KEY, randomnumber integer NOT NULL DEFAULT 0);\n"
        "CREATE TABLE IF NOT EXISTS fortune ("
        " id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL);\n",
    )
    done = []
    world_ok = _psql(
        url,
        f"SELECT count(*) = {WORLD_ROWS} AND min(id) = 1 AND max(id) = {WORLD_ROWS}"
        f" AND bool_and(randomnumber BETWEEN 1 AND {WORLD_ROWS}) FROM world;",
    ).strip()
    if world_ok == "t":
        done.append(f"world: {WORLD_ROWS} rows already there")
    else:
        _psql(
            url,
            "BEGIN; TRUNCATE world;\n"
            "INSERT INTO world (id, randomnumber)"
            f" SELECT i, 1 + floor(random() * {WORLD_ROWS})::int"
            f" FROM generate_series(1, {WORLD_ROWS}) AS i;\nCOMMIT; ANALYZE world;\n",
        )
        done.append(f"world: filled with {WORLD_ROWS} rows")
    listed = _psql(url, "SELECT id, message FROM fortune ORDER BY id;")
    have = [tuple(line.split("\t", 1)) for line in listed.splitlines()]
    want = [(str(i), message) for i, message in FORTUNES]
    if have == want:
        done.append(f"fortune: {len(FORTUNES)} rows already there")
    else:
        values = ",\n".join(f"({i}, {_literal(message)})" for i, message in FORTUNES)
        _psql(
            url,
            f"BEGIN; TRUNCATE fortune;\nINSERT INTO fortune (id, message) VALUES\n{values};\n"
            "COMMIT; ANALYZE fortune;\n",
        )
        done.append(f"fortune: filled with {len(FORTUNES)} rows")
    return "\n".join(done)


def query_rows(sql: str, url: str | None = None) -> list[list[str]]:
    """Rows of ``sql`` as text fields (for the answer checks)."""
    out = _psql(url or database_url(), sql if sql.rstrip().endswith(";") else sql + ";")
    return [line.split("\t") for line in out.splitlines()]
