"""Loading a bundle in the background, so that the HTTP server answers 503 (not nothing) until it is ready.

A worker that loads its model inside ``__init__`` does not listen until the load ends, and crashes in a loop
when the model is missing. Here the load runs on a thread: ``/readyz`` and the scoring routes answer 503 with
the reason while it runs, and a missing bundle is retried every ``load_retry_s`` seconds.

Which bundle: the configured tag, except when the service runs from a built Bento. ``bentofile.yaml`` lists
``credit_scorer:latest`` and ``bentoml build`` records the exact version it found; inside the generated image
that is the only model in the store, but ``bentoml serve <bento>`` on a host reads the host's store, where
``latest`` may since have moved on. A release must serve what it ships, so an unversioned or ``latest`` tag
is pinned to the Bento's own version of that model (:func:`settings_for_served_bento`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from service.applicant.definitions import definitions_fingerprint, feature_definition, feature_names
from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from service.applicant.protected import features_reading, protected_list
from service.applicant.reasons import reason_catalogue_for
from service.booster import LoadedModel, Scorer
from service.bundle import Bundle, BundleError, registered_path, resolve_tag
from service.reason_codes import PrincipalReasons, ReasonCatalogue
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)


def pinned_bundle_tag(requested: str, bento_model_tags: Iterable[str]) -> str:
    """``requested``, or the Bento's exact tag of the same model when ``requested`` names no version.

    ``credit_scorer`` and ``credit_scorer:latest`` are pinned; ``credit_scorer:<version>`` is kept as asked,
    so an explicit ``CREDIT_SCORING_BUNDLE_TAG`` always wins.
    """
    name, _, version = requested.partition(":")
    if version not in ("", "latest"):
        return requested
    for tag in bento_model_tags:
        model_name, _, model_version = str(tag).partition(":")
        if model_name == name and model_version:
            return f"{model_name}:{model_version}"
    return requested


def served_bento_model_tags(service: Any) -> list[str]:
    """Exact model tags in the manifest of the Bento ``service`` was loaded from (empty when not a Bento)."""
    bento = getattr(service, "bento", None)
    if bento is None:
        return []
    return [str(model.tag) for model in bento.info.all_models]


def settings_for_served_bento(settings: ServiceSettings, service: Any) -> ServiceSettings:
    """``settings`` with the bundle tag pinned to the model of the Bento ``service`` runs from, if any."""
    bundle_tag = pinned_bundle_tag(settings.bundle_tag, served_bento_model_tags(service))
    return settings.model_copy(update={"bundle_tag": bundle_tag})


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


def refuse_protected_features(bundle: Bundle, tag: str, configured: Iterable[str]) -> None:
    """Raise :class:`BundleError` if a feature of ``bundle`` reads a protected attribute: ``CODE_GENDER``,
    one the bundle lists, or one of ``configured`` (the service's setting)."""
    protected = protected_list(bundle.protected_attributes, configured)
    reading = features_reading(bundle.feature_names, protected)
    if reading:
        named = "; ".join(f"{name} reads {', '.join(columns)}" for name, columns in sorted(reading.items()))
        raise BundleError(
            f"{tag} is not served: features read protected attributes ({named}); retrain it with them "
            "protected (python -m training train --protected ...)"
        )


def refuse_unconstrained_age(bundle: Bundle, tag: str) -> None:
    """Raise :class:`BundleError` if the bundle says it was trained under the ``monotone`` age rule
    (``extra["age"]``, written by training) but its booster does not carry those monotone constraints."""
    age = bundle.extra.get("age") or {}
    wanted = age.get("constraints") or {}
    if age.get("rule") != "monotone" or not wanted:
        return
    found = re.search(r"^\[monotone_constraints: ([-0-9,]*)\]$", bundle.booster_text, re.M)
    signs = [int(v) for v in found.group(1).split(",")] if found and found.group(1) else []
    names = bundle.feature_names
    broken = [
        name
        for name, sign in wanted.items()
        if name not in names or len(signs) != len(names) or signs[names.index(name)] != sign
    ]
    if broken:
        raise BundleError(
            f"{tag} is not served: it was trained under the monotone age rule but its booster lacks the "
            f"constraint on {', '.join(sorted(broken))}"
        )


def principal_reasons_for(bundle: Bundle, protected: Iterable[str]) -> PrincipalReasons:
    """The principal-reason builder of ``bundle``: its own catalogue, or for a bundle trained before reason
    codes existed, one built now from this service's definitions and reviewed catalogue."""
    catalogue = bundle.reasons
    if catalogue is None:
        catalogue = ReasonCatalogue.from_json(reason_catalogue_for(bundle.feature_names, protected))
    defined = set(feature_names())
    never_missing = [
        name for name in bundle.feature_names if name in defined and feature_definition(name).kind != "value"
    ]
    return PrincipalReasons(catalogue, bundle.feature_names, never_missing)


def load_model(settings: ServiceSettings) -> LoadedModel:
    """Read the configured bundle and check that a warm-up prediction gives a probability in [0, 1]."""
    tag = resolve_tag(settings.bundle_tag)
    bundle = Bundle.load(registered_path(tag), with_reference=False)
    refuse_protected_features(bundle, tag, settings.protected_attributes)
    refuse_unconstrained_age(bundle, tag)
    try:
        protected = protected_list(bundle.protected_attributes, settings.protected_attributes)
        reasons = principal_reasons_for(bundle, protected)
    except ValueError as exc:
        raise BundleError(f"{tag}: its reason codes cannot be built: {exc}") from None
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
        tag=tag,
        bundle=bundle,
        scorer=scorer,
        feature_row=feature_row,
        applicant_unavailable=unavailable,
        principal_reasons=reasons,
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
