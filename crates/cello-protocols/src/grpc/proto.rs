//! Services described by `.proto` files compiled at start-up (protox: no `protoc`), and
//! their messages converted to and from JSON through reflection (prost-reflect), for
//! servers and clients that have no generated code.

use std::path::PathBuf;

use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};

/// Why `.proto` files or a message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("{0}")]
    Compile(String),
    #[error("the descriptor set cannot be read: {0}")]
    Descriptors(String),
    #[error("no message type {0} in the .proto files")]
    UnknownMessage(String),
    #[error("the {message} bytes are not a valid message: {error}")]
    Decode { message: String, error: String },
    #[error("cannot encode {message}: {error}")]
    Encode { message: String, error: String },
}

/// One method of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// `package.Service`.
    pub service: String,
    pub name: String,
    pub input: String,
    pub output: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

/// The descriptors of a set of `.proto` files.
#[derive(Clone, Debug)]
pub struct ProtoSet {
    pool: DescriptorPool,
}

impl ProtoSet {
    /// Compiles `files` (paths, or names relative to `includes`), with their imports.
    pub fn compile(files: &[PathBuf], includes: &[PathBuf]) -> Result<Self, ProtoError> {
        let mut includes = includes.to_vec();
        if includes.is_empty() {
            includes.push(PathBuf::from("."));
        }
        // As protoc: a name is looked up in the include paths (`interop/test.proto`);
        // a file given by a path outside them is found from its own folder.
        let mut resolved = Vec::with_capacity(files.len());
        for file in files {
            let under = file
                .is_relative()
                .then(|| {
                    includes
                        .iter()
                        .map(|include| include.join(file))
                        .find(|path| path.is_file())
                })
                .flatten();
            match under {
                Some(path) => resolved.push(path),
                None => {
                    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                        if !includes.iter().any(|include| include == parent) {
                            includes.push(parent.to_path_buf());
                        }
                    }
                    resolved.push(file.clone());
                }
            }
        }
        let set = protox::compile(&resolved, &includes).map_err(|error| {
            ProtoError::Compile(match error.file() {
                Some(file) => format!("{file}: {error}"),
                None => error.to_string(),
            })
        })?;
        let pool = DescriptorPool::from_file_descriptor_set(set)
            .map_err(|error| ProtoError::Descriptors(error.to_string()))?;
        Ok(Self { pool })
    }

    /// From a serialized `FileDescriptorSet` (`protoc --descriptor_set_out`, or the
    /// files a reflection service returned).
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Self, ProtoError> {
        let pool = DescriptorPool::decode(bytes)
            .map_err(|error| ProtoError::Descriptors(error.to_string()))?;
        Ok(Self { pool })
    }

    /// Every method of every service, in file order.
    pub fn methods(&self) -> Vec<MethodInfo> {
        self.pool
            .services()
            .flat_map(|service| {
                service
                    .methods()
                    .map(|method| MethodInfo {
                        service: service.full_name().to_owned(),
                        name: method.name().to_owned(),
                        input: method.input().full_name().to_owned(),
                        output: method.output().full_name().to_owned(),
                        client_streaming: method.is_client_streaming(),
                        server_streaming: method.is_server_streaming(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The serialized `FileDescriptorProto`s, dependencies first (for a reflection
    /// service to serve).
    pub fn file_descriptors(&self) -> Vec<(String, Vec<u8>)> {
        self.pool
            .files()
            .map(|file| {
                (
                    file.name().to_owned(),
                    file.file_descriptor_proto().encode_to_vec(),
                )
            })
            .collect()
    }

    fn descriptor(&self, message: &str) -> Result<prost_reflect::MessageDescriptor, ProtoError> {
        self.pool
            .get_message_by_name(message)
            .ok_or_else(|| ProtoError::UnknownMessage(message.to_owned()))
    }

    /// Protobuf bytes of `message` as JSON: proto field names, every field (defaults
    /// included), 64-bit integers as numbers, enums by name.
    pub fn to_json(&self, message: &str, bytes: &[u8]) -> Result<Vec<u8>, ProtoError> {
        let descriptor = self.descriptor(message)?;
        let decoded =
            DynamicMessage::decode(descriptor, bytes).map_err(|error| ProtoError::Decode {
                message: message.to_owned(),
                error: error.to_string(),
            })?;
        let options = SerializeOptions::new()
            .use_proto_field_name(true)
            .skip_default_fields(false)
            .stringify_64_bit_integers(false);
        let mut out = Vec::with_capacity(bytes.len() * 2 + 2);
        let mut serializer = serde_json::Serializer::new(&mut out);
        decoded
            .serialize_with_options(&mut serializer, &options)
            .map_err(|error| ProtoError::Decode {
                message: message.to_owned(),
                error: error.to_string(),
            })?;
        Ok(out)
    }

    /// JSON (proto or JSON field names) as protobuf bytes of `message`; an unknown
    /// field is an error, not dropped.
    pub fn from_json(&self, message: &str, json: &[u8]) -> Result<Vec<u8>, ProtoError> {
        let descriptor = self.descriptor(message)?;
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let options = DeserializeOptions::new().deny_unknown_fields(true);
        let decoded =
            DynamicMessage::deserialize_with_options(descriptor, &mut deserializer, &options)
                .and_then(|decoded| deserializer.end().map(|()| decoded))
                .map_err(|error| ProtoError::Encode {
                    message: message.to_owned(),
                    error: error.to_string(),
                })?;
        Ok(decoded.encode_to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> (tempfile::TempDir, ProtoSet) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("users.proto"),
            r#"syntax = "proto3";
package demo;
service UserService {
  rpc GetUser (GetUserRequest) returns (User);
  rpc ListUsers (ListUsersRequest) returns (stream User);
}
message GetUserRequest { int64 id = 1; }
message ListUsersRequest { int32 limit = 1; }
message User { int64 id = 1; string name = 2; repeated string tags = 3; }
"#,
        )
        .unwrap();
        let set = ProtoSet::compile(&[PathBuf::from("users.proto")], &[dir.path().to_path_buf()])
            .unwrap();
        (dir, set)
    }

    #[test]
    fn methods_and_json_both_ways() {
        let (_dir, set) = users();
        let methods = set.methods();
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[1].name, "ListUsers");
        assert!(methods[1].server_streaming && !methods[1].client_streaming);
        assert_eq!(methods[0].input, "demo.GetUserRequest");
        let bytes = set
            .from_json("demo.User", br#"{"id": 7, "name": "Ada", "tags": ["x"]}"#)
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&set.to_json("demo.User", &bytes).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "name": "Ada", "tags": ["x"]})
        );
        let empty: serde_json::Value =
            serde_json::from_slice(&set.to_json("demo.User", b"").unwrap()).unwrap();
        assert_eq!(empty, serde_json::json!({"id": 0, "name": "", "tags": []}));
        assert!(matches!(
            set.from_json("demo.User", br#"{"nmae": "typo"}"#),
            Err(ProtoError::Encode { .. })
        ));
        assert!(matches!(
            set.to_json("demo.User", b"\xff\xff"),
            Err(ProtoError::Decode { .. })
        ));
        assert!(matches!(
            set.to_json("demo.Nope", b""),
            Err(ProtoError::UnknownMessage(_))
        ));
        assert_eq!(set.file_descriptors()[0].0, "users.proto");
    }

    #[test]
    fn a_file_by_path_or_by_name_in_the_include_paths() {
        let (dir, _) = users();
        let by_path = ProtoSet::compile(&[dir.path().join("users.proto")], &[]).unwrap();
        assert_eq!(by_path.methods().len(), 2);
        let nested = dir.path().join("api");
        std::fs::create_dir(&nested).unwrap();
        std::fs::write(nested.join("ping.proto"), "syntax = \"proto3\";\nimport \"users.proto\";\nservice Ping { rpc Get (demo.User) returns (demo.User); }\n").unwrap();
        let by_name = ProtoSet::compile(
            &[PathBuf::from("api/ping.proto")],
            &[dir.path().to_path_buf()],
        )
        .unwrap();
        assert!(by_name
            .methods()
            .iter()
            .any(|method| method.service == "Ping"));
    }

    #[test]
    fn a_bad_proto_says_where() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.proto"),
            "syntax = \"proto3\";\nmessage {",
        )
        .unwrap();
        let error = ProtoSet::compile(&[PathBuf::from("bad.proto")], &[dir.path().to_path_buf()])
            .unwrap_err();
        assert!(error.to_string().contains("bad.proto"), "{error}");
    }
}
