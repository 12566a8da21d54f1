"""The GraphQL benchmark app for Cello: the typed layer (``cello.graphql``).

Same data and answers as graphql_strawberry.py and graphql_original.py (benches/graphql_bench.py
compares them before loading any server):

- ``{ items { id name price inStock category } }``: 100 dataclass objects, plain attributes
  (read in Rust, no per-field resolver), from a root resolver returning a prebuilt list;
- ``{ authors { id name posts { id title } } }``: 40 authors whose ``posts`` field is an async
  resolver calling the request's DataLoader, whose batch function answers all keys at once;
- ``{ batchCalls }``: how many times the batch function has run (the bench checks one call
  per nested query).

    python graphql_cello.py --port 8000 --workers 1
"""

from __future__ import annotations

import argparse
import dataclasses

from cello import App, GraphQLConfig, graphql

CATEGORIES = ("books", "games", "music", "tools")
AUTHOR_COUNT = 40
POSTS_PER_AUTHOR = 3


@graphql.type
@dataclasses.dataclass
class Item:
    id: int
    name: str
    price: float
    in_stock: bool
    category: str


@graphql.type
@dataclasses.dataclass
class Post:
    id: int
    title: str


@graphql.type
@dataclasses.dataclass
class Author:
    id: int
    name: str

    @graphql.field
    async def posts(self, info: graphql.Info) -> list[Post]:
        return await info.context["posts"].load(self.id)  # type: ignore[no-any-return]


ITEMS = [
    Item(i, f"item {i}", round(1.5 + i * 0.25, 2), i % 3 != 0, CATEGORIES[i % 4])
    for i in range(1, 101)
]
AUTHORS = [Author(a, f"author {a}") for a in range(1, AUTHOR_COUNT + 1)]
POSTS = {
    a: [Post(a * 10 + k, f"post {k} by author {a}") for k in range(POSTS_PER_AUTHOR)]
    for a in range(1, AUTHOR_COUNT + 1)
}
BATCH_CALLS = [0]


async def load_posts(author_ids: list[int]) -> list[list[Post]]:
    BATCH_CALLS[0] += 1
    return [POSTS[a] for a in author_ids]


@graphql.type
class Query:
    @graphql.field
    def items(self) -> list[Item]:
        return ITEMS

    @graphql.field
    def authors(self) -> list[Author]:
        return AUTHORS

    @graphql.field
    def batch_calls(self) -> int:
        return BATCH_CALLS[0]


app = App()
app.enable_graphql(
    GraphQLConfig(path="/graphql"),
    schema=graphql.Schema(query=Query),
    context=lambda request: {"posts": graphql.DataLoader(load_posts)},
)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers, env="production", logs=False)
