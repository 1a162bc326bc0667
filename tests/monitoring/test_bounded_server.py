"""The sidecar's HTTP connection handling, on real sockets: idle and slow clients, too many requests, clients
that do not read, oversized heads. The server is the real class in this process, with a small handler."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from monitoring.bounded_server import MAX_HEAD_BYTES, BoundedHTTPServer, HttpLimits, PreReadRequestHandler
from tests.monitoring.processes import closed_by_server

BIG_BODY = b"x" * (32 * 1024 * 1024)
"""More than the socket buffers of both ends hold: sending it blocks while the client does not read."""


@dataclass
class Slow:
    """``/slow`` requests: how many started, and the event that lets them answer."""

    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    release: threading.Event = field(default_factory=threading.Event)


class Handler(PreReadRequestHandler):
    slow: Slow

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's dispatch name
        if self.path == "/slow":
            self.slow.started.release()
            self.slow.release.wait(30)
        body = BIG_BODY if self.path == "/big" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Running:
    server: BoundedHTTPServer
    url: str
    rejects: Counter[str]
    slow: Slow

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address


def start(limits: HttpLimits) -> Running:
    slow = Slow()
    handler = type("BoundHandler", (Handler,), {"slow": slow})
    rejects: Counter[str] = Counter()
    lock = threading.Lock()

    def count(reason: str) -> None:
        with lock:
            rejects[reason] += 1

    server = BoundedHTTPServer(("127.0.0.1", 0), handler, limits, on_reject=count)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return Running(server, f"http://127.0.0.1:{server.server_address[1]}", rejects, slow)


@pytest.fixture
def make_server() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(**limits: float) -> Running:
        defaults = {"max_threads": 4, "max_pending": 100, "request_timeout": 1.0, "write_timeout": 5.0}
        running = start(HttpLimits(**{**defaults, **limits}))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield make
    for running in started:
        running.slow.release.set()
        running.server.shutdown()
        running.server.server_close()


def connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes."""
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_idle_connections_hold_no_thread_and_are_closed_at_the_deadline(
    make_server: Callable[..., Running],
) -> None:
    running = make_server(request_timeout=1.0)
    threads = threading.active_count()
    idle = [connect(running.address) for _ in range(50)]
    time.sleep(0.2)
    assert threading.active_count() <= threads  # waiting connections cost no thread
    started = time.monotonic()
    assert httpx.get(f"{running.url}/fast", timeout=5).text == "ok"
    assert time.monotonic() - started < 1.0  # answered at once, next to 50 idle connections
    assert all(closed_by_server(sock, within=5) for sock in idle)
    assert time.monotonic() - started < 4
    assert running.rejects == {"timeout": 50}
    for sock in idle:
        sock.close()


def test_a_client_trickling_its_head_is_closed_at_the_deadline(make_server: Callable[..., Running]) -> None:
    running = make_server(request_timeout=1.0)
    sock = connect(running.address)
    started = time.monotonic()
    head = b"GET /fast HTTP/1.1\r\nHost: x\r\n"
    sent = 0
    with pytest.raises(OSError):  # reset or broken pipe once the server closed it
        for byte in head * 100:
            sock.send(bytes([byte]))
            sent += 1
            time.sleep(0.05)
    assert 0.9 < time.monotonic() - started < 3  # closed at the deadline, not after the last byte
    assert sent < len(head) * 100
    assert running.rejects == {"timeout": 1}
    sock.close()


def test_beyond_max_threads_a_request_gets_503_with_retry_after(make_server: Callable[..., Running]) -> None:
    running = make_server(max_threads=2)
    busy = [
        threading.Thread(target=httpx.get, args=(f"{running.url}/slow",), kwargs={"timeout": 30})
        for _ in "ab"
    ]
    for thread in busy:
        thread.start()
    for _ in busy:
        assert running.slow.started.acquire(timeout=10)
    refused = httpx.get(f"{running.url}/fast", timeout=5)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json() == {"status": "refused", "reason": "too many requests at once"}
    running.slow.release.set()
    for thread in busy:
        thread.join(10)
    assert httpx.get(f"{running.url}/fast", timeout=5).status_code == 200
    assert running.rejects == {"busy": 1}


def test_one_connection_too_many_closes_the_one_waiting_longest(make_server: Callable[..., Running]) -> None:
    running = make_server(max_pending=3, request_timeout=30)
    idle = [connect(running.address) for _ in range(3)]
    time.sleep(0.2)
    newest = connect(running.address)
    assert closed_by_server(idle[0], within=5)
    assert not any(closed_by_server(sock, within=0.2) for sock in idle[1:])
    newest.sendall(b"GET /fast HTTP/1.0\r\n\r\n")
    assert answer_of(newest).endswith(b"\r\n\r\nok")
    assert running.rejects == {"too_many_connections": 1}
    for sock in [*idle, newest]:
        sock.close()


def test_a_head_larger_than_the_limit_is_answered_431(make_server: Callable[..., Running]) -> None:
    running = make_server()
    sock = connect(running.address)
    sock.sendall(b"GET /fast HTTP/1.0\r\nX-Pad: " + b"a" * MAX_HEAD_BYTES)  # no end of head in sight
    assert answer_of(sock).startswith(b"HTTP/1.0 431 ")
    assert running.rejects == {"too_large": 1}
    sock.close()


def test_a_client_that_does_not_read_its_answer_is_dropped_after_the_write_timeout(
    make_server: Callable[..., Running],
) -> None:
    running = make_server(max_threads=1, write_timeout=0.5)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(running.address)
    sock.sendall(b"GET /big HTTP/1.0\r\n\r\n")  # and never reads
    wait_for(lambda: running.rejects["write_timeout"] == 1)
    assert httpx.get(f"{running.url}/fast", timeout=5).status_code == 200  # its only thread is free again
    sock.close()


def test_malformed_and_other_method_requests_get_the_standard_errors(
    make_server: Callable[..., Running],
) -> None:
    running = make_server()
    sock = connect(running.address)
    sock.sendall(b"GET /fast HTTP/1.0 extra-word\r\n\r\n")
    assert b"400 - Bad request syntax" in answer_of(sock)  # an HTTP/0.9-style error page, as http.server
    assert httpx.post(f"{running.url}/fast", timeout=5).status_code == 501
    assert httpx.get(f"{running.url}/fast", params={"q": "1"}, timeout=5).text == "ok"


def test_shutdown_stops_accepting_and_returns_promptly(make_server: Callable[..., Running]) -> None:
    running = make_server()
    idle = connect(running.address)
    started = time.monotonic()
    running.server.shutdown()
    running.server.server_close()
    assert time.monotonic() - started < 2
    assert closed_by_server(idle, within=2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/fast", timeout=2)
    idle.close()
