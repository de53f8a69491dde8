"""CPU time of the fast executor's years (``FastState.run_to_year_end``: the rounds and
bed grants of ``_advance``, then ``_record_year`` with the clinics) for this tree and for
``sim/care/fast.py`` of a baseline commit, in ONE process, alternating, so that a shared
machine's load hits both alike; the executors' outputs are checked to be the same bits.

    python benchmarks/fast_year.py [--baseline-commit 150cf05] [--scenario mssp_two_sided]
        [--size 10000] [--repeat 5] [--seed 7] [override ...]

The care model (``CareSimulation``: its warm-up and plan years, 10 simulated years for the
shipped MSSP scenario) runs with fixed levers; only the executor differs between the two
(the baseline's ``FastState`` is loaded from ``git show <commit>:sim/care/fast.py`` and
put in place of this tree's). Reported: the minimum over ``--repeat`` runs (CPU seconds,
``time.process_time``) of ``advance`` (the state events and beds), ``record`` (the year's
log and the clinics) and their sum, and the digest of everything the executor left
behind (intervals, stays, clinic records, deaths, control changes, patient arrays,
clinic queues), which must be the same for both.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _feed(m: Any, v: Any) -> None:
    if isinstance(v, np.ndarray):
        m.update(f"{v.dtype}{v.shape}".encode())
        m.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, dict):
        for k in sorted(v):
            m.update(repr(k).encode())
            _feed(m, v[k])
    elif isinstance(v, (list, tuple)):
        m.update(b"[")
        for x in v:
            _feed(m, x)
        m.update(b"]")
    else:
        m.update(repr(v).encode())


def run(state_class: type, scenario: str, size: int, seed: int, overrides: list[str]
        ) -> tuple[str, float, float]:
    """One care-model run with ``state_class`` as the executor: digest, CPU s of the
    executor's advance and record."""
    import sim.care.engine as engine
    from sim.run_setup import run_overrides
    from sim.scenario import load_scenario

    texts = [f"population.size={size}", "engine=fast", *overrides]
    sc = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml",
                       overrides=run_overrides(texts, False))
    engine.FastState = state_class
    care = engine.CareSimulation(sc, np.random.SeedSequence(seed))
    m = hashlib.sha256()
    adv = rec = 0.0
    for _ in range(care.sim_years):
        care.start_year()
        d = care.des
        t = time.process_time()
        iv = d._advance()  # noqa: SLF001
        adv += time.process_time() - t
        t = time.process_time()
        d._record_year(iv)  # noqa: SLF001
        rec += time.process_time() - t
        log = d.log
        _feed(m, [log.iv_pid, log.iv_t0, log.iv_t1, log.iv_state, log.adm, log.pcp_served,
                  log.pcp_served_day, log.pcp_wait, log.unmet_ed, log.unmet_ed_day,
                  log.given_up, d.deaths, d.control, d.clock, d.window_end, d.alive,
                  d.exited, d.entered, d.stay_admit, d.dm_uncontrolled, d.capacity_stats,
                  d.events, d.rounds])
        for _, c in sorted(d.clinics.items()):
            _feed(m, [c.queue_pid, c.queue_day, c.carry])
        care.close_year()
    return m.hexdigest()[:16], adv, rec


def baseline_state(commit: str) -> type:
    """``FastState`` of ``sim/care/fast.py`` at ``commit``."""
    src = subprocess.run(["git", "show", f"{commit}:sim/care/fast.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType(f"fast_{commit}")
    exec(compile(src, f"{commit}:sim/care/fast.py", "exec"), mod.__dict__)  # noqa: S102
    return mod.FastState


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-commit", default="150cf05")
    ap.add_argument("--scenario", default="mssp_two_sided")
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("overrides", nargs="*", help="scenario overrides, e.g. "
                    "capacity.beds_per_1000=2")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from sim.care.fast import FastState

    trees = {args.baseline_commit: baseline_state(args.baseline_commit), "this tree": FastState}
    runs: dict[str, list[tuple[str, float, float]]] = {k: [] for k in trees}
    for _ in range(args.repeat):
        for name, cls in trees.items():
            runs[name].append(run(cls, args.scenario, args.size, args.seed, args.overrides))
    best = {}
    for name, r in runs.items():
        digests = {x[0] for x in r}
        adv, rec = min(x[1] for x in r), min(x[2] for x in r)
        best[name] = min(x[1] + x[2] for x in r)
        print(f"{name:>10}: advance {adv:.3f} s, record {rec:.3f} s, executor "
              f"{best[name]:.3f} CPU s (min of {args.repeat}); digest {sorted(digests)}")
    base, new = best.values()
    same = len({x[0] for r in runs.values() for x in r}) == 1
    print(f"speed-up {base / new:.2f}x; outputs {'the same' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
