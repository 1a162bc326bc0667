"""The sidecar's fairness counters (monitoring/fairness.py): decisions per protected group, read from the
payload log's ``groups`` column, published by checkpoints (each record once across a crash), feature vectors
left out; the approval rates they give equal fairlearn's on the same records."""

from __future__ import annotations

import pyarrow as pa
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitoring.fairness import DECISION_LABELS, FairnessCounter, group_codes
from monitoring.ingest import Ingestor
from monitoring.metrics import MonitorMetrics
from monitoring.records import RecordParser
from monitoring.settings import MonitorSettings
from monitoring.sidecar import Sidecar
from service.applicant.groups import MONITORED
from service.applicant.protected import ALWAYS_PROTECTED, OPTIONAL_PROTECTED
from service.bundle import Bundle
from service.payload_log import GROUPS_TYPE, payload_schema
from tests.monitoring.fairness_records import fairlearn_numbers, with_groups
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

LABELS = [(a.name, label) for a in MONITORED for label in a.labels]


@pytest.fixture(scope="module")
def records(bundle: Bundle) -> list[dict]:
    """900 scored applicants: 800 sent as documents with groups, the last 100 as feature vectors."""
    frame = generate_features(900, len(bundle.features), seed=7)
    return with_groups(records_from_frame(frame, bundle), seed=7, feature_vectors=100)


def tally(records: list[dict]) -> dict[tuple[str, str, str], int]:
    """Decisions per (attribute, group, decision), counted here one record at a time."""
    counts: dict[tuple[str, str, str], int] = {}
    for record in records:
        for attribute, group in (record.get("groups") or {}).items():
            key = (attribute, group, record["decision"])
            counts[key] = counts.get(key, 0) + 1
    return counts


def exported(metrics: MonitorMetrics, binning: str) -> dict[tuple[str, str, str], float]:
    """The decision counters of the registry's text exposition, by (attribute, group, decision); all of them
    carry ``binning``."""
    text = generate_latest(metrics.registry).decode()
    (family,) = [
        f for f in text_string_to_metric_families(text) if f.name == "credit_scoring_fairness_decisions"
    ]
    assert {s.labels["binning"] for s in family.samples} == {binning}
    return {(s.labels["attribute"], s.labels["group"], s.labels["decision"]): s.value for s in family.samples}


def drain(ingestor: Ingestor) -> None:
    while ingestor.step():
        pass


def test_every_protected_attribute_and_the_age_band_are_monitored() -> None:
    assert [a.name for a in MONITORED] == [*ALWAYS_PROTECTED, *OPTIONAL_PROTECTED, "AGE_BAND"]
    assert [f.name for f in GROUPS_TYPE] == [a.name for a in MONITORED]
    assert all(len(a.labels) <= 8 for a in MONITORED)  # low-cardinality label values


def test_the_groups_column_becomes_codes_and_unknown_labels_are_not_counted() -> None:
    rows = [
        {"CODE_GENDER": "M", "NAME_FAMILY_STATUS": "Widow", "CNT_CHILDREN": "3+", "CNT_FAM_MEMBERS": "2",
         "AGE_BAND": "62_and_over"},
        {"CODE_GENDER": "Q", "NAME_FAMILY_STATUS": None, "CNT_CHILDREN": "0", "CNT_FAM_MEMBERS": "XNA",
         "AGE_BAND": "under_25"},
        None,
    ]  # fmt: skip
    codes = group_codes(pa.array(rows, type=GROUPS_TYPE))
    index = {a.name: a.labels.index for a in MONITORED}
    assert codes[0].tolist() == [
        index["CODE_GENDER"]("M"),
        index["NAME_FAMILY_STATUS"]("Widow"),
        index["CNT_CHILDREN"]("3+"),
        index["CNT_FAM_MEMBERS"]("2"),
        index["AGE_BAND"]("62_and_over"),
    ]
    assert codes[1].tolist() == [-1, -1, 0, index["CNT_FAM_MEMBERS"]("XNA"), 0]  # "Q" and null: not counted
    assert codes[2].tolist() == [-1] * len(MONITORED)  # a feature vector
    fewer = pa.array([{"CODE_GENDER": "F"}], type=pa.struct([("CODE_GENDER", pa.string())]))
    assert group_codes(fewer).tolist() == [[0, -1, -1, -1, -1]]  # an attribute the writer did not log
    with pytest.raises(TypeError):
        group_codes(pa.array([1.0]))


def test_a_segment_without_a_groups_column_is_skipped_as_bad_schema(records: list[dict]) -> None:
    names = list(records[0]["features"])
    batch = pa.RecordBatch.from_pylist(records[:3], schema=payload_schema(names))
    parsed = RecordParser(names).parse([batch.drop_columns(["groups"])])
    assert len(parsed) == 0 and dict(parsed.malformed) == {"bad_schema": 3}


def test_decisions_are_counted_per_group_and_feature_vectors_give_none(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    sidecar = Sidecar(settings, bundle)
    before = exported(sidecar.metrics, bundle.stability.fingerprint())
    assert set(before) == {
        (a, g, d) for a, g in LABELS for d in DECISION_LABELS
    }  # every series from the start
    assert set(before.values()) == {0.0}
    SpoolWriter(settings.spool_dir).append(records)
    drain(sidecar.ingestor)
    assert set(exported(sidecar.metrics, bundle.stability.fingerprint()).values()) == {
        0.0
    }  # read, not yet checkpointed
    sidecar.ingestor.checkpoint(force=True)
    after = exported(sidecar.metrics, bundle.stability.fingerprint())
    want = tally(records)
    assert {key: value for key, value in after.items() if value} == want
    for attribute in MONITORED:  # each applicant document once per attribute; the 100 vectors nowhere
        assert sum(v for (a, _, _), v in after.items() if a == attribute.name) == 800
    assert sidecar.ingestor.ingested_total == 900


def test_approval_rates_from_the_counters_equal_fairlearns(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    counter = FairnessCounter("b1")
    ingestor = Ingestor(settings, bundle.feature_names, fairness=counter)
    SpoolWriter(settings.spool_dir).append(records)
    drain(ingestor)
    ingestor.checkpoint(force=True)
    counts = counter.published()
    by_label = {key: row for key, row in zip(LABELS, counts, strict=True)}
    for attribute in MONITORED:
        rates, _, _ = fairlearn_numbers(records, attribute.name)
        ours = {
            group: accepted / (accepted + refused)
            for (name, group), (accepted, refused) in by_label.items()
            if name == attribute.name and accepted + refused
        }
        assert ours.keys() == rates.keys()
        for group, rate in rates.items():
            assert abs(ours[group] - rate) <= 1e-12, (attribute.name, group)
    rates, ratios, parity = fairlearn_numbers(records, "CODE_GENDER")
    assert rates["F"] < rates["M"] and min(ratios.values()) == pytest.approx(parity)


def test_counts_are_published_by_the_checkpoint_that_covers_their_records(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    """Killed before its next checkpoint, a sidecar has published only what that checkpoint covers; the next
    process reads the rest again and counts it: over both, every decision once."""
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:300])
    first = FairnessCounter("b1")
    ingestor = Ingestor(settings, bundle.feature_names, fairness=first)
    drain(ingestor)
    assert first.published().sum() == 0
    ingestor.checkpoint(force=True)
    assert first.published().sum() == 300 * len(MONITORED)
    writer.append(records[300:700])
    drain(ingestor)  # applied in memory, then "killed" before its next checkpoint
    second = FairnessCounter("b1")
    restarted = Ingestor(settings, bundle.feature_names, fairness=second)
    drain(restarted)
    restarted.checkpoint(force=True)
    both = first.published() + second.published()
    want = tally(records[:700])
    got = {
        (attribute, group, decision): int(both[i, j])
        for i, (attribute, group) in enumerate(LABELS)
        for j, decision in enumerate(DECISION_LABELS)
        if both[i, j]
    }
    assert got == want
