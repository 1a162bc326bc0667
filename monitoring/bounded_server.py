"""Connection handling of the sidecar's HTTP endpoint, with every connection, thread and wait bounded.

``http.server.ThreadingHTTPServer`` starts a thread per accepted connection and waits for its request without
a time limit: a client that connects and sends nothing holds a thread for ever, and a thousand such clients
hold a thousand threads. Here one loop (the thread running :meth:`BoundedHTTPServer.serve_forever`) accepts
connections and receives their request heads without blocking. A connection costs a thread only once its
request line and headers have all arrived, and only while fewer than ``max_threads`` requests are handled:

- a connection whose head is not complete ``request_timeout`` seconds after it was accepted is closed
  unanswered (``timeout``), however slowly it trickles bytes;
- at most ``max_pending`` connections wait for their head; one more closes the one that waited longest
  (``too_many_connections``);
- a head larger than :data:`MAX_HEAD_BYTES` is answered 431 (``too_large``);
- a complete request that finds ``max_threads`` requests being handled is answered 503 with ``Retry-After``
  at once (``busy``), without a thread;
- a response must be sent within ``write_timeout`` seconds in total, or the connection is dropped
  (``write_timeout``: a client that stops reading).

Each reason is passed to ``on_reject`` (the sidecar counts them). The handler class is a
:class:`PreReadRequestHandler`, a ``BaseHTTPRequestHandler`` reading the head the loop received; a
handler that accepts a body reads it on its thread with :meth:`PreReadRequestHandler.read_body`, within a
time limit, after checking its announced length. A connection carries one request (HTTP/1.0: the server
closes it after the response).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers accepted (the endpoint's requests are a few hundred bytes)."""
REJECT_REASONS = ("too_many_connections", "timeout", "too_large", "busy", "write_timeout")
"""Why the server refused or closed a connection (see the module docstring)."""
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_RECEIVE_BYTES = 8192
_BODY_CHUNK_BYTES = 65536


@dataclass(frozen=True)
class HttpLimits:
    """The bounds of a :class:`BoundedHTTPServer`."""

    max_threads: int
    """Requests handled at once, one thread each; a complete request beyond them gets 503."""
    max_pending: int
    """Accepted connections waiting for their request head (they hold no thread)."""
    request_timeout: float
    """Seconds from accepting a connection to having its whole request head."""
    write_timeout: float
    """Seconds to send one whole response."""


@dataclass(eq=False)
class Connection:
    """An accepted connection and the part of its request head received so far."""

    sock: socket.socket
    """The connected socket (non-blocking while its head is awaited)."""
    address: tuple[str, int]
    """The client's address."""
    deadline: float
    """Monotonic time by which the whole head must have arrived."""
    head: bytearray = field(default_factory=bytearray)
    """Bytes received so far."""
    write_timed_out: bool = False
    """Sending the response exceeded the write timeout (the handler's base class swallows the error)."""


class _SendAll(io.BufferedIOBase):
    """The handler's ``wfile``: every write is one ``sendall``, so the socket timeout bounds a whole write."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def write(self, data: bytes | bytearray | memoryview) -> int:
        try:
            self._connection.sock.sendall(data)
        except TimeoutError:
            self._connection.write_timed_out = True
            raise
        with memoryview(data) as view:
            return view.nbytes


class PreReadRequestHandler(BaseHTTPRequestHandler):
    """A ``BaseHTTPRequestHandler`` that answers one request whose head the server's loop received.

    Constructing it handles the request, as with ``socketserver`` handlers; it reads from the received head
    instead of the socket, and writes to the socket with one ``sendall`` per write.
    """

    def __init__(self, connection: Connection) -> None:
        self.client_address = connection.address
        self._connection = connection
        self.rfile = io.BytesIO(bytes(connection.head))
        self.wfile = _SendAll(connection)
        try:
            self.handle()
        finally:
            with contextlib.suppress(OSError):
                self.wfile.flush()
            self.wfile.close()
            self.rfile.close()

    def read_body(self, length: int, timeout: float, *, keep: bool = True) -> bytes | None:
        """The request body of ``length`` bytes (what arrived with the head, then from the socket), or
        ``None`` when the client did not send all of it within ``timeout`` seconds. With ``keep=False`` the
        bytes are read and dropped (an oversized body, read so that the client sees the refusal rather than
        a reset connection) and ``b""`` is returned."""
        body = bytearray(self.rfile.read(length))
        received = len(body)
        if not keep:
            body.clear()
        sock = self._connection.sock
        previous = sock.gettimeout()
        deadline = time.monotonic() + timeout
        try:
            while received < length:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                sock.settimeout(remaining)
                chunk = sock.recv(min(_BODY_CHUNK_BYTES, length - received))
                if not chunk:
                    return None
                received += len(chunk)
                if keep:
                    body += chunk
        except OSError:  # a timeout, or the client went away
            return None
        finally:
            sock.settimeout(previous)
        return bytes(body)


class BoundedHTTPServer:
    """An HTTP server whose connections, threads and waits are bounded by :class:`HttpLimits`."""

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[PreReadRequestHandler],
        limits: HttpLimits,
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self.handler_class = handler_class
        self.limits = limits
        self.on_reject = on_reject
        self.socket = socket.create_server(address, backlog=128)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        """The bound address (the port picked when 0 was asked for)."""
        self._selector = selectors.DefaultSelector()
        self._pending: dict[socket.socket, Connection] = {}
        """Connections waiting for their head, in accept order (so also in deadline order)."""
        self._lock = threading.Lock()
        self._active = 0
        """Requests being handled (guarded by ``_lock``)."""
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept and dispatch connections until :meth:`shutdown`."""
        self._stopped.clear()
        self._selector.register(self.socket, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(self._wait(poll_interval)):
                    if key.fileobj is self.socket:
                        self._accept()
                    else:
                        self._receive(key.data)
                self._expire()
        finally:
            self._selector.unregister(self.socket)
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait for it to return (requests being handled go on)."""
        self._stop.set()
        self._stopped.wait()

    def server_close(self) -> None:
        """Close the listening socket and the connections still waiting for their head."""
        for connection in list(self._pending.values()):
            self._forget(connection)
            _close(connection.sock)
        self._selector.close()
        self.socket.close()

    def _wait(self, poll_interval: float) -> float:
        if not self._pending:
            return poll_interval
        first = next(iter(self._pending.values()))
        return max(0.0, min(poll_interval, first.deadline - time.monotonic()))

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: try again at the next readiness
                log.warning("accepting a connection failed: %s", exc)
                return
            sock.setblocking(False)
            connection = Connection(sock, address, time.monotonic() + self.limits.request_timeout)
            self._pending[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)
            if len(self._pending) > self.limits.max_pending:
                self._drop(next(iter(self._pending.values())), "too_many_connections")

    def _receive(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(_RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._forget(connection)
            _close(connection.sock)
            return
        start = max(0, len(connection.head) - 3)
        connection.head += data
        if _HEAD_END.search(connection.head, start):
            self._forget(connection)
            self._dispatch(connection)
        elif len(connection.head) > MAX_HEAD_BYTES:
            self._forget(connection)
            self._reject("too_large")
            self._answer(connection, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large")

    def _expire(self) -> None:
        now = time.monotonic()
        while self._pending:
            first = next(iter(self._pending.values()))
            if first.deadline > now:
                return
            self._drop(first, "timeout")

    def _dispatch(self, connection: Connection) -> None:
        with self._lock:
            busy = self._active >= self.limits.max_threads
            if not busy:
                self._active += 1
        if busy:
            self._reject("busy")
            self._answer(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "too many requests at once", retry_after=1
            )
            return
        try:
            threading.Thread(
                target=self._handle, args=(connection,), name="http-request", daemon=True
            ).start()
        except RuntimeError:  # the process cannot start another thread: refuse, keep the loop alive
            with self._lock:
                self._active -= 1
            self._reject("busy")
            self._answer(connection, HTTPStatus.SERVICE_UNAVAILABLE, "cannot start a thread", retry_after=1)

    def _handle(self, connection: Connection) -> None:
        try:
            connection.sock.setblocking(True)
            connection.sock.settimeout(self.limits.write_timeout)
            self.handler_class(connection)
        except OSError as exc:  # the client went away
            log.debug("connection of %s failed: %s", connection.address[0], exc)
        except Exception:
            log.exception("handling a request failed")
        finally:
            _close(connection.sock)
            with self._lock:
                self._active -= 1
        if connection.write_timed_out:
            log.info(
                "dropped %s: it did not take its response within the write timeout", connection.address[0]
            )
            self._reject("write_timeout")

    def _answer(
        self, connection: Connection, status: HTTPStatus, reason: str, retry_after: int | None = None
    ) -> None:
        """Send a short JSON refusal from the loop (never blocks: a full socket buffer loses it) and close."""
        body = json.dumps({"status": "refused", "reason": reason}).encode()
        lines = [
            f"HTTP/1.0 {status.value} {status.phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if retry_after is not None:
            lines.append(f"Retry-After: {retry_after}")
        with contextlib.suppress(OSError):
            connection.sock.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        _close(connection.sock)

    def _drop(self, connection: Connection, reason: str) -> None:
        self._forget(connection)
        self._reject(reason)
        log.debug("closing the connection of %s: %s", connection.address[0], reason)
        _close(connection.sock)

    def _forget(self, connection: Connection) -> None:
        self._pending.pop(connection.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)

    def _reject(self, reason: str) -> None:
        if self.on_reject is not None:
            self.on_reject(reason)


def _close(sock: socket.socket) -> None:
    """Close after sending what was written (FIN, not RST, when nothing is left unread)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    sock.close()
