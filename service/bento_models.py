"""Which bundle a service serves when it runs from a built Bento: the one the Bento was built with.

``bentofile.yaml`` lists ``credit_scorer:latest``; ``bentoml build`` records the exact version it found in
the Bento's manifest. Inside the generated image that is the only model in the store, but ``bentoml serve
<bento>`` on a host reads the host's model store, where ``latest`` may since have moved on to a newer model.
A release (``deploy release``, the load-test gate's ``--bento``) must serve what it ships, so an unversioned
or ``latest`` tag is pinned to the Bento's own version of that model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.settings import ServiceSettings


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
