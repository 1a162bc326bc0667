#!/usr/bin/env bash
# End-to-end release on a throw-away kind cluster: build the Bento and its image, load the image into kind,
# install the chart with `python -m deploy release`, then `helm test` equivalent through `deploy verify`.
# Needs Docker, kind and kubectl, and a trained bundle in the BentoML model store (`bentoml models list`).
# It cannot run on machines without a Docker engine (such as the project's development machines).
# Environment: CLUSTER (kind cluster name, default credit-scoring-e2e), KEEP_CLUSTER=1 keeps it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${CLUSTER:-credit-scoring-e2e}
namespace=credit-scoring
image=credit-scoring:e2e

for tool in docker kind kubectl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "kind-e2e: $tool is required" >&2; exit 2; }
done
docker info >/dev/null 2>&1 || { echo "kind-e2e: no Docker engine answers" >&2; exit 2; }

cleanup() { [ "${KEEP_CLUSTER:-0}" = 1 ] || kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kind create cluster --name "$cluster" --wait 120s
kubectl create namespace "$namespace"
# metrics-server would be needed for CPU autoscaling decisions; the HPA object itself is verified without it.

bento=$(.venv/bin/bentoml build --output tag | tail -1 | sed 's/^__tag__://')
.venv/bin/bentoml containerize "$bento" --image-tag "$image"
kind load docker-image "$image" --name "$cluster"

# No Prometheus Operator here: skip its objects. Two replicas fit a one-node cluster.
.venv/bin/python -m deploy release --skip-build --image "$image" --bento "$bento" -n "$namespace" --release e2e \
    --set metrics.serviceMonitor.enabled=false --set metrics.prometheusRule.enabled=false \
    --set image.pullPolicy=Never --timeout 600
.venv/bin/python -m deploy status -n "$namespace" --release e2e
echo "kind-e2e: release verified"
