"""The scoring worker's import path stays free of pandas, scikit-learn and shap."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.service.serving import REPO_ROOT


def test_service_module_imports_no_heavy_libraries() -> None:
    code = (
        "import json, sys\n"
        "import service.service\n"
        "from service.lgb import import_lightgbm\n"
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
        "from service.lgb import import_lightgbm\n"
        "lgb = import_lightgbm()\n"
        "import pandas\n"
        "print(lgb.Booster.__name__, pandas.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["Booster", "pandas"]
