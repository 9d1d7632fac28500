"""Service-level indicators, SLOs and burn-rate alerts (arrives with its own issue)."""
