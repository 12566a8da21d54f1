"""The parent process of a multi-worker server.

It opens one listening socket per worker slot (all on the same port with
SO_REUSEPORT, so the kernel spreads connections evenly), forks the workers before any
runtime or thread exists in the parent, restarts a worker that dies and says why,
replaces a worker that reached ``max_requests`` (or whose memory stayed over
``max_worker_memory``) before it stops, and on SIGTERM or
SIGINT drains them all within the deadline.

The supervisor keeps every slot's socket open itself. A worker that exits therefore
never closes its slot's socket, and connections the kernel queued on it wait for the
replacement instead of being reset: recycling and restarts lose no connection.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from cello import _cello
from cello.config import ServerConfig

if TYPE_CHECKING:
    from cello.app import App
    from cello.server import RunOptions

__all__ = ["Supervisor"]

_READY_TIMEOUT = 60.0
_MAX_BACKOFF = 5.0
#: Blocked across `fork` until the new worker has installed its own handlers.
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}
#: Samples of a worker's RSS over `max_worker_memory`, in a row, before it is replaced.
_MEMORY_STRIKES = 3
_MEMORY_INTERVAL = 1.0


def _log(message: str) -> None:
    print(f"cello[supervisor {os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _resident_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"was killed by signal {name}"
    return f"exited with code {os.WEXITSTATUS(status)}"


class _Worker:
    """A forked worker: its slot, and whether it reported ready or retiring."""

    def __init__(self, slot: int, pid: int) -> None:
        self.slot = slot
        self.pid = pid
        self.ready = False
        self.started = False  # its startup hooks ran (ready comes earlier with health checks)
        self.retiring = False
        self.over_memory = 0  # consecutive samples above max_worker_memory


class Supervisor:
    """Forks and watches `options.workers` workers sharing one port."""

    def __init__(self, app: App, options: RunOptions, config: ServerConfig) -> None:
        self.app = app
        self.options = options
        self.config = config
        self.workers: dict[int, _Worker] = {}
        self.listeners: list[socket.socket] = []
        self.backoff: dict[int, float] = {}
        self.stop_requested: str | None = None
        self.stopping = False
        self.announced = False
        self._pending = b""  # a control message not yet ended by its newline
        self._memory_checked = 0.0

    # --- sockets -------------------------------------------------------------------

    def _open_listeners(self) -> int:
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        port = self.options.port
        for _ in range(self.options.workers):
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                listener.bind((self.options.host, port))
            except OSError as error:
                listener.close()
                for opened in self.listeners:
                    opened.close()
                raise OSError(
                    error.errno,
                    f"cannot listen on {self.options.host}:{self.options.port}: {error.strerror}",
                ) from None
            listener.listen(self.config.backlog)
            port = listener.getsockname()[1]  # port 0 resolves once; later slots reuse it
            self.listeners.append(listener)
        return port

    # --- workers -------------------------------------------------------------------

    def _spawn(self, slot: int, control: int) -> None:
        # A SIGTERM that reaches the child before it has its own handlers would run the
        # supervisor's (inherited) handler there and be lost, leaving a worker that never
        # drains. So the signals stay blocked across the fork; the parent unblocks them
        # at once, the worker once its handlers are in place (`serve_worker`).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            self.workers[pid] = _Worker(slot, pid)
            return
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            # A worker's slot survives its restarts (durable sagas lease by it).
            os.environ["CELLO_WORKER_SLOT"] = str(slot)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            for index, listener in enumerate(self.listeners):
                if index != slot:
                    listener.close()
            from cello.server import serve_worker

            def ready(_server: Any) -> None:
                os.write(control, f"R{os.getpid()}\n".encode())

            def retiring() -> None:
                os.write(control, f"X{os.getpid()}\n".encode())

            def started() -> None:
                os.write(control, f"S{os.getpid()}\n".encode())

            serve_worker(
                self.app,
                self.options.host,
                self.listeners[slot].getsockname()[1],
                config=self.config,
                access_log=self.options.logs,
                fd=self.listeners[slot].fileno(),
                on_ready=ready,
                on_retire=retiring,
                tls=self.options.tls,
                http3=self.options.http3,
                on_started=started,
            )
        except BaseException:  # noqa: BLE001 - a worker reports everything and exits
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            # Workers reload their TLS certificate.
            for pid in self.workers:
                try:
                    os.kill(pid, signal.SIGHUP)
                except ProcessLookupError:
                    pass
            return
        if signum in (signal.SIGTERM, signal.SIGINT) and self.stop_requested is None:
            self.stop_requested = f"received {signal.Signals(signum).name}"

    def _begin_stop(self, reason: str) -> float:
        self.stopping = True
        _log(f"{reason}; draining {len(self.workers)} workers")
        for pid in self.workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return time.monotonic() + self.app._shutdown_delay() + self.config.shutdown_timeout + 5

    def _handle_message(self, line: str, control: int) -> None:
        kind, pid_text = line[:1], line[1:]
        worker = self.workers.get(int(pid_text)) if pid_text.isdigit() else None
        if worker is None:
            return
        if kind == "R":
            worker.ready = True
        elif kind == "S":
            worker.started = True
            self.backoff.pop(worker.slot, None)
        elif kind == "X" and not worker.retiring and not self.stopping:
            worker.retiring = True
            _log(
                f"worker {worker.slot} (pid {worker.pid}) finished its max_requests; "
                "starting its replacement"
            )
            self.app._count_worker_restart("max_requests")
            self._spawn(worker.slot, control)

    def _read_control(self, control_read: int, control_write: int) -> None:
        """Handles every message waiting in the (non-blocking) control pipe."""
        while True:
            try:
                chunk = os.read(control_read, 4096)
            except BlockingIOError:
                return
            if not chunk:
                return
            *lines, self._pending = (self._pending + chunk).split(b"\n")
            for line in lines:
                self._handle_message(line.decode(), control_write)

    def _reap(self, control_read: int, control_write: int) -> None:
        while self.workers:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            # Its slot in the shared metrics is free again; its CPU time stays counted.
            _cello.metrics_worker_exited(pid, usage.ru_utime + usage.ru_stime)
            # A retiring worker writes its message before it exits, but the pipe may
            # not have been read since: read it now, or the retirement would look like
            # a crash (and the slot would get a second replacement).
            self._read_control(control_read, control_write)
            worker = self.workers.pop(pid, None)
            # Not restarted once a stop is asked for, even before the loop begins it: a
            # SIGTERM sent to the whole process group ends the workers first.
            if worker is None or self.stopping or self.stop_requested is not None or worker.retiring:
                continue
            _log(f"worker {worker.slot} (pid {pid}) {_describe_exit(status)}; restarting it")
            self.app._count_worker_restart("exited")
            if not worker.started:
                # Dying before it ever served: back off so a broken app is no fork bomb.
                delay = min(self.backoff.get(worker.slot, 0.05) * 2, _MAX_BACKOFF)
                self.backoff[worker.slot] = delay
                time.sleep(delay)
            self._spawn(worker.slot, control_write)

    def _check_memory(self, control_write: int) -> None:
        """Replaces a worker whose RSS stayed above `max_worker_memory`: the new one
        starts, the old one drains (SIGUSR1: no shutdown delay) and exits."""
        limit = self.config.max_worker_memory
        now = time.monotonic()
        if limit is None or self.stopping or now - self._memory_checked < _MEMORY_INTERVAL:
            return
        self._memory_checked = now
        for worker in list(self.workers.values()):
            if not worker.ready or worker.retiring:
                continue
            rss = _resident_bytes(worker.pid)
            if rss is None or rss <= int(limit):
                worker.over_memory = 0
                continue
            worker.over_memory += 1
            if worker.over_memory < _MEMORY_STRIKES:
                continue
            worker.retiring = True
            _log(
                f"worker {worker.slot} (pid {worker.pid}) uses {rss / 2**20:.0f} MiB, over "
                f"max_worker_memory ({int(limit) / 2**20:.0f} MiB) {_MEMORY_STRIKES} checks in a row; "
                "starting its replacement and draining it"
            )
            self.app._count_worker_restart("memory")
            self._spawn(worker.slot, control_write)
            try:
                os.kill(worker.pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass

    def run(self) -> None:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        control_read, control_write = os.pipe()
        os.set_blocking(control_read, False)
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP)
        }
        signal.set_wakeup_fd(wake_write)
        try:
            port = self._open_listeners()
            for slot in range(self.options.workers):
                self._spawn(slot, control_write)
            self._loop(port, control_read, control_write, wake_read)
        finally:
            signal.set_wakeup_fd(-1)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for listener in self.listeners:
                listener.close()
            for fd in (wake_read, wake_write, control_read, control_write):
                os.close(fd)

    def _loop(self, port: int, control_read: int, control_write: int, wake_read: int) -> None:
        started = time.monotonic()
        deadline: float | None = None
        while True:
            if self.stop_requested is not None and not self.stopping:
                deadline = self._begin_stop(self.stop_requested)
            if self.stopping and not self.workers:
                break
            if deadline is not None and time.monotonic() > deadline:
                for pid in list(self.workers):
                    _log(f"worker pid {pid} did not drain in time; killing it")
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            try:
                readable, _, _ = select.select([control_read, wake_read], [], [], 0.5)
            except InterruptedError:
                readable = []
            if wake_read in readable:
                try:
                    os.read(wake_read, 512)
                except OSError as error:
                    if error.errno != errno.EAGAIN:
                        raise
            if control_read in readable:
                self._read_control(control_read, control_write)
            self._reap(control_read, control_write)
            self._check_memory(control_write)
            if not self.announced and not self.stopping:
                if len(self.workers) >= self.options.workers and all(
                    w.ready for w in self.workers.values() if not w.retiring
                ):
                    self.announced = True
                    host = self.options.host
                    shown = f"[{host}]" if ":" in host else host
                    scheme = "https" if self.options.tls else "http"
                    print(
                        f"Cello running at {scheme}://{shown}:{port} "
                        f"({self.options.workers} workers, {self.options.env})",
                        flush=True,
                    )
                elif time.monotonic() - started > _READY_TIMEOUT:
                    _log(f"workers did not start within {_READY_TIMEOUT:.0f} s; giving up")
                    self.stop_requested = "no worker started"
        _log("all workers stopped")
