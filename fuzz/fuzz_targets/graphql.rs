//! GraphQL documents and GraphQL-over-HTTP requests from clients, through
//! `cello_protocols::graphql` (request parsing, negotiation and status rules in `http`,
//! the document parser, validation, the depth/complexity/alias/size limits and
//! execution on a small schema answered by a host written in Rust). Invariants: no
//! answer is a 5xx, every JSON body parses, and a response without errors has data.
#![no_main]

use std::sync::OnceLock;

use async_graphql::futures_util::future::BoxFuture;
use async_graphql::futures_util::FutureExt;
use cello_protocols::graphql::http::{self, HttpRequest, Prepared};
use cello_protocols::graphql::{
    ArgumentSpec, Call, Engine, FieldSpec, Host, Limits, Node, Output, SchemaSpec, Selection,
    Shape, TypeKind, TypeSpec, Value, ValueMap,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value as Json};

const MAX_DEPTH: usize = 6;

#[derive(Default)]
struct JsonHost {
    sources: Vec<String>,
}

fn output(value: &Json, shape: &Shape) -> Output<Json> {
    trimmed(value, shape, None)
}

/// An untyped (`JSON`) field's value trimmed to its sub-selection, as hosts must.
fn trimmed(value: &Json, shape: &Shape, selection: Option<&Selection>) -> Output<Json> {
    if let (Some(selection), Shape::Leaf) = (selection, shape) {
        return Value::from_json(value.clone()).map_or(Output::Null, |v| Output::Leaf(selection.trim(v)));
    }
    match (value, shape) {
        (Json::Null, _) => Output::Null,
        (Json::Array(items), Shape::List(inner)) => {
            Output::List(items.iter().map(|item| output(item, inner)).collect())
        }
        (object @ Json::Object(_), Shape::Object { abstract_type }) => {
            let name = abstract_type.then(|| "User".to_owned());
            Output::Object(object.clone(), name)
        }
        (Json::Object(_) | Json::Array(_), _) => Output::Null,
        (leaf, _) => Value::from_json(leaf.clone()).map_or(Output::Null, Output::Leaf),
    }
}

impl Host for JsonHost {
    type Object = Json;
    type Context = ();

    fn resolve<'a>(
        &'a self,
        resolver: usize,
        parent: Option<&'a Json>,
        call: Call<'a>,
        _context: &'a (),
    ) -> BoxFuture<'a, async_graphql::Result<Output<Json>>> {
        async move {
            let value = match resolver {
                0 => json!([
                    {"id": 1, "name": "ada", "meta": {"a": [1, {"b": 2}]}, "friends": [{"id": 2, "name": "alan", "friends": []}]},
                    {"id": 2, "name": "alan", "meta": null, "friends": []}
                ]),
                1 => json!({"id": 7, "name": "grace", "friends": []}),
                2 => json!(format!(
                    "hello {}",
                    parent.and_then(|p| p["name"].as_str()).unwrap_or("")
                )),
                _ => return Err(async_graphql::Error::new(format!("boom at {}", call.path))),
            };
            Ok(trimmed(&value, call.shape, call.selection))
        }
        .boxed()
    }

    fn sources(&mut self, sources: &[String]) {
        self.sources = sources.to_vec();
    }

    fn project(&self, output: &Output<Json>, node: &Node) -> Option<Value> {
        fn json(output: &Output<Json>) -> Json {
            match output {
                Output::Null => Json::Null,
                Output::Leaf(value) => value.clone().into_json().unwrap_or(Json::Null),
                Output::Object(object, _) => object.clone(),
                Output::List(items) => Json::Array(items.iter().map(json).collect()),
            }
        }
        project(&json(output), node, &self.sources)
    }

    fn read(
        &self,
        parent: &Json,
        source: &str,
        shape: &Shape,
        selection: Option<&Selection>,
    ) -> async_graphql::Result<Output<Json>> {
        Ok(trimmed(&parent[source], shape, selection))
    }
}

/// A JSON value through a projection's node; `None` where field-by-field resolution
/// must take over.
fn project(value: &Json, node: &Node, sources: &[String]) -> Option<Value> {
    match (node, value) {
        (Node::NonNull(_), Json::Null) => None,
        (Node::NonNull(inner), _) => project(value, inner, sources),
        (_, Json::Null) => Some(Value::Null),
        (Node::List(inner), Json::Array(items)) => {
            items.iter().map(|item| project(item, inner, sources)).collect::<Option<Vec<_>>>().map(Value::List)
        }
        (Node::Leaf(None), Json::Object(_) | Json::Array(_)) => None,
        (Node::Leaf(None), leaf) => Value::from_json(leaf.clone()).ok(),
        (Node::Leaf(Some(values)), leaf) => Node::enum_value(values, Value::from_json(leaf.clone()).ok()?),
        (Node::Object(projection), Json::Object(map)) => {
            let mut object = ValueMap::new();
            for field in &projection.fields {
                let item = match field.source {
                    None => Value::String(projection.type_name.to_string()),
                    Some(source) => project(map.get(&sources[source]).unwrap_or(&Json::Null), &field.node, sources)?,
                };
                object.insert(field.key.clone(), item);
            }
            Some(Value::Object(object))
        }
        _ => None,
    }
}

fn field(name: &str, ty: &str, resolver: Option<usize>) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        description: None,
        ty: ty.into(),
        arguments: vec![],
        resolver,
        source: name.into(),
        deprecation: None,
        default: None,
    }
}

fn engine() -> &'static Engine<JsonHost> {
    static ENGINE: OnceLock<Engine<JsonHost>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut user = field("user", "User", Some(1));
        user.arguments.push(ArgumentSpec {
            name: "id".into(),
            description: None,
            ty: "Int!".into(),
            default: None,
        });
        let spec = SchemaSpec {
            types: vec![
                TypeSpec {
                    name: "Query".into(),
                    description: None,
                    kind: TypeKind::Object { interfaces: vec![] },
                    fields: vec![
                        field("users", "[User!]!", Some(0)),
                        user,
                        field("node", "Node", Some(1)),
                        field("raw", "JSON", Some(0)),
                    ],
                },
                TypeSpec {
                    name: "Node".into(),
                    description: None,
                    kind: TypeKind::Interface,
                    fields: vec![field("id", "Int!", None)],
                },
                TypeSpec {
                    name: "User".into(),
                    description: None,
                    kind: TypeKind::Object { interfaces: vec!["Node".into()] },
                    fields: vec![
                        field("id", "Int!", None),
                        field("name", "String!", None),
                        field("greeting", "String!", Some(2)),
                        field("broken", "String", Some(3)),
                        field("friends", "[User!]", None),
                        field("meta", "JSON", None),
                    ],
                },
                TypeSpec { name: "JSON".into(), description: None, kind: TypeKind::Scalar, fields: vec![] },
            ],
            query: "Query".into(),
            mutation: None,
            subscription: None,
            introspection: true,
            limits: Limits {
                max_depth: Some(MAX_DEPTH),
                max_complexity: Some(200),
                max_aliases: Some(20),
                ..Limits::default()
            },
        };
        Engine::new(&spec, JsonHost::default()).expect("the fuzz schema builds")
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

const CONTENT_TYPES: [Option<&str>; 4] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/graphql"),
];
const ACCEPTS: [Option<&str>; 4] = [
    None,
    Some("application/json"),
    Some("application/graphql-response+json"),
    Some("text/html"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let engine = engine();
    // As a document, when the bytes are text.
    if let Ok(document) = std::str::from_utf8(rest) {
        let response = runtime().block_on(engine.execute(async_graphql::Request::new(document), ()));
        let json = serde_json::to_value(&response).expect("a response encodes");
        if response.errors.is_empty() {
            assert!(json.get("data").is_some(), "{json}");
        }
    }
    // As a GraphQL-over-HTTP request: the selector picks method, content type and
    // Accept; the bytes up to the first NUL are the query string, the rest the body.
    let method = if selector & 1 == 0 { ::http::Method::GET } else { ::http::Method::POST };
    let (query_string, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&rest[..0], rest),
    };
    let Ok(query_string) = std::str::from_utf8(query_string) else {
        return;
    };
    let request = HttpRequest {
        method: &method,
        content_type: CONTENT_TYPES[usize::from(selector >> 1) % 4],
        accept: ACCEPTS[usize::from(selector >> 3) % 4],
        query_string,
        body,
    };
    let answer = match http::prepare(&request, selector & 0x20 != 0) {
        Prepared::Execute { requests, batch, media } => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(runtime().block_on(engine.execute(request, ())));
            }
            http::finish(media, batch, &responses)
        }
        Prepared::Answer(answer) => answer,
    };
    assert!(answer.status.as_u16() < 500, "{} for {request:?}", answer.status);
    if !answer.body.is_empty() && answer.content_type.contains("json") {
        serde_json::from_slice::<Json>(&answer.body).expect("a JSON body");
    }
});
