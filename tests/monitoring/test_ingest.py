"""Ingestion into the window: malformed records, restart from a checkpoint, crash before a checkpoint."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from monitoring.ingest import Ingestor
from monitoring.metrics import MonitorMetrics
from monitoring.settings import MonitorSettings
from service.bundle import Bundle
from service.payload_log import END_OF_STREAM, VERSION_KEY, payload_schema
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame


@pytest.fixture(scope="module")
def records(bundle: Bundle) -> list[dict]:
    return records_from_frame(generate_features(1_200, len(bundle.features), seed=42), bundle)


def drain(ingestor: Ingestor) -> None:
    while ingestor.step():
        pass


def test_malformed_records_and_segments_are_skipped_and_counted_by_reason(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    bad_feature = {**records[4], "features": {**records[4]["features"], bundle.feature_names[0]: math.inf}}
    bad_probability = {**records[5], "probability": 1.5}
    bad_decision = {**records[6], "decision": "maybe"}
    bad_time = {**records[7], "time": None}
    writer.append(records[:3])
    writer.append([bad_feature, bad_probability, bad_decision, bad_time])
    writer.close_segment()
    names = bundle.feature_names
    foreign = payload_schema(names).with_metadata({VERSION_KEY: b"99"})  # a future writer's segment
    _write_segment(settings.spool_dir / "seg-future-00000001.arrows", foreign, records[8:10])
    lacking = payload_schema(names[1:])  # a segment without one of the bundle's features
    _write_segment(settings.spool_dir / "seg-other-00000001.arrows", lacking, records[10:14])
    cut = SpoolWriter(settings.spool_dir, writer_id="cut")
    cut.append(records[14:16])
    cut.append_bytes(b"\xff\xff\xff\xff\x40\x00\x00\x00garbage")  # a message its writer never finished
    cut.close_segment()
    metrics = MonitorMetrics()
    ingestor = Ingestor(settings, names, metrics)
    drain(ingestor)
    assert ingestor.ingested_total == 3 + 2
    assert dict(ingestor.malformed_total) == {
        "unknown_version": 2,
        "bad_schema": 4,
        "bad_features": 1,
        "bad_probability": 1,
        "bad_decision": 1,
        "bad_time": 1,
        "truncated": 1,
    }
    assert metrics.registry.get_sample_value("credit_scoring_drift_records_ingested_total") == 5
    assert (
        metrics.registry.get_sample_value(
            "credit_scoring_drift_records_malformed_total", {"reason": "bad_schema"}
        )
        == 4
    )


def _write_segment(path: Path, schema: pa.Schema, records: list[dict]) -> None:
    """A whole closed segment of ``records`` under ``schema``, written without the service's writer."""
    batch = pa.RecordBatch.from_pylist(
        [
            {**r, "features": {k: r["features"].get(k) for k in schema.field("features").type.names}}
            for r in records
        ],
        schema=schema,
    )
    path.write_bytes(schema.serialize().to_pybytes() + batch.serialize().to_pybytes() + END_OF_STREAM)


def test_feature_values_land_in_spec_order_with_missing_as_nan(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    record = dict(records[0])
    first = bundle.feature_names[0]
    record["features"] = {**dict(reversed(list(record["features"].items()))), first: None}
    reversed_names = list(reversed(bundle.feature_names))  # another writer's order
    SpoolWriter(settings.spool_dir, feature_names=reversed_names).append([record])
    ingestor = Ingestor(settings, bundle.feature_names, None)
    drain(ingestor)
    row = ingestor.view().features[0]
    assert np.isnan(row[0])
    expected = [
        np.nan if v is None else v for v in (records[0]["features"][n] for n in bundle.feature_names[1:])
    ]
    np.testing.assert_array_equal(row[1:], np.array(expected, dtype=float))


def test_restart_resumes_from_checkpoint_without_double_counting(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:400])
    first = Ingestor(settings, bundle.feature_names)
    drain(first)
    first.checkpoint(force=True)
    writer.append(records[400:700])
    writer.close_segment()
    writer.append(records[700:1000])
    second = Ingestor(settings, bundle.feature_names)
    assert second.ingested_total == 400 and len(second.window) == 400
    drain(second)
    second.checkpoint(force=True)
    assert second.ingested_total == 1000
    expected = [r["probability"] for r in records[:1000]]
    assert second.view().probabilities.tolist() == expected[-settings.window_records :]


def test_crash_before_checkpoint_rereads_exactly_the_lost_records(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:300])
    first = Ingestor(settings, bundle.feature_names)
    drain(first)
    first.checkpoint(force=True)
    writer.append(records[300:600])
    drain(first)  # applied in memory, then "killed" before its next checkpoint
    assert first.ingested_total == 600
    restarted = Ingestor(settings, bundle.feature_names)
    assert restarted.ingested_total == 300
    drain(restarted)
    assert restarted.ingested_total == 600
    assert restarted.view().probabilities.tolist() == [r["probability"] for r in records[:600]]


def test_consumed_closed_segments_are_deleted_only_after_a_checkpoint(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:10])
    closed = writer.close_segment()
    ingestor = Ingestor(settings, bundle.feature_names)
    drain(ingestor)
    assert closed.exists()
    ingestor.checkpoint(force=True)
    ingestor.step()
    assert not closed.exists()
    ingestor.checkpoint(force=True)
    again = Ingestor(settings, bundle.feature_names)
    drain(again)
    assert again.ingested_total == 10


def test_checkpoint_written_for_another_feature_list_keeps_counts_but_not_the_window(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    SpoolWriter(settings.spool_dir).append(records[:50])
    first = Ingestor(settings, bundle.feature_names)
    drain(first)
    first.checkpoint(force=True)
    other = Ingestor(settings, list(reversed(bundle.feature_names)))
    assert other.ingested_total == 50 and len(other.window) == 0
    assert json.loads(json.dumps(other.committed_offsets))  # offsets survive


def vanished_total(metrics: MonitorMetrics | None) -> float | None:
    assert metrics is not None
    return metrics.registry.get_sample_value("credit_scoring_drift_segments_vanished_total")


def vanished_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "vanished" in r.getMessage()]


def restart(settings: MonitorSettings, bundle: Bundle, caplog: pytest.LogCaptureFixture) -> Ingestor:
    """A new ingestor from the last checkpoint (the previous one "killed"), drained, logs captured."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="monitoring"):
        restarted = Ingestor(settings, bundle.feature_names, MonitorMetrics())
        drain(restarted)
    return restarted


def test_segments_deleted_after_their_checkpoint_do_not_vanish_after_a_crash(
    settings: MonitorSettings, bundle: Bundle, records: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:100])
    first = writer.close_segment()
    writer.append(records[100:200])  # read to its end while open, closed only after the checkpoint
    ingestor = Ingestor(settings, bundle.feature_names)
    drain(ingestor)
    ingestor.checkpoint(force=True)
    second = writer.close_segment()
    ingestor.step()
    assert not first.exists()
    # killed before the checkpoint that would have dropped the deleted segment's offset
    restarted = restart(settings, bundle, caplog)
    assert vanished_warnings(caplog) == [] and vanished_total(restarted.metrics) == 0
    assert restarted.ingested_total == 200
    restarted.checkpoint(force=True)
    restarted.step()
    assert not second.exists()
    # killed again, right after deleting the segment that was closed after its last read
    again = restart(settings, bundle, caplog)
    assert vanished_warnings(caplog) == [] and vanished_total(again.metrics) == 0
    assert again.ingested_total == 200
    assert again.view().probabilities.tolist() == [r["probability"] for r in records[:200]]
    again.checkpoint(force=True)
    assert again.committed_offsets == {}


def test_segment_deleted_with_unread_records_is_reported_vanished_after_a_restart(
    settings: MonitorSettings, bundle: Bundle, records: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:100])
    first = Ingestor(settings, bundle.feature_names)
    drain(first)
    first.checkpoint(force=True)
    writer.append(records[100:150])
    writer.close_segment().unlink()  # removed by someone else before the sidecar read the last 50
    restarted = restart(settings, bundle, caplog)
    assert len(vanished_warnings(caplog)) == 1
    assert "seg-test1-00000001" in vanished_warnings(caplog)[0]
    assert vanished_total(restarted.metrics) == 1
    assert restarted.ingested_total == 100


def sample(metrics: MonitorMetrics | None, name: str, **labels: str) -> float | None:
    assert metrics is not None
    return metrics.registry.get_sample_value(f"credit_scoring_drift_{name}", labels)


def test_unreadable_segments_are_skipped_counted_and_logged_once_while_the_others_are_ingested(
    settings: MonitorSettings, bundle: Bundle, records: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    spool = settings.spool_dir
    first = SpoolWriter(spool, writer_id="a")
    first.append(records[:100])
    consumed = first.close_segment()
    (spool / "seg-b-00000001.arrows").mkdir()
    (spool / "seg-c-00000001.arrows").symlink_to("seg-c-00000001.arrows")  # a loop: unreadable for root too
    last = SpoolWriter(spool, writer_id="z")
    last.append(records[100:250])
    metrics = MonitorMetrics()
    with caplog.at_level(logging.WARNING, logger="monitoring"):
        ingestor = Ingestor(settings, bundle.feature_names, metrics)
        drain(ingestor)
        for _ in range(3):
            ingestor.step()
    assert ingestor.ingested_total == 250
    assert ingestor.view().probabilities.tolist() == [r["probability"] for r in records[:250]]
    assert sample(metrics, "segments_skipped_total", reason="not_a_file") == 1
    assert sample(metrics, "segments_skipped_total", reason="unreadable") == 1
    assert sample(metrics, "ingest_skipped_segments") == 2
    skips = [r.getMessage() for r in caplog.records if "skipping spool segment" in r.getMessage()]
    assert len(skips) == 2  # once per segment, not once per step
    assert "seg-b-00000001.arrows (not_a_file: a directory)" in skips[0]
    assert "seg-c-00000001.arrows (unreadable:" in skips[1]
    ingestor.checkpoint(force=True)
    ingestor.step()
    assert not consumed.exists() and (spool / "seg-b-00000001.arrows").is_dir()
    last.append(records[250:300])
    drain(ingestor)
    assert ingestor.ingested_total == 300  # ingestion goes on
    (spool / "seg-b-00000001.arrows").rmdir()
    (spool / "seg-c-00000001.arrows").unlink()
    ingestor.step()
    assert sample(metrics, "ingest_skipped_segments") == 0
    assert sample(metrics, "segments_skipped_total", reason="not_a_file") == 1
    assert vanished_total(metrics) == 0


def test_a_corrupt_checkpoint_is_moved_aside_and_ingestion_starts_again_from_the_spool(
    settings: MonitorSettings, bundle: Bundle, records: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:300])
    writer.close_segment()
    writer.append(records[300:500])
    first = Ingestor(settings, bundle.feature_names)
    drain(first)
    first.checkpoint(force=True)
    first.step()  # deletes the consumed first segment: its 300 records now live only in the checkpoint
    first.checkpoint(force=True)
    path = settings.checkpoint_path
    damaged = path.read_bytes()[:-500]
    path.write_bytes(damaged)
    writer.append(records[500:550])
    metrics = MonitorMetrics()
    with caplog.at_level(logging.INFO, logger="monitoring"):
        restarted = Ingestor(settings, bundle.feature_names, metrics)
    (moved,) = path.parent.glob("checkpoint.npz.corrupt-*")
    assert moved.read_bytes() == damaged and not path.exists()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "is corrupt" in errors[0] and moved.name in errors[0]
    assert sample(metrics, "checkpoints_corrupt_total") == 1
    assert restarted.ingested_total == 0
    drain(restarted)
    # the open segment is read again from its start: 200 records counted a second time, 50 new ones
    assert restarted.ingested_total == 250
    assert sample(metrics, "records_ingested_total") == 250
    assert restarted.view().probabilities.tolist() == [r["probability"] for r in records[300:550]]
    assert restarted.checkpoint(force=True)
    again = Ingestor(settings, bundle.feature_names, MonitorMetrics())
    assert again.ingested_total == 250 and len(again.window) == 250
