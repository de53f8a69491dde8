"""Random streams: one root ``SeedSequence`` per experiment, nothing global.

* ``replication_seeds(seed, n)`` spawns one child sequence per replication, so a
  replication's numbers do not depend on how many workers run it.
* ``stream(seed_seq, name)`` derives a named generator from a replication's
  sequence by a stable hash of the name (``hashlib``, never ``hash()``), so the
  same named stream gives the same numbers in every scenario of an experiment
  (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences for replications ``0..n-1`` of root ``seed``."""
    return np.random.SeedSequence(seed).spawn(n)


def name_key(name: str) -> int:
    """A stable 32-bit integer for ``name`` (same on every machine and Python run)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


def stream(seed_seq: np.random.SeedSequence, name: str, *extra: int) -> np.random.Generator:
    """A generator for the named stream ``name`` of a replication."""
    entropy = seed_seq.entropy
    key = (*seed_seq.spawn_key, name_key(name), *extra)
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))
