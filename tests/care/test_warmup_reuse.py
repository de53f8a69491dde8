"""Warm-up reuse (sim.care.warmup): a run started from another scenario's warm-up is
bit-identical to one that simulates its own, and reuse is refused when a setting that
shapes the warm-up differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.care import warmup
from sim.rng import replication_seeds
from sim.runner import run_scenarios
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _small(name: str, size: int, warm: int, years: int) -> Scenario:
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    return sc.model_copy(update={"population": sc.population.model_copy(update={"size": size}),
                                 "warmup_years": warm, "horizon_years": years,
                                 "attribution": sc.attribution.model_copy(
                                     update={"enforce_minimum": False})})


def _frames(result) -> dict[str, pd.DataFrame]:
    out = {"results": result.results, **result.tables}
    return {k: v.sort_index(axis=1).reset_index(drop=True) for k, v in out.items()}


pytestmark = pytest.mark.filterwarnings("ignore:.*below the programme's minimum")


@pytest.fixture(scope="module")
def two_runs():
    """The FFS baseline (no history years; it records them anyway, for the next), an MSSP
    scenario (3 history years: starts from the FFS's warm-up) and the FFS again (starts
    from it with the history dropped), 300 patients, 5 warm-up + 1 plan year, one
    replication (parameter draws on; fixed levers, to keep the test cheap: behaviour acts
    only from plan year 0), run with and without reuse."""
    ffs = _small("ffs_baseline", 300, 5, 1).model_copy(update={"behavior": "fixed"})
    scs = [ffs, _small("mssp_one_sided", 300, 5, 1).model_copy(update={"behavior": "fixed"}),
           ffs.model_copy(update={"name": "ffs_again"})]
    runs = {}
    restored = []
    real_restore = warmup.restore

    def spy(snap, sc, seed_seq):
        restored.append((sc.name, len(snap.in_stay), len(snap.queued)))
        return real_restore(snap, sc, seed_seq)

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(warmup, "restore", spy)
        for reuse in ("0", "1"):
            mp.setenv("VBCSIM_WARMUP_REUSE", reuse)
            warmup.clear_cache()
            runs[reuse] = run_scenarios(scs, replications=1, seed=3, progress=False)
    finally:
        mp.undo()
        warmup.clear_cache()
    return runs, restored


def test_reused_warmup_is_bit_identical(two_runs):
    runs, restored = two_runs
    assert [r[0] for r in restored] == ["mssp_one_sided", "ffs_again"]  # one warm-up
    plain, reused = _frames(runs["0"]), _frames(runs["1"])
    assert plain.keys() == reused.keys()
    for name in plain:
        pd.testing.assert_frame_equal(plain[name], reused[name], check_exact=True)


def test_reuse_refused_when_warmup_settings_differ():
    base = _small("ffs_baseline", 200, 1, 1)
    seed = replication_seeds(5, 1)[0]
    other_contract = base.model_copy(update={"name": "other", "description": "x"})
    bigger = base.model_copy(update={"population": base.population.model_copy(
        update={"size": 201})})
    ad = base.clinical.admissions
    sicker = base.model_copy(update={"clinical": base.clinical.model_copy(update={
        "admissions": ad.model_copy(update={"los_mean_days": ad.los_mean_days + 0.5})})})
    assert warmup.warmup_key(other_contract) == warmup.warmup_key(base)
    pcg = base.providers[0]
    calmer = base.model_copy(update={"providers": [pcg.model_copy(update={
        "behavior": pcg.behavior.model_copy(update={"risk_aversion": 0.5})}),
        *base.providers[1:]]})  # behaviour acts from plan year 0 only
    assert calmer.providers[0].behavior != pcg.behavior
    assert warmup.warmup_key(calmer) == warmup.warmup_key(base)
    assert warmup.warmup_key(bigger) != warmup.warmup_key(base)
    assert warmup.warmup_key(sicker) != warmup.warmup_key(base)
    warmup.clear_cache()
    try:
        with warmup.sharing(True):
            _, first = warmup.warmed_up(base, seed)
            assert first.source == "simulated" and first.captured
            for sc in (bigger, sicker):  # a warm-up-shaping setting differs: simulated
                assert warmup.warmed_up(sc, seed)[1].source == "simulated"
            other_seed = replication_seeds(5, 2)[1]  # another replication: simulated
            assert warmup.warmed_up(base, other_seed)[1].source == "simulated"
            care, info = warmup.warmed_up(other_contract, seed)
            assert info.source == "reused"
            assert care.sc is other_contract and care.year == care.warmup - 1
            # a scenario needing history years cannot start from a snapshot without them
            snap = next(iter(warmup._cache.values()))  # noqa: SLF001
            assert snap.history_years == 0
            needs = _small("mssp_one_sided", 200, 5, 1)
            assert needs.history_years == 3
            with pytest.raises(warmup.NotReusable):
                warmup.restore(snap, needs, seed)
    finally:
        warmup.clear_cache()


def test_reuse_off_by_environment(monkeypatch):
    monkeypatch.setenv("VBCSIM_WARMUP_REUSE", "0")
    assert not warmup.reuse_enabled()
    base = _small("ffs_baseline", 200, 1, 1)
    with warmup.sharing(True):
        _, info = warmup.warmed_up(base, replication_seeds(5, 1)[0])
    assert info.source == "simulated" and not info.captured
    assert not warmup._cache  # noqa: SLF001
    assert np.isfinite(warmup.cache_limit_bytes())
