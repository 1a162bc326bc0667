"""The scoring worker's import path stays free of pandas, scikit-learn and shap."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.service.serving import REPO_ROOT


def test_service_module_imports_no_heavy_libraries() -> None:
    code = (
        "import json, sys\n"
        "import service.service\n"
        "from service.booster import import_lightgbm\n"
        "import_lightgbm()\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'sklearn', 'shap', 'matplotlib', 'evidently') "
        "if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_lightgbm_still_usable_and_pandas_importable_afterwards() -> None:
    code = (
        "import numpy as np\n"
        "from service.booster import import_lightgbm\n"
        "lgb = import_lightgbm()\n"
        "import pandas\n"
        "print(lgb.Booster.__name__, pandas.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["Booster", "pandas"]


def test_the_bento_pins_every_package_its_code_imports() -> None:
    """Every third-party module that ``service/`` or ``monitoring/`` (what the Bento carries) imports comes
    from a package pinned in ``bentofile.yaml`` (or one BentoML depends on), at the version tested here.
    """
    import ast
    from importlib import metadata

    import yaml

    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    pinned = dict(line.split("==") for line in bentofile["python"]["packages"])
    bentoml_requires = {
        req.split(";")[0]
        .split("[")[0]
        .split("<")[0]
        .split(">")[0]
        .split("=")[0]
        .split("!")[0]
        .strip()
        .lower()
        for req in metadata.requires("bentoml") or []
        if "extra ==" not in req
    }
    distributions = metadata.packages_distributions()
    local = {"service", "monitoring"}
    imported: set[str] = set()
    for folder in ("service", "monitoring"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = {name for name in imported - local if name not in sys.stdlib_module_names}

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = {canonical(p): v for p, v in pinned.items()}
    allowed = set(pins) | {canonical(r) for r in bentoml_requires}
    for module in sorted(third_party):
        packages = {canonical(d) for d in distributions.get(module, [module])}
        assert packages & allowed, f"{module} is not pinned in bentofile.yaml"
        for package in packages & set(pins):
            assert metadata.version(package) == pins[package], (
                f"{package}: installed != bentofile {pins[package]}"
            )


def test_writing_payload_records_imports_no_pandas(tmp_path) -> None:
    """``pa.array`` would import pandas on first use; the worker's writer builds arrays from buffers."""
    code = (
        "import sys, numpy as np\n"
        "from service.payload_log import PayloadLogWriter\n"
        f"w = PayloadLogWriter({str(tmp_path)!r}, ['a'], max_bytes=10**6, segment_max_bytes=10**6, "
        "segment_max_age_s=60, queue_size=10)\n"
        "w.submit(['r-0'], [None], 'm:1', ['features'], np.zeros((1, 1)), np.array([.5]), np.array([True]))\n"
        "w.close()\n"
        "print('pandas' in sys.modules, len(list(__import__('pathlib').Path(sys.argv[1]).iterdir())))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.split() == ["False", "1"]


def test_the_bento_carries_every_data_file_the_service_reads() -> None:
    """Files of ``service/`` that are not Python (the reviewed reason catalogue) are matched by the
    Bento's ``include`` patterns, so a containerised service finds them."""
    import yaml

    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    included = {path for pattern in bentofile["include"] for path in REPO_ROOT.glob(pattern)}
    data_files = [
        path
        for path in (REPO_ROOT / "service").rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data_files, "expected at least the reason catalogue"
    assert [p for p in data_files if p not in included] == []
