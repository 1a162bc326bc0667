"""Predicting with a bundle's LightGBM booster: probabilities of default and TreeSHAP contributions.

:class:`Scorer` is what the scoring routes and the explainer call; :class:`LoadedModel` is a bundle as served
(its exact tag, its warmed-up scorer and its applicant evaluator), which ``service/loader.py`` builds.

``import lightgbm`` pulls in pandas and scikit-learn when they are installed (about 3 s and 150 MB per
worker) although the scoring path only needs ``Booster`` on numpy arrays. Hiding those packages while
LightGBM's compatibility module probes for them makes it fall back to its numpy-only code; they are
importable again afterwards for code that really needs them.

:class:`SingleRowPredictor` predicts one row through LightGBM's C API single-row *fast* functions, without
the per-call set-up of ``Booster.predict`` (see BENCHMARKS.md, "Service"). LightGBM's Python package has
no public wrapper for those functions, so this module is the one place that uses its private ``basic._LIB``
(the loaded C library) and ``basic._safe_call`` (its error check), as they are in LightGBM 4.3-4.7;
``tests/service/test_booster.py`` fails with a clear message if an upgrade removes them.
"""

from __future__ import annotations

import ctypes
import sys
import weakref
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from service.applicant.evaluate import FeatureRow
from service.bundle import Bundle
from service.reason_codes import PrincipalReasons

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


PREDICT_NORMAL = 0
"""LightGBM's ``C_API_PREDICT_NORMAL``: probabilities (the objective's transform applied)."""
PREDICT_CONTRIB = 3
"""LightGBM's ``C_API_PREDICT_CONTRIB``: TreeSHAP contributions, base value last."""

_DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRowPredictor:
    """One-row predictions of a binary booster through ``LGBM_BoosterPredictForMatSingleRowFast``.

    ``Booster.predict`` prepares everything again on every call: a Python ``_InnerPredictor``, ctypes
    conversions of the input and a C++ ``Predictor`` with its parameter parsing; for one row that costs
    several times the trees' own work. LightGBM's *fast* single-row API prepares a predictor once (its
    ``FastConfig``) and then only walks the trees. One ``FastConfig`` per predict type is created here, once
    per booster, with the parameters ``Booster.predict(num_threads=1)`` would pass and the iterations it would
    use; output buffers are allocated per call.

    Thread safety (``SingleRowPredictor`` in LightGBM's ``c_api.cpp``; exercised with the installed 4.7 by
    ``tests/service/test_single_row.py``): a prediction holds the ``FastConfig``'s own mutex and a shared
    lock on the booster, so concurrent calls from several threads are correct (serialised; LightGBM suggests
    one ``FastConfig`` per thread only to avoid that contention, which the service does not have: one-row
    predictions run on the event loop of a worker or of the explainer). The ctypes call releases
    the GIL like ``Booster.predict`` does. Every predictor of one booster must use the same iteration range
    (here: what ``Booster.predict`` uses by default), since LightGBM keeps that range in the booster.
    The ``FastConfig`` handles are freed when this object is garbage collected; the booster is kept alive
    until then.
    """

    def __init__(
        self,
        booster: object,
        predict_types: tuple[int, ...] = (PREDICT_NORMAL, PREDICT_CONTRIB),
    ) -> None:
        basic = import_lightgbm().basic
        if booster.num_model_per_iteration() != 1:  # type: ignore[attr-defined]
            raise ValueError("the single-row fast path supports binary and regression boosters only")
        self._lib = basic._LIB  # private: see the module docstring
        self._safe_call = basic._safe_call  # private: see the module docstring
        self._predict_fast = self._lib.LGBM_BoosterPredictForMatSingleRowFast
        self.n_features: int = booster.num_feature()  # type: ignore[attr-defined]
        booster_handle = booster._handle  # type: ignore[attr-defined]
        num_iteration = booster.best_iteration  # type: ignore[attr-defined]  # Booster.predict's default
        self._configs: dict[int, tuple[object, int]] = {}
        handles: list[object] = []
        self._finalizer = weakref.finalize(self, _free_fast_configs, self._lib, handles, booster)
        for predict_type in predict_types:
            handle = ctypes.c_void_p()
            self._safe_call(
                self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                    booster_handle,
                    ctypes.c_int(predict_type),
                    ctypes.c_int(0),
                    ctypes.c_int(num_iteration),
                    ctypes.c_int(_DTYPE_FLOAT64),
                    ctypes.c_int32(self.n_features),
                    ctypes.c_char_p(b"num_threads=1"),
                    ctypes.byref(handle),
                )
            )
            handles.append(handle)
            n_out = ctypes.c_int64()
            self._safe_call(
                self._lib.LGBM_BoosterCalcNumPredict(
                    booster_handle,
                    ctypes.c_int(1),
                    ctypes.c_int(predict_type),
                    ctypes.c_int(0),
                    ctypes.c_int(num_iteration),
                    ctypes.byref(n_out),
                )
            )
            self._configs[predict_type] = (handle, n_out.value)

    def predict(self, matrix: np.ndarray, predict_type: int = PREDICT_NORMAL) -> np.ndarray:
        """Predict the single row of ``matrix`` (shape ``(1, n_features)``), shaped as ``Booster.predict``.

        ``(1,)`` for probabilities and raw scores, ``(1, n_features + 1)`` for contributions.
        """
        if matrix.shape != (1, self.n_features):
            raise ValueError(f"expected one row of {self.n_features} features, got shape {matrix.shape}")
        handle, n_out = self._configs[predict_type]
        row = np.ascontiguousarray(matrix[0], dtype=np.float64)
        out = np.empty(n_out, dtype=np.float64)
        out_len = ctypes.c_int64()
        self._safe_call(
            self._predict_fast(
                handle,
                ctypes.c_void_p(row.ctypes.data),
                ctypes.byref(out_len),
                ctypes.c_void_p(out.ctypes.data),
            )
        )
        if out_len.value != n_out:
            raise RuntimeError(f"LightGBM wrote {out_len.value} values, expected {n_out}")
        return out.reshape(1, n_out) if predict_type == PREDICT_CONTRIB else out


def _free_fast_configs(lib: object, handles: list[object], booster: object) -> None:
    """Free LightGBM ``FastConfig`` handles (``booster`` is an argument only to outlive them)."""
    for handle in handles:
        lib.LGBM_FastConfigFree(handle)  # type: ignore[attr-defined]
    handles.clear()


class Scorer:
    """Probabilities of default and TreeSHAP contributions from one bundle's booster.

    One-row inputs go through :class:`SingleRowPredictor` (the same results as ``Booster.predict`` without
    its per-call set-up) unless ``single_row_fast`` is false; larger inputs through ``Booster.predict``.
    """

    def __init__(
        self,
        bundle: Bundle,
        model_tag: str,
        *,
        multithread_min_rows: int = 2000,
        single_row_fast: bool = True,
    ) -> None:
        lightgbm = import_lightgbm()
        self.booster = lightgbm.Booster(model_str=bundle.booster_text)
        self.threshold = float(bundle.threshold)
        """Probabilities at or above it are refused."""
        self.model_tag = model_tag
        self.n_features = len(bundle.features)
        self.multithread_min_rows = multithread_min_rows
        if self.booster.num_feature() != self.n_features:
            raise ValueError(
                f"booster expects {self.booster.num_feature()} features, the spec lists {self.n_features}"
            )
        self.single_row: SingleRowPredictor | None = None
        if single_row_fast and self.booster.num_model_per_iteration() == 1:
            self.single_row = SingleRowPredictor(self.booster)

    def _threads(self, n_rows: int) -> int:
        # OpenMP start-up dominates small inputs; 0 = LightGBM's default (all cores).
        return 1 if n_rows < self.multithread_min_rows else 0

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Probability of default for each row of ``matrix`` (n_rows, n_features)."""
        if self.single_row is not None and len(matrix) == 1:
            return self.single_row.predict(matrix, PREDICT_NORMAL)
        return self.booster.predict(matrix, num_threads=self._threads(len(matrix)))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions, shape (n_rows, n_features + 1); the last column is the base value."""
        if self.single_row is not None and len(matrix) == 1:
            return self.single_row.predict(matrix, PREDICT_CONTRIB)
        return self.booster.predict(matrix, pred_contrib=True, num_threads=self._threads(len(matrix)))


@dataclass(frozen=True)
class LoadedModel:
    """A bundle read from the model store, with its exact tag and a warmed-up scorer."""

    tag: str
    """Exact ``name:version`` of the bundle."""
    bundle: Bundle
    """The bundle (without its reference sample, which needs pandas)."""
    scorer: Scorer
    """The booster, already used once for a warm-up prediction."""
    feature_row: FeatureRow | None = None
    """Computes the model's features from an applicant document; ``None`` when this service cannot."""
    applicant_unavailable: str | None = None
    """Why applicant documents cannot be scored with this bundle (``None`` when they can)."""
    principal_reasons: PrincipalReasons | None = None
    """Groups contributions into the bundle's reason codes for refusals; ``None`` when not built."""
