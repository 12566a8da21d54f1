"""The original framework's untyped resolvers: a resolver without a return annotation
answers the `JSON` scalar, and a sub-selection on it trims the value as the original
did (dicts by key, objects by attribute, zero-argument methods called, lists item by
item, aliases renamed). Also ``info`` read as the original's dict."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from cello import App, GraphQLConfig
from cello.graphql import Query, Schema

pytestmark = pytest.mark.skipif("graphql" not in __import__("cello").features(), reason="needs a build with the graphql feature (make test builds it)")

CALLS: list[str] = []


@dataclasses.dataclass
class Account:
    id: int
    owner: str
    secret: str = "hidden"

    def label(self) -> str:
        return f"{self.owner}#{self.id}"


# Untyped on purpose, as the original's docs write resolvers.
@Query
def users(info, role=None):
    CALLS.append(info["field_name"])
    rows = [
        {"id": 1, "name": "ada", "role": "admin", "password": "x", "address": {"city": "London", "zip": "N1"}},
        {"id": 2, "name": "alan", "role": "reader", "password": "y", "address": None},
    ]
    return [row for row in rows if role is None or row["role"] == role]


@Query
def account(id):
    return Account(int(id), "grace")


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.fixture
def url(live: Any) -> str:
    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql", max_depth=6), schema=Schema().query(users).query(account))
    return str(live(app).url) + "/graphql"


def test_an_untyped_result_is_trimmed_to_the_selection(url: str) -> None:
    out = post(url, "{ users { id name address { city } } }")
    assert out == {"data": {"users": [{"id": 1, "name": "ada", "address": {"city": "London"}}, {"id": 2, "name": "alan", "address": None}]}}
    assert list(out["data"]["users"][0]) == ["id", "name", "address"], "the selection's order"
    assert CALLS[-1] == "users", "info['field_name'], as the original's dict"
    # arguments, aliases, and a missing key is null
    out = post(url, 'query { admins: users(role: "admin") { who: name nickname } }')
    assert out == {"data": {"admins": [{"who": "ada", "nickname": None}]}}


def test_objects_are_trimmed_by_attribute_and_methods_are_called(url: str) -> None:
    out = post(url, "{ account(id: 7) { id label } }")
    assert out == {"data": {"account": {"id": 7, "label": "grace#7"}}}


def test_fragments_inside_an_untyped_selection_are_flattened(url: str) -> None:
    query = "query { users { ...Basic ... on Anything { role } } } fragment Basic on Whatever { id }"
    assert post(url, query) == {"data": {"users": [{"id": 1, "role": "admin"}, {"id": 2, "role": "reader"}]}}


def test_without_a_selection_the_whole_value(url: str) -> None:
    out = post(url, "{ users }")
    assert out["data"]["users"][0]["password"] == "x"
