"""The README's calls work as printed: its applicant file is a valid request, and against the model the
README's main command trains, every ``curl`` line of "Calling the service" answers 200 and the example
applicant is refused with its principal reasons, as the README shows (slow: it trains that
model, about three minutes on 2 cores; ``make test-slow``)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import BentoServer, serving_bundle
from service.applicant.definitions import feature_names
from service.applicant.evaluate import FeatureRow
from service.bundle import FeatureSpec
from service.request_schema import FORM_APPLICANT, RequestSchema

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "docs" / "examples" / "applicant.json"


def readme_curl_lines() -> list[str]:
    """The ``curl`` commands of the README's "Calling the service" section, continuation lines joined."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## Calling the service", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.strip().startswith("curl ")]
    return commands


def test_the_readme_scores_the_example_file_and_the_file_is_a_valid_applicant() -> None:
    lines = readme_curl_lines()
    assert any("@docs/examples/applicant.json" in line and "/score" in line for line in lines)
    names = feature_names()
    schema = RequestSchema(
        [FeatureSpec(n, "float") for n in names],
        max_batch_size=1,
        explain_max_k=3,
        feature_row=FeatureRow(names),
    )
    parsed = schema.parse(EXAMPLE.read_bytes())
    assert parsed.forms == [FORM_APPLICANT] and parsed.explain_k == 3 and parsed.unknown_labels == []
    document = json.loads(EXAMPLE.read_text())["applicant"]
    assert (
        1 <= len(document["bureau"]) <= 5 and len(document["installments_payments"]) <= 10
    )  # a short history


def _run_curl(line: str, url: str) -> tuple[int, str]:
    """Run one README curl line against ``url`` (instead of localhost:3000) from the repository root."""
    args = shlex.split(line.replace("localhost:3000", url.removeprefix("http://")), comments=True)
    args[1:1] = ["-w", "\n%{http_code}"]
    done = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


@pytest.fixture(scope="module")
def default_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BentoServer]:
    """The model the README's main command trains (its defaults), registered in a fresh home and served."""
    home = tmp_path_factory.mktemp("bentoml_home")
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"}
    artifacts = tmp_path_factory.mktemp("artifacts")
    subprocess.run(
        [sys.executable, "-m", "training", "run", "--quiet", "--artifacts", str(artifacts)],
        cwd=REPO_ROOT, env=env, check=True, timeout=1800, capture_output=True,
    )  # fmt: skip
    env = {"CREDIT_SCORING_SPOOL_DIR": str(tmp_path_factory.mktemp("spool"))}
    with serving_bundle(home, env=env, log_path=artifacts / "serve.log", ready_timeout_s=180) as served:
        yield served


@pytest.mark.slow
def test_every_readme_call_works_against_the_default_model(default_model: BentoServer) -> None:
    lines = readme_curl_lines()
    assert len(lines) >= 4
    for line in lines:
        status, body = _run_curl(line, default_model.url)
        assert status == 200, (line, body[:300])
    status, body = _run_curl(next(line for line in lines if "applicant.json" in line), default_model.url)
    answer = json.loads(body)
    assert answer["id"] == "A-17" and 0.0 <= answer["probability"] <= 1.0 and len(answer["reasons"]) == 3
    # the README shows this applicant refused, with its principal reasons in plain words
    assert answer["decision"] == "refuse", answer["probability"]
    assert 1 <= len(answer["principal_reasons"]) <= 4
    assert all(r["code"].startswith("R") and r["reason"] for r in answer["principal_reasons"])
    with httpx.Client(base_url=default_model.url) as client:
        assert client.get("/spec").json()["applicant"]["available"] is True
