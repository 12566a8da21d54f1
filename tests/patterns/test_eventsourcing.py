"""The event store from Python, on SQLite and the local PostgreSQL: seed 001's tab,
optimistic concurrency, snapshots, the original's calls, upcasting, projections."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cello import App
from cello.eventsourcing import (
    Aggregate,
    AggregateRoot,
    ConcurrencyError,
    Event,
    EventSourcingConfig,
    EventStore,
    Inbox,
    Projection,
    Snapshot,
    event_handler,
    upcaster,
)
from cello.testing import TestClient
from support.loop import run


class ItemAdded(Event):
    sku: str
    quantity: int = 1


class CartOpened(Event):
    owner: str


class Cart(AggregateRoot):
    def open(self, owner: str) -> None:
        self.apply(CartOpened(owner=owner))

    def add(self, sku: str, quantity: int = 1) -> None:
        self.apply(ItemAdded(sku=sku, quantity=quantity))

    def on_cart_opened(self, event: CartOpened) -> None:
        self.owner = event.owner
        self.items: dict[str, int] = {}

    def on_item_added(self, event: ItemAdded) -> None:
        self.items[event.sku] = self.items.get(event.sku, 0) + event.quantity


def store_for(backend: dict[str, str], **options: Any) -> EventStore:
    return EventStore(EventSourcingConfig(connection_url=backend["url"], table_prefix=backend["prefix"], **options))


def test_seed_001_tab_runs_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # --- seed 001, "Event Sourcing" tab, as written ---
    from cello.eventsourcing import AggregateRoot, Event, EventStore

    app = App()
    store = EventStore()

    class OrderCreated(Event):
        order_id: str
        customer: str
        total: float

    class Order(AggregateRoot):
        def create(self, customer: str, total: float):
            self.apply(OrderCreated(
                order_id=self.id,
                customer=customer,
                total=total
            ))

        def on_order_created(self, event: OrderCreated):
            self.customer = event.customer
            self.total = event.total

    @app.post("/orders")
    async def create_order(request):
        data = request.json()
        order = Order()
        order.create(data["customer"], data["total"])
        await store.save(order)
        return {"order_id": order.id, "status": "created"}
    # --- end of the seed ---

    @app.get("/orders/{order_id}")
    async def read_order(request):
        order = await store.load(Order, request.params["order_id"])
        return {"customer": order.customer, "total": order.total, "version": order.version}

    with TestClient(app) as client:
        created = client.post("/orders", json={"customer": "ada", "total": 12.5})
        assert created.status_code == 200
        order_id = created.json()["order_id"]
        assert created.json()["status"] == "created"
        assert client.get(f"/orders/{order_id}").json() == {"customer": "ada", "total": 12.5, "version": 1}
    # EventStore() with no app database keeps its tables in cello.db in the working directory.
    assert (tmp_path / "cello.db").exists()


def test_save_and_load_round_trip(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend)
        cart = Cart("cart-1")
        cart.open("ada")
        cart.add("apple", 2)
        cart.add("pear")
        stored = await store.save(cart)
        assert [event.version for event in stored] == [1, 2, 3]
        assert [event.position for event in stored] == [1, 2, 3]
        assert cart.uncommitted_events == []
        loaded = await store.load(Cart, "cart-1")
        assert loaded is not None
        assert (loaded.owner, loaded.items, loaded.version) == ("ada", {"apple": 2, "pear": 1}, 3)
        events = await store.get_events("cart-1")
        assert [type(event) for event in events] == [CartOpened, ItemAdded, ItemAdded]
        assert events[1].sku == "apple" and events[1].quantity == 2
        assert await store.get_events("cart-1", since_version=2) == events[2:]
        assert await store.load(Cart, "no-such-cart") is None
        assert await store.stream_version("cart-1") == 3
        await store.close()

    run(main())


def test_two_writers_exactly_one_wins(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend)
        cart = Cart("cart-2")
        cart.open("ada")
        await store.save(cart)
        first, second = await store.load(Cart, "cart-2"), await store.load(Cart, "cart-2")
        assert first is not None and second is not None
        first.add("apple")
        second.add("pear")
        outcomes = await asyncio.gather(store.save(first), store.save(second), return_exceptions=True)
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        assert len(errors) == 1 and isinstance(errors[0], ConcurrencyError), outcomes
        assert errors[0].stream_id == "cart-2" and errors[0].actual_version == 2
        assert "reload the aggregate" in str(errors[0])
        assert await store.stream_version("cart-2") == 2
        # The loser reloads and retries: it sees the winner's event.
        retried = await store.load(Cart, "cart-2")
        assert retried is not None
        retried.add("plum")
        await store.save(retried)
        assert (await store.load(Cart, "cart-2")).version == 3  # type: ignore[union-attr]
        await store.close()

    run(main())


def test_an_unhandled_concurrency_error_answers_409(tmp_path: Path) -> None:
    app = App()
    store = EventStore(EventSourcingConfig(connection_url=f"sqlite://{tmp_path / 'c.db'}"))

    @app.post("/race")
    async def race(request):
        cart = Cart("cart-race")
        cart.open("ada")
        await store.save(cart)
        stale = Cart("cart-race")  # as if loaded before the save above
        stale.open("bob")
        await store.save(stale)
        return {"unreachable": True}

    with TestClient(app) as client:
        response = client.post("/race")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "another writer appended first" in response.json()["detail"]


def test_snapshots_load_only_later_events(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend, snapshot_interval=3)
        cart = Cart("cart-3")
        cart.open("ada")
        for sku in ("a", "b", "c", "d", "e", "f"):
            cart.add(sku)
            await store.save(cart)
        snapshot = await store.get_snapshot("cart-3")
        assert snapshot is not None and snapshot.version == 6
        assert snapshot.state["attributes"]["owner"] == "ada"
        read: list[int] = []
        original = store.get_events

        async def spy(aggregate_id: str, since_version: int = 0) -> list[Event]:
            read.append(since_version)
            return await original(aggregate_id, since_version)

        store.get_events = spy  # type: ignore[method-assign]
        loaded = await store.load(Cart, "cart-3")
        assert read == [6]
        assert loaded is not None and loaded.version == 7
        assert loaded.items == {sku: 1 for sku in "abcdef"}
        # Without snapshots the same aggregate is replayed from the start.
        plain = store_for(backend, enable_snapshots=False)
        replayed = await plain.load(Cart, "cart-3")
        assert replayed is not None and replayed.items == loaded.items and replayed.version == 7
        await store.close()
        await plain.close()

    run(main())


def test_the_originals_calls(backend: dict[str, str]) -> None:
    class Account(Aggregate):
        @event_handler("MoneyDeposited")
        def deposit(self, event: Event) -> None:
            self.state["balance"] = self.state.get("balance", 0) + event.data["amount"]

    async def main() -> None:
        store = store_for(backend)
        first = Event("MoneyDeposited", {"amount": 5}, aggregate_id="acc-1")
        assert first.json()["event_type"] == "MoneyDeposited" and first.amount == 5
        await store.append(first)
        await store.append("acc-1", [Event("MoneyDeposited", {"amount": 7})], expected_version=1)
        with pytest.raises(ConcurrencyError):
            await store.append("acc-1", [Event("MoneyDeposited", {"amount": 1})], expected_version=1)
        with pytest.raises(ConcurrencyError):
            await store.append("acc-1", [Event("MoneyDeposited", {"amount": 1})], expected_version="no_stream")
        events = await store.get_events("acc-1")
        assert [event.data["amount"] for event in events] == [5, 7]
        account = Account("acc-1")
        account.load_from_events(events)
        assert account.state == {"balance": 12} and account.get_version() == 2
        with pytest.raises(ValueError, match="does not follow"):
            Account("acc-1").load_from_events(events[1:])
        await store.save_snapshot(Snapshot("acc-1", 2, {"state": {"balance": 12}}))
        found = await store.get_snapshot("acc-1")
        assert found is not None and (found.version, found.state) == (2, {"state": {"balance": 12}})
        assert await store.get_snapshot("acc-2") is None
        snapshot = await store.create_snapshot(Account, "acc-1")
        assert snapshot is not None and snapshot.state["state"] == {"balance": 12}
        await store.close()

    run(main())


def test_bad_events_are_clear_errors() -> None:
    with pytest.raises(TypeError, match=r"missing the fields \['sku'\]"):
        ItemAdded()
    with pytest.raises(TypeError, match="unexpected fields"):
        ItemAdded(sku="a", colour="red")
    with pytest.raises(TypeError, match="needs an event_type"):
        Event()
    with pytest.raises(TypeError, match="name the field differently"):

        class Clash(Event):
            version: int

    with pytest.raises(ValueError, match="event_ttl_secs must be 0"):
        EventSourcingConfig(event_ttl_secs=60)


def test_upcasting_old_payloads(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend)
        # Stored by an older version of the code: schema 1 had "name".
        await store.append("user-1", [Event("UserRenamed", {"name": "Ada"})])

        class UserRenamed(Event):
            __schema_version__ = 2
            full_name: str

        @upcaster(UserRenamed, from_version=1)
        def split(data: dict[str, Any]) -> dict[str, Any]:
            return {"full_name": data.pop("name")}

        (event,) = await store.get_events("user-1")
        assert isinstance(event, UserRenamed) and event.full_name == "Ada" and event.schema_version == 2
        await store.close()

    run(main())


class CartTotals(Projection):
    name = "cart_totals"
    batch_size = 2

    def __init__(self, prefix: str) -> None:
        self.table = f"{prefix}totals"

    async def on_item_added(self, event: ItemAdded, tx: Any) -> None:
        await tx.execute(f"UPDATE {self.table} SET quantity = quantity + {event.quantity} WHERE cart = '{event.aggregate_id}'")

    async def on_cart_opened(self, event: CartOpened, tx: Any) -> None:
        await tx.execute(f"INSERT INTO {self.table} (cart, quantity) VALUES ('{event.aggregate_id}', 0)")

    async def reset(self, tx: Any) -> None:
        await tx.execute(f"DELETE FROM {self.table}")


def test_projection_rebuild_equals_incremental(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend)
        projection = CartTotals(backend["prefix"])
        await store.run_projection(projection)  # creates nothing, reads nothing
        database = store.database
        assert database is not None
        await database.execute(f"CREATE TABLE {projection.table} (cart TEXT PRIMARY KEY, quantity INTEGER)")
        for index in range(3):
            cart = Cart(f"c{index}")
            cart.open("ada")
            cart.add("x", index + 1)
            await store.save(cart)
            # Incremental: each run handles only the new events, each once.
            assert await store.run_projection(projection) == 2
        assert await store.run_projection(projection) == 0
        assert await store.projection_position("cart_totals") == 6
        rows = "SELECT cart, quantity FROM {} ORDER BY cart"
        incremental = [(row[0], row[1]) for row in await database.fetch(rows.format(projection.table))]
        assert incremental == [("c0", 1), ("c1", 2), ("c2", 3)]
        assert await store.rebuild_projection(projection) == 6
        assert [(row[0], row[1]) for row in await database.fetch(rows.format(projection.table))] == incremental
        await store.close()

    run(main())


def test_catch_up_subscription_reads_in_order(backend: dict[str, str]) -> None:
    async def main() -> None:
        store = store_for(backend)
        for index in range(3):
            cart = Cart(f"s{index}")
            cart.open("ada")
            await store.save(cart)
        seen: list[int] = []

        async def read() -> None:
            async for event in store.subscribe(poll_interval=0.01):
                assert event.position is not None
                seen.append(event.position)
                if len(seen) == 5:
                    return

        reader = asyncio.ensure_future(read())
        await asyncio.sleep(0.05)
        late = Cart("s3")
        late.open("bob")
        late.add("x")
        await store.save(late)
        await asyncio.wait_for(reader, 10)
        assert seen == [1, 2, 3, 4, 5]
        await store.close()

    run(main())


def test_inbox_records_each_message_id_once(backend: dict[str, str]) -> None:
    from cello.data import Database, DatabaseConfig

    async def main() -> None:
        database = await Database.connect(DatabaseConfig(backend["url"]))
        inbox = Inbox(f"{backend['prefix']}inbox")
        async with database.transaction() as tx:
            assert await inbox.seen("m-1", tx) is False
            assert await inbox.seen("m-1", tx) is True
        # A handler whose transaction rolled back did not consume its message.
        with pytest.raises(RuntimeError, match="handler failed"):
            async with database.transaction() as tx:
                assert await inbox.seen("m-2", tx) is False
                raise RuntimeError("handler failed")
        async with database.transaction() as tx:
            assert await inbox.seen("m-2", tx) is False
            assert await inbox.seen("m-1", tx) is True
            with pytest.raises(ValueError, match="is not an id"):
                await inbox.seen("x'; DROP TABLE y; --", tx)
        await database.close()

    run(main())
