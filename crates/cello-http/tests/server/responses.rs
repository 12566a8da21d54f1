//! Response bodies (full, streamed, file) and handler panics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::handler::pattern;
use super::support::{assert_problem, test_config, TestServer};

#[test]
fn panicking_handler_gets_500_and_the_server_keeps_serving() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    let response = client.get("/panic");

    let problem = assert_problem(&response, 500);
    // Production mode: the panic message does not leak to the client.
    assert!(!response.text().contains("on purpose"), "{problem}");
    // The same connection and new ones keep working.
    assert_eq!(client.get("/after").body, b"/after");
    assert_eq!(server.connect().get("/fresh").body, b"/fresh");
}

#[test]
fn streamed_body_arrives_intact_and_chunked() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    let response = client.get("/stream?chunks=16&size=10000");

    assert_eq!(response.status, 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("content-length"), None);
    assert_eq!(response.body.len(), 160_000);
    assert!(
        response.body == pattern(0, 160_000),
        "streamed bytes differ"
    );
    assert_eq!(client.get("/after").status, 200);
}

#[test]
fn file_body_arrives_intact_with_its_length() {
    // Not a multiple of the 64 KiB read size, so the last read is a short one.
    const SIZE: usize = 1024 * 1024 + 7;
    let file = TempFile::new(&pattern(0, SIZE));
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    let request = format!(
        "GET /file HTTP/1.1\r\nHost: test\r\nX-File-Path: {}\r\n\r\n",
        file.path.display()
    );
    client.send(request.as_bytes());
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some(&*SIZE.to_string()));
    assert_eq!(response.body.len(), SIZE);
    assert!(response.body == pattern(0, SIZE), "file bytes differ");
    assert_eq!(client.get("/after").status, 200);
}

/// A file in the system temp directory, removed on drop.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(contents: &[u8]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "cello-http-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).expect("write temp file");
        Self { path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
