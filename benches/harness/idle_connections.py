"""The memory client: hold many idle keep-alive connections and read the server's RSS.

Each connection sends one keep-alive request and reads its response, so the server has
fully set the connection up (parser, buffers, per-connection task) before it goes idle.
Connections are opened in batches so a small listen backlog does not turn into SYN retries.
"""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import time
from dataclasses import dataclass

from .http_check import request_bytes
from .procmetrics import TreeSample, sample_tree
from .scenario import Scenario

__all__ = ["IdleResult", "hold_idle_connections", "raise_nofile_limit"]

_BATCH = 500


def raise_nofile_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard when allowed) toward ``wanted``; return the soft limit.

    Servers started afterwards inherit it, so they can accept the connections too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass  # not root: go as high as the hard limit allows
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass(frozen=True)
class IdleResult:
    requested: int
    answered: int
    """Connections that got their response."""
    open_at_measure: int
    """Of those, still open when the RSS was read (a short keep-alive timeout closes some)."""
    seconds_to_open: float
    idle: TreeSample
    held: TreeSample
    error: str | None = None


def _still_open(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _open_batch(
    port: int, payload: bytes, count: int, deadline: float, held: list[socket.socket]
) -> str | None:
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytes] = {}
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(("127.0.0.1", port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                return f"connect failed: {errno.errorcode.get(code, code)}"
            selector.register(sock, selectors.EVENT_WRITE)
        while selector.get_map() and time.monotonic() < deadline:
            for key, events in selector.select(timeout=0.5):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                if events & selectors.EVENT_WRITE:
                    failure = conn.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if failure:
                        selector.unregister(conn)
                        conn.close()
                        continue
                    conn.sendall(payload)  # small; fits the fresh socket's send buffer
                    selector.modify(conn, selectors.EVENT_READ)
                    buffers[conn] = b""
                    continue
                try:
                    chunk = conn.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    selector.unregister(conn)
                    conn.close()
                    continue
                buffers[conn] += chunk
                if b"\r\n\r\n" in buffers[conn]:
                    selector.unregister(conn)
                    held.append(conn)
        if selector.get_map():
            return "timed out waiting for responses"
        return None
    finally:
        for key in list(selector.get_map().values()):
            selector.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()


def hold_idle_connections(
    port: int, scenario: Scenario, server_pid: int, timeout_s: float = 180.0
) -> IdleResult:
    payload = request_bytes(
        scenario.method, scenario.path, port, scenario.body, {"Connection": "keep-alive"}
    )
    idle = sample_tree(server_pid)
    held: list[socket.socket] = []
    started = time.monotonic()
    deadline = started + timeout_s
    error = None
    try:
        remaining = scenario.idle_connections
        while remaining > 0 and error is None:
            batch = min(_BATCH, remaining)
            error = _open_batch(port, payload, batch, deadline, held)
            remaining -= batch
        opened_in = time.monotonic() - started
        time.sleep(1.0)  # let the workers finish whatever the last batch started
        open_now = sum(1 for sock in held if _still_open(sock))
        loaded = sample_tree(server_pid)
        return IdleResult(
            requested=scenario.idle_connections,
            answered=len(held),
            open_at_measure=open_now,
            seconds_to_open=opened_in,
            idle=idle,
            held=loaded,
            error=error,
        )
    finally:
        for sock in held:
            sock.close()
