"""Lists of objects whose selected fields are all plain reads are projected by the
engine in one pass (crates/cello-protocols/src/graphql/projection.rs). The answers
must be exactly what field-by-field resolution gives: values, aliases, `__typename`,
enums, nested objects and lists, dicts and objects; and where a value does not fit
its type (a null in a non-null field, an unknown enum value, a missing attribute),
the same error at the same path."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import httpx
import pytest
from cello import App, GraphQLConfig
from cello import graphql as gql

pytestmark = pytest.mark.skipif("graphql" not in __import__("cello").features(), reason="needs a build with the graphql feature (make test builds it)")


@gql.enum
class Size(enum.Enum):
    S = "s"
    L = "l"


@gql.type
@dataclasses.dataclass
class Maker:
    label: str


@gql.type
@dataclasses.dataclass
class Item:
    id: gql.ID
    name: str
    price: float
    in_stock: bool
    size: Size
    tags: list[str]
    maker: Maker | None
    makers: list[Maker]

    @gql.field
    def shout(self) -> str:
        return self.name.upper()


def item(n: int, **changes: Any) -> Item:
    fields: dict[str, Any] = {"id": gql.ID(str(n)), "name": f"item{n}", "price": n * 1.5, "in_stock": n % 2 == 0, "size": Size.S if n % 2 else Size.L, "tags": [f"t{n}"], "maker": Maker(f"m{n}") if n % 3 else None, "makers": [Maker("a"), Maker("b")]}
    fields.update(changes)
    return Item(**fields)


@gql.type
class Query:
    @gql.field
    def items(self) -> list[Item]:
        return [item(n) for n in range(1, 4)]

    @gql.field
    def rows(self) -> list[Item]:
        return [{"id": "9", "name": "row", "price": 1.0, "in_stock": True, "size": Size.L, "tags": [], "maker": {"label": "d"}, "makers": []}]  # type: ignore[list-item]

    @gql.field
    def nameless(self) -> list[Item]:
        return [item(1), item(2, name=None)]

    @gql.field
    def odd_size(self) -> list[Item]:
        return [item(1, size="XL")]

    @gql.field
    def strangers(self) -> list[Item]:
        return [object()]  # type: ignore[list-item]


def ask(url: str, query: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.post(url, json={"query": query}, timeout=30).json()
    return answer


@pytest.fixture
def url(live: Any) -> str:
    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql"), schema=gql.Schema(query=Query))
    return str(live(app).url) + "/graphql"


def test_a_projected_list_answers_what_field_by_field_resolution_would(url: str) -> None:
    out = ask(url, "{ items { __typename id label: name price inStock size tags maker { label } makers { label } } }")
    assert out == {
        "data": {
            "items": [
                {"__typename": "Item", "id": "1", "label": "item1", "price": 1.5, "inStock": False, "size": "S", "tags": ["t1"], "maker": {"label": "m1"}, "makers": [{"label": "a"}, {"label": "b"}]},
                {"__typename": "Item", "id": "2", "label": "item2", "price": 3.0, "inStock": True, "size": "L", "tags": ["t2"], "maker": {"label": "m2"}, "makers": [{"label": "a"}, {"label": "b"}]},
                {"__typename": "Item", "id": "3", "label": "item3", "price": 4.5, "inStock": False, "size": "S", "tags": ["t3"], "maker": None, "makers": [{"label": "a"}, {"label": "b"}]},
            ]
        }
    }
    assert list(out["data"]["items"][0]) == ["__typename", "id", "label", "price", "inStock", "size", "tags", "maker", "makers"]
    # dicts are read by key
    assert ask(url, "{ rows { name maker { label } } }") == {"data": {"rows": [{"name": "row", "maker": {"label": "d"}}]}}


def test_a_resolver_or_a_fragment_in_the_selection_is_resolved_field_by_field(url: str) -> None:
    assert ask(url, "{ items { name shout } }")["data"]["items"][2] == {"name": "item3", "shout": "ITEM3"}
    assert ask(url, "{ items { ... on Item { id } } }")["data"]["items"][0] == {"id": "1"}
    assert ask(url, "{ items { id @skip(if: true) name } }")["data"]["items"][0] == {"name": "item1"}


def test_values_that_do_not_fit_their_type_are_errors_at_their_path(url: str) -> None:
    nameless = ask(url, "{ nameless { id name } }")
    assert nameless["errors"][0]["path"] == ["nameless", 1, "name"]
    assert nameless["data"]["nameless"][0] == {"id": "1", "name": "item1"}
    odd = ask(url, "{ oddSize { size } }")
    assert odd["errors"][0]["path"] == ["oddSize", 0, "size"]
    strangers = ask(url, "{ strangers { id } }")
    assert strangers["errors"][0]["path"] == ["strangers", 0, "id"]
    assert "id" in strangers["errors"][0]["message"]
