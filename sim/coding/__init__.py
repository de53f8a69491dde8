"""Coding of claims: the codes a billing office puts on the simulated claims (issue 13)."""
