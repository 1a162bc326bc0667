"""The decision store written by ingestion: every decision once, before its checkpoint, on SQLite and on a
real PostgreSQL; a database that is down holds the checkpoint back and loses nothing, also in a real sidecar
process killed while it is down."""

from __future__ import annotations

import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from deploy.bento_server import free_port
from monitoring import checkpoint as ckpt
from monitoring import store_schema as schema
from monitoring.decision_store import DecisionRecorder
from monitoring.ingest import Ingestor
from monitoring.performance import accepted_holdout_auc
from monitoring.settings import MonitorSettings
from service.bundle import Bundle
from tests.monitoring.postgres import PostgresServer
from tests.monitoring.processes import scrape_value, start_sidecar, stop, wait_until
from tests.monitoring.store_data import model, row_count, seed
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

START = datetime(2026, 3, 31, 23, 59, 59, 900_000, tzinfo=UTC)
"""The test records straddle a month's end: their decision months differ."""


def records_with_callers(bundle: Bundle, n: int, seed: int = 1, prefix: str = "req") -> list[dict]:
    """Scored records; every third one carries a caller id."""
    records = records_from_frame(generate_features(n, len(bundle.features), seed=seed), bundle, START)
    for i, record in enumerate(records):
        record["request_id"] = f"{prefix}-{i}"
        record["caller_id"] = f"applicant-{i}" if i % 3 == 0 else None
    return records


def recorder(url: str, bundle: Bundle, **kwargs: float) -> DecisionRecorder:
    return DecisionRecorder(schema.open_engine(url), bundle, CollectorRegistry(), **kwargs)  # type: ignore[arg-type]


def stored(url: str) -> list[dict]:
    engine = schema.open_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(schema.decisions).order_by(schema.decisions.c.request_id))
        found = [dict(row._mapping) for row in rows]
    engine.dispose()  # polled: leave no connection open
    return found


def test_every_ingested_decision_is_stored_with_its_band_and_month(
    settings: MonitorSettings, bundle: Bundle, store_url: str
) -> None:
    records = records_with_callers(bundle, 300)
    SpoolWriter(settings.spool_dir).append(records)
    ingestor = Ingestor(settings, bundle.feature_names, decisions=recorder(store_url, bundle))
    assert ingestor.step() == 300
    assert ingestor.checkpoint()
    rows = {row["request_id"]: row for row in stored(store_url)}
    assert len(rows) == 300
    assert bundle.stability is not None
    bands = bundle.stability.score.assign(np.array([r["probability"] for r in records]))
    for record, band in zip(records, bands, strict=True):
        row = rows[record["request_id"]]
        scored_at = record["time"].astimezone(UTC).replace(tzinfo=None)
        assert row["caller_id"] == record["caller_id"]
        assert row["model_tag"] == record["model_tag"]
        assert row["scored_at"] == scored_at
        assert row["decision_month"] == scored_at.strftime("%Y-%m")
        assert row["probability"] == record["probability"]  # exactly: the performance job needs the score
        assert row["refused"] == (record["decision"] == "refuse")
        assert row["score_band"] == band
    assert {row["decision_month"] for row in rows.values()} == {"2026-03", "2026-04"}
    with schema.open_engine(store_url).connect() as connection:
        (model,) = connection.execute(select(schema.models)).mappings()
    assert model["model_tag"] == "credit_scorer:test"
    assert model["threshold"] == bundle.threshold
    assert model["cost_false_negative"] == bundle.cost.false_negative
    assert model["holdout_auc"] == pytest.approx(bundle.metrics["holdout_auc"])
    assert model["holdout_accepted_auc"] is None  # this bundle can give none (no outcomes in its reference)


def test_a_model_stored_without_its_accepted_baseline_gets_it(
    settings: MonitorSettings, bundle: Bundle, store_url: str
) -> None:
    """A model row written before the store kept the accepted applicants' holdout AUC (null) is completed
    the next time a sidecar stores one of its decisions; rows that have it are left alone."""
    bundle = replace(bundle, metrics={**bundle.metrics, "holdout_auc_accepted": 0.64})
    records = records_with_callers(bundle, 20)
    seed(store_url, [], [model(str(records[0]["model_tag"]), holdout_auc=0.7), model("other:v1", 0.7, 0.61)])
    SpoolWriter(settings.spool_dir).append(records)
    ingestor = Ingestor(settings, bundle.feature_names, decisions=recorder(store_url, bundle))
    assert ingestor.step() == 20 and ingestor.checkpoint()
    with schema.open_engine(store_url).connect() as connection:
        rows = {r["model_tag"]: r for r in connection.execute(select(schema.models)).mappings()}
    assert rows[records[0]["model_tag"]]["holdout_accepted_auc"] == accepted_holdout_auc(bundle) == 0.64
    assert rows[records[0]["model_tag"]]["holdout_auc"] == 0.7  # what was stored stays
    assert rows["other:v1"]["holdout_accepted_auc"] == 0.61


def test_records_read_again_after_a_crash_are_stored_once(
    settings: MonitorSettings, bundle: Bundle, store_url: str
) -> None:
    records = records_with_callers(bundle, 400)
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:150])
    first = Ingestor(settings, bundle.feature_names, decisions=recorder(store_url, bundle))
    first.step()
    assert first.checkpoint()
    writer.append(records[150:])
    first.step()
    # committed, then killed before the checkpoint: the next process reads records 150-399 again
    assert first.decisions is not None and first.decisions.flush()
    assert row_count(store_url, schema.decisions) == 400
    second = Ingestor(settings, bundle.feature_names, decisions=recorder(store_url, bundle))
    assert second.step() == 250
    assert second.checkpoint()
    assert row_count(store_url, schema.decisions) == 400
    assert [r["request_id"] for r in stored(store_url)] == sorted(r["request_id"] for r in records)


def test_a_database_that_is_down_holds_the_checkpoint_back_and_loses_nothing(
    settings: MonitorSettings, bundle: Bundle, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    records = records_with_callers(bundle, 500)
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:100])
    decisions = recorder(url, bundle, max_pending=200, retry_max_seconds=0.01)
    ingestor = Ingestor(settings, bundle.feature_names, decisions=decisions)
    ingestor.step()
    assert ingestor.checkpoint()
    committed = ckpt.load(settings.checkpoint_path)
    assert committed is not None
    postgres_server.stop()
    try:
        writer.append(records[100:350])
        writer.close_segment()
        assert ingestor.step() == 250
        assert not ingestor.checkpoint(force=True)  # the write failed: no checkpoint
        unchanged = ckpt.load(settings.checkpoint_path)
        assert unchanged is not None
        assert (unchanged.offsets, unchanged.ingested_total) == (committed.offsets, committed.ingested_total)
        assert decisions.backlogged and decisions.pending_records == 250
        writer.append(records[350:])
        assert ingestor.step() == 0  # backlogged: nothing more is read, the spool keeps the records
        assert len(list(settings.spool_dir.glob("seg-*.arrows"))) == 1  # closed but not deleted
    finally:
        postgres_server.start()
    assert ingestor.checkpoint(force=True)
    assert ingestor.step() == 150
    assert ingestor.checkpoint(force=True)
    assert row_count(url, schema.decisions) == 500
    assert not list(settings.spool_dir.glob("seg-*.arrows"))  # deleted only after their decisions committed
    saved = ckpt.load(settings.checkpoint_path)
    assert saved is not None and saved.ingested_total == 500


def test_ids_longer_than_the_columns_are_skipped_and_counted(
    settings: MonitorSettings, bundle: Bundle, store_url: str
) -> None:
    records = records_with_callers(bundle, 10)
    records[2]["request_id"] = "r" * (schema.REQUEST_ID_LENGTH + 1)
    records[3]["caller_id"] = "c" * (schema.SUBJECT_ID_LENGTH + 1)
    SpoolWriter(settings.spool_dir).append(records)
    registry = CollectorRegistry()
    decisions = DecisionRecorder(schema.open_engine(store_url), bundle, registry)
    ingestor = Ingestor(settings, bundle.feature_names, decisions=decisions)
    ingestor.step()
    assert ingestor.checkpoint()
    assert row_count(store_url, schema.decisions) == 8
    assert registry.get_sample_value("credit_scoring_decision_store_records_skipped_total") == 2
    assert registry.get_sample_value("credit_scoring_decision_store_records_committed_total") == 8


def test_a_bundle_without_score_bands_stores_no_band(
    settings: MonitorSettings, bundle: Bundle, store_url: str
) -> None:
    SpoolWriter(settings.spool_dir).append(records_with_callers(bundle, 5))
    no_bands = replace(bundle, stability=None)
    ingestor = Ingestor(settings, bundle.feature_names, decisions=recorder(store_url, no_bands))
    ingestor.step()
    assert ingestor.checkpoint()
    assert [row["score_band"] for row in stored(store_url)] == [None] * 5


def test_a_real_sidecar_loses_no_decision_while_postgresql_is_down_and_it_is_killed(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    records = records_with_callers(bundle, 3_000, prefix="down")
    spool, log = tmp_path / "spool", tmp_path / "sidecar.log"
    writer = SpoolWriter(spool)
    extra = ("--decision-store-url", url, "--decision-store-retry-max-seconds", "0.5")
    port = free_port()
    process = start_sidecar(spool, bundle_dir, port, log, *extra)
    try:
        writer.append(records[:1_000])
        writer.close_segment()
        wait_until(lambda: row_count(url, schema.decisions) == 1_000, 90, "the first 1,000 decisions stored")
        postgres_server.stop()
        writer.append(records[1_000:2_000])
        writer.close_segment()
        failures = "credit_scoring_decision_store_write_failures_total"
        wait_until(lambda: (scrape_value(port, failures) or 0) >= 2, 60, "failed writes while it is down")
        assert scrape_value(port, "credit_scoring_decision_store_pending_records") == 1_000
        assert len(list(spool.glob("seg-*.arrows"))) == 1  # read, not committed: kept in the spool
        process.send_signal(signal.SIGKILL)  # and the sidecar dies while the database is down
        process.wait()
        postgres_server.start()
        process = start_sidecar(spool, bundle_dir, port, log, *extra)
        writer.append(records[2_000:])
        writer.close_segment()
        wait_until(lambda: row_count(url, schema.decisions) == 3_000, 90, "every decision stored")
        wait_until(lambda: not list(spool.glob("seg-*.arrows")), 30, "the consumed segments deleted")
    finally:
        stop(process)
        if postgres_server.process is None:
            postgres_server.start()
    assert {r["request_id"] for r in stored(url)} == {r["request_id"] for r in records}


def test_none_turns_the_store_off(settings: MonitorSettings, bundle: Bundle) -> None:
    from monitoring.sidecar import Sidecar

    off = Sidecar(settings.model_copy(update={"decision_store_url": "none"}), bundle)
    assert off.decisions is None and off.ingestor.decisions is None
    SpoolWriter(settings.spool_dir).append(records_with_callers(bundle, 5))
    off.ingestor.step()
    assert off.ingestor.checkpoint()
    assert not list(settings.checkpoint_path.parent.glob("*.sqlite"))
    on = Sidecar(settings, bundle)
    assert on.decisions is not None
    assert (
        settings.decision_store
        == f"sqlite:///{settings.checkpoint_path.parent.resolve() / 'decisions.sqlite'}"
    )
