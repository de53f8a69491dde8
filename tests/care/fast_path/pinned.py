"""Fingerprints of small fast-engine replications, pinned before the speed-ups of issue 16
(HCC documentation, scoring and RADV, the event log as arrays, statements built from
their builders, warm-up years' unread documentation skipped), which must not change one bit.

``python tests/care/fast_path/pinned.py`` (from the repository root, ``PYTHONPATH=$PWD``)
prints the fingerprints of this tree; ``--write`` stores them in ``pinned.json`` beside this
file. They were written at commit c0b108d, the tree before the speed-ups, checked unchanged
by the speed-ups, and rewritten after the hospital's CDI choice, the corrected RVU and DRG
tables and the recalibrated behaviour, and after bundles' episode spending was summed over
the episodes' patients' claims alone (the bundled case's output tables: rounding; numbers
meant to change); rewrite them only
on purpose, when a change of the numbers is intended (as ``tests/baseline/update.py``).

A fingerprint is a SHA-256 of the exact bytes of every ledger column (claims, stays,
patient-year rows, events, year statistics) and every output table (results, itemised
statements, cash flows) of one replication: any difference, even one unit in the last
place, changes it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PINNED = HERE / "pinned.json"
ROOT = HERE.parents[2]

#: (scenario file, behaviour, patients): small, every contract family and the optimiser
CASES = [("mssp_two_sided", "incentives", 400), ("ffs_baseline", "fixed", 400),
         ("reach_global", "fixed", 400), ("bundled_joint_replacement", "fixed", 400)]


def _feed(m: Any, v: Any) -> None:
    if isinstance(v, dict):
        for k in sorted(v, key=str):
            m.update(repr(k).encode())
            _feed(m, v[k])
    elif isinstance(v, (list, tuple)):
        m.update(b"[")
        for x in v:
            _feed(m, x)
        m.update(b"]")
    elif isinstance(v, pd.DataFrame):
        m.update(repr(list(v.columns)).encode())
        for c in v.columns:
            _feed(m, v[c].to_numpy())
    elif isinstance(v, np.ndarray):
        if v.dtype == object:
            m.update(repr(v.tolist()).encode())
        else:
            m.update(f"{v.dtype}{v.shape}".encode())
            m.update(np.ascontiguousarray(v).tobytes())
    else:
        m.update(repr(v).encode())


def digest(v: Any) -> str:
    m = hashlib.sha256()
    _feed(m, v)
    return m.hexdigest()[:20]


def fingerprints(case: tuple[str, str, int]) -> dict[str, str]:
    """Digest of each ledger table and output table of replication 0 of ``case`` (5
    warm-up years, 3 of them history where a contract needs them, 2 plan years; seed
    2026)."""
    import sim.replication as rep
    from sim.care import warmup
    from sim.scenario.loader import load_scenario

    name, behavior, size = case
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    d = sc.model_dump()
    d.update(engine="fast", behavior=behavior, horizon_years=2)
    d["population"]["size"] = size
    d["attribution"]["enforce_minimum"] = False  # a small test case: below the 5,000 floor
    sc = type(sc).model_validate(d)
    kept = []
    real = rep.warmed_up

    def keep(*a: Any, **k: Any) -> Any:
        care, info = real(*a, **k)
        kept.append(care)
        return care, info

    rep.warmed_up = keep
    try:
        warmup.clear_cache()
        out = rep.simulate_replication(sc, 0, np.random.SeedSequence([2026, 0]))
    finally:
        rep.warmed_up = real
    led = kept[0].ledger
    d = {"results": digest(out.results)}
    d.update({f"table:{k}": digest(v) for k, v in sorted(out.tables.items())})
    d.update({f"ledger:{k}": digest(getattr(led, k)) for k in (
        "claims", "admissions", "patient_year", "events", "year_stats")})
    return d


def case_key(case: tuple[str, str, int]) -> str:
    return "/".join(map(str, case))


def main() -> None:
    got = {case_key(c): fingerprints(c) for c in CASES}
    print(json.dumps(got, indent=1))
    if "--write" in sys.argv:
        PINNED.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
