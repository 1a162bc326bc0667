"""The scoring service (BentoML) and the model bundle contract shared with training and monitoring."""
