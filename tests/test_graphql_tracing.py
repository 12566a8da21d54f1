"""`GraphQLConfig(tracing=True)` with `App.enable_telemetry`: every resolver call of a
sampled request is a `graphql.resolve` span, a child of the request's server span,
exported over OTLP to a real gRPC receiver; plain attribute reads get none, and
without `tracing` there are no resolver spans."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import cello
import httpx
import pytest
from cello import App, GraphQLConfig, OpenTelemetryConfig, graphql
from support.processes import PROCESS_TIMEOUT, wait_until

pytestmark = pytest.mark.skipif(
    not {"otel", "graphql"} <= set(cello.features()),
    reason="needs a build with the otel and graphql features (make test builds them)",
)

INTERNAL = 1  # opentelemetry.proto SpanKind.SPAN_KIND_INTERNAL


@graphql.type
@dataclasses.dataclass
class Book:
    title: str
    pages: int

    @graphql.field
    async def blurb(self) -> str:
        return f"{self.title}, {self.pages} pages"


@graphql.type
class Query:
    @graphql.field
    def books(self) -> list[Book]:
        return [Book("Dune", 412), Book("Emma", 474)]


@pytest.fixture
def receiver() -> Iterator[Any]:
    from support.otlp import GrpcReceiver

    started = GrpcReceiver()
    yield started
    started.stop()


def serve(live: Any, receiver: Any, *, tracing: bool, service: str) -> str:
    app = App()
    app.enable_telemetry(OpenTelemetryConfig(service_name=service, otlp_endpoint=receiver.endpoint, export_delay_secs=0.2))
    app.enable_graphql(GraphQLConfig(path="/graphql", tracing=tracing), schema=graphql.Schema(query=Query))
    return str(live(app).url) + "/graphql"


def ask(url: str) -> None:
    answer = httpx.post(url, json={"query": "{ books { title blurb } }"}, timeout=30)
    assert answer.json() == {"data": {"books": [{"title": "Dune", "blurb": "Dune, 412 pages"}, {"title": "Emma", "blurb": "Emma, 474 pages"}]}}


def test_each_resolver_call_is_a_child_span_of_the_request(live: Any, receiver: Any) -> None:
    ask(serve(live, receiver, tracing=True, service="traced"))
    spans = wait_until(lambda: len(receiver.received.named("graphql.resolve")) >= 3 and receiver.received.named("POST /graphql"), PROCESS_TIMEOUT, "the resolver spans")
    assert spans
    server = receiver.received.named("POST /graphql")[0]
    resolved = receiver.received.named("graphql.resolve")
    by_path = {span.attributes["graphql.field.path"]: span for span in resolved}
    # books, and blurb of each book; title is a plain read: no span
    assert sorted(by_path) == ["books", "books.0.blurb", "books.1.blurb"]
    assert by_path["books"].attributes["graphql.parent.name"] == "Query"
    assert by_path["books.1.blurb"].attributes["graphql.field.name"] == "blurb"
    assert by_path["books.1.blurb"].attributes["graphql.parent.name"] == "Book"
    for span in resolved:
        assert span.trace_id == server.trace_id
        assert span.parent_span_id == server.span_id
        assert span.kind == INTERNAL


def test_without_tracing_no_resolver_spans(live: Any, receiver: Any) -> None:
    ask(serve(live, receiver, tracing=False, service="untraced"))
    wait_until(lambda: receiver.received.named("POST /graphql"), PROCESS_TIMEOUT, "the server span")
    assert receiver.received.named("graphql.resolve") == []
