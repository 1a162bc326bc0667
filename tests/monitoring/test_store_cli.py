"""``python -m monitoring outcomes load`` and ``python -m monitoring performance``: exit codes, messages that
name row and column, nothing changed by a refused file; the performance job's gauges on a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import free_port
from monitoring import store_schema as schema
from monitoring.__main__ import main
from monitoring.performance import compute
from tests.monitoring.processes import REPO, stop, wait_until
from tests.monitoring.store_data import decision, model, row_count, seed

HEADER = "request_id,applicant_id,defaulted,observed_at\n"


def write(tmp_path: Path, text: str, name: str = "outcomes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_prints_a_summary_and_is_idempotent(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store_url, [decision("r-1", 0.1)])
    path = write(tmp_path, HEADER + "r-1,,1,2026-06-01\nr-2,,0,2026-06-01\n")
    assert main(["outcomes", "load", str(path), "--store-url", store_url]) == 0
    assert main(["outcomes", "load", str(path), "--store-url", store_url]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["stored"], first["unknown_ids"]) == (2, 1)
    assert (second["stored"], second["unchanged"]) == (0, 2)
    assert row_count(store_url, schema.outcomes) == 2


def test_a_bad_file_exits_2_naming_row_and_column_and_loads_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    path = write(tmp_path, HEADER + "r-1,,1,2026-06-01\nr-2,,perhaps,2026-06-01\n")
    assert main(["outcomes", "load", str(path), "--store-url", url]) == 2
    assert "row 2 (line 3), column defaulted: 'perhaps' is not 1/0" in capsys.readouterr().err
    assert row_count(url, schema.outcomes) == 0


def test_a_conflict_exits_2_and_replace_corrects_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert (
        main(["outcomes", "load", str(write(tmp_path, HEADER + "r-1,,1,2026-06-01\n")), "--store-url", url])
        == 0
    )
    fix = write(tmp_path, HEADER + "r-1,,0,2026-06-02\n", "fix.csv")
    assert main(["outcomes", "load", str(fix), "--store-url", url]) == 2
    assert "row 1: request_id 'r-1' already has the stored outcome defaulted=True" in capsys.readouterr().err
    assert main(["outcomes", "load", str(fix), "--store-url", url, "--replace"]) == 0
    assert json.loads(capsys.readouterr().out)["replaced"] == 1


def test_a_store_that_cannot_be_reached_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, HEADER + "r-1,,1,2026-06-01\n")
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    assert main(["outcomes", "load", str(path), "--store-url", url]) == 1
    assert "nothing was loaded" in capsys.readouterr().err


def test_no_store_url_and_a_missing_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDIT_SCORING_MONITOR_DECISION_STORE_URL", raising=False)
    assert main(["outcomes", "load", str(tmp_path / "x.csv")]) == 2
    assert "no decision store" in capsys.readouterr().err
    assert main(["outcomes", "load", str(tmp_path / "x.csv"), "--store-url", "sqlite:///:memory:"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_performance_job_exports_the_computed_figures(tmp_path: Path, store_url: str) -> None:
    month = "2026-04"
    rows = [decision(f"r-{i}", i / 100, band=i % 3) for i in range(1, 21)]
    seed(store_url, rows, [model(holdout_auc=0.8)])
    lines = "".join(f"r-{i},,{int(i % 4 == 0)},2026-09-01\n" for i in range(1, 21))
    assert main(["outcomes", "load", str(write(tmp_path, HEADER + lines)), "--store-url", store_url]) == 0
    (expected,), _ = compute(schema.open_engine(store_url))
    port = free_port()
    with open(tmp_path / "job.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitoring", "performance", "--store-url", store_url, "--port", str(port),
             "--months", "1200"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        samples: dict[str, float] = {}

        def scraped() -> bool:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            samples.clear()
            for line in text.splitlines():
                if line.startswith("credit_scoring_") and (month in line or "holdout" in line):
                    name, value = line.rsplit(" ", 1)
                    samples[name] = float(value)
            return bool(samples)

        wait_until(scraped, 60, "the job's first figures")
        posted = httpx.post(
            f"http://127.0.0.1:{port}/outcomes",
            json=[{"request_id": "r-1", "defaulted": 0, "observed_at": "2026-09-01"}],
        )
    finally:
        stop(process)
    labels = f'{{decision_month="{month}",model_tag="credit_scorer:v1"}}'
    assert posted.status_code == 200 and posted.json()["unchanged"] == 1  # the job takes outcomes too
    assert samples[f"credit_scoring_realized_auc{labels}"] == pytest.approx(expected.auc)
    assert samples[f"credit_scoring_realized_ks{labels}"] == pytest.approx(expected.ks)
    assert samples[f"credit_scoring_realized_brier_score{labels}"] == pytest.approx(expected.brier)
    assert samples[f"credit_scoring_realized_cost_per_1000{labels}"] == pytest.approx(expected.cost_per_1000)
    assert samples[f"credit_scoring_realized_outcomes{labels}"] == 20
    assert samples[f"credit_scoring_realized_defaults{labels}"] == 5
    assert samples[f"credit_scoring_awaiting_outcomes{labels}"] == 0  # every accepted one has its outcome
    assert f"credit_scoring_estimated_auc{labels}" not in samples  # nothing to estimate: not exported
    assert samples['credit_scoring_model_holdout_auc{model_tag="credit_scorer:v1"}'] == 0.8
    band = f'{{band="1",decision_month="{month}",model_tag="credit_scorer:v1"}}'
    assert samples[f"credit_scoring_realized_band_bad_rate{band}"] == pytest.approx(
        expected.bands[1].bad_rate
    )
