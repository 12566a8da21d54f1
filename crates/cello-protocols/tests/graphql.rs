//! The engine against a host written in Rust: objects are JSON values, resolvers are
//! closures, so the crate is tested without Python.

use async_graphql::futures_util::future::BoxFuture;
use async_graphql::futures_util::stream::{self, StreamExt};
use async_graphql::futures_util::FutureExt;
use cello_protocols::graphql::http::{self, HttpRequest, MediaType, Prepared};
use cello_protocols::graphql::{
    ArgumentSpec, Call, Engine, FieldSpec, Host, Limits, Node, Outgoing, Output, SchemaSpec,
    Selection, Shape, SubscriptionStream, TypeKind, TypeSpec, Value,
};
use serde_json::{json, Value as Json};

#[derive(Default)]
struct JsonHost {
    sources: Vec<String>,
    projected: std::sync::atomic::AtomicUsize,
}

/// A JSON value projected through `node`, as a host must: `None` where it cannot.
fn project_json(value: &Json, node: &Node, sources: &[String]) -> Option<Value> {
    match (node, value) {
        (Node::NonNull(_), Json::Null) => None,
        (Node::NonNull(inner), _) => project_json(value, inner, sources),
        (_, Json::Null) => Some(Value::Null),
        (Node::List(inner), Json::Array(items)) => items
            .iter()
            .map(|item| project_json(item, inner, sources))
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        (Node::Leaf(None), leaf) => Value::from_json(leaf.clone()).ok(),
        (Node::Leaf(Some(values)), leaf) => {
            Node::enum_value(values, Value::from_json(leaf.clone()).ok()?)
        }
        (Node::Object(projection), Json::Object(map)) => {
            let mut object = cello_protocols::graphql::ValueMap::new();
            for field in &projection.fields {
                let item = match field.source {
                    None => Value::String(projection.type_name.to_string()),
                    Some(source) => {
                        let item = map.get(&sources[source]).unwrap_or(&Json::Null);
                        project_json(item, &field.node, sources)?
                    }
                };
                object.insert(field.key.clone(), item);
            }
            Some(Value::Object(object))
        }
        _ => None,
    }
}

fn output(value: &Json, shape: &Shape) -> Output<Json> {
    trimmed(value, shape, None)
}

/// A value as an output of `shape`; an untyped field's value trimmed to its selection.
fn trimmed(value: &Json, shape: &Shape, selection: Option<&Selection>) -> Output<Json> {
    if let (Some(selection), Shape::Leaf) = (selection, shape) {
        return Output::Leaf(selection.trim(Value::from_json(value.clone()).unwrap()));
    }
    match (value, shape) {
        (Json::Null, _) => Output::Null,
        (Json::Array(items), Shape::List(inner)) => {
            Output::List(items.iter().map(|item| output(item, inner)).collect())
        }
        (object, Shape::Object { abstract_type }) => {
            let name = abstract_type.then(|| object["kind"].as_str().unwrap_or("").to_owned());
            Output::Object(object.clone(), name)
        }
        (leaf, _) => Output::Leaf(Value::from_json(leaf.clone()).unwrap()),
    }
}

impl Host for JsonHost {
    type Object = Json;
    type Context = String;

    fn resolve<'a>(
        &'a self,
        resolver: usize,
        parent: Option<&'a Json>,
        call: Call<'a>,
        context: &'a String,
    ) -> BoxFuture<'a, async_graphql::Result<Output<Json>>> {
        async move {
            let value = match resolver {
                0 => json!([
                    {"id": 1, "name": "ada", "kind": "User", "meta": {"a": 1, "b": 2}},
                    {"id": 2, "name": "alan", "kind": "User", "meta": null}
                ]),
                1 => {
                    let id = call
                        .arguments
                        .first()
                        .map_or(json!(0), |(_, id)| id.clone().into_json().unwrap());
                    json!({"id": id, "name": context, "kind": "User"})
                }
                2 => json!(format!(
                    "hello {}",
                    parent.unwrap()["name"].as_str().unwrap()
                )),
                3 => return Err(async_graphql::Error::new(format!("boom at {}", call.path))),
                6 => json!([{"id": 1, "name": "ada", "secret": "s"}, {"id": 2, "name": "alan"}]),
                7 => json!([{"id": 3, "name": null}]),
                _ => unreachable!(),
            };
            Ok(trimmed(&value, call.shape, call.selection))
        }
        .boxed()
    }

    /// Resolver 4 counts users up to `to`; resolver 5 yields one user, then fails.
    fn subscribe<'a>(
        &'a self,
        resolver: usize,
        call: Call<'a>,
        _context: &'a String,
    ) -> BoxFuture<'a, async_graphql::Result<SubscriptionStream<Json>>> {
        let to = call
            .arguments
            .first()
            .and_then(|(_, to)| to.clone().into_json().ok())
            .and_then(|to| to.as_i64())
            .unwrap_or(1);
        let shape = call.shape.clone();
        let users = (1..=to)
            .map(move |id| Ok(output(&json!({"id": id, "name": format!("u{id}")}), &shape)));
        let values: SubscriptionStream<Json> = match resolver {
            4 => stream::iter(users.collect::<Vec<_>>()).boxed(),
            _ => stream::iter(
                users
                    .take(1)
                    .chain([Err(async_graphql::Error::new("feed broke"))])
                    .collect::<Vec<_>>(),
            )
            .boxed(),
        };
        async move { Ok(values) }.boxed()
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
        self.projected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        project_json(&json(output), node, &self.sources)
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

fn engine(limits: Limits) -> Engine<JsonHost> {
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
                    field("raw", "JSON", Some(6)),
                    field("nameless", "[User!]!", Some(7)),
                ],
            },
            TypeSpec {
                name: "JSON".into(),
                description: None,
                kind: TypeKind::Scalar,
                fields: vec![],
            },
            TypeSpec {
                name: "Subscription".into(),
                description: None,
                kind: TypeKind::Object { interfaces: vec![] },
                fields: vec![
                    FieldSpec {
                        arguments: vec![ArgumentSpec {
                            name: "to".into(),
                            description: None,
                            ty: "Int!".into(),
                            default: None,
                        }],
                        ..field("users", "User!", Some(4))
                    },
                    field("failing", "User!", Some(5)),
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
                description: Some("a person".into()),
                kind: TypeKind::Object {
                    interfaces: vec!["Node".into()],
                },
                fields: vec![
                    field("id", "Int!", None),
                    field("name", "String!", None),
                    field("greeting", "String!", Some(2)),
                    field("broken", "String", Some(3)),
                    field("friends", "[User!]", None),
                    field("meta", "JSON", None),
                ],
            },
        ],
        query: "Query".into(),
        mutation: None,
        subscription: Some("Subscription".into()),
        introspection: true,
        limits,
    };
    Engine::new(&spec, JsonHost::default()).unwrap()
}

async fn run(engine: &Engine<JsonHost>, query: &str) -> Json {
    let response = engine
        .execute(async_graphql::Request::new(query), "grace".into())
        .await;
    serde_json::to_value(&response).unwrap()
}

#[tokio::test]
async fn nested_resolvers_reads_and_errors_with_paths() {
    let engine = engine(Limits::default());
    let out = run(
        &engine,
        "{ users { id name greeting broken } user(id: 7) { name } }",
    )
    .await;
    assert_eq!(out["data"]["users"][1]["greeting"], "hello alan");
    assert_eq!(out["data"]["users"][0]["broken"], Json::Null);
    assert_eq!(out["data"]["user"], json!({"name": "grace"}));
    assert_eq!(out["errors"][0]["path"], json!(["users", 0, "broken"]));
    assert_eq!(out["errors"][0]["message"], "boom at users.0.broken");
    let out = run(&engine, "{ node { id ... on User { name } } }").await;
    assert_eq!(out["data"]["node"]["name"], "grace");
    assert!(engine.sdl().contains("type User implements Node"));
}

#[tokio::test]
async fn untyped_fields_are_trimmed_to_their_sub_selection() {
    let engine = engine(Limits::default());
    let out = run(&engine, "{ raw { id label: name } users { meta { b } } }").await;
    assert_eq!(out.get("errors"), None, "{out}");
    assert_eq!(
        out["data"]["raw"],
        json!([{"id": 1, "label": "ada"}, {"id": 2, "label": "alan"}])
    );
    assert_eq!(
        out["data"]["users"],
        json!([{"meta": {"b": 2}}, {"meta": null}])
    );
    // Without a sub-selection the whole value; fragments inside one are flattened, and
    // the fragment no longer counts as unused.
    let out = run(&engine, "{ raw users { meta } }").await;
    assert_eq!(out["data"]["raw"][0]["secret"], "s");
    assert_eq!(out["data"]["users"][0]["meta"], json!({"a": 1, "b": 2}));
    let out = run(
        &engine,
        "query Q { raw { ...Named ... { id } } } fragment Named on Whatever { name }",
    )
    .await;
    assert_eq!(out.get("errors"), None, "{out}");
    assert_eq!(out["data"]["raw"][1], json!({"name": "alan", "id": 2}));
    // Typed fields still refuse a selection on a scalar.
    let out = run(&engine, "{ users { name { x } } }").await;
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{out}"
    );
}

#[tokio::test]
async fn lists_of_plain_fields_are_projected_in_one_pass() {
    let engine = engine(Limits::default());
    let out = run(
        &engine,
        "{ users { id who: name __typename friends { id } } }",
    )
    .await;
    assert_eq!(out.get("errors"), None, "{out}");
    assert_eq!(
        out["data"]["users"],
        json!([
            {"id": 1, "who": "ada", "__typename": "User", "friends": null},
            {"id": 2, "who": "alan", "__typename": "User", "friends": null}
        ])
    );
    // A resolver field in the selection: resolved field by field, as before.
    let out = run(&engine, "{ users { name greeting } }").await;
    assert_eq!(out["data"]["users"][1]["greeting"], "hello alan");
    // A null in a non-null field: the projection refuses, the executor reports it.
    let projected = engine
        .host()
        .projected
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(projected, 1, "only the first users list was projected");
    let out = run(&engine, "{ nameless { name } }").await;
    assert_eq!(out["data"], json!({"nameless": [null]}), "{out}");
    assert_eq!(
        out["errors"][0]["path"],
        json!(["nameless", 0, "name"]),
        "{out}"
    );
}

#[tokio::test]
async fn limits_refuse_before_execution() {
    let limits = Limits {
        max_depth: Some(2),
        max_aliases: Some(1),
        ..Limits::default()
    };
    let engine = engine(limits);
    let deep = run(&engine, "{ users { friends { friends { id } } } }").await;
    assert!(
        deep["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{deep}"
    );
    let aliases = run(&engine, "{ a: users { id } b: users { id } }").await;
    assert_eq!(aliases["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    let costly = Limits {
        max_complexity: Some(3),
        ..Limits::default()
    };
    let out = run(&self::engine(costly), "{ users { id name greeting } }").await;
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{out}"
    );
}

#[tokio::test]
async fn http_status_follows_the_media_type() {
    let engine = engine(Limits::default());
    let get = ::http::Method::GET;
    for (accept, status) in [
        (Some("application/graphql-response+json"), 400),
        (None, 200),
    ] {
        let request = HttpRequest {
            method: &get,
            content_type: None,
            accept,
            query_string: "query=%7B%20users",
            body: b"",
        };
        let Prepared::Execute {
            requests,
            batch,
            media,
        } = http::prepare(&request, false)
        else {
            panic!("expected an execution")
        };
        let mut responses = vec![];
        for request in requests {
            responses.push(engine.execute(request, String::new()).await);
        }
        let answer = http::finish(media, batch, &responses);
        assert_eq!(answer.status.as_u16(), status);
        let body: Json = serde_json::from_slice(&answer.body).unwrap();
        assert!(body.get("data").is_none());
    }
    let post = ::http::Method::POST;
    let request = HttpRequest {
        method: &post,
        content_type: Some("text/plain"),
        accept: None,
        query_string: "",
        body: b"{}",
    };
    let Prepared::Answer(answer) = http::prepare(&request, false) else {
        panic!()
    };
    assert_eq!(answer.status.as_u16(), 415);
    let mutation = HttpRequest {
        method: &get,
        content_type: None,
        accept: Some("application/graphql-response+json"),
        query_string: "query=mutation%20%7B%20x%20%7D",
        body: b"",
    };
    let Prepared::Answer(answer) = http::prepare(&mutation, false) else {
        panic!()
    };
    assert_eq!(
        (answer.status.as_u16(), answer.allow),
        (405, Some("GET, POST"))
    );
    assert_eq!(answer.content_type, MediaType::GraphQLResponse.as_str());
}

#[tokio::test]
async fn subscriptions_stream_resolved_items_and_end_on_an_error() {
    let engine = engine(Limits::default());
    let request = async_graphql::Request::new("subscription { users(to: 2) { id greeting } }");
    let responses: Vec<Json> = engine
        .subscribe(request, "grace".into())
        .map(|response| serde_json::to_value(&response).unwrap())
        .collect()
        .await;
    assert_eq!(
        responses,
        [
            json!({"data": {"users": {"id": 1, "greeting": "hello u1"}}}),
            json!({"data": {"users": {"id": 2, "greeting": "hello u2"}}}),
        ]
    );
    let request = async_graphql::Request::new("subscription { failing { id } }");
    let responses: Vec<Json> = engine
        .subscribe(request, "grace".into())
        .map(|response| serde_json::to_value(&response).unwrap())
        .collect()
        .await;
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[1]["errors"][0]["message"], "feed broke");
    assert_eq!(responses[1]["errors"][0]["path"], json!(["failing"]));
}

#[tokio::test]
async fn websocket_speaks_graphql_transport_ws() {
    let engine = engine(Limits::default());
    let incoming = stream::iter(
        [
            r#"{"type":"connection_init"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"subscribe","id":"a","payload":{"query":"subscription { users(to: 1) { id } }"}}"#,
        ]
        .map(String::from),
    )
    .chain(stream::pending());
    let messages: Vec<Json> = engine
        .websocket("graphql-transport-ws", incoming, "grace".into())
        .unwrap()
        .take(4)
        .map(|message| match message {
            Outgoing::Text(text) => serde_json::from_str(&text).unwrap(),
            Outgoing::Close(code, reason) => json!({"close": code, "reason": reason}),
        })
        .collect()
        .await;
    assert_eq!(
        messages,
        [
            json!({"type": "connection_ack"}),
            json!({"type": "pong"}),
            json!({"type": "next", "id": "a", "payload": {"data": {"users": {"id": 1}}}}),
            json!({"type": "complete", "id": "a"}),
        ]
    );
    assert!(engine
        .websocket("mqtt", stream::empty::<String>(), "grace".into())
        .is_none());
}
