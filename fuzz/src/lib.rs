//! What several fuzz targets share: the form limits they enforce and the checks of
//! what a multipart read returned, and the single-threaded runtime they run on.

use std::path::PathBuf;

use cello_http::multipart::{read_multipart, FileData, FormLimits, FormPart};
use cello_http::{BodyChunks, HttpError};

/// A current-thread runtime with timers, as each worker has.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Small limits, so that inputs of a few KB cross each of them.
pub fn form_limits(temp_dir: PathBuf) -> FormLimits {
    FormLimits {
        max_fields: 8,
        max_files: 4,
        max_field_size: 512,
        max_file_size: 4096,
        spool_threshold: 1024,
        temp_dir: Some(temp_dir),
    }
}

/// Reads a multipart body with `limits` and checks that every limit held, that file
/// names are bare names and that sizes are what was stored. Temporary files are
/// removed. Returns the read's error, if any (a 4xx for the client, never a 500).
pub async fn read_and_check_multipart(
    body: BodyChunks,
    boundary: &str,
    limits: &FormLimits,
) -> Result<usize, HttpError> {
    let parts = read_multipart(body, boundary, limits)
        .await
        .inspect_err(|error| {
            assert!(
                error.status().is_client_error(),
                "a multipart body answered {}: {error}",
                error.status()
            );
        })?;
    let fields = parts
        .iter()
        .filter(|p| matches!(p, FormPart::Field { .. }))
        .count();
    assert!(fields <= limits.max_fields, "{fields} fields");
    assert!(
        parts.len() - fields <= limits.max_files,
        "{} files",
        parts.len() - fields
    );
    for part in &parts {
        match part {
            FormPart::Field { value, .. } => {
                assert!(
                    value.len() <= limits.max_field_size,
                    "a {} byte field",
                    value.len()
                );
            }
            FormPart::File(file) => {
                assert!(
                    file.size <= limits.max_file_size,
                    "a {} byte file",
                    file.size
                );
                assert!(!file.filename.contains(['/', '\\']), "{:?}", file.filename);
                assert!(file.filename != "." && file.filename != "..");
                match &file.data {
                    FileData::Memory(bytes) => assert_eq!(bytes.len() as u64, file.size),
                    FileData::Disk(path) => {
                        let stored = std::fs::metadata(path).expect("the spooled file").len();
                        assert_eq!(stored, file.size);
                        std::fs::remove_file(path).expect("removing the spooled file");
                    }
                }
            }
        }
    }
    Ok(parts.len())
}
