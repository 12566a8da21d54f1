"""A GraphQL API: typed classes, an async resolver, a per-request DataLoader.

    python examples/graphql.py          # then POST {"query": "{ books { title author { name } } }"} to /graphql
"""

import dataclasses

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


app = App()
app.enable_graphql(
    GraphQLConfig(path="/graphql", introspection=True),
    schema=graphql.Schema(query=Query),
    context=lambda request: {"authors": graphql.DataLoader(load_authors)},
)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
