"""Build the Bento and, where a Docker engine answers, its container image."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Where bentofile.yaml lives."""


def run(command: Sequence[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it; raises ``CalledProcessError`` when it fails."""
    print("+ " + shlex.join(command), flush=True)
    return subprocess.run(list(command), cwd=cwd, check=True, text=True, capture_output=False)


def docker_available() -> bool:
    """Whether a ``docker`` CLI exists and its engine answers (``docker info``)."""
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    return probe.returncode == 0


def build_bento(bentoml: str = "bentoml") -> str:
    """``bentoml build`` from bentofile.yaml; returns the Bento tag it printed (``name:version``)."""
    print(f"+ {bentoml} build", flush=True)
    done = subprocess.run(
        [bentoml, "build", "--output", "tag"], cwd=REPO_ROOT, check=True, text=True, capture_output=True
    )
    tag = done.stdout.strip().splitlines()[-1].removeprefix("__tag__:").strip()
    print(f"built Bento {tag}")
    return tag


def containerize(bento_tag: str, image: str, bentoml: str = "bentoml") -> None:
    """``bentoml containerize`` the Bento as ``image`` (repository:tag)."""
    run([bentoml, "containerize", bento_tag, "--image-tag", image])
