"""Keep the simulated claims of chosen replications (``--save-claims``; off by default).

A run with ``save_claims`` runs :class:`KeepClaims` instead of
:func:`sim.replication.simulate_replication`: the chosen replications also return their
claims as side tables named ``claims:<table>``. The runner takes them out of each output
as it arrives (:func:`pop_claims`) and writes them at once, per replication, under the
run's working directory (:func:`write_claims`: ``claims/<scenario>/rep_<k>/<table>.parquet``
and a ``checksums.json``, written in a temporary folder and renamed into place), so only
one replication's claims are ever held in memory, and they never reach the combined
tables. The final results directory lists every file, with its SHA-256, in
``manifest.json`` (:func:`saved_claims`). The export is :mod:`sim.claims_export`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.replication import CLAIMS_TABLE_PREFIX, simulate_replication
from sim.results import layout
from sim.scenario.schema import Scenario

#: which replications keep their claims when ``--save-claims`` is given without a value
DEFAULT_REPLICATIONS = frozenset({0})


def parse_save_claims(value: str | Iterable[int] | None) -> frozenset[int] | None | bool:
    """The replications whose claims are kept: ``False`` (none: the default), ``None``
    (all: ``"all"``) or a set of replication numbers (``"0,2"``, ``[0, 2]``; ``True`` or
    ``""`` is replication 0). Raises ValueError for anything else."""
    if value is None or value is False:
        return False
    if value is True or value == "":
        return DEFAULT_REPLICATIONS
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "all":
            return None
        try:
            reps = [int(p) for p in text.split(",") if p.strip()]
        except ValueError:
            raise ValueError(f"save_claims: expected 'all' or replication numbers separated "
                             f"by commas (e.g. 0,1), got {value!r}") from None
    else:
        reps = [int(r) for r in value]
    if not reps or min(reps) < 0:
        raise ValueError(f"save_claims: expected 'all' or replication numbers >= 0, got "
                         f"{value!r}")
    return frozenset(reps)


@dataclass(frozen=True)
class KeepClaims:
    """The replication function of a run that keeps the claims of ``replications`` (None:
    all); picklable, so it runs in worker processes and on Dask."""

    replications: frozenset[int] | None = DEFAULT_REPLICATIONS

    def __call__(self, scenario: Scenario, replication: int,
                 seed_seq: np.random.SeedSequence) -> Any:
        keep = self.replications is None or replication in self.replications
        return simulate_replication(scenario, replication, seed_seq, keep_claims=keep)


def pop_claims(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Take the kept-claims tables out of a replication's side tables (changed in place)."""
    names = [n for n in tables if n.startswith(CLAIMS_TABLE_PREFIX)]
    return {n[len(CLAIMS_TABLE_PREFIX):]: tables.pop(n) for n in names}


def write_claims(workdir: Path, scenario: str, replication: int,
                 tables: dict[str, pd.DataFrame]) -> Path:
    """Write the kept claims of one replication into ``workdir`` (replacing an earlier copy
    of the same replication, e.g. when a part is run again); return the folder."""
    final = workdir / layout.claims_folder(scenario, replication)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        sums: dict[str, str] = {}
        for name, frame in tables.items():
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            data = buf.getvalue()
            sums[f"{name}.parquet"] = hashlib.sha256(data).hexdigest()
            (tmp / f"{name}.parquet").write_bytes(data)
        (tmp / layout.CHECKSUMS).write_text(json.dumps(
            {"scenario": scenario, "replication": replication, "files": sums}, indent=2)
            + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def saved_claims(workdir: Path) -> dict[str, str]:
    """Every kept-claims file under ``workdir`` (relative path -> SHA-256, from the
    checksums written with it), in a stable order; empty if none were kept."""
    root = workdir / layout.CLAIMS_DIR
    out: dict[str, str] = {}
    if not root.is_dir():
        return out
    for sums in sorted(root.glob(f"*/rep_*/{layout.CHECKSUMS}")):
        data = json.loads(sums.read_text(encoding="utf-8"))
        folder = sums.parent.relative_to(workdir).as_posix()
        out[f"{folder}/{layout.CHECKSUMS}"] = hashlib.sha256(sums.read_bytes()).hexdigest()
        for name, digest in sorted(data.get("files", {}).items()):
            out[f"{folder}/{name}"] = digest
    return out


__all__ = ["DEFAULT_REPLICATIONS", "KeepClaims", "parse_save_claims", "pop_claims",
           "saved_claims", "write_claims"]
