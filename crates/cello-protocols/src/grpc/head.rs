//! What a gRPC request's headers say: the method, the deadline (`grpc-timeout`), the
//! message coding both ways and the custom metadata.

use std::time::Duration;

use http::HeaderMap;

use super::framing::Encoding;
use super::status::{Code, Status};

/// A request's call head, read from its path and headers.
#[derive(Debug)]
pub struct CallHead {
    /// `/package.Service/Method`, as sent.
    pub path: String,
    /// The client's deadline, from `grpc-timeout`.
    pub timeout: Option<Duration>,
    /// The coding of the request's compressed messages.
    pub request_encoding: Encoding,
    /// The coding Cello may use for the response (`gzip` when the client accepts it).
    pub accepts_gzip: bool,
    /// Custom metadata in arrival order: `-bin` values base64-decoded, names lowercase.
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// Headers that are the protocol's own, not metadata a handler sees.
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "te",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "connection",
    "host",
];

/// `grpc-timeout`: up to eight digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
pub fn parse_timeout(value: &str) -> Option<Duration> {
    if !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The value of a `-bin` metadata entry: base64, padded or not.
pub fn decode_binary(value: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| *b != b'=' && !b.is_ascii_whitespace())
        .collect();
    data_encoding::BASE64_NOPAD.decode(&trimmed).ok()
}

/// A `-bin` metadata value as sent: base64 without padding (as grpc-go and grpcio send).
pub fn encode_binary(value: &[u8]) -> String {
    data_encoding::BASE64_NOPAD.encode(value)
}

impl CallHead {
    /// Reads the head of a call; a status (for the trailers) when it cannot be served.
    pub fn parse(path: &str, headers: &HeaderMap) -> Result<Self, Box<Status>> {
        let timeout = match headers.get("grpc-timeout") {
            None => None,
            Some(value) => {
                Some(value.to_str().ok().and_then(parse_timeout).ok_or_else(|| {
                    Box::new(Status::new(Code::Internal, "malformed grpc-timeout"))
                })?)
            }
        };
        let request_encoding = match headers.get("grpc-encoding") {
            None => Encoding::Identity,
            Some(value) => value
                .to_str()
                .ok()
                .and_then(Encoding::from_name)
                .ok_or_else(|| {
                    Box::new(Status::new(
                        Code::Unimplemented,
                        format!(
                            "grpc-encoding {:?} is not supported (identity, gzip)",
                            String::from_utf8_lossy(value.as_bytes())
                        ),
                    ))
                })?,
        };
        let accepts_gzip = headers
            .get_all("grpc-accept-encoding")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|name| name.trim() == "gzip");
        let mut metadata = Vec::new();
        for (name, value) in headers {
            let name = name.as_str();
            if RESERVED.contains(&name) {
                continue;
            }
            let value = if name.ends_with("-bin") {
                decode_binary(value.as_bytes()).ok_or_else(|| {
                    Box::new(Status::new(
                        Code::Internal,
                        format!("metadata {name} is not base64"),
                    ))
                })?
            } else {
                value.as_bytes().to_vec()
            };
            metadata.push((name.to_owned(), value));
        }
        Ok(Self {
            path: path.to_owned(),
            timeout,
            request_encoding,
            accepts_gzip,
            metadata,
        })
    }

    /// The service and method of `/package.Service/Method`.
    pub fn service_and_method(&self) -> Option<(&str, &str)> {
        let (service, method) = self.path.strip_prefix('/')?.split_once('/')?;
        (!service.is_empty() && !method.is_empty() && !method.contains('/'))
            .then_some((service, method))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn timeouts_in_every_unit_and_malformed_ones() {
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_timeout("5n"), Some(Duration::from_nanos(5)));
        for bad in ["", "S", "123456789S", "1x", "-1S", "1.5S", "é"] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn head_with_metadata_codings_and_a_bad_timeout() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-timeout", HeaderValue::from_static("100m"));
        headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
        headers.insert(
            "grpc-accept-encoding",
            HeaderValue::from_static("identity, deflate, gzip"),
        );
        headers.insert("x-user", HeaderValue::from_static("ada"));
        headers.insert("x-blob-bin", HeaderValue::from_static("AAEC"));
        let head = CallHead::parse("/pkg.Svc/Get", &headers).unwrap();
        assert_eq!(head.timeout, Some(Duration::from_millis(100)));
        assert_eq!(head.request_encoding, Encoding::Gzip);
        assert!(head.accepts_gzip);
        assert_eq!(
            head.metadata,
            vec![
                ("x-user".to_owned(), b"ada".to_vec()),
                ("x-blob-bin".to_owned(), vec![0, 1, 2])
            ]
        );
        assert_eq!(head.service_and_method(), Some(("pkg.Svc", "Get")));

        headers.insert("grpc-timeout", HeaderValue::from_static("soon"));
        assert_eq!(CallHead::parse("/a/b", &headers).unwrap_err().code, 13);
        headers.remove("grpc-timeout");
        headers.insert("grpc-encoding", HeaderValue::from_static("snappy"));
        assert_eq!(CallHead::parse("/a/b", &headers).unwrap_err().code, 12);
        assert_eq!(decode_binary(b"AAECAw=="), Some(vec![0, 1, 2, 3]));
        assert_eq!(encode_binary(&[0, 1, 2, 3]), "AAECAw");
    }
}
