//! GraphQL over HTTP (the GraphQL-over-HTTP specification, with batching as an option).
//!
//! [`prepare`] turns an HTTP request into executions or an early answer (415, 405, 406,
//! 400); [`finish`] turns the executions' responses into the HTTP response. Status codes
//! follow the negotiated media type: with `application/graphql-response+json` a request
//! error (the document did not parse, validate, or stay within the limits) is a 400;
//! with `application/json` it is a 200 carrying the errors, as the specification asks.

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, Variables};
use http::{Method, StatusCode};
use serde_json::{Map, Value as Json};

/// The response media types, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphQLResponse,
    Json,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// The parts of an HTTP request that GraphQL over HTTP reads.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a Method,
    pub content_type: Option<&'a str>,
    pub accept: Option<&'a str>,
    /// The raw query string, without `?`.
    pub query_string: &'a str,
    pub body: &'a [u8],
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Prepared {
    /// Answer at once (a malformed request).
    Answer(HttpResponse),
    /// Execute these requests; `batch` when the body was a JSON array.
    Execute {
        requests: Vec<Request>,
        batch: bool,
        media: MediaType,
    },
}

/// Reads a GraphQL request from an HTTP request.
pub fn prepare(request: &HttpRequest<'_>, batching: bool) -> Prepared {
    let Some(media) = negotiate(request.accept) else {
        return Prepared::Answer(problem(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            "the Accept header allows neither application/graphql-response+json nor application/json",
        ));
    };
    let parsed = match *request.method {
        Method::GET => from_query_string(request.query_string, media),
        Method::POST => from_body(request, batching, media),
        _ => Err(not_allowed(media, "GraphQL is served over GET and POST")),
    };
    match parsed {
        Ok((requests, batch)) => Prepared::Execute {
            requests,
            batch,
            media,
        },
        Err(answer) => Prepared::Answer(answer),
    }
}

/// Reads the one operation of a GraphQL-over-SSE request (graphql-sse's distinct
/// connections mode): GET parameters or a JSON POST body, no batches. A malformed
/// request is answered at once, in JSON.
pub fn prepare_stream(request: &HttpRequest<'_>) -> Result<Request, HttpResponse> {
    let media = MediaType::Json;
    let (mut requests, _) = match *request.method {
        Method::GET => from_query_string(request.query_string, media)?,
        Method::POST => from_body(request, false, media)?,
        _ => return Err(not_allowed(media, "GraphQL is served over GET and POST")),
    };
    Ok(requests.remove(0))
}

/// The SSE `next` event carrying one response of a stream.
pub fn sse_next(response: &Response) -> Vec<u8> {
    let mut event = b"event: next\ndata: ".to_vec();
    event.extend(response_bytes(response).0);
    event.extend_from_slice(b"\n\n");
    event
}

/// The SSE event that ends a stream.
pub const SSE_COMPLETE: &[u8] = b"event: complete\ndata: \n\n";

/// The HTTP response for the executions' responses.
pub fn finish(media: MediaType, batch: bool, responses: &[Response]) -> HttpResponse {
    if batch {
        let items: Vec<Vec<u8>> = responses.iter().map(|r| response_bytes(r).0).collect();
        let mut body = b"[".to_vec();
        body.extend(items.join(&b','));
        body.push(b']');
        return bytes_response(StatusCode::OK, media, body);
    }
    let Some(response) = responses.first() else {
        return problem(StatusCode::BAD_REQUEST, media, "no operation to execute");
    };
    let (body, request_error) = response_bytes(response);
    let status = if request_error && media == MediaType::GraphQLResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    bytes_response(status, media, body)
}

/// A response as JSON, and whether it is a request error (no execution happened: the
/// `data` entry is left out, as the specification asks). Written entry by entry, not
/// through `serde_json::Value`, whose maps are sorted: the fields of `data` keep the
/// order of the selection set, as the GraphQL specification asks of serialized maps.
fn response_bytes(response: &Response) -> (Vec<u8>, bool) {
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    let mut out = b"{".to_vec();
    let mut entry = |name: &str, value: Result<Vec<u8>, serde_json::Error>| {
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":").as_bytes());
        out.extend(value.unwrap_or_else(|_| b"null".to_vec()));
    };
    if !request_error {
        entry("data", serde_json::to_vec(&response.data));
    }
    if !response.errors.is_empty() {
        entry("errors", serde_json::to_vec(&response.errors));
    }
    if !response.extensions.is_empty() {
        entry("extensions", serde_json::to_vec(&response.extensions));
    }
    out.push(b'}');
    (out, request_error)
}

fn bytes_response(status: StatusCode, media: MediaType, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status,
        content_type: media.as_str(),
        body,
        allow: None,
    }
}

fn json_response(status: StatusCode, media: MediaType, value: &Json) -> HttpResponse {
    bytes_response(status, media, serde_json::to_vec(value).unwrap_or_default())
}

/// A request error in the GraphQL response shape (`{"errors": [{"message": ...}]}`).
fn problem(status: StatusCode, media: MediaType, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    json_response(status, media, &body)
}

fn not_allowed(media: MediaType, message: &str) -> HttpResponse {
    let mut response = problem(StatusCode::METHOD_NOT_ALLOWED, media, message);
    response.allow = Some("GET, POST");
    response
}

/// The response media type for an `Accept` header: the first acceptable of ours by the
/// client's order of q-values. No header (or `*/*`) is `application/json`, for older clients.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let media = match range.as_str() {
            "application/graphql-response+json" => MediaType::GraphQLResponse,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, media));
        }
    }
    best.map(|(_, media)| media)
}

type Parsed = Result<(Vec<Request>, bool), HttpResponse>;

fn from_query_string(query_string: &str, media: MediaType) -> Parsed {
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" => match serde_json::from_str::<Json>(&value) {
                Ok(parsed) => parsed,
                Err(_) => {
                    let message = format!("the `{key}` parameter is not JSON");
                    return Err(problem(StatusCode::BAD_REQUEST, media, &message));
                }
            },
            _ => Json::String(value.into_owned()),
        };
        object.insert(key.into_owned(), value);
    }
    let request = request_from_json(Json::Object(object), media)?;
    // GET must not change anything: a mutation is refused before it runs.
    if operation_type(&request) == Some(OperationType::Mutation) {
        return Err(not_allowed(media, "mutations are sent with POST, not GET"));
    }
    Ok((vec![request], false))
}

fn from_body(request: &HttpRequest<'_>, batching: bool, media: MediaType) -> Parsed {
    let content_type = request.content_type.unwrap_or("").to_ascii_lowercase();
    let mut parameters = content_type.split(';').map(str::trim);
    let essence = parameters.next().unwrap_or("");
    let charset_ok = parameters
        .filter_map(|p| p.strip_prefix("charset="))
        .all(|charset| charset.trim_matches('"') == "utf-8");
    if essence != "application/json" || !charset_ok {
        let response = problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send the request as Content-Type: application/json (UTF-8)",
        );
        return Err(response);
    }
    let body: Json = serde_json::from_slice(request.body).map_err(|error| {
        let message = format!("the request body is not JSON: {error}");
        problem(StatusCode::BAD_REQUEST, media, &message)
    })?;
    match body {
        Json::Array(items) if batching => {
            if items.is_empty() {
                return Err(problem(StatusCode::BAD_REQUEST, media, "the batch is empty"));
            }
            let requests = items
                .into_iter()
                .map(|item| request_from_json(item, media))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((requests, true))
        }
        Json::Array(_) => Err(problem(
            StatusCode::BAD_REQUEST,
            media,
            "batched queries are off: send one JSON object (GraphQLConfig(batching=True) accepts arrays)",
        )),
        object => Ok((vec![request_from_json(object, media)?], false)),
    }
}

/// A request from `{"query", "variables", "operationName", "extensions"}`, each checked.
fn request_from_json(value: Json, media: MediaType) -> Result<Request, HttpResponse> {
    let bad = |message: &str| problem(StatusCode::BAD_REQUEST, media, message);
    let Json::Object(mut object) = value else {
        return Err(bad(
            "the request must be a JSON object with a `query` string",
        ));
    };
    let Some(Json::String(query)) = object.remove("query") else {
        return Err(bad("the request needs a `query` string"));
    };
    let mut request = Request::new(query);
    match object.remove("variables") {
        None | Some(Json::Null) => {}
        Some(variables @ Json::Object(_)) => {
            request = request.variables(Variables::from_json(variables));
        }
        Some(_) => return Err(bad("`variables` must be a JSON object")),
    }
    match object.remove("operationName") {
        None | Some(Json::Null) => {}
        Some(Json::String(name)) => request = request.operation_name(name),
        Some(_) => return Err(bad("`operationName` must be a string")),
    }
    match object.remove("extensions") {
        None | Some(Json::Null | Json::Object(_)) => {}
        Some(_) => return Err(bad("`extensions` must be a JSON object")),
    }
    Ok(request)
}

/// The type of the operation a request would run, if its document parses.
fn operation_type(request: &Request) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let name = request.operation_name.as_deref();
    document
        .operations
        .iter()
        .find(|(op_name, _)| name.is_none() || op_name.map(|n| n.as_str()) == name)
        .map(|(_, operation)| operation.node.ty)
}

#[cfg(test)]
mod tests {
    use super::{negotiate, MediaType};

    #[test]
    fn negotiates_by_quality_then_order() {
        assert_eq!(negotiate(None), Some(MediaType::Json));
        assert_eq!(negotiate(Some("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(Some("application/graphql-response+json, application/json")),
            Some(MediaType::GraphQLResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/json;q=0.9, application/graphql-response+json"
            )),
            Some(MediaType::GraphQLResponse)
        );
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }
}
