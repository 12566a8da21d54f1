"""GraphQL over real sockets: the typed layer, the original API, nested and async
resolvers, errors with paths, limits, the DataLoader, GraphQL-over-HTTP status codes,
and the `gql` client. graphql-core checks the printed SDL and serves as the oracle for
which documents are valid."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from typing import Any

import graphql as graphql_core
import httpx
import pytest
from cello import App, GraphQLConfig
from cello import graphql as gql_api
from cello.graphql import DataLoader, GraphQL, Info, Mutation, Query, Schema

pytestmark = pytest.mark.skipif("graphql" not in __import__("cello").features(), reason="needs a build with the graphql feature (make test builds it)")


@gql_api.enum
class Role(enum.Enum):
    ADMIN = "admin"
    READER = "reader"


@gql_api.interface
@dataclasses.dataclass
class Node:
    id: gql_api.ID


@gql_api.type
@dataclasses.dataclass
class Post(Node):
    title: str
    author_id: int


@gql_api.type
@dataclasses.dataclass
class User(Node):
    name: str
    role: Role
    email: str | None = None

    @gql_api.field(description="the user's posts, through the per-request loader")
    async def posts(self, info: Info) -> list[Post]:
        return await info.context["posts"].load(int(self.id))

    @gql_api.field
    def greeting(self, punctuation: str = "!") -> str:
        return f"hello {self.name}{punctuation}"

    @gql_api.field
    def broken(self) -> str | None:
        raise RuntimeError(f"no luck for {self.name}")


@gql_api.input
class NewUser:
    name: str
    role: Role = Role.READER


SearchResult = gql_api.union("SearchResult", (User, Post))
USERS = [User(id=gql_api.ID(str(i)), name=f"user{i}", role=Role.READER if i % 2 else Role.ADMIN) for i in range(100)]
BATCHES: list[list[int]] = []


async def load_posts(author_ids: list[int]) -> list[list[Post]]:
    BATCHES.append(list(author_ids))
    return [[Post(id=gql_api.ID(f"p{a}"), title=f"post of {a}", author_id=a)] for a in author_ids]


@gql_api.type
class RootQuery:
    @gql_api.field
    def users(self, limit: int = 100) -> list[User]:
        return USERS[:limit]

    @gql_api.field
    async def user(self, id: gql_api.ID) -> User | None:
        await asyncio.sleep(0)
        return next((u for u in USERS if u.id == id), None)

    @gql_api.field
    def node(self, id: gql_api.ID) -> Node | None:
        return USERS[0] if id == "0" else Post(id=id, title="a post", author_id=0)

    @gql_api.field
    def search(self) -> list[SearchResult]:
        return [USERS[1], Post(id=gql_api.ID("p9"), title="nine", author_id=9), {"__typename": "Post", "id": "p10", "title": "ten", "author_id": 10}]


@gql_api.type
class RootMutation:
    @gql_api.field
    def create_user(self, user: NewUser) -> User:
        assert isinstance(user, NewUser) and isinstance(user.role, Role)
        return User(id=gql_api.ID("new"), name=user.name, role=user.role)


def typed_app(**config: Any) -> App:
    app = App()
    schema = Schema(query=RootQuery, mutation=RootMutation)
    app.enable_graphql(GraphQLConfig(introspection=True, **config), schema=schema, context=lambda request: {"posts": DataLoader(load_posts)})
    return app


def post(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.post(url + "/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30)


def test_nested_async_resolvers_enums_and_errors_with_paths(live: Any) -> None:
    server = live(typed_app())
    body = post(server.url, '{ user(id: "3") { id name role greeting(punctuation: "?") broken email } }').json()
    assert body["data"]["user"] == {"id": "3", "name": "user3", "role": "READER", "greeting": "hello user3?", "broken": None, "email": None}
    assert body["errors"] == [{"message": "no luck for user3", "locations": [{"line": 1, "column": 59}], "path": ["user", "broken"]}]
    assert post(server.url, '{ user(id: "nobody") { name } }').json() == {"data": {"user": None}}


def test_interfaces_unions_and_inputs(live: Any) -> None:
    server = live(typed_app())
    body = post(server.url, '{ a: node(id: "0") { __typename id ... on User { name } } b: node(id: "p1") { __typename ... on Post { title } } search { __typename ... on User { name } ... on Post { title } } }').json()
    assert body["data"] == {
        "a": {"__typename": "User", "id": "0", "name": "user0"},
        "b": {"__typename": "Post", "title": "a post"},
        "search": [{"__typename": "User", "name": "user1"}, {"__typename": "Post", "title": "nine"}, {"__typename": "Post", "title": "ten"}],
    }
    created = post(server.url, "mutation($u: NewUser!) { createUser(user: $u) { name role } }", {"u": {"name": "ada", "role": "ADMIN"}}).json()
    assert created == {"data": {"createUser": {"name": "ada", "role": "ADMIN"}}}
    wrong = post(server.url, "mutation { createUser(user: {name: 3}) { name } }", accept="application/graphql-response+json")
    assert wrong.status_code == 400 and "data" not in wrong.json()
    assert "errors" in wrong.json()


def test_dataloader_batches_one_list_into_one_call(live: Any) -> None:
    server = live(typed_app())
    BATCHES.clear()
    body = post(server.url, "{ users { id posts { title } } }").json()
    assert "errors" not in body
    assert len(body["data"]["users"]) == 100
    assert body["data"]["users"][42]["posts"] == [{"title": "post of 42"}]
    assert BATCHES == [list(range(100))]


def test_limits_refuse_deep_costly_and_aliased_queries(live: Any) -> None:
    server = live(typed_app(max_depth=2, max_complexity=40, max_aliases=2))
    assert post(server.url, "{ users(limit: 1) { id } }").json() == {"data": {"users": [{"id": "0"}]}}
    too_deep = post(server.url, "{ users { posts { title } } }").json()
    assert "data" not in too_deep and "nested too deep" in too_deep["errors"][0]["message"]
    aliases = post(server.url, "{ a: users { id } b: users { id } c: users { id } }").json()
    assert aliases["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    costly = post(server.url, "{ " + " ".join(["users { id name role email }"] * 12) + " }").json()
    assert "data" not in costly and "too complex" in costly["errors"][0]["message"]


def test_sdl_is_valid_for_graphql_core_which_agrees_on_validity(live: Any) -> None:
    engine = GraphQL(Schema(query=RootQuery, mutation=RootMutation), introspection=True)
    sdl = engine.sdl()
    core_schema = graphql_core.build_schema(sdl)
    assert "interface Node" in sdl and "union SearchResult" in sdl and "enum Role" in sdl
    server = live(typed_app())
    documents = [
        "{ users { id name } }",
        "{ users { nope } }",
        "{ user { name } }",
        '{ user(id: "1") { posts } }',
        '{ user(id: "1") { ... on Post { title } } }',
        "query($n: Int) { users(limit: $n) { id } }",
        "{ search { name } }",
        "mutation { createUser(user: {name: \"x\"}) { id } }",
        "{ users { id } } { users { id } }",
        "fragment F on User { name } { users { ...F } }",
        "fragment F on User { name } { users { id } }",
    ]
    for document in documents:
        expected_valid = not graphql_core.validate(core_schema, graphql_core.parse(document))
        response = post(server.url, document, accept="application/graphql-response+json")
        assert (response.status_code == 200) == expected_valid, (document, response.json())


def test_http_media_types_get_and_methods(live: Any) -> None:
    server = live(typed_app(batching=True))
    url = server.url + "/graphql"
    ok = httpx.get(url, params={"query": "{ users(limit: 1) { name } }"}, headers={"accept": "application/graphql-response+json"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/graphql-response+json")
    assert ok.json() == {"data": {"users": [{"name": "user0"}]}}
    # application/json: a document error is a 200 carrying the errors (the spec's rule)
    legacy = httpx.post(url, json={"query": "{ nope"}, headers={"accept": "application/json"})
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json") and "errors" in legacy.json()
    mutation_over_get = httpx.get(url, params={"query": 'mutation { createUser(user: {name: "x"}) { id } }'})
    assert mutation_over_get.status_code == 405 and mutation_over_get.headers["allow"] == "GET, POST"
    assert httpx.post(url, content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    assert httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    assert httpx.post(url, json={"query": "{ users { id } }", "variables": [1]}).status_code == 400
    assert httpx.post(url, json={"query": "{ users { id } }"}, headers={"accept": "text/html"}).status_code == 406
    batch = httpx.post(url, json=[{"query": "{ users(limit: 1) { id } }"}, {"query": '{ user(id: "2") { name } }'}]).json()
    assert batch == [{"data": {"users": [{"id": "0"}]}}, {"data": {"user": {"name": "user2"}}}]


def test_gql_client_over_http(live: Any) -> None:
    from gql import Client, gql
    from gql.transport.httpx import HTTPXTransport

    server = live(typed_app(max_depth=20))  # the client's introspection query is 13 deep
    with Client(transport=HTTPXTransport(url=server.url + "/graphql"), fetch_schema_from_transport=True) as session:
        request = gql("query($id: ID!) { user(id: $id) { name role posts { title } } }")
        request.variable_values = {"id": "5"}
        result = session.execute(request)
        assert result == {"user": {"name": "user5", "role": "READER", "posts": [{"title": "post of 5"}]}}


def test_middleware_applies_to_the_endpoint(live: Any) -> None:
    from cello.middleware import ApiKeyAuth

    app = typed_app()
    app.use(ApiKeyAuth({"secret": "tester"}))
    server = live(app)
    assert post(server.url, "{ users { id } }").status_code == 401
    assert post(server.url, "{ users(limit: 1) { id } }", **{"x-api-key": "secret"}).json() == {"data": {"users": [{"id": "0"}]}}


# --- the original's API and its documented snippets ------------------------------------


@gql_api.type
@dataclasses.dataclass
class Person:
    id: int
    name: str


@Query
def user(info: Info, id: int) -> Person:
    return Person(id=id, name=f"person {id}")


@Query
def users(info: Info) -> list[Person]:
    return [Person(1, "one"), Person(2, "two")]


@Mutation
def create_user(info: Info, name: str) -> Person:
    return Person(3, name)


def test_original_snippets_run_unchanged(live: Any) -> None:
    schema = Schema().query(users).query(user).mutation(create_user)
    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql", max_depth=6), schema=schema)
    server = live(app)
    assert post(server.url, "{ users { name } }").json() == {"data": {"users": [{"name": "one"}, {"name": "two"}]}}
    assert post(server.url, 'mutation { createUser(name: "ada") { id name } }').json() == {"data": {"createUser": {"id": 3, "name": "ada"}}}
    assert user.name == "user" and user.parameters == ["id"] and user.return_type is Person
    built = Schema().query(users).mutation(create_user).build()
    assert isinstance(built, GraphQL)
    assert built.get_schema()["queries"][0]["name"] == "users"


def test_seed_enable_graphql_serves_typename(live: Any) -> None:
    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql", playground=True, introspection=True))
    server = live(app)
    assert post(server.url, "{ __typename }").json() == {"data": {"__typename": "Query"}}


def test_engine_execute_on_the_cello_loop() -> None:
    from cello.data import event_loop

    engine = GraphQL(max_depth=10, max_complexity=1000, introspection=False)
    engine.add_query(user)

    async def main() -> dict[str, Any]:
        return await engine.execute("{ user(id: 1) { name } }")

    with asyncio.Runner(loop_factory=event_loop) as runner:
        assert runner.run(main()) == {"data": {"user": {"name": "person 1"}}}
    with pytest.raises(RuntimeError, match="Cello's event loop"):
        asyncio.run(main())


def test_dataloader_rejects_a_wrong_length_batch() -> None:
    from cello.data import event_loop

    async def short(keys: list[int]) -> list[int]:
        return keys[:1]

    async def main() -> None:
        loader = DataLoader(short)
        with pytest.raises(ValueError, match="one value per key"):
            await loader.load_many([1, 2])
        assert await DataLoader(lambda keys: [k * 2 for k in keys]).load(4) == 8

    with asyncio.Runner(loop_factory=event_loop) as runner:
        runner.run(main())


class NotGraphQL:
    pass


def test_schema_mistakes_are_explained() -> None:
    @Query
    def bad() -> NotGraphQL:
        return NotGraphQL()

    with pytest.raises(TypeError, match="is not a GraphQL type"):
        GraphQL(Schema().query(bad)).engine()
    with pytest.raises(TypeError, match="takes a cello.graphql.GraphQLConfig"):
        App().enable_graphql({"path": "/graphql"})  # type: ignore[arg-type]


@gql_api.type
class Misbehaving:
    @gql_api.field
    def wrong_scalar(self) -> str:
        return object()  # type: ignore[return-value]

    @gql_api.field
    def secret_failure(self) -> int | None:
        raise KeyError("database password is hunter2")

    @gql_api.field
    def public_failure(self) -> int | None:
        raise gql_api.GraphQLError("try again later")


def test_bad_values_and_masked_errors_never_kill_the_worker(live: Any) -> None:
    app = App()
    app.enable_graphql(GraphQLConfig(mask_errors=True), schema=Schema(query=Misbehaving))
    server = live(app)
    wrong = post(server.url, "{ wrongScalar }").json()
    assert wrong["data"] is None or wrong["data"] == {"wrongScalar": None}
    assert wrong["errors"][0]["message"] == "Internal server error" and wrong["errors"][0]["path"] == ["wrongScalar"]
    masked = post(server.url, "{ secretFailure publicFailure }").json()
    assert masked["data"] == {"secretFailure": None, "publicFailure": None}
    assert [e["message"] for e in masked["errors"]] == ["Internal server error", "try again later"]
    garbage = httpx.post(server.url + "/graphql", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert garbage.status_code == 400
    assert post(server.url, "{ publicFailure }").status_code == 200
