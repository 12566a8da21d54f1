"""Answer checks of the TechEmpower database scenarios, against the database itself.

A world row must hold the number PostgreSQL holds for that id (a made-up number fails);
fortunes must be the table's rows plus the one added at request time, sorted by message,
with the markup escaped; updates must be written back: after the request the database
holds every number the answer reports, and at least one of them differs from what the row
held before the request (the odds that 20 new random numbers all equal the old ones are
10,000^-20).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

from .database import FORTUNES, WORLD_ROWS, query_rows
from .scenario import Check, Response, Scenario

__all__ = ["ADDED_FORTUNE", "expect_fortunes", "expect_updates", "expect_worlds"]

ADDED_FORTUNE = "Additional fortune added at request time."


def _json_body(response: Response) -> tuple[object, str | None]:
    if response.status != 200:
        return None, f"status {response.status}, expected 200: {response.body[:160]!r}"
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("application/json"):
        return None, f"content-type {content_type!r}, expected application/json"
    try:
        return json.loads(response.body), None
    except ValueError:
        return None, f"body is not JSON: {response.body[:160]!r}"


def _world_problem(world: object) -> str | None:
    if not isinstance(world, dict) or set(world) != {"id", "randomNumber"}:
        return f"{world!r:.120} is not an object with exactly id and randomNumber"
    for key in ("id", "randomNumber"):
        value = world[key]
        if type(value) is not int or not 1 <= value <= WORLD_ROWS:
            return f"{key} {value!r} is not an integer from 1 to {WORLD_ROWS}"
    return None


def _worlds(body: object, count: int | None) -> tuple[list[dict[str, int]], str | None]:
    """``count`` None: a single object (the db scenario); else an array of ``count``."""
    worlds = [body] if count is None else body
    if count is not None and (not isinstance(body, list) or len(body) != count):
        return [], f"expected an array of {count} worlds, got {str(body)[:160]}"
    assert isinstance(worlds, list)
    for world in worlds:
        problem = _world_problem(world)
        if problem is not None:
            return [], problem
    return worlds, None


def _numbers_in_database(ids: list[int]) -> dict[int, int]:
    listed = ",".join(str(i) for i in sorted(set(ids)))
    rows = query_rows(f"SELECT id, randomnumber FROM world WHERE id IN ({listed})")
    return {int(i): int(n) for i, n in rows}


def expect_worlds(count: int | None) -> Check:
    """A world (``count`` None) or an array of ``count`` worlds, as the database holds them."""

    def check(_scenario: Scenario, response: Response) -> str | None:
        body, problem = _json_body(response)
        if problem is not None:
            return problem
        worlds, problem = _worlds(body, count)
        if problem is not None:
            return problem
        held = _numbers_in_database([w["id"] for w in worlds])
        for world in worlds:
            if held.get(world["id"]) != world["randomNumber"]:
                return f"{world} but the database holds randomnumber {held.get(world['id'])}"
        return None

    return check


class _Snapshot:
    """The world table as it was before the check's request (``Scenario.before_check``)."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}

    def take(self) -> None:
        rows = query_rows("SELECT id, randomnumber FROM world")
        self.numbers = {int(i): int(n) for i, n in rows}


def expect_updates(count: int) -> tuple[Check, _Snapshot]:
    """The check of the updates scenario and the snapshot its ``before_check`` takes."""
    snapshot = _Snapshot()

    def check(_scenario: Scenario, response: Response) -> str | None:
        body, problem = _json_body(response)
        if problem is not None:
            return problem
        worlds, problem = _worlds(body, count)
        if problem is not None:
            return problem
        ids = [w["id"] for w in worlds]
        held = _numbers_in_database(ids)
        for world in worlds:
            if held.get(world["id"]) != world["randomNumber"]:
                return (
                    f"answered {world} but the database holds randomnumber "
                    f"{held.get(world['id'])}: the update was not written"
                )
        if snapshot.numbers and all(snapshot.numbers.get(i) == held[i] for i in ids):
            return "no row changed: every answered number is the one the row held before"
        return None

    return check, snapshot


class _FortuneTable(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.title = ""
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_title:
            self.title += data


def expect_fortunes() -> Check:
    expected = sorted([*FORTUNES, (0, ADDED_FORTUNE)], key=lambda row: row[1])
    want = [["id", "message"], *([str(i), message] for i, message in expected)]

    def check(_scenario: Scenario, response: Response) -> str | None:
        if response.status != 200:
            return f"status {response.status}, expected 200: {response.body[:160]!r}"
        content_type = response.headers.get("content-type", "").lower().replace(" ", "")
        if content_type != "text/html;charset=utf-8":
            return f"content-type {content_type!r}, expected text/html; charset=utf-8"
        try:
            text = response.body.decode("utf-8")
        except UnicodeDecodeError:
            return "body is not UTF-8"
        if not text.lstrip().lower().startswith("<!doctype html>"):
            return f"body does not start with <!DOCTYPE html>: {text[:80]!r}"
        if "<script>" in text or "&lt;script&gt;" not in text:
            return "fortune 11's <script> is not HTML-escaped"
        table = _FortuneTable()
        table.feed(text)
        if table.title.strip() != "Fortunes":
            return f"title {table.title!r}, expected 'Fortunes'"
        rows = [[cell.strip() if i == 0 else cell for i, cell in enumerate(r)] for r in table.rows]
        if rows != want:
            for got, wanted in zip(rows, want, strict=False):
                if got != wanted:
                    return f"row {got!r}, expected {wanted!r}"
            return f"{len(rows) - 1} fortunes, expected {len(want) - 1}"
        return None

    return check
