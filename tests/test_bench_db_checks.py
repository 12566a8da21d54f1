"""The answer checks of the TechEmpower database scenarios (benches/scenarios/db.py and
after) against the local PostgreSQL: right answers pass, made-up, unescaped or unwritten
ones fail. The benchmark harness is stdlib-only and lives outside the package."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))

from harness.database import FORTUNES, ensure_database, query_rows
from harness.scenario import Response, Scenario, load_scenarios
from harness.tfb_checks import ADDED_FORTUNE

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html; charset=utf-8"}


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    ensure_database()
    return load_scenarios()


def held(ids: list[int]) -> list[dict[str, int]]:
    listed = ",".join(map(str, ids))
    rows = dict(query_rows(f"SELECT id, randomnumber FROM world WHERE id IN ({listed})"))
    return [{"id": i, "randomNumber": int(rows[str(i)])} for i in ids]


def check(scenario: Scenario, body: object, headers: dict[str, str] = JSON) -> str | None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return scenario.check(scenario, Response(200, headers, raw))


def test_setup_is_idempotent() -> None:
    ensure_database()  # creates the tables on a fresh server
    assert "already there" in ensure_database()
    assert query_rows("SELECT count(*) FROM world") == [["10000"]]


def test_world_answers_must_be_what_the_database_holds(scenarios: dict[str, Scenario]) -> None:
    db, queries = scenarios["db"], scenarios["queries"]
    right = held([7])[0]
    assert check(db, right) is None
    wrong = {"id": 7, "randomNumber": right["randomNumber"] % 10000 + 1}
    assert "database holds" in (check(db, wrong) or "")
    assert "integer from 1" in (check(db, {"id": 7, "randomNumber": 0}) or "")
    assert "exactly id and randomNumber" in (check(db, {**right, "x": 1}) or "")
    assert check(queries, held(list(range(1, 21)))) is None
    assert "array of 20" in (check(queries, held(list(range(1, 20)))) or "")


def fortunes_page(escape: bool) -> bytes:
    rows = sorted([*FORTUNES, (0, ADDED_FORTUNE)], key=lambda row: row[1])
    cells = "".join(
        f"<tr><td>{i}</td><td>{html.escape(m) if escape else m}</td></tr>" for i, m in rows
    )
    page = (
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
        f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>"
    )
    return page.encode()


def test_fortunes_must_be_sorted_complete_and_escaped(scenarios: dict[str, Scenario]) -> None:
    fortunes = scenarios["fortunes"]
    assert check(fortunes, fortunes_page(escape=True), HTML) is None
    assert "not HTML-escaped" in (check(fortunes, fortunes_page(escape=False), HTML) or "")
    assert "content-type" in (check(fortunes, fortunes_page(escape=True), JSON) or "")
    page = fortunes_page(escape=True).replace(b"<tr><td>0</td>", b"<tr><td>99</td>")
    assert "expected" in (check(fortunes, page, HTML) or "")


def test_updates_must_be_written_back(scenarios: dict[str, Scenario]) -> None:
    updates = scenarios["updates"]
    ids = list(range(101, 121))
    assert updates.before_check is not None
    updates.before_check()
    unchanged = held(ids)
    assert "no row changed" in (check(updates, unchanged) or "")
    answered = [{"id": w["id"], "randomNumber": w["randomNumber"] % 10000 + 1} for w in unchanged]
    assert "not written" in (check(updates, answered) or "")
    values = ",".join(f"({w['id']}, {w['randomNumber']})" for w in answered)
    query_rows(
        "UPDATE world SET randomnumber = v.n FROM (VALUES "
        f"{values}) AS v(id, n) WHERE world.id = v.id RETURNING world.id"
    )
    assert check(updates, answered) is None
