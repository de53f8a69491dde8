"""Coding and the revenue cycle: claim denials and rework, RADV audits (and coded claims)."""
