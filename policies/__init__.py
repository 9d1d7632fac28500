"""Governance policy packs (arrives with its own issue)."""
