//! `multipart/form-data` (`cello_http::multipart::read_multipart` over multer, with
//! `boundary` and `sanitize_filename`): the first line of the input is the
//! `Content-Type` value, the rest the body. Invariants (checked in
//! `cello_fuzz::read_and_check_multipart`): every `FormLimits` limit holds, a refused
//! form is a 4xx, file names are bare, spooled files hold exactly their size.
#![no_main]

use bytes::Bytes;
use cello_http::multipart::boundary;
use cello_http::BodyChunks;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static STATE: (tokio::runtime::Runtime, tempfile::TempDir) =
        (cello_fuzz::runtime(), tempfile::tempdir().expect("a temporary directory"));
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(content_type) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let Some(boundary) = boundary(content_type) else {
        return;
    };
    let body = Bytes::copy_from_slice(data.get(split + 1..).unwrap_or_default());
    STATE.with(|(runtime, temp)| {
        let limits = cello_fuzz::form_limits(temp.path().to_owned());
        let _ = runtime.block_on(cello_fuzz::read_and_check_multipart(
            BodyChunks::from_bytes(body),
            &boundary,
            &limits,
        ));
    });
});
