"""The parent process of a multi-worker server.

It reserves the port, forks the workers (before any runtime or thread exists in the
parent), restarts a worker that dies and says why, recycles workers that reached
``max_requests``, and on SIGTERM/SIGINT drains them all within the deadline.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
import traceback
from typing import TYPE_CHECKING

from cello.config import ServerConfig

if TYPE_CHECKING:
    from cello.app import App
    from cello.server import RunOptions

__all__ = ["Supervisor"]

_READY_TIMEOUT = 60.0


class _Stop(Exception):
    """Raised by the signal handler to leave the blocking wait."""


def _log(message: str) -> None:
    print(f"cello[supervisor {os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"was killed by signal {name}"
    return f"exited with code {os.WEXITSTATUS(status)}"


class Supervisor:
    """Forks and watches `options.workers` workers sharing one port (SO_REUSEPORT)."""

    def __init__(self, app: App, options: RunOptions, config: ServerConfig) -> None:
        self.app = app
        self.options = options
        self.config = config
        self.children: dict[int, int] = {}
        self.stopping = False

    def _reserve_port(self) -> tuple[socket.socket, int]:
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        reservation = socket.socket(family, socket.SOCK_STREAM)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            reservation.bind((self.options.host, self.options.port))
        except OSError as error:
            reservation.close()
            raise OSError(
                f"cannot listen on {self.options.host}:{self.options.port}: {error}"
            ) from None
        # Bound but not listening: the kernel sends no connections here, yet port 0
        # is resolved once and the workers all bind the same port.
        return reservation, reservation.getsockname()[1]

    def _spawn(self, index: int, port: int, ready_fd: int) -> None:
        pid = os.fork()
        if pid != 0:
            self.children[pid] = index
            return
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            from cello.server import serve_worker

            def ready(_server: object) -> None:
                os.write(ready_fd, b"1")

            serve_worker(
                self.app,
                self.options.host,
                port,
                config=self.config,
                access_log=self.options.logs,
                reuse_port=True,
                on_ready=ready,
            )
        except BaseException:  # noqa: BLE001 - a worker reports everything and exits
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            _log(f"received {signal.Signals(signum).name}; draining {len(self.children)} workers")
            for pid in self.children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        raise _Stop

    def run(self) -> None:
        reservation, port = self._reserve_port()
        ready_read, ready_write = os.pipe()
        for index in range(self.options.workers):
            self._spawn(index, port, ready_write)
        started = 0
        deadline = time.monotonic() + _READY_TIMEOUT
        while started < self.options.workers and time.monotonic() < deadline:
            readable, _, _ = select.select([ready_read], [], [], 0.5)
            if readable:
                started += len(os.read(ready_read, 64))
            self._reap_nonblocking(port, ready_write)
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        print(
            f"Cello running at http://{host}:{port} "
            f"({self.options.workers} workers, {self.options.env})",
            flush=True,
        )
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._watch(port, ready_write)
        finally:
            reservation.close()
            os.close(ready_read)
            os.close(ready_write)

    def _reap_nonblocking(self, port: int, ready_fd: int) -> None:
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            self._handle_exit(pid, status, port, ready_fd)

    def _handle_exit(self, pid: int, status: int, port: int, ready_fd: int) -> None:
        index = self.children.pop(pid, None)
        if index is None or self.stopping:
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            _log(f"worker {index} (pid {pid}) finished its max_requests; starting a fresh one")
        else:
            _log(f"worker {index} (pid {pid}) {_describe_exit(status)}; restarting it")
            time.sleep(0.1)  # a worker that dies at start must not become a fork bomb
        self._spawn(index, port, ready_fd)

    def _watch(self, port: int, ready_fd: int) -> None:
        drain_deadline: float | None = None
        while self.children:
            try:
                if self.stopping:
                    if drain_deadline is None:
                        drain_deadline = time.monotonic() + self.config.shutdown_timeout + 5
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        if time.monotonic() > drain_deadline:
                            for child in list(self.children):
                                _log(f"worker pid {child} did not drain in time; killing it")
                                os.kill(child, signal.SIGKILL)
                        time.sleep(0.05)
                        continue
                else:
                    pid, status = os.wait()
                self._handle_exit(pid, status, port, ready_fd)
            except _Stop:
                continue
            except ChildProcessError:
                break
        _log("all workers stopped")
