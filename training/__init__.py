"""Training: Home Credit tables (real or synthetic) to a registered, cost-tuned credit scorer."""
