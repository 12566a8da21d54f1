"""The GraphQL benchmark app for Strawberry, served as ASGI (``strawberry.asgi.GraphQL``).

Same data and answers as graphql_cello.py (see there); the DataLoader is Strawberry's own,
made per request in ``get_context``.

    granian --interface asgi --workers 1 --loop uvloop graphql_strawberry:app
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader

CATEGORIES = ("books", "games", "music", "tools")
AUTHOR_COUNT = 40
POSTS_PER_AUTHOR = 3


@strawberry.type
class Item:
    id: int
    name: str
    price: float
    in_stock: bool
    category: str


@strawberry.type
class Post:
    id: int
    title: str


@strawberry.type
class Author:
    id: int
    name: str

    @strawberry.field
    async def posts(self, info: strawberry.Info) -> list[Post]:
        return await info.context["posts"].load(self.id)  # type: ignore[no-any-return]


ITEMS = [
    Item(
        id=i,
        name=f"item {i}",
        price=round(1.5 + i * 0.25, 2),
        in_stock=i % 3 != 0,
        category=CATEGORIES[i % 4],
    )
    for i in range(1, 101)
]
AUTHORS = [Author(id=a, name=f"author {a}") for a in range(1, AUTHOR_COUNT + 1)]
POSTS = {
    a: [Post(id=a * 10 + k, title=f"post {k} by author {a}") for k in range(POSTS_PER_AUTHOR)]
    for a in range(1, AUTHOR_COUNT + 1)
}
BATCH_CALLS = [0]


async def load_posts(author_ids: list[int]) -> list[list[Post]]:
    BATCH_CALLS[0] += 1
    return [POSTS[a] for a in author_ids]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def authors(self) -> list[Author]:
        return AUTHORS

    @strawberry.field
    def batch_calls(self) -> int:
        return BATCH_CALLS[0]


class BenchGraphQL(GraphQL):  # type: ignore[type-arg]
    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "posts": DataLoader(load_fn=load_posts)}


app = BenchGraphQL(strawberry.Schema(query=Query))
