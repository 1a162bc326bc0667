"""``/report``: Evidently's HTML drift report served by the sidecar, rendered once per interval and window,
not retried within the interval after a failure, refused (429) beyond its share of the HTTP threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from monitoring.report_page import ReportPage, ReportRateLimitedError, ReportUnavailableError
from monitoring.settings import MonitorSettings
from monitoring.sidecar import Sidecar
from service.bundle import Bundle
from tests.monitoring.processes import scrape_value, wait_until
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame
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


def test_unavailable_is_not_cached_and_a_failure_is_not_retried_within_the_interval() -> None:
    """A 503 reason (nothing to report yet) costs nothing and is asked again at once; a failed rendering
    (seconds of Evidently) is not run again before the interval has passed, whatever the requests."""
    outcomes: list[object] = [ReportUnavailableError("too few records"), RuntimeError("boom"), b"page"]
    calls: list[int] = []

    def render() -> bytes:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    clock = Clock()
    page = ReportPage(render, min_interval_seconds=60, clock=clock)
    with pytest.raises(ReportUnavailableError, match="too few records"):
        page.get()
    with pytest.raises(RuntimeError):
        page.get()
    assert len(calls) == 2
    clock.now += 45
    for _ in range(3):
        with pytest.raises(ReportRateLimitedError, match="last rendering failed") as limited:
            page.get()
        assert limited.value.retry_after == pytest.approx(15)
    assert len(calls) == 2  # no rendering while the failure is recent
    clock.now += 16
    assert page.get() == b"page"
    assert len(calls) == 3


def test_a_page_of_an_unchanged_window_is_reused_after_the_interval() -> None:
    clock, state, pages = Clock(), [1], iter([b"first", b"second"])
    page = ReportPage(lambda: next(pages), min_interval_seconds=60, clock=clock, state=lambda: state[0])
    assert page.get() == b"first"
    clock.now += 600
    assert page.get() == b"first"  # nothing new in the window: the same page, no rendering
    state[0] = 2
    clock.now += 1
    assert page.get() == b"second"


def test_requests_beyond_the_concurrency_limit_are_refused_while_one_renders() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_render() -> bytes:
        started.set()
        release.wait(10)
        return b"page"

    page = ReportPage(slow_render, min_interval_seconds=60, max_concurrent=1)
    answers: list[bytes] = []
    rendering = threading.Thread(target=lambda: answers.append(page.get()))
    rendering.start()
    assert started.wait(10)
    with pytest.raises(ReportRateLimitedError, match="being rendered") as refused:
        page.get()  # refused at once, not queued behind the rendering
    assert refused.value.retry_after > 0
    release.set()
    rendering.join(10)
    assert answers == [b"page"]
    assert page.get() == b"page"  # the slot is free again


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


RENDERINGS = "credit_scoring_drift_report_renderings_total"


def ready_with(sidecar: Sidecar, url: str, records: int) -> None:
    """Wait until the sidecar is calibrated and has ingested ``records`` records."""
    wait_until(lambda: httpx.get(f"{url}/readyz", timeout=10).status_code == 200, 120, "calibration")
    wait_until(lambda: sidecar.ingestor.ingested_total == records, 60, f"{records} records ingested")


def renderings(port: int, outcome: str) -> float | None:
    return scrape_value(port, f'{RENDERINGS}{{outcome="{outcome}"}}')


def test_reports_of_an_unchanged_window_run_evidently_once(settings: MonitorSettings, bundle: Bundle) -> None:
    """No interval at all: only a change of the window renders again (each rendering is seconds of CPU)."""
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records_from_frame(generate_features(600, len(bundle.features), seed=31), bundle))
    update = {"host": "127.0.0.1", "port": 0, "report_min_interval_seconds": 0}
    sidecar = Sidecar(settings.model_copy(update=update), bundle)
    port = sidecar.start()
    url = f"http://127.0.0.1:{port}"
    try:
        ready_with(sidecar, url, 600)
        pages = [httpx.get(f"{url}/report", timeout=180) for _ in range(3)]
        assert [page.status_code for page in pages] == [200] * 3
        assert pages[0].content == pages[1].content == pages[2].content
        assert renderings(port, "success") == 1
        writer.append(records_from_frame(generate_features(100, len(bundle.features), seed=32), bundle))
        wait_until(lambda: sidecar.ingestor.ingested_total == 700, 60, "new records ingested")
        assert httpx.get(f"{url}/report", timeout=180).status_code == 200
        assert renderings(port, "success") == 2 and renderings(port, "failure") == 0
    finally:
        sidecar.stop()


def test_a_failing_report_is_not_rendered_again_within_the_interval(
    settings: MonitorSettings, bundle: Bundle
) -> None:
    """A feature missing from every record of the window (an upstream outage) makes Evidently's preset
    raise."""
    frame = generate_features(600, len(bundle.features), seed=33)
    frame["normal_0"] = np.nan
    SpoolWriter(settings.spool_dir).append(records_from_frame(frame, bundle))
    sidecar = Sidecar(settings.model_copy(update={"host": "127.0.0.1", "port": 0}), bundle)
    port = sidecar.start()
    url = f"http://127.0.0.1:{port}"
    try:
        ready_with(sidecar, url, 600)
        assert httpx.get(f"{url}/report", timeout=180).status_code == 500
        for _ in range(3):
            limited = httpx.get(f"{url}/report", timeout=10)
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= settings.report_min_interval_seconds
            assert "last rendering failed" in limited.json()["reason"]
        assert renderings(port, "failure") == 1 and renderings(port, "success") == 0
        limited_total = 'credit_scoring_drift_http_rejected_total{reason="report_rate_limited"}'
        assert scrape_value(port, limited_total) == 3
    finally:
        sidecar.stop()
