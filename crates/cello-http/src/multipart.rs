//! Form bodies: streaming `multipart/form-data` parsing (multer) with limits, files
//! above a threshold spooled to temporary files, sanitised filenames and content
//! sniffing; and `application/x-www-form-urlencoded`.

use std::io::Write;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};

use crate::body::BodyChunks;
use crate::error::HttpError;

/// Limits applied while a form is read. Exceeding one is a 413 naming it.
#[derive(Clone, Debug)]
pub struct FormLimits {
    /// Most text fields.
    pub max_fields: usize,
    /// Most files.
    pub max_files: usize,
    /// Largest text field, bytes.
    pub max_field_size: usize,
    /// Largest file, bytes.
    pub max_file_size: u64,
    /// Files larger than this go to a temporary file instead of memory.
    pub spool_threshold: usize,
    /// Where temporary files go (the system's temp directory by default).
    pub temp_dir: Option<PathBuf>,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self {
            max_fields: 1000,
            max_files: 100,
            max_field_size: 1024 * 1024,
            max_file_size: 1024 * 1024 * 1024,
            spool_threshold: 1024 * 1024,
            temp_dir: None,
        }
    }
}

/// One part of a form.
#[derive(Debug)]
pub enum FormPart {
    /// A text field.
    Field { name: String, value: String },
    /// A file.
    File(UploadedFile),
}

/// An uploaded file.
#[derive(Debug)]
pub struct UploadedFile {
    /// The form field's name.
    pub field: String,
    /// The client's filename with any directory part removed (may be empty).
    pub filename: String,
    /// The declared `Content-Type`.
    pub content_type: Option<String>,
    /// The type the first bytes reveal (PNG, JPEG, GIF, PDF, ZIP, GZIP, WEBP), if any.
    pub sniffed_type: Option<&'static str>,
    /// Size in bytes.
    pub size: u64,
    /// The content: in memory, or the path of a temporary file the caller now owns.
    pub data: FileData,
}

/// Where an uploaded file's bytes are.
#[derive(Debug)]
pub enum FileData {
    Memory(Bytes),
    Disk(PathBuf),
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type).ok()
}

/// Parses an urlencoded form.
pub fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Keeps only the last path component, without control characters; `.` and `..`
/// become empty. Never a path that leaves the directory it is saved into.
pub fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned == "." || cleaned == ".." {
        return String::new();
    }
    let mut end = cleaned.len().min(255);
    while !cleaned.is_char_boundary(end) {
        end -= 1;
    }
    cleaned[..end].to_owned()
}

/// The content type the first bytes of a file reveal, for the common binary formats.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
    ];
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    SIGNATURES
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, mime)| *mime)
}

/// Reads a multipart body, enforcing `limits`. Temporary files of a failed read are
/// removed; those of a successful one belong to the caller.
pub async fn read_multipart(
    body: BodyChunks,
    boundary: &str,
    limits: &FormLimits,
) -> Result<Vec<FormPart>, HttpError> {
    let mut parts = Vec::new();
    let result = read_parts(body, boundary, limits, &mut parts).await;
    if result.is_err() {
        for part in &parts {
            if let FormPart::File(UploadedFile {
                data: FileData::Disk(path),
                ..
            }) = part
            {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    result.map(|()| parts)
}

async fn read_parts(
    body: BodyChunks,
    boundary: &str,
    limits: &FormLimits,
    parts: &mut Vec<FormPart>,
) -> Result<(), HttpError> {
    let mut multipart = multer::Multipart::new(body, boundary);
    let (mut fields, mut files) = (0usize, 0usize);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(()),
            Err(error) => return Err(form_error(error)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(raw_filename) = field.file_name().map(str::to_owned) {
            files += 1;
            if files > limits.max_files {
                return Err(HttpError::FormLimit(format!(
                    "the form has more than {} files (the max_form_files limit)",
                    limits.max_files
                )));
            }
            let content_type = field.content_type().map(ToString::to_string);
            let mut file = Spool::new(limits);
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        // Push first so a failed spool still leaves a path to clean up.
                        let outcome = file.write(&chunk);
                        if let Err(error) = outcome {
                            file.discard();
                            return Err(error);
                        }
                        if file.size > limits.max_file_size {
                            file.discard();
                            return Err(HttpError::FormLimit(format!(
                                "file {raw_filename:?} is larger than {} bytes (the max_file_size limit)",
                                limits.max_file_size
                            )));
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        file.discard();
                        return Err(form_error(error));
                    }
                }
            }
            let (size, sniffed_type, data) = file.finish()?;
            parts.push(FormPart::File(UploadedFile {
                field: name,
                filename: sanitize_filename(&raw_filename),
                content_type,
                sniffed_type,
                size,
                data,
            }));
        } else {
            fields += 1;
            if fields > limits.max_fields {
                return Err(HttpError::FormLimit(format!(
                    "the form has more than {} fields (the max_form_fields limit)",
                    limits.max_fields
                )));
            }
            let mut value = BytesMut::new();
            let mut field = field;
            while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                value.extend_from_slice(&chunk);
                if value.len() > limits.max_field_size {
                    return Err(HttpError::FormLimit(format!(
                        "field {name:?} is larger than {} bytes (the max_field_size limit)",
                        limits.max_field_size
                    )));
                }
            }
            let value = String::from_utf8(value.to_vec())
                .map_err(|_| HttpError::Form(format!("field {name:?} is not valid UTF-8 text")))?;
            parts.push(FormPart::Field { name, value });
        }
    }
}

fn form_error(error: multer::Error) -> HttpError {
    match error {
        multer::Error::StreamReadFailed(inner) => match inner.downcast::<HttpError>() {
            Ok(http) => *http,
            Err(other) => HttpError::BodyRead(other.to_string()),
        },
        other => HttpError::Form(other.to_string()),
    }
}

/// An uploaded file being received: memory first, a temporary file past the threshold.
struct Spool<'l> {
    limits: &'l FormLimits,
    memory: BytesMut,
    disk: Option<(PathBuf, std::fs::File)>,
    head: Vec<u8>,
    size: u64,
}

impl<'l> Spool<'l> {
    fn new(limits: &'l FormLimits) -> Self {
        Self {
            limits,
            memory: BytesMut::new(),
            disk: None,
            head: Vec::new(),
            size: 0,
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), HttpError> {
        if self.head.len() < 16 {
            let take = (16 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.size += chunk.len() as u64;
        if let Some((_, file)) = self.disk.as_mut() {
            return file
                .write_all(chunk)
                .map_err(|e| HttpError::Spool(e.to_string()));
        }
        self.memory.extend_from_slice(chunk);
        if self.memory.len() > self.limits.spool_threshold {
            let builder = tempfile::Builder::new().prefix("cello-upload-").tempfile();
            let temp = match &self.limits.temp_dir {
                Some(dir) => tempfile::Builder::new()
                    .prefix("cello-upload-")
                    .tempfile_in(dir),
                None => builder,
            }
            .map_err(|e| HttpError::Spool(e.to_string()))?;
            let (mut file, path) = temp.keep().map_err(|e| HttpError::Spool(e.to_string()))?;
            file.write_all(&self.memory)
                .map_err(|e| HttpError::Spool(e.to_string()))?;
            self.memory = BytesMut::new();
            self.disk = Some((path, file));
        }
        Ok(())
    }

    fn discard(&mut self) {
        if let Some((path, _)) = self.disk.take() {
            let _ = std::fs::remove_file(path);
        }
    }

    fn finish(mut self) -> Result<(u64, Option<&'static str>, FileData), HttpError> {
        let sniffed = sniff(&self.head);
        let data = match self.disk.take() {
            Some((path, file)) => {
                file.sync_data().ok();
                FileData::Disk(path)
            }
            None => FileData::Memory(std::mem::take(&mut self.memory).freeze()),
        };
        Ok((self.size, sniffed, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_cannot_escape() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\me\\photo.png"), "photo.png");
        assert_eq!(sanitize_filename(".."), "");
        assert_eq!(sanitize_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_filename("report.pdf"), "report.pdf");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn urlencoded() {
        assert_eq!(
            parse_urlencoded(b"a=1&b=x+y&c=%C3%A9&d"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "é".into()),
                ("d".into(), String::new())
            ]
        );
    }
}
