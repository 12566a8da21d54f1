"""The GraphQL benchmark app for the original framework (cello-framework 1.4.1).

Written with the original's API (``cello.graphql.Query`` functions,
``Schema().query(...)``, ``app.enable_graphql``). The original calls Python resolvers for
root fields only and trims their results to the sub-selection, so ``authors`` builds the
nested dicts itself: there is no nested resolver and no DataLoader (the original's does
not batch). Same answers as graphql_cello.py.

    python graphql_original.py --port 8000 --workers 1
"""

import argparse

from cello import App, GraphQLConfig
from cello.graphql import Query, Schema

CATEGORIES = ("books", "games", "music", "tools")
AUTHOR_COUNT = 40
POSTS_PER_AUTHOR = 3

ITEMS = [
    {
        "id": i,
        "name": f"item {i}",
        "price": round(1.5 + i * 0.25, 2),
        "inStock": i % 3 != 0,
        "category": CATEGORIES[i % 4],
    }
    for i in range(1, 101)
]
AUTHORS = [{"id": a, "name": f"author {a}"} for a in range(1, AUTHOR_COUNT + 1)]
POSTS = {
    a: [{"id": a * 10 + k, "title": f"post {k} by author {a}"} for k in range(POSTS_PER_AUTHOR)]
    for a in range(1, AUTHOR_COUNT + 1)
}


@Query
def items(info) -> list:
    return ITEMS


@Query
def authors(info) -> list:
    # The root resolver builds the tree: the original has no nested resolvers.
    return [{**author, "posts": POSTS[author["id"]]} for author in AUTHORS]


@Query
def batch_calls(info) -> int:
    return 0  # no DataLoader here


app = App()
app.enable_graphql(
    GraphQLConfig(path="/graphql"),
    schema=Schema().query(items).query(authors).query(batch_calls),
)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers, env="production", logs=False)
