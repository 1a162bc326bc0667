"""``deploy release``'s gate against a real Bento built here, served by the gate with the model it ships."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deploy.build import build_bento
from deploy.gate import gate_argv, run_gate
from tests.deploy.release_fakes import FakeHelm, healthy_cluster, run_release
from tests.loadtests.helpers import write_slo
from tests.service.serving import register_tiny_bundle

pytest.importorskip("kubernetes", reason="the kubernetes client is not installed")
pytestmark = pytest.mark.timeout(300)

SHORT_GATE = ["--no-baseline", "--run-time", "8"]
"""A gate run as short as the load-test suite's, judged on the SLO file only."""


@pytest.fixture(scope="module")
def release_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A model store where a Bento was built with one bundle and a newer bundle was registered afterwards."""
    home = tmp_path_factory.mktemp("bentoml-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENTOML_HOME", str(home))
        patch.setenv("BENTOML_DO_NOT_TRACK", "True")
        shipped = register_tiny_bundle(home, seed=0)
        bento = build_bento(bentoml=str(Path(sys.executable).with_name("bentoml")))
        newer = register_tiny_bundle(home, seed=1)
        yield {"home": str(home), "bento": bento, "shipped": shipped, "newer": newer}


def test_bento_holds_the_service_and_its_model_without_training_code_or_tests(release_home: dict) -> None:
    name, version = release_home["bento"].split(":")
    folder = Path(release_home["home"]) / "bentos" / name / version
    manifest = yaml.safe_load((folder / "bento.yaml").read_text())
    assert [model["tag"] for model in manifest["models"]] == [release_home["shipped"]]
    sources = {path.relative_to(folder / "src").parts[0] for path in (folder / "src").rglob("*.py")}
    assert sources == {"service", "monitoring"}


def _release_with_real_gate(release_home: dict, results: Path, *extra: str):
    helm = FakeHelm()
    argv = gate_argv(release_home["bento"], extra=[*extra, *SHORT_GATE], results=results)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENTOML_HOME", release_home["home"])
        outcome = run_release(healthy_cluster(), helm, gate_argv=argv, run_gate=run_gate)
    return outcome, helm, json.loads((results / "summary.json").read_text())


def test_release_gates_the_built_bento_with_the_model_it_was_built_with(
    release_home: dict, tmp_path: Path
) -> None:
    slo = write_slo(tmp_path / "slo.yaml")
    outcome, helm, summary = _release_with_real_gate(release_home, tmp_path / "run", "--slo", str(slo))
    assert outcome.ok, outcome.messages
    assert "release gate passed" in outcome.messages
    assert summary["passed"] and summary["target"] == f"bento {release_home['bento']}"
    # latest in the store is the newer bundle; the gate served what the Bento ships
    assert summary["model_tag"] == release_home["shipped"] != release_home["newer"]
    assert [name for name, _ in helm.calls] == ["status", "upgrade_install"]


def test_release_whose_gate_fails_deploys_nothing(release_home: dict, tmp_path: Path) -> None:
    slo = write_slo(tmp_path / "slo.yaml")
    outcome, helm, summary = _release_with_real_gate(
        release_home, tmp_path / "run", "--slo", str(slo), "--service-env", "CREDIT_SCORING_MAX_CONCURRENCY=1"
    )
    assert not outcome.ok and helm.calls == []
    assert "release gate failed (exit 1): nothing packaged or deployed" in outcome.messages
    assert "slo Aggregated error_rate" in summary["breaches"]
