"""A small blocking HTTP/1.1 client for readiness probes and correctness checks.

http.client cannot pipeline, and the pipelining scenario must be checked the way wrk
drives it: all requests written before the first response is read.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Mapping

from .scenario import Response, Scenario

__all__ = ["HttpError", "check_scenario", "fetch", "request_bytes"]

_HOST = "127.0.0.1"


class HttpError(Exception):
    """The server closed, timed out, or sent something that is not HTTP/1.1."""


def request_bytes(
    method: str,
    path: str,
    port: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {_HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _read_line(reader: io.BufferedReader) -> bytes:
    line = reader.readline(65537)
    if not line:
        raise HttpError("connection closed before a complete response")
    return line


def _read_exact(reader: io.BufferedReader, count: int) -> bytes:
    data = reader.read(count)
    if data is None or len(data) != count:
        raise HttpError(f"body truncated: wanted {count} bytes")
    return data


def read_response(reader: io.BufferedReader, method: str = "GET") -> Response:
    status_line = _read_line(reader).decode("latin-1").rstrip("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {status_line!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        line = _read_line(reader).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b"")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size = int(_read_line(reader).split(b";")[0].strip(), 16)
            if size == 0:
                while _read_line(reader).strip():  # trailers
                    pass
                break
            chunks.append(_read_exact(reader, size))
            _read_line(reader)
        return Response(status, headers, b"".join(chunks))
    if "content-length" in headers:
        return Response(status, headers, _read_exact(reader, int(headers["content-length"])))
    return Response(status, headers, reader.read())  # close-delimited


def fetch(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    repeat: int = 1,
    timeout: float = 5.0,
) -> list[Response]:
    """Send ``repeat`` identical requests back to back on one connection; read them all."""
    with socket.create_connection((_HOST, port), timeout=timeout) as sock:
        sock.sendall(request_bytes(method, path, port, body, headers) * repeat)
        reader = sock.makefile("rb")
        try:
            return [read_response(reader, method) for _ in range(repeat)]
        except (TimeoutError, OSError) as error:
            raise HttpError(f"{type(error).__name__}: {error}") from error
        finally:
            reader.close()


def check_scenario(port: int, scenario: Scenario) -> str | None:
    """None when the app answers ``scenario`` correctly, else what went wrong."""
    try:
        if scenario.before_check is not None:
            scenario.before_check()
        responses = fetch(
            port,
            scenario.method,
            scenario.path,
            scenario.body,
            scenario.headers,
            repeat=max(1, scenario.pipeline_depth),
        )
    except (HttpError, OSError, RuntimeError) as error:
        return f"{scenario.method} {scenario.path}: {error}"
    for index, response in enumerate(responses):
        try:
            problem = scenario.check(scenario, response)
        except RuntimeError as error:  # the database the check reads is gone
            problem = f"check could not run: {error}"
        if problem is not None:
            where = f" (pipelined response {index + 1})" if len(responses) > 1 else ""
            return f"{scenario.method} {scenario.path}{where}: {problem}"
    return None
