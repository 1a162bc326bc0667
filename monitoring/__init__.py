"""The drift sidecar: tails the payload spool, computes rolling-window drift, exports Prometheus metrics."""
