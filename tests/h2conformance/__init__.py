"""A raw-socket HTTP/2 client for frame-level conformance tests (h2spec's cases).

`Probe` writes frames byte for byte (so it can send malformed ones), records every
frame the server sends, and waits for an outcome with bounded socket timeouts.
`expect` holds the checks: connection error, stream error, a complete response.
`H2Client` is a well-behaved client on the `h2` library, for normal exchanges.
"""

from h2conformance.client import ClientResponse, H2Client
from h2conformance.expect import (
    Response,
    expect_connection_close,
    expect_connection_error,
    expect_frame,
    expect_response,
    expect_stream_error,
)
from h2conformance.probe import (
    ACK,
    END_HEADERS,
    END_STREAM,
    PADDED,
    PREFACE,
    PRIORITY_FLAG,
    ErrorCode,
    Frame,
    FrameType,
    Probe,
    Setting,
    encode_headers,
    encode_integer,
    literal,
)

__all__ = [
    "ACK",
    "END_HEADERS",
    "END_STREAM",
    "PADDED",
    "PREFACE",
    "PRIORITY_FLAG",
    "ClientResponse",
    "ErrorCode",
    "Frame",
    "FrameType",
    "H2Client",
    "Probe",
    "Response",
    "Setting",
    "encode_headers",
    "encode_integer",
    "expect_connection_close",
    "expect_connection_error",
    "expect_frame",
    "expect_response",
    "expect_stream_error",
    "literal",
]
