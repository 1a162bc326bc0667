"""``/report``: Evidently's HTML drift report served by the sidecar, rendered once per interval."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from monitoring.report_page import ReportPage, ReportUnavailableError
from monitoring.settings import MonitorSettings
from monitoring.sidecar import Sidecar
from service.bundle import Bundle
from tests.monitoring.synthetic import generate_features
from tests.monitoring.test_drift import view_of


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_page_is_reused_within_the_interval_and_rendered_again_after() -> None:
    clock, pages = Clock(), iter([b"first", b"second"])
    page = ReportPage(lambda: next(pages), min_interval_seconds=60, clock=clock)
    assert page.get() == b"first"
    clock.now += 59
    assert page.get() == b"first"
    clock.now += 2
    assert page.get() == b"second"


def test_unavailable_and_failed_renderings_are_not_cached() -> None:
    outcomes: list[object] = [ReportUnavailableError("too few records"), RuntimeError("boom"), b"page"]

    def render() -> bytes:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    page = ReportPage(render, min_interval_seconds=60, clock=Clock())
    with pytest.raises(ReportUnavailableError, match="too few records"):
        page.get()
    with pytest.raises(RuntimeError):
        page.get()
    assert page.get() == b"page"


def test_concurrent_requests_share_one_rendering() -> None:
    calls: list[int] = []

    def slow_render() -> bytes:
        calls.append(1)
        time.sleep(0.3)
        return b"page"

    page = ReportPage(slow_render, min_interval_seconds=60)
    answers: list[bytes] = []
    threads = [threading.Thread(target=lambda: answers.append(page.get())) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [b"page"] * 5
    assert len(calls) == 1


@pytest.fixture
def running(settings: MonitorSettings, bundle: Bundle) -> Iterator[tuple[Sidecar, str]]:
    """A started sidecar (HTTP on a free loopback port) on an empty spool."""
    sidecar = Sidecar(settings.model_copy(update={"host": "127.0.0.1", "port": 0}), bundle)
    port = sidecar.start()
    try:
        yield sidecar, f"http://127.0.0.1:{port}"
    finally:
        sidecar.stop()


def test_sidecar_serves_the_evidently_report_of_its_window(
    running: tuple[Sidecar, str], bundle: Bundle
) -> None:
    sidecar, url = running
    early = httpx.get(f"{url}/report", timeout=60)
    assert early.status_code == 503
    assert early.json()["status"] == "unavailable" and early.json()["reason"]

    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "sidecar not ready"
        time.sleep(0.2)
    empty = httpx.get(f"{url}/report", timeout=60)
    assert empty.status_code == 503 and "records" in empty.json()["reason"]

    view = view_of(generate_features(1_000, len(bundle.features), seed=21), bundle)
    sidecar.ingestor.view = lambda: view  # type: ignore[method-assign]
    renders: list[int] = []
    render = sidecar.report_page._render
    sidecar.report_page._render = lambda: renders.append(1) or render()  # type: ignore[method-assign]
    answer = httpx.get(f"{url}/report", timeout=180)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text[:5000].lower()
    assert bundle.feature_names[0] in answer.text
    again = httpx.get(f"{url}/report", timeout=60)
    assert again.content == answer.content and renders == [1]
    assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200


def test_a_failing_rendering_answers_500_and_the_sidecar_keeps_serving(running: tuple[Sidecar, str]) -> None:
    sidecar, url = running

    def broken() -> bytes:
        raise ValueError("secret applicant value 123")

    sidecar.report_page._render = broken  # type: ignore[method-assign]
    answer = httpx.get(f"{url}/report", timeout=60)
    assert answer.status_code == 500
    assert "123" not in answer.text and "see the sidecar log" in answer.json()["reason"]
    assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200
