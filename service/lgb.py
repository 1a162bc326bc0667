"""Import LightGBM without its optional pandas / scikit-learn / pyarrow integrations.

``import lightgbm`` pulls in pandas and scikit-learn when they are installed (about 3 s and 150 MB per
worker) although the scoring path only needs ``Booster`` on numpy arrays. Hiding those packages while
LightGBM's compatibility module probes for them makes it fall back to its numpy-only code; they are
importable again afterwards for code that really needs them.
"""

from __future__ import annotations

import sys
from types import ModuleType

_OPTIONAL_INTEGRATIONS = (
    "pandas",
    "sklearn",
    "pyarrow",
    "dask",
    "datatable",
    "graphviz",
    "matplotlib",
    "cffi",
)


def import_lightgbm() -> ModuleType:
    """Return the ``lightgbm`` module, importing it without optional integrations if not yet imported."""
    if "lightgbm" in sys.modules:
        return sys.modules["lightgbm"]
    hidden = [name for name in _OPTIONAL_INTEGRATIONS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import lightgbm
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return lightgbm
