"""Rapport: feedback kiosk and service-conduct ledger (composition root)."""

__version__ = "0.1.0"
