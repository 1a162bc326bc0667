"""Install, upgrade and roll back the release with Helm's Go SDK (``helm-python-sdk``), no helm binary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from deploy.chart import CHART_DIR


class Releaser(Protocol):
    """What ``release`` needs from Helm (the tests pass a fake)."""

    def upgrade_install(self, release: str, namespace: str, values: dict[str, Any], timeout_s: int) -> int:
        """Install or upgrade ``release``; return the new revision."""
        ...

    def rollback(self, release: str, namespace: str, revision: int | None) -> None:
        """Roll ``release`` back to ``revision`` (``None``: the previous one)."""
        ...

    def status(self, release: str, namespace: str) -> dict[str, Any]:
        """The release summary (revision, status, chart, app version)."""
        ...


@dataclass
class HelmSdkReleaser:
    """:class:`Releaser` on ``helm_python.Config``; finds the cluster like the ``kubernetes`` client does."""

    kubeconfig: str | None = None
    """Kubeconfig file; ``None`` uses KUBECONFIG, ~/.kube/config, then the in-cluster service account."""
    context: str | None = None
    """Kubeconfig context."""
    chart_dir: Path = CHART_DIR
    """The chart to install."""

    def _config(self, namespace: str) -> Any:
        import helm_python as helm

        return helm.Config(kubeconfig_path=self.kubeconfig, kube_context=self.context, namespace=namespace)

    def upgrade_install(self, release: str, namespace: str, values: dict[str, Any], timeout_s: int) -> int:
        """``helm upgrade --install``; waiting is left to ``verify``, which checks more than Helm does."""
        import helm_python as helm

        with self._config(namespace) as config, helm.Chart.load(self.chart_dir) as chart:
            try:
                config.status(release)
            except helm.HelmNotFoundError:
                summary = config.install(chart, release, values, namespace=namespace, timeout=timeout_s)
            else:
                summary = config.upgrade(chart, release, values, namespace=namespace, timeout=timeout_s)
        return int(summary.get("version") or summary.get("revision") or 0)

    def rollback(self, release: str, namespace: str, revision: int | None) -> None:
        """``helm rollback``."""
        with self._config(namespace) as config:
            config.rollback(release, version=revision)

    def status(self, release: str, namespace: str) -> dict[str, Any]:
        """``helm status``."""
        with self._config(namespace) as config:
            return dict(config.status(release))
