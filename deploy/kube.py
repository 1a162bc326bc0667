"""Connect to the cluster with the ``kubernetes`` client: a kubeconfig file, or the pod's service account."""

from __future__ import annotations

import os
from typing import Any


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ``ApiClient`` for the cluster.

    Uses ``kubeconfig`` (or ``KUBECONFIG`` / ``~/.kube/config``) with ``context``; inside a pod, with no
    kubeconfig given or found, the in-cluster service-account configuration.
    """
    from kubernetes import client, config

    default_path = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ
    if kubeconfig is None and in_cluster and not os.path.exists(default_path):
        config.load_incluster_config()
        return client.ApiClient()
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    return client.ApiClient(configuration)


def api_client_for_host(host: str) -> Any:
    """An ``ApiClient`` talking to ``host`` without authentication (tests, ``kubectl proxy``)."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = host
    return client.ApiClient(configuration)
