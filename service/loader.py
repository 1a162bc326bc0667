"""Loading a bundle in the background, so that the HTTP server answers 503 (not nothing) until it is ready.

A worker that loads its model inside ``__init__`` does not listen until the load ends, and crashes in a loop
when the model is missing. Here the load runs on a thread: ``/readyz`` and the scoring routes answer 503 with
the reason while it runs, and a missing bundle is retried every ``load_retry_s`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.applicant.definitions import definitions_fingerprint, feature_names
from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from service.bundle import Bundle, BundleError, registered_path, resolve_tag
from service.scorer import Scorer
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)


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


def applicant_support(bundle: Bundle) -> tuple[FeatureRow | None, str | None]:
    """The bundle's features as computed from an applicant document, or ``None`` and the reason why not.

    The service computes them only when it defines every feature of the bundle, and defines them as the
    training that produced the bundle did (the fingerprint recorded in the bundle): otherwise a score would
    silently differ from the model's validated behaviour (training/serving skew).
    """
    defined = set(feature_names())
    undefined = [name for name in bundle.feature_names if name not in defined]
    if undefined:
        listed = ", ".join(undefined[:3]) + (", ..." if len(undefined) > 3 else "")
        return None, (
            f"the model's features {listed} are not defined by this service's feature definitions; "
            "send the 'features' form"
        )
    if not bundle.feature_definitions:
        return None, (
            "the bundle does not record how its features were computed (trained before applicant scoring); "
            "retrain it, or send the 'features' form"
        )
    here = definitions_fingerprint(bundle.feature_names)
    if here != bundle.feature_definitions:
        return None, (
            "this service computes the model's features differently than the training that produced it "
            f"(bundle {bundle.feature_definitions}, service {here}); serve it with the release it was "
            "trained with, or retrain"
        )
    return FeatureRow(bundle.feature_names), None


def warm_up_row(bundle: Bundle) -> np.ndarray:
    """A plausible single-row input: each feature's training median, else a valid value, else missing."""
    row = np.full((1, len(bundle.features)), np.nan)
    for i, spec in enumerate(bundle.features):
        median = spec.quantiles.get("0.5")
        if median is not None:
            row[0, i] = median
        elif not spec.missing_allowed:
            row[0, i] = spec.valid_min if spec.valid_min is not None else (spec.observed_min or 0.0)
    return row


def load_model(settings: ServiceSettings) -> LoadedModel:
    """Read the configured bundle and check that a warm-up prediction gives a probability in [0, 1]."""
    tag = resolve_tag(settings.bundle_tag)
    bundle = Bundle.load(registered_path(tag), with_reference=False)
    scorer = Scorer(bundle, tag, multithread_min_rows=settings.multithread_min_rows)
    probability = scorer.probabilities(warm_up_row(bundle))
    scorer.contributions(warm_up_row(bundle))
    if probability.shape != (1,) or not 0.0 <= float(probability[0]) <= 1.0:
        raise BundleError(f"warm-up prediction of {tag} is not a probability")
    feature_row, unavailable = applicant_support(bundle)
    if feature_row is not None:  # warm the applicant path too: an applicant without any known value
        row = np.array([feature_row.values(applicant_type()())], dtype=np.float64)
        if not 0.0 <= float(scorer.probabilities(row)[0]) <= 1.0:
            raise BundleError(f"warm-up prediction of {tag} from an applicant is not a probability")
    else:
        logger.warning("applicant documents cannot be scored with %s: %s", tag, unavailable)
    return LoadedModel(
        tag=tag, bundle=bundle, scorer=scorer, feature_row=feature_row, applicant_unavailable=unavailable
    )


class BackgroundLoader:
    """Runs :func:`load_model` on a daemon thread until it succeeds or :meth:`stop` is called."""

    def __init__(
        self,
        settings: ServiceSettings,
        on_loaded: Callable[[LoadedModel], None],
        *,
        name: str = "bundle-loader",
    ) -> None:
        self.settings = settings
        self.on_loaded = on_loaded
        self.error: str | None = "loading"
        """Why the model is not loaded yet (``None`` once loaded)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start loading."""
        self._thread.start()

    def stop(self) -> None:
        """Stop retrying."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                model = load_model(self.settings)
                self.on_loaded(model)
            except BundleError as exc:
                self.error = str(exc)
                logger.warning("bundle not loaded (%s); retrying in %.0f s", exc, self.settings.load_retry_s)
            except Exception as exc:  # any failure keeps the service unready, with the reason logged
                self.error = f"{type(exc).__name__}: {exc}"
                logger.exception("loading bundle %s failed", self.settings.bundle_tag)
            else:
                self.error = None
                logger.info("bundle %s ready in %.2f s", model.tag, time.perf_counter() - started)
                return
            self._stop.wait(self.settings.load_retry_s)
