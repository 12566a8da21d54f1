"""A GraphQL API: typed classes, an async resolver, a per-request DataLoader, and a
subscription (an async generator, served over WebSocket and Server-Sent Events).

    python examples/graphql.py          # then POST {"query": "{ books { title author { name } } }"} to /graphql
    curl -N -H 'accept: text/event-stream' -H 'content-type: application/json' \
        -d '{"query": "subscription { newBooks(count: 2) { title } }"}' http://127.0.0.1:8000/graphql
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

from cello import App, GraphQLConfig, graphql

AUTHORS = {1: "Ursula K. Le Guin", 2: "Ted Chiang"}


@graphql.type
@dataclasses.dataclass
class Author:
    id: graphql.ID
    name: str


@graphql.type
@dataclasses.dataclass
class Book:
    title: str
    author_id: int

    @graphql.field
    async def author(self, info: graphql.Info) -> Author:
        return await info.context["authors"].load(self.author_id)


async def load_authors(ids):
    return [Author(id=graphql.ID(str(i)), name=AUTHORS[i]) for i in ids]


@graphql.type
class Query:
    @graphql.field
    def books(self) -> list[Book]:
        return [Book("The Dispossessed", 1), Book("Exhalation", 2), Book("The Lathe of Heaven", 1)]


@graphql.type
class Subscription:
    @graphql.field
    async def new_books(self, count: int = 3) -> AsyncIterator[Book]:
        """One book per event; the generator is closed when the client leaves."""
        for n in range(count):
            await asyncio.sleep(0.1)
            yield Book(f"Volume {n + 1}", 2)


app = App()
app.enable_graphql(
    GraphQLConfig(path="/graphql", introspection=True),
    schema=graphql.Schema(query=Query, subscription=Subscription),
    context=lambda request: {"authors": graphql.DataLoader(load_authors)},
)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
