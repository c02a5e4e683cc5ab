"""Checkpoint loading and key conversion."""
