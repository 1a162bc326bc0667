"""The load-test gate in ``deploy release``: which command judges the new release, and running it."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Where ``loadtests/`` and its SLO file live."""


class NothingToGateError(ValueError):
    """``release`` was given neither a Bento nor a URL of the new release to load-test."""


def gate_argv(
    bento: str | None,
    url: str | None = None,
    extra: Sequence[str] = (),
    results: Path | None = None,
) -> list[str]:
    """``python -m loadtests.gate`` aimed at the new release: its running ``url`` if given, else ``bento``.

    A Bento is served by the gate itself with ``bentoml serve`` on a free loopback port, with the model it was
    built with (``service/loader.py``). A URL is loaded as given, off the loopback interface too (the
    release names it on purpose, e.g. a staging Service of the new image). ``extra`` is appended as is, so
    any gate option (``--run-time 60``, ``--slo FILE``) can be passed through.
    """
    argv = [sys.executable, "-m", "loadtests.gate"]
    if url:
        argv += ["--url", url, "--allow-remote"]
    elif bento:
        argv += ["--bento", bento]
    else:
        raise NothingToGateError(
            "nothing to load-test: pass --bento TAG (the Bento the image was built from) or --gate-url URL "
            "(the new release, running), or --no-gate to release without the gate"
        )
    if results is not None:
        argv += ["--results", str(results)]
    return [*argv, *extra]


def run_gate(argv: Sequence[str]) -> int:
    """Run the gate from the repository root, its output streamed; returns its exit code (0 = pass)."""
    print("+ " + shlex.join(argv) + "  (release gate)", flush=True)
    return subprocess.run(list(argv), cwd=REPO_ROOT, check=False).returncode
