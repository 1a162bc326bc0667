"""Locust scenarios, the SLO file and the release gate."""
