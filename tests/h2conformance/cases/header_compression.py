"""h2spec's HPACK (RFC 7541) cases: every decoding error is a COMPRESSION_ERROR."""

from __future__ import annotations

from collections.abc import Callable

from h2conformance.cases.registry import (
    COMPRESSION,
    CONN,
    case,
    get,
)
from h2conformance.expect import (
    expect_connection_error,
    expect_response,
)
from h2conformance.probe import (
    Probe,
    encode_integer,
    literal,
)

# --- HPACK (RFC 7541) ----------------------------------------------------------------------------


def bad_header_block(prefix: bytes = b"", suffix: bytes = b"") -> Callable[[Probe], None]:
    """A valid request block with raw HPACK octets before or after it: COMPRESSION_ERROR."""

    def run(probe: Probe) -> None:
        probe.handshake()
        block = b"".join(literal(name, value) for name, value in get(probe))
        probe.headers(1, prefix + block + suffix)
        expect_connection_error(probe, COMPRESSION)

    return run


HPACK_CASES = [
    (
        "hpack/2.3.3/1",
        "Sends a header field representation with invalid index",
        bad_header_block(suffix=b"\xfe"),
    ),
    (
        "hpack/4.2/1",
        "Sends a dynamic table size update at the end of header block",
        bad_header_block(suffix=b"\x21"),
    ),
    (
        "hpack/5.2/1",
        "Sends a Huffman-encoded string literal representation with padding longer than 7 bits",
        bad_header_block(suffix=b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"),
    ),
    (
        "hpack/5.2/2",
        "Sends a Huffman-encoded string literal representation padded by zero",
        bad_header_block(suffix=b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90"),
    ),
    (
        "hpack/5.2/3",
        "Sends a Huffman-encoded string literal representation containing the EOS symbol",
        bad_header_block(suffix=b"\x00\x85\xf2\xb2\x4a\x87\xff\xff\xff\xfd\x25\x42\x7f"),
    ),
    (
        "hpack/6.1/1",
        "Sends a indexed header field representation with index 0",
        bad_header_block(suffix=b"\x80"),
    ),
    (
        "hpack/6.3/1",
        "Sends a dynamic table size update larger than the value of SETTINGS_HEADER_TABLE_SIZE",
        bad_header_block(prefix=encode_integer(4097, 5, 0x20)),
    ),
]

for _id, _description, _run in HPACK_CASES:
    case(_id, _description, CONN.format("COMPRESSION_ERROR"))(_run)


@case(
    "hpack/6.3/x1",
    "Sends dynamic table size updates 0 then 4096 at the start of a block",
    "accepted; request processed",
)
def table_size_updates_accepted(probe: Probe) -> None:
    probe.handshake()
    block = b"".join(literal(name, value) for name, value in get(probe))
    probe.headers(1, encode_integer(0, 5, 0x20) + encode_integer(4096, 5, 0x20) + block)
    assert expect_response(probe, 1).status == 200
