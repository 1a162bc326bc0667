"""Realized performance: the figures equal scikit-learn's and SciPy's on the same pairs, per model and month,
read from SQLite and a real PostgreSQL; the join follows its documented rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from monitoring import store_schema as schema
from monitoring.label_free import expected_auc
from monitoring.outcome_store import load_outcomes
from monitoring.outcomes import read_csv
from monitoring.performance import (
    accepted_holdout_auc,
    brier_score,
    compute,
    join_outcomes,
    ks_statistic,
    read_store,
    roc_auc,
)
from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle, CostWeights
from tests.monitoring.store_data import decision, model, seed
from training.cost import cost_per_1000

MONTHS = {"2026-03": datetime(2026, 3, 1), "2026-04": datetime(2026, 4, 1)}
TAGS = ("credit_scorer:v1", "credit_scorer:v2")


@pytest.mark.parametrize("ties", [False, True])
def test_the_metrics_equal_scikit_learn_and_scipy(ties: bool) -> None:
    rng = np.random.default_rng(7)
    p = rng.beta(2, 8, size=3_000)
    if ties:
        p = np.round(p, 2)  # many equal scores: ties count one half
    y = rng.random(3_000) < p
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ks_statistic(y, p) == pytest.approx(ks_2samp(p[y], p[~y]).statistic, abs=1e-12)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_auc_and_ks_need_both_classes() -> None:
    assert np.isnan(roc_auc(np.zeros(5, bool), np.linspace(0, 1, 5)))
    assert np.isnan(ks_statistic(np.ones(5, bool), np.linspace(0, 1, 5)))


def test_per_model_and_month_figures_equal_scikit_learn_on_the_joined_pairs(store_url: str) -> None:
    rng = np.random.default_rng(11)
    decisions, lines, pairs, awaiting = [], [], {}, {}
    for tag in TAGS:
        for month, start in MONTHS.items():
            for i in range(400):
                p = float(rng.beta(2, 8))
                refused = p >= 0.3
                request_id = f"{tag}-{month}-{i}"
                scored_at = start + timedelta(hours=i)
                band = min(int(p * 10), 9)
                decisions.append(
                    decision(request_id, p, refused=refused, scored_at=scored_at, band=band, model_tag=tag)
                )
                if refused:  # no loan, no outcome
                    continue
                if i % 4 == 0:  # a quarter of the loans not matured yet
                    awaiting.setdefault((tag, month), []).append(p)
                    continue
                defaulted = bool(rng.random() < p)
                lines.append(f"{request_id},,{int(defaulted)},2026-09-01")
                pairs.setdefault((tag, month), []).append((p, defaulted, band))
    seed(store_url, decisions, [model(TAGS[0], 0.78), model(TAGS[1], None)])
    engine = schema.open_engine(store_url)
    load_outcomes(
        engine, read_csv(("request_id,applicant_id,defaulted,observed_at\n" + "\n".join(lines)).encode())
    )
    months, counts = compute(engine)
    assert [(m.model_tag, m.decision_month) for m in months] == [(t, m) for t in TAGS for m in MONTHS]
    assert (counts.on_refused, counts.before_decision, counts.unmatched) == (0, 0, 0)
    for m in months:
        p, y, bands = (np.array(v) for v in zip(*pairs[(m.model_tag, m.decision_month)], strict=True))
        y = y.astype(bool)
        assert (m.outcomes, m.defaults) == (len(y), int(y.sum()))
        assert m.accepted + m.refused == 400 and m.accepted == m.outcomes + m.awaiting
        pending = np.array(awaiting[(m.model_tag, m.decision_month)])
        assert m.awaiting == len(pending)
        assert m.estimated_auc == pytest.approx(expected_auc(pending), abs=1e-12)
        assert m.auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert m.gini == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)
        assert m.ks == pytest.approx(ks_2samp(p[y], p[~y]).statistic, abs=1e-12)
        assert m.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
        served = cost_per_1000(y.astype(int), np.zeros(len(y), bool), CostWeights())
        assert m.cost_per_1000 == pytest.approx(served, abs=1e-9)
        assert [b.band for b in m.bands] == sorted(set(bands.tolist()))
        for b in m.bands:
            in_band = bands == b.band
            assert (b.outcomes, b.defaults) == (int(in_band.sum()), int(y[in_band].sum()))
            assert b.bad_rate == pytest.approx(y[in_band].mean())
            assert b.mean_probability == pytest.approx(p[in_band].mean())
    assert months[0].holdout_auc == 0.78 and np.isnan(months[2].holdout_auc)


def test_the_join_rules(store_url: str) -> None:
    day = datetime(2026, 4, 10)
    seed(
        store_url,
        [
            decision("r-ok", 0.10, scored_at=day),
            decision("r-refused", 0.50, refused=True, scored_at=day),
            decision("r-late", 0.20, scored_at=day + timedelta(days=30)),
            # applicant a-1 applied twice: the outcome belongs to the latest accepted decision before it
            decision("r-a1-first", 0.05, caller_id="a-1", scored_at=day),
            decision("r-a1-second", 0.15, caller_id="a-1", scored_at=day + timedelta(days=10)),
            decision("r-a1-refused", 0.60, caller_id="a-1", refused=True, scored_at=day + timedelta(days=12)),
            decision("r-a1-after", 0.25, caller_id="a-1", scored_at=day + timedelta(days=40)),
            # named both by request id and by applicant id: the request id's outcome wins
            decision("r-both", 0.12, caller_id="a-2", scored_at=day),
            decision("r-a3", 0.40, caller_id="a-3", refused=True, scored_at=day),
        ],
        [model()],
    )
    data = (
        "request_id,applicant_id,defaulted,observed_at\n"
        "r-ok,,1,2026-04-20\n"
        "r-refused,,1,2026-04-20\n"  # refused: left out
        "r-late,,0,2026-04-20\n"  # observed before its decision: left out
        ",a-1,1,2026-04-30\n"  # -> r-a1-second
        "r-both,,0,2026-04-20\n"
        ",a-2,1,2026-04-25\n"  # shadowed by r-both's own outcome
        ",a-3,1,2026-04-25\n"  # a-3 was only refused: left out
        "r-404,,1,2026-04-20\n"
        ",a-404,1,2026-04-20\n"
    )
    load_outcomes(schema.open_engine(store_url), read_csv(data.encode()))
    decisions, outcomes, _ = read_store(schema.open_engine(store_url))
    joined, counts = join_outcomes(decisions, outcomes)
    assert dict(zip(joined["request_id"], joined["defaulted"], strict=True)) == {
        "r-ok": True,
        "r-a1-second": True,
        "r-both": False,
    }
    assert (counts.on_refused, counts.before_decision, counts.unmatched) == (2, 1, 2)


def test_an_outcome_stored_before_its_decision_joins_once_the_decision_is(store_url: str) -> None:
    engine = schema.open_engine(store_url)
    load_outcomes(engine, read_csv(b"request_id,defaulted,observed_at\nr-1,1,2026-06-01\nr-2,0,2026-06-01\n"))
    schema.ensure_schema(engine)
    months, counts = compute(engine)
    assert months == [] and counts.unmatched == 2
    seed(store_url, [decision("r-1", 0.2), decision("r-2", 0.1)], [model()])
    (month,) = compute(engine)[0]
    assert (month.outcomes, month.defaults, month.auc) == (2, 1, 1.0)


def test_the_accepted_applicants_holdout_auc_comes_from_training_else_from_the_reference_sample(
    bundle: Bundle,
) -> None:
    """The baseline of the realized AUC: training's figure when the bundle records it; else the reference
    sample's accepted rows (probability under the threshold) with their outcomes; else none."""
    assert bundle.reference is not None
    probability = bundle.reference[PROBABILITY_COLUMN].to_numpy()
    defaulted = np.random.default_rng(3).random(len(probability)) < probability
    reference = bundle.reference.assign(**{TARGET_COLUMN: defaulted.astype(int)})
    bundle = replace(bundle, reference=reference)
    accepted = reference[reference[PROBABILITY_COLUMN] < bundle.threshold]
    assert 0 < len(accepted) < len(reference)
    expected = roc_auc_score(accepted[TARGET_COLUMN], accepted[PROBABILITY_COLUMN])
    without = replace(
        bundle, metrics={k: v for k, v in bundle.metrics.items() if k != "holdout_auc_accepted"}
    )
    assert accepted_holdout_auc(without) == pytest.approx(expected, abs=1e-12)
    assert (
        accepted_holdout_auc(replace(bundle, metrics={**bundle.metrics, "holdout_auc_accepted": 0.61}))
        == 0.61
    )
    assert accepted_holdout_auc(replace(without, reference=reference.drop(columns=[TARGET_COLUMN]))) is None
    assert accepted_holdout_auc(replace(without, reference=None)) is None
