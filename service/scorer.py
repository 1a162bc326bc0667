"""The fast scoring path: a LightGBM booster predicting on validated float64 matrices."""

from __future__ import annotations

import numpy as np

from service.bundle import Bundle
from service.lgb import import_lightgbm


class Scorer:
    """Probabilities of default and decisions from one bundle's booster."""

    def __init__(self, bundle: Bundle, model_tag: str, *, multithread_min_rows: int = 2000) -> None:
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

    def _threads(self, n_rows: int) -> int:
        # OpenMP start-up dominates small inputs; 0 = LightGBM's default (all cores).
        return 1 if n_rows < self.multithread_min_rows else 0

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Probability of default for each row of ``matrix`` (n_rows, n_features)."""
        return self.booster.predict(matrix, num_threads=self._threads(len(matrix)))

    def margins(self, matrix: np.ndarray) -> np.ndarray:
        """Raw log-odds for each row of ``matrix``."""
        return self.booster.predict(matrix, raw_score=True, num_threads=self._threads(len(matrix)))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions, shape (n_rows, n_features + 1); the last column is the base value."""
        return self.booster.predict(matrix, pred_contrib=True, num_threads=self._threads(len(matrix)))

    def refuse(self, probabilities: np.ndarray) -> np.ndarray:
        """Boolean mask: which probabilities are at or above the bundle's refusal threshold."""
        return probabilities >= self.threshold
