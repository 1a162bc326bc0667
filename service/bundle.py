"""The model bundle: the one definition of what a registered credit scorer contains.

Training writes a bundle, the scoring service and the drift sidecar read it; nothing else passes between
them. A bundle is a directory (stored as a BentoML model ``credit_scorer:<version>`` once registered):

``bundle.json``
    format version, feature spec, threshold, cost weights, metrics, training-data fingerprint, library
    versions, creation time, and (``stability``, optional) the frozen bins of every feature and the score
    bands with their development shares (``service/stability_bins.py``); bundles written before the bins
    existed have none and load as before; and (``reasons``, optional) the reason catalogue of the model's
    features (``service/reason_codes.py``).
``model.txt``
    the LightGBM booster in its text format.
``reference.parquet``
    the reference sample for drift: holdout feature rows plus their predicted ``probability`` (and
    ``TARGET`` when known).
``applicants.jsonl.gz``
    example applicant documents (the request form of ``POST /score``) of holdout applicants, for load tests,
    smoke tests and documentation; optional.
``model_card.md`` and ``assets/``
    the human-readable model card and the plots and tables it links to.

Heavy libraries stay out of this module's import path: pandas is imported only to read or write the
reference sample and BentoML only to register or look up a bundle.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from service.reason_codes import ReasonCatalogue
from service.stability_bins import StabilityBins, UnsupportedBinsError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BUNDLE_MODEL_NAME = "credit_scorer"
"""Name of the BentoML model under which bundles are registered."""

BUNDLE_FORMAT_VERSION = 1
"""Version of the on-disk layout; readers refuse bundles written with a newer version."""

PROBABILITY_COLUMN = "probability"
"""Column of the reference sample holding the model's predicted probability of default."""

TARGET_COLUMN = "TARGET"
"""Column of the reference sample holding the observed outcome (1 = default), when known."""

FeatureDType = Literal["float", "int", "bool"]

_META_FILE = "bundle.json"
_MODEL_FILE = "model.txt"
_REFERENCE_FILE = "reference.parquet"
_APPLICANTS_FILE = "applicants.jsonl.gz"
_CARD_FILE = "model_card.md"
_ASSETS_DIR = "assets"


class BundleError(Exception):
    """A bundle is missing, incomplete or written in an unsupported format."""


@dataclass(frozen=True)
class FeatureSpec:
    """What the model expects for one input feature, in the order the booster uses."""

    name: str
    """Feature name, as callers send it and as the booster knows it."""
    dtype: FeatureDType
    """``float`` for continuous values, ``int`` for counts and codes, ``bool`` for 0/1 flags."""
    description: str = ""
    """One sentence on what the feature measures and which table it comes from."""
    valid_min: float | None = None
    """Smallest value that can exist in reality (e.g. 0 for an amount); below it a request is rejected."""
    valid_max: float | None = None
    """Largest value that can exist in reality (e.g. 1 for a share); above it a request is rejected."""
    observed_min: float | None = None
    """Smallest value seen in the training data."""
    observed_max: float | None = None
    """Largest value seen in the training data."""
    quantiles: dict[str, float] = field(default_factory=dict)
    """Training quantiles keyed by level as text (``"0.01"``, ``"0.5"``, ...)."""
    missing_allowed: bool = True
    """Whether null or absent is an acceptable value (LightGBM handles missing values natively)."""
    missing_share: float = 0.0
    """Share of training rows where the feature was missing."""
    categories: list[str] | None = None
    """Allowed labels for a categorical feature; ``None`` for numeric features."""


@dataclass(frozen=True)
class CostWeights:
    """Business cost of each decision outcome, per applicant (the original project's weights by default).

    Positive class = default. A refused applicant is a predicted positive.
    """

    false_negative: float = 20.0
    """Cost of accepting an applicant who then defaults."""
    false_positive: float = 2.0
    """Cost of refusing an applicant who would have repaid."""
    true_positive: float = 1.0
    """Cost of correctly refusing a defaulter."""
    true_negative: float = 1.0
    """Cost of correctly accepting a good client."""


@dataclass
class Bundle:
    """Everything needed to serve and monitor one trained credit scorer."""

    booster_text: str
    """LightGBM model in its text format (``Booster.model_to_string()``)."""
    features: list[FeatureSpec]
    """Input features in the booster's column order."""
    threshold: float
    """Probability of default at or above which an application is refused."""
    cost: CostWeights
    """Cost weights the threshold was tuned for."""
    metrics: dict[str, Any]
    """Evaluation results (CV AUC mean and spread, holdout AUC, Brier score, cost, confusion matrix, ...)."""
    training_fingerprint: str
    """Hash of the training data, so a model can be traced to the exact rows it learnt from."""
    library_versions: dict[str, str] = field(default_factory=dict)
    """Versions of the libraries that trained the model (lightgbm, scikit-learn, pandas, ...)."""
    model_card: str = ""
    """Markdown model card; links point into ``assets/``."""
    assets: dict[str, bytes] = field(default_factory=dict)
    """Extra files (plots, tables) by relative path under ``assets/``."""
    reference: pd.DataFrame | None = None
    """Reference sample for drift (feature columns, ``probability``, optionally ``TARGET``)."""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    """UTC creation time, ISO 8601."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form metadata that later versions may promote to fields (data source, seeds, ...)."""
    feature_definitions: str = ""
    """Fingerprint of how the features are computed from an applicant
    (``service.applicant.definitions.definitions_fingerprint``); empty when unknown. The service scores
    applicant documents only when its own definitions give the same fingerprint."""
    example_applicants: list[dict[str, Any]] | None = None
    """Applicant documents of holdout applicants (the ``applicant`` form of ``POST /score``), or ``None``."""
    stability: StabilityBins | None = None
    """Frozen bins of every feature and score bands with their development shares (the PSI baseline), or
    ``None`` for a bundle trained before they existed (or holding them in a layout this code cannot read)."""
    protected_attributes: list[str] = field(default_factory=list)
    """Application columns training kept out of the model's features (``service.applicant.protected``);
    empty in bundles written before the list was recorded. The service refuses a bundle whose features read
    one of them, or ``CODE_GENDER``, or one of its own configured list."""
    reasons: ReasonCatalogue | None = None
    """Every feature under a reason code with plain-language statements, as training built it
    (``service.applicant.reasons``); ``None`` in bundles written before reason codes existed."""

    @property
    def feature_names(self) -> list[str]:
        """Feature names in booster column order."""
        return [f.name for f in self.features]

    def save(self, directory: str | Path) -> Path:
        """Write the bundle into ``directory`` (created if needed) and return it."""
        self._validate()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": BUNDLE_FORMAT_VERSION,
            "features": [asdict(f) for f in self.features],
            "threshold": self.threshold,
            "cost": asdict(self.cost),
            "metrics": self.metrics,
            "training_fingerprint": self.training_fingerprint,
            "library_versions": self.library_versions,
            "created_at": self.created_at,
            "extra": self.extra,
            "assets": sorted(self.assets),
            "feature_definitions": self.feature_definitions,
            "protected_attributes": self.protected_attributes,
        }
        if self.stability is not None:
            meta["stability"] = self.stability.to_json()
        if self.reasons is not None:
            meta["reasons"] = self.reasons.to_json()
        (out / _META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False, default=_json_default))
        (out / _MODEL_FILE).write_text(self.booster_text)
        (out / _CARD_FILE).write_text(self.model_card)
        if self.reference is not None:
            self.reference.to_parquet(out / _REFERENCE_FILE, index=False)
        for rel, content in self.assets.items():
            target = out / _ASSETS_DIR / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if self.example_applicants is not None:
            lines = b"".join(json.dumps(a, allow_nan=False).encode() + b"\n" for a in self.example_applicants)
            (out / _APPLICANTS_FILE).write_bytes(gzip.compress(lines, mtime=0))
        return out

    @classmethod
    def load(
        cls,
        directory: str | Path,
        *,
        with_reference: bool = True,
        with_assets: bool = False,
        with_applicants: bool = False,
    ) -> Bundle:
        """Read a bundle written by :meth:`save`.

        ``with_reference`` reads the drift reference sample (needs pandas); ``with_assets`` reads the plots;
        ``with_applicants`` the example applicant documents.
        """
        src = Path(directory)
        meta_path = src / _META_FILE
        if not meta_path.is_file():
            raise BundleError(f"{src} is not a credit-scorer bundle: {_META_FILE} is missing")
        meta = json.loads(meta_path.read_text())
        version = meta.get("format_version")
        if not isinstance(version, int) or version > BUNDLE_FORMAT_VERSION:
            raise BundleError(
                f"bundle format {version!r} at {src} is not supported "
                f"(this code reads <= {BUNDLE_FORMAT_VERSION})"
            )
        model_path = src / _MODEL_FILE
        if not model_path.is_file():
            raise BundleError(f"bundle at {src} has no {_MODEL_FILE}")
        reference = None
        if with_reference and (src / _REFERENCE_FILE).is_file():
            import pandas as pd

            reference = pd.read_parquet(src / _REFERENCE_FILE)
        assets: dict[str, bytes] = {}
        if with_assets:
            for rel in meta.get("assets", []):
                assets[rel] = (src / _ASSETS_DIR / rel).read_bytes()
        applicants = None
        if with_applicants and (src / _APPLICANTS_FILE).is_file():
            text = gzip.decompress((src / _APPLICANTS_FILE).read_bytes()).decode()
            applicants = [json.loads(line) for line in text.splitlines() if line]
        features = [FeatureSpec(**f) for f in meta["features"]]
        return cls(
            booster_text=model_path.read_text(),
            features=features,
            threshold=float(meta["threshold"]),
            cost=CostWeights(**meta["cost"]),
            metrics=meta.get("metrics", {}),
            training_fingerprint=meta.get("training_fingerprint", ""),
            library_versions=meta.get("library_versions", {}),
            model_card=(src / _CARD_FILE).read_text() if (src / _CARD_FILE).is_file() else "",
            assets=assets,
            reference=reference,
            created_at=meta.get("created_at", ""),
            extra=meta.get("extra", {}),
            feature_definitions=meta.get("feature_definitions", ""),
            example_applicants=applicants,
            stability=_read_stability(meta.get("stability"), src),
            protected_attributes=list(meta.get("protected_attributes", [])),
            reasons=_read_reasons(meta.get("reasons"), [f.name for f in features], src),
        )

    def _validate(self) -> None:
        if not self.features:
            raise BundleError("a bundle needs at least one feature")
        names = self.feature_names
        if len(set(names)) != len(names):
            raise BundleError("feature names must be unique")
        if not 0.0 <= self.threshold <= 1.0:
            raise BundleError(f"threshold {self.threshold} is outside [0, 1]")
        if self.reference is not None:
            missing = [c for c in [*names, PROBABILITY_COLUMN] if c not in self.reference.columns]
            if missing:
                raise BundleError(f"reference sample lacks columns: {', '.join(missing[:5])}")
        if self.stability is not None and self.stability.feature_names != names:
            raise BundleError("the stability bins must cover the model's features, in the same order")
        if self.reasons is not None:
            try:
                self.reasons.check_covers(names)
            except ValueError as exc:
                raise BundleError(str(exc)) from None


def register(bundle: Bundle, name: str = BUNDLE_MODEL_NAME, labels: Mapping[str, str] | None = None) -> str:
    """Store ``bundle`` in the BentoML model store and return its tag (``name:version``)."""
    import bentoml

    metadata = {
        "threshold": bundle.threshold,
        "n_features": len(bundle.features),
        "holdout_auc": bundle.metrics.get("holdout_auc"),
        "training_fingerprint": bundle.training_fingerprint,
        "format_version": BUNDLE_FORMAT_VERSION,
    }
    with bentoml.models.create(
        name,
        labels=dict(labels or {}),
        metadata={k: v for k, v in metadata.items() if v is not None},
    ) as model_ref:
        bundle.save(model_ref.path)
    return str(model_ref.tag)


def registered_path(tag: str = f"{BUNDLE_MODEL_NAME}:latest") -> Path:
    """Directory of a registered bundle in the BentoML model store; raises :class:`BundleError` if absent."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        return Path(bentoml.models.get(tag).path)
    except NotFound as exc:
        raise BundleError(f"no registered model {tag!r} in the BentoML model store") from exc


def resolve_tag(tag: str = f"{BUNDLE_MODEL_NAME}:latest") -> str:
    """Turn a tag such as ``credit_scorer:latest`` into the exact ``name:version`` it points to."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        return str(bentoml.models.get(tag).tag)
    except NotFound as exc:
        raise BundleError(f"no registered model {tag!r} in the BentoML model store") from exc


def load_registered(
    tag: str = f"{BUNDLE_MODEL_NAME}:latest",
    *,
    with_reference: bool = True,
    with_assets: bool = False,
    with_applicants: bool = False,
) -> Bundle:
    """Load a bundle from the BentoML model store by tag (default: the latest ``credit_scorer``)."""
    return Bundle.load(
        registered_path(tag),
        with_reference=with_reference,
        with_assets=with_assets,
        with_applicants=with_applicants,
    )


def is_registered(tag: str = f"{BUNDLE_MODEL_NAME}:latest") -> bool:
    """Whether the BentoML model store holds a bundle under ``tag``."""
    try:
        registered_path(tag)
    except BundleError:
        return False
    return True


def _read_stability(data: Any, src: Path) -> StabilityBins | None:
    """The bins stored in ``bundle.json``; ``None`` when absent or in another layout version (logged)."""
    if data is None:
        return None
    try:
        return StabilityBins.from_json(data)
    except UnsupportedBinsError as exc:
        log.warning("bundle at %s: ignoring its %s", src, exc)
        return None
    except (ValueError, AttributeError) as exc:
        raise BundleError(f"bundle at {src} has invalid stability bins: {exc}") from exc


def _read_reasons(data: Any, feature_names: list[str], src: Path) -> ReasonCatalogue | None:
    """The reason catalogue stored in ``bundle.json``, checked against the features; ``None`` when absent."""
    if data is None:
        return None
    try:
        catalogue = ReasonCatalogue.from_json(data)
        catalogue.check_covers(feature_names)
        return catalogue
    except ValueError as exc:
        raise BundleError(f"bundle at {src} has an invalid reason catalogue: {exc}") from exc


def _json_default(value: Any) -> Any:
    """Serialise numpy scalars and arrays found in metrics."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__} in bundle metadata")
