"""GraphQL subscriptions from async generators, served over WebSocket
(``graphql-transport-ws`` and the legacy ``graphql-ws``) and Server-Sent Events, with real
clients: Python's `gql` (WebsocketsTransport), `websockets` and `httpx`, and the npm
reference clients `graphql-ws` and `graphql-sse` (installed once into
``$HOME/.cache/cello-graphql-clients`` with the machine's npm)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from cello import App, GraphQLConfig, features
from cello import graphql as gql_types
from cello.data import event_loop
from cello.graphql import Mutation, Query, Schema, Subscription
from cello.graphql._compile import RequestContext
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

pytestmark = pytest.mark.skipif("graphql" not in features(), reason="needs a build with the graphql feature (make test builds it)")
MODULES = Path.home() / ".cache" / "cello-graphql-clients"
SCRIPT = Path(__file__).parent / "support" / "graphql_clients.mjs"
CLOSED = threading.Event()
STARTED = threading.Event()


def client_modules() -> Path:
    if not (MODULES / "node_modules" / "graphql-sse").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "the client tests need Node.js and npm on PATH (apt-get install nodejs npm)"
        MODULES.mkdir(parents=True, exist_ok=True)
        packages = ["graphql-ws@6", "ws@8", "graphql-sse@2", "graphql@16"]
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(MODULES), *packages], check=True, timeout=600)
    return MODULES / "node_modules"


@gql_types.type
@dataclasses.dataclass
class Tick:
    n: int

    @gql_types.field
    def label(self, prefix: str = "#") -> str:
        return f"{prefix}{self.n}"


@Query
def hello(name: str = "world") -> str:
    return f"hello {name}"


@Mutation
def double(value: int) -> int:
    return value * 2


@Subscription
async def count_to(to: int) -> AsyncIterator[int]:
    for n in range(1, to + 1):
        await asyncio.sleep(0)  # a real suspension between items
        yield n


@Subscription
async def ticks(to: int) -> AsyncIterator[Tick]:
    for n in range(1, to + 1):
        yield Tick(n)


@Subscription
async def fails_after_one() -> AsyncIterator[int]:
    yield 1
    raise ValueError("the feed broke")


@Subscription
async def forever() -> AsyncIterator[int]:
    try:
        STARTED.set()
        yield 1
        await asyncio.Event().wait()  # until the client leaves
        yield 2
    finally:
        CLOSED.set()


PRODUCED = [0]
CHUNK = "x" * 131_072


@Subscription
async def firehose() -> AsyncIterator[str]:
    for _ in range(1000):
        PRODUCED[0] += 1
        yield CHUNK


def schema() -> Schema:
    return Schema().query(hello).mutation(double).subscription(count_to).subscription(ticks).subscription(fails_after_one).subscription(forever).subscription(firehose)


def serve(live: Any, **config: Any) -> str:
    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql", **config), schema=schema())
    return str(live(app).url) + "/graphql"


async def subscribe(url: str, query: str, subprotocol: str) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(url=url.replace("http", "ws", 1), subprotocols=[subprotocol])
    async with Client(transport=transport) as session:
        return [result async for result in session.subscribe(gql(query))]


@pytest.mark.parametrize("subprotocol", [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL])
def test_gql_subscribes_over_both_websocket_protocols(live: Any, subprotocol: str) -> None:
    url = serve(live)
    results = asyncio.run(subscribe(url, "subscription { countTo(to: 3) }", subprotocol))
    assert results == [{"countTo": 1}, {"countTo": 2}, {"countTo": 3}]
    # each item is resolved through the object's fields, arguments included
    results = asyncio.run(subscribe(url, 'subscription { ticks(to: 2) { n label(prefix: "t") } }', subprotocol))
    assert results == [{"ticks": {"n": 1, "label": "t1"}}, {"ticks": {"n": 2, "label": "t2"}}]


@pytest.mark.parametrize("subprotocol", [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL])
def test_queries_and_mutations_run_over_the_websocket_too(live: Any, subprotocol: str) -> None:
    url = serve(live)

    async def query() -> list[dict[str, Any]]:
        transport = WebsocketsTransport(url=url.replace("http", "ws", 1), subprotocols=[subprotocol])
        async with Client(transport=transport) as session:
            return [await session.execute(gql('{ hello(name: "ws") }')), await session.execute(gql("mutation { double(value: 21) }"))]

    assert asyncio.run(query()) == [{"hello": "hello ws"}, {"double": 42}]


@pytest.mark.parametrize("subprotocol", [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL])
def test_an_error_in_the_generator_is_a_graphql_error(live: Any, subprotocol: str) -> None:
    url = serve(live)

    async def run() -> tuple[list[dict[str, Any]], TransportQueryError]:
        transport = WebsocketsTransport(url=url.replace("http", "ws", 1), subprotocols=[subprotocol])
        received: list[dict[str, Any]] = []
        async with Client(transport=transport) as session:
            with pytest.raises(TransportQueryError) as raised:
                async for result in session.subscribe(gql("subscription { failsAfterOne }")):
                    received.append(result)
        return received, raised.value

    received, error = asyncio.run(run())
    assert received == [{"failsAfterOne": 1}]
    assert error.errors is not None
    assert error.errors[0]["message"] == "the feed broke"
    assert error.errors[0]["path"] == ["failsAfterOne"]


@pytest.mark.parametrize("subprotocol", [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL])
def test_the_generator_is_closed_when_the_client_disconnects(live: Any, subprotocol: str) -> None:
    url = serve(live)
    STARTED.clear()
    CLOSED.clear()

    async def leave_after_first() -> None:
        transport = WebsocketsTransport(url=url.replace("http", "ws", 1), subprotocols=[subprotocol])
        async with Client(transport=transport) as session:
            async for result in session.subscribe(gql("subscription { forever }")):
                assert result == {"forever": 1}
                break

    asyncio.run(leave_after_first())
    assert STARTED.is_set()
    assert CLOSED.wait(30), "the generator's finally did not run after the client left"


def test_the_generator_is_closed_when_the_sse_client_disconnects(live: Any) -> None:
    url = serve(live)
    STARTED.clear()
    CLOSED.clear()
    headers = {"accept": "text/event-stream"}
    with httpx.stream("POST", url, json={"query": "subscription { forever }"}, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                assert json.loads(line.removeprefix("data:")) == {"data": {"forever": 1}}
                break
    assert CLOSED.wait(30), "the generator's finally did not run after the SSE client left"


def test_sse_events_are_next_then_complete(live: Any) -> None:
    url = serve(live)
    headers = {"accept": "text/event-stream"}
    response = httpx.post(url, json={"query": "subscription { countTo(to: 2) }"}, headers=headers, timeout=30)
    assert response.status_code == 200
    assert response.text == (
        'event: next\ndata: {"data":{"countTo":1}}\n\n'
        'event: next\ndata: {"data":{"countTo":2}}\n\n'
        "event: complete\ndata: \n\n"
    )
    # a malformed request is answered at once, in JSON
    response = httpx.post(url, content=b"{", headers={**headers, "content-type": "application/json"}, timeout=30)
    assert response.status_code == 400


def test_limits_apply_to_subscriptions(live: Any) -> None:
    url = serve(live, max_depth=1, max_complexity=5)
    too_deep = "subscription { ticks(to: 1) { n } }"
    too_complex = "subscription { a: countTo(to: 1) b: countTo(to: 1) c: countTo(to: 1) d: countTo(to: 1) e: countTo(to: 1) f: countTo(to: 1) }"
    for query in (too_deep, too_complex):
        with pytest.raises(TransportQueryError) as raised:
            asyncio.run(subscribe(url, query, WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL))
        assert raised.value.errors is not None
        message = raised.value.errors[0]["message"].lower()
        assert "nested too deep" in message or "too complex" in message, message
    # and over SSE
    response = httpx.post(url, json={"query": too_deep}, headers={"accept": "text/event-stream"}, timeout=30)
    assert "event: next" in response.text and "too deep" in response.text.lower()
    # Cello's own limits (aliases, size) are checked before async-graphql's
    url = serve(live, max_aliases=1)
    with pytest.raises(TransportQueryError) as raised:
        asyncio.run(subscribe(url, "subscription { a: countTo(to: 1) b: countTo(to: 1) }", WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL))
    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_the_engine_pulls_the_next_item_only_when_the_outbox_has_room() -> None:
    """The sink (the transports' outbox) answers a future when it is full: the engine
    steps the generator again only once that future is done. Counted in turns of the
    event loop, not in time: with room, the same turns carry the whole stream."""
    engine = schema().build()

    def pump(room: bool) -> tuple[int, int]:
        async def run() -> tuple[int, int]:
            PRODUCED[0] = 0
            delivered: list[Any] = []
            loop = asyncio.get_running_loop()

            def sink(item: Any) -> asyncio.Future[None] | None:
                delivered.append(item)
                return None if room else loop.create_future()  # a future never done: full for good

            driver, starter = engine._driver()
            body = json.dumps({"query": "subscription { firehose }"}).encode()
            stream = engine.engine().serve_sse(sink, driver, starter, "POST", "application/json", "", body, RequestContext(None, {}))
            for _ in range(3000):
                await asyncio.sleep(0)
                if delivered and delivered[-1] is None:
                    break
            stream.close()
            return len(delivered), PRODUCED[0]

        with asyncio.Runner(loop_factory=event_loop) as runner:
            return runner.run(run())

    assert pump(room=True) == (1002, 1000)  # 1000 events, `complete`, the end
    assert pump(room=False) == (1, 1)


def test_an_unknown_subprotocol_is_refused(live: Any) -> None:
    url = serve(live).replace("http", "ws", 1)

    async def connect() -> int | None:
        async with websockets.connect(url) as socket:
            with pytest.raises(websockets.ConnectionClosed):
                await socket.recv()
            return socket.close_code

    assert asyncio.run(connect()) == 4406


def test_reference_clients_graphql_ws_and_graphql_sse(live: Any) -> None:
    modules = client_modules()
    url = serve(live)
    node = shutil.which("node")
    assert node is not None
    query = 'subscription { ticks(to: 3) { n label(prefix: "n") } }'
    run = subprocess.run([node, str(SCRIPT), str(modules), url, query], capture_output=True, text=True, timeout=120, check=True)
    received = json.loads(run.stdout)
    expected = [{"data": {"ticks": {"n": n, "label": f"n{n}"}}} for n in (1, 2, 3)]
    assert received == {"ws": expected, "sse": expected}, run.stderr


@gql_types.type
class TypedQuery:
    @gql_types.field
    def ready(self) -> bool:
        return True


@gql_types.type
class TypedSubscription:
    @gql_types.field
    async def ticks(self, to: int, info: gql_types.Info) -> AsyncIterator[Tick]:
        """Ticks from 1 to `to`."""
        for n in range(1, to + 1):
            yield Tick(n * info.context["step"])


def test_typed_subscription_classes(live: Any) -> None:
    app = App()
    schema = Schema(query=TypedQuery, subscription=TypedSubscription)
    app.enable_graphql(GraphQLConfig(path="/graphql", introspection=True), schema=schema, context=lambda request: {"step": 10})
    url = str(live(app).url) + "/graphql"
    results = asyncio.run(subscribe(url, "subscription { ticks(to: 2) { n label } }", WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL))
    assert results == [{"ticks": {"n": 10, "label": "#10"}}, {"ticks": {"n": 20, "label": "#20"}}]
    sdl = httpx.post(url, json={"query": "{ __schema { subscriptionType { fields { name type { ofType { name } } } } } }"}, timeout=30).json()
    assert sdl["data"]["__schema"]["subscriptionType"]["fields"] == [{"name": "ticks", "type": {"ofType": {"name": "Tick"}}}]


def test_a_subscription_field_needs_an_async_generator() -> None:
    @Subscription
    def not_a_generator() -> int:
        return 1

    with pytest.raises(TypeError, match="needs an async generator resolver"):
        Schema().query(hello).subscription(not_a_generator).build().engine()


@gql_types.type
class WhoSubscription:
    @gql_types.field
    async def whoami(self, info: gql_types.Info) -> AsyncIterator[str]:
        yield f"{info.connection_params['user']} via {info.context['seen']}"


def serve_connect(live: Any) -> str:
    def on_connect(request: Any, payload: dict[str, Any] | None) -> Any:
        if not payload or payload.get("token") != "letmein":
            raise gql_types.GraphQLError("bad token")
        return {"user": "ada"}

    def context(request: Any, connection_params: Any = None) -> dict[str, Any]:
        return {"seen": (connection_params or {}).get("user", "nobody")}

    app = App()
    schema = Schema(query=TypedQuery, subscription=WhoSubscription)
    app.enable_graphql(GraphQLConfig(path="/graphql"), schema=schema, context=context, on_connect=on_connect)
    return str(live(app).url) + "/graphql"


@pytest.mark.parametrize("subprotocol", [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL])
def test_connection_init_payload_reaches_on_connect_context_and_info(live: Any, subprotocol: str) -> None:
    url = serve_connect(live)

    async def run(payload: dict[str, Any]) -> list[dict[str, Any]]:
        transport = WebsocketsTransport(url=url.replace("http", "ws", 1), subprotocols=[subprotocol], init_payload=payload)
        async with Client(transport=transport) as session:
            return [result async for result in session.subscribe(gql("subscription { whoami }"))]

    assert asyncio.run(run({"token": "letmein"})) == [{"whoami": "ada via ada"}]


def test_on_connect_refuses_a_connection_with_4403(live: Any) -> None:
    url = serve_connect(live).replace("http", "ws", 1)

    async def refused(subprotocol: str) -> tuple[list[str], int | None, str]:
        async with websockets.connect(url, subprotocols=[subprotocol]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": "nope"}}))
            received: list[str] = []
            try:
                while True:
                    received.append(str(await ws.recv()))
            except websockets.ConnectionClosed:
                pass
            return received, ws.close_code, ws.close_reason or ""

    messages, code, reason = asyncio.run(refused("graphql-transport-ws"))
    assert (messages, code, reason) == ([], 4403, "bad token")
    messages, code, _ = asyncio.run(refused("graphql-ws"))
    assert code == 4403
    assert [json.loads(m) for m in messages] == [{"type": "connection_error", "payload": {"message": "bad token"}}]
