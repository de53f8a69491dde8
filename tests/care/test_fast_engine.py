"""The vectorised executor (``engine: fast``, sim/care/fast.py): exact event rates, FIFO
beds, the DES's ledger layout, reproducibility, and the DES's means on a small run.

Cheap by design (about 3 CPU-seconds): populations of 400-1,500, one or two years.
The statistical checks use fixed seeds and tolerances of 4-5 standard errors (a false
alarm at 4 SE has probability ~6e-5 per check for Poisson counts), so they are not flaky,
and still catch a rate that is off by a few percent.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.care.des import QUANTILES, StayTables
from sim.care.engine import simulate_population
from sim.care.fast import FastState
from sim.care.model import H_DEATH, H_DM, HAZARDS
from sim.constants import DAYS_PER_YEAR
from sim.metrics import population_metrics
from sim.scenario import scenario_from_dict
from sim.scenario.engines import resolve_engine


def scen(engine: str, size: int = 1000, **extra) -> object:
    return scenario_from_dict({"population": {"size": size}, "horizon_years": 1,
                               "warmup_years": 1, "engine": engine, **extra})


@pytest.fixture(scope="module")
def runs() -> dict[str, object]:
    """One small run per engine (seed 3) and a repeat of the fast one."""
    return {e: simulate_population(scen(e), np.random.SeedSequence(3))
            for e in ("des", "fast")} | {
        "fast_again": simulate_population(scen("fast"), np.random.SeedSequence(3))}


def synthetic_state(n: int, hazards: np.ndarray, beds: int, seed: int = 0) -> FastState:
    """A FastState with the same per-year hazards (per state) for every patient."""
    table = [1.0] * QUANTILES
    st = FastState(n=n, n_start=n, provider=np.zeros(n, np.int16),
                   dm_uncontrolled=np.zeros(n, bool), horizon_days=float(DAYS_PER_YEAR),
                   beds=beds, replace_deaths=False,
                   stays=StayTables(5.0, 3.0, 20.0, table, table),
                   seed_seq=np.random.SeedSequence(seed))
    packed = np.zeros((n, 4, 8))
    packed[:, :, 0] = hazards.sum(axis=1)
    packed[:, :, 1:7] = np.cumsum(hazards, axis=1)
    st.begin_year(0, packed, None, np.zeros(n), np.zeros(n), {}, np.random.default_rng(0))
    return st


def test_engine_field_and_resolution() -> None:
    assert scen("des").engine == "des"
    assert resolve_engine(scen("auto")) == "fast"
    assert resolve_engine(scen("fast")) == "fast"
    with pytest.raises(Exception, match="engine"):
        scen("simpy")


def test_event_counts_match_the_hazards_over_the_exposure() -> None:
    """Events of each kind = hazard x time at risk in each state (Poisson, 4 SE)."""
    h = np.zeros((4, len(HAZARDS)))
    h[:, H_DEATH] = 0.05
    h[:, 1] = 0.3  # ACSC admission
    h[1, 3] = 2.0  # readmission hazard in the post-discharge window
    h[0, H_DM] = 0.4  # lose control ...
    h[2, H_DM] = 0.8  # ... regain it
    h[2, 2] = 0.6  # other admissions only while uncontrolled
    st = synthetic_state(4000, h, beds=10_000)
    st.run_to_year_end()
    log = st.log
    pid, state = np.asarray(log.iv_pid), np.asarray(log.iv_state)
    exposure = np.bincount(state, weights=(np.asarray(log.iv_t1) - np.asarray(log.iv_t0))
                           / DAYS_PER_YEAR, minlength=4)
    assert len(pid) and exposure.sum() > 3900 * 0.9
    expected = exposure @ h
    kinds = np.concatenate([np.asarray(log.adm["kind"], int),
                            *[k for k in st._stays["kind"]]])  # stays ending next year too
    observed = np.bincount(kinds, minlength=len(HAZARDS)).astype(float)
    observed[H_DEATH] = len(st.deaths)
    observed[H_DM] = len(st.control)
    for k, name in enumerate(HAZARDS):
        se = np.sqrt(max(expected[k], 1.0))
        assert abs(observed[k] - expected[k]) < 4 * se, (name, observed[k], expected[k])


def test_beds_are_fifo_and_never_overfilled() -> None:
    """Two beds, frequent stays: occupancy never above two, service in arrival order."""
    h = np.zeros((4, len(HAZARDS)))
    h[:, 1] = 2.0
    st = synthetic_state(150, h, beds=2, seed=5)
    st.run_to_year_end()
    a = {k: np.asarray(v) for k, v in st.log.adm.items()}
    grant = a["admit"] + a["wait"]
    assert (a["wait"] > 0).mean() > 0.5  # the queue binds
    order = np.argsort(a["admit"])
    assert np.all(np.diff(grant[order]) >= -1e-9)  # served in arrival order
    times = np.concatenate([grant, a["discharge"]])
    delta = np.concatenate([np.ones(len(grant)), -np.ones(len(grant))])
    o = np.lexsort((delta, times))
    assert np.cumsum(delta[o]).max() <= 2
    # a bed is never idle while someone waits: each wait ends at a discharge
    waited = a["wait"] > 0
    assert np.isin(np.round(grant[waited], 9), np.round(a["discharge"], 9)).all()


def test_same_ledger_layout_as_des(runs) -> None:
    des, fast = runs["des"].ledger, runs["fast"].ledger
    for name in ("claims", "admissions"):
        d = des.claims if name == "claims" else des.admissions
        f = fast.claims if name == "claims" else fast.admissions
        assert list(d) == list(f)
        assert {k: v.dtype for k, v in d.items()} == {k: v.dtype for k, v in f.items()}
    assert {k: (v.shape, v.dtype) for k, v in des.patient_year.items()} == {
        k: (v.shape, v.dtype) for k, v in fast.patient_year.items()}
    assert des.year_stats.keys() == fast.year_stats.keys()
    assert all(des.year_stats[y].keys() == fast.year_stats[y].keys() for y in des.year_stats)
    assert runs["fast"].stats["engine"] == "fast" and runs["des"].stats["engine"] == "des"


def test_deterministic_for_a_seed(runs) -> None:
    a, b = runs["fast"].ledger.claims, runs["fast_again"].ledger.claims
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_means_close_to_des() -> None:
    """Pooled over 3 seeds x 1,500 patients (about 4,500 patient-years per engine), the
    rates of the events that drive spending agree within 5 standard errors of the
    difference of two Poisson rates (admissions ~1,300 per engine: 5 SE ~ 6%)."""
    keys = ("admissions_per_1000", "deaths_per_1000", "ed_visits_per_1000")
    pooled = {}
    for e in ("des", "fast"):
        sc = scen(e, size=1500)
        vals = {k: [] for k in keys}
        py = 0.0
        for seed in range(3):
            r = simulate_population(sc, np.random.SeedSequence(100 + seed))
            m = population_metrics(r.ledger, 1)[0]
            for k in keys:
                vals[k].append(m[k])
            py += r.stats["patient_years"]
        pooled[e] = ({k: float(np.mean(v)) for k, v in vals.items()}, py)
    for k in keys:
        d, f = pooled["des"][0][k], pooled["fast"][0][k]
        counts = (d + f) / 2 * pooled["des"][1] / 1000  # events per engine
        se = (d + f) / 2 * np.sqrt(2.0 / max(counts, 1.0))
        assert abs(d - f) < 5 * se, (k, d, f, se)


def test_engine_flag_on_the_commands() -> None:
    """``--engine`` on run, compare, sensitivity (a scenario override, so it is recorded
    with the overrides) and calibrate; the manifest names the engine that ran."""
    from sim.cli import _overrides, build_parser
    from sim.results.directory import build_manifest

    parser = build_parser()
    for cmd in (["run", "ffs_baseline"], ["compare", "a.yaml", "b.yaml"],
                ["sensitivity", "ffs_baseline", "--metric", "spend_total_usd", "--tornado", "x"],
                ["calibrate", "cal.yaml"]):
        args = parser.parse_args([*cmd, "--engine", "fast"])
        assert args.engine == "fast"
        if cmd[0] != "calibrate":
            assert any("engine" in str(o) for o in _overrides(args))
    manifest = build_manifest(scenario=scen("auto", size=300), scenario_sha256="x", seed=1,
                              workers=1, command=None, started_at=None, finished_at=None,
                              source=None, files=[])
    assert (manifest["engine"], manifest["engine_setting"]) == ("fast", "auto")
