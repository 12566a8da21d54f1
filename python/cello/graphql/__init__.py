"""GraphQL for Cello: schemas from Python types, executed in Rust (async-graphql).

Two ways to write a schema, which mix freely:

- the original API: ``@Query``/``@Mutation`` functions, ``Schema().query(...).build()``,
  ``GraphQL(...).execute(...)``, ``app.enable_graphql(GraphQLConfig(...), schema=...)``;
- typed classes in the Strawberry style: ``@cello.graphql.type``, `field`, `input`,
  `enum`, `interface`, `union`, `ID`, `Info`.

Fields without a resolver are read in Rust (dict key or attribute); sync resolvers are
called inline and async ones run as tasks of the worker's loop. Subscription fields are
async generators, served over WebSocket (``graphql-transport-ws``, ``graphql-ws``) and
Server-Sent Events on the same path. See docs/graphql.md.
"""

from __future__ import annotations

from cello.graphql.config import GraphQLConfig
from cello.graphql.dataloader import DataLoader
from cello.graphql.schema import GraphQL, Mutation, Query, Schema, Subscription
from cello.graphql.types import ID, GraphQLError, Info, enum, field, input, interface, type, union

__all__ = [
    "ID",
    "DataLoader",
    "GraphQL",
    "GraphQLConfig",
    "GraphQLError",
    "Info",
    "Mutation",
    "Query",
    "Schema",
    "Subscription",
    "enum",
    "field",
    "input",
    "interface",
    "type",
    "union",
]
