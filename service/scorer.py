"""The fast scoring path: a LightGBM booster predicting on validated float64 matrices."""

from __future__ import annotations

import numpy as np

from service.bundle import Bundle
from service.lgb import (
    PREDICT_CONTRIB,
    PREDICT_NORMAL,
    PREDICT_RAW_SCORE,
    SingleRowPredictor,
    import_lightgbm,
)


class Scorer:
    """Probabilities of default and decisions from one bundle's booster.

    One-row inputs go through :class:`~service.lgb.SingleRowPredictor` (the same results as
    ``Booster.predict`` without its per-call set-up) unless ``single_row_fast`` is false; larger inputs
    through ``Booster.predict``.
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

    def margins(self, matrix: np.ndarray) -> np.ndarray:
        """Raw log-odds for each row of ``matrix``."""
        if self.single_row is not None and len(matrix) == 1:
            return self.single_row.predict(matrix, PREDICT_RAW_SCORE)
        return self.booster.predict(matrix, raw_score=True, num_threads=self._threads(len(matrix)))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions, shape (n_rows, n_features + 1); the last column is the base value."""
        if self.single_row is not None and len(matrix) == 1:
            return self.single_row.predict(matrix, PREDICT_CONTRIB)
        return self.booster.predict(matrix, pred_contrib=True, num_threads=self._threads(len(matrix)))

    def refuse(self, probabilities: np.ndarray) -> np.ndarray:
        """Boolean mask: which probabilities are at or above the bundle's refusal threshold."""
        return probabilities >= self.threshold
