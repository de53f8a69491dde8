"""Attribution: the CMS plurality rule by hand, the 5,000 floor, and in simulation the
leakage share, Medicare Advantage, churn, levers that do not reach leaked care, and money
that adds up with assigned beneficiaries."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.attribution import (
    MA_KEY,
    NOT_ASSIGNED,
    UsualSource,
    assign_by_plurality,
    assigned_in,
    turnover,
)
from sim.care.engine import CareSimulation
from sim.ledger import Ledger
from sim.providers import ProviderTable
from sim.replication import simulate_replication
from sim.rng import replication_seeds
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.attribution import Attribution
from sim.scenario.schema import Levers
from sim.services import Service as S
from sim.settlement.context import SettlementContext

ROOT = Path(__file__).resolve().parents[1]
MSSP = ROOT / "scenarios" / "mssp_one_sided.yaml"
#: Providers of the hand cases: two groups, specialists, an outside clinician.
KINDS = ["primary_care", "primary_care", "specialist", "primary_care"]
A, B, SPEC, OUT = 0, 1, 2, 3


def _claims(rows: list[tuple[int, int, int, float, float]]) -> dict[str, np.ndarray]:
    """Ledger columns from (patient, provider, service, amount, day) rows."""
    p, pr, s, a, d = (np.array(c) for c in zip(*rows, strict=True))
    return {"patient": p.astype(np.int32), "provider": pr.astype(np.int16),
            "service": s.astype(np.int8), "amount": a.astype(float), "day": d.astype(np.float32)}


# ---------------------------------------------------------------- the rule, by hand
HAND = _claims([
    # 0: A $250 (2 visits) vs outside $125 -> A
    (0, A, S.PCP_VISIT, 125, 10), (0, A, S.PCP_VISIT, 125, 20), (0, OUT, S.PCP_VISIT, 125, 300),
    # 1: A $125 vs outside $250 -> outside (not assigned to a group)
    (1, A, S.PCP_VISIT, 125, 300), (1, OUT, S.PCP_VISIT, 125, 10), (1, OUT, S.PCP_VISIT, 125, 20),
    # 2: a tie $125 each: the most recent service (outside, day 200) wins
    (2, A, S.PCP_VISIT, 125, 10), (2, OUT, S.PCP_VISIT, 125, 200),
    # 3: a tie: A most recent -> A
    (3, A, S.PCP_VISIT, 125, 250), (3, OUT, S.PCP_VISIT, 125, 200),
    # 4: no primary-care clinician: step 2 by specialists' visits -> specialists (no group)
    (4, SPEC, S.SPECIALIST_VISIT, 150, 5), (4, SPEC, S.LAB, 22, 5),
    # 5: group B $250 vs A $125 (specialist visits do not count in step 1) -> B
    (5, B, S.PCP_VISIT, 125, 1), (5, B, S.PCP_VISIT, 125, 2), (5, A, S.PCP_VISIT, 125, 3),
    (5, SPEC, S.SPECIALIST_VISIT, 150, 4), (5, SPEC, S.SPECIALIST_VISIT, 150, 5),
    # 6: charges, not visits: A one visit $200 vs outside two visits $180 -> A
    (6, A, S.PCP_VISIT, 200, 1), (6, OUT, S.PCP_VISIT, 90, 2), (6, OUT, S.PCP_VISIT, 90, 3),
    # 7: only a lab test and a hospital stay: no primary-care service -> nobody
    (7, SPEC, S.LAB, 22, 1), (7, SPEC, S.INPATIENT_PROFESSIONAL, 1600, 2),
    # 8: no claims at all -> nobody
])
EXPECTED_WINNER = [A, OUT, OUT, A, SPEC, B, A, NOT_ASSIGNED, NOT_ASSIGNED]


def test_plurality_of_primary_care_charges_by_hand():
    assert assign_by_plurality(HAND, 9, KINDS).tolist() == EXPECTED_WINNER


def _ledger(years: dict[int, dict[str, np.ndarray]], n: int, ma: dict[int, list[int]]
            ) -> Ledger:
    led = Ledger(first_year=min(years))
    for y, c in years.items():
        led.add_claims(y, c["patient"], c["provider"], c["service"], c["day"], c["amount"])
        led.close_year(y)
    rows = len(years)
    led.patient_year["member"] = np.ones((rows, n), bool)
    led.patient_year[MA_KEY] = np.zeros((rows, n), bool)
    for y, who in ma.items():
        led.patient_year[MA_KEY][y - led.first_year, who] = True
    return led


def test_assignment_keeps_groups_excludes_medicare_advantage_and_non_members():
    led = _ledger({0: HAND}, 9, {0: [6]})
    led.patient_year["member"][0, 3] = False  # patient 3 was not a member in the year
    got = assigned_in(led, 0, "retrospective", [A, B], KINDS, 9)
    # outside and the specialists are not groups; 3 is no member; 6 is in MA
    assert got.tolist() == [A, -1, -1, -1, -1, B, -1, -1, -1]


def test_prospective_assignment_reads_the_year_before():
    before = _claims([(0, OUT, S.PCP_VISIT, 125, 1), (1, A, S.PCP_VISIT, 125, 1)])
    this = _claims([(0, A, S.PCP_VISIT, 125, 1), (1, OUT, S.PCP_VISIT, 125, 1),
                    (2, A, S.PCP_VISIT, 125, 1)])
    led = _ledger({-1: before, 0: this}, 3, {})
    assert assigned_in(led, 0, "prospective", [A], KINDS, 3).tolist() == [-1, A, -1]
    assert assigned_in(led, 0, "retrospective", [A], KINDS, 3).tolist() == [A, -1, A]
    # the first recorded year has no year before: its own claims decide
    assert assigned_in(led, -1, "prospective", [A], KINDS, 3).tolist() == [-1, A, -1]


def test_turnover_counts_exits_and_entries():
    before = np.array([A, A, A, A, -1, B])
    after = np.array([A, A, -1, B, A, B])
    assert turnover(before, after, A) == (0.5, 1 / 3)


def test_usual_source_switching_rate_is_reproduced():
    att = Attribution(enabled=True, usual_source_switch_rate=0.03)
    us = UsualSource(200_000, att, np.random.default_rng(1))
    old = us.share.copy()
    us.advance(np.random.default_rng(2))
    changed = float(np.mean(us.share != old))
    se = np.sqrt(0.03 * 0.97 / 200_000)
    assert abs(changed - 0.03) < 4 * se
    # the Beta mean is the configured outside share of primary care
    assert abs(us.share.mean() - att.primary_care_outside_share) < 0.005


# ---------------------------------------------------------------- the 5,000 floor
def _small_mssp(tmp_path: Path, extra: str) -> Path:
    f = tmp_path / "small.yaml"
    f.write_text(f"extends: {MSSP}\nname: small\npopulation: {{size: 1000}}\n{extra}")
    return f


def test_the_floor_refuses_a_small_aco_naming_the_fields(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_small_mssp(tmp_path, ""))
    msg = str(info.value)
    assert str(tmp_path / "small.yaml") in msg
    for part in ("plan[0].contracts[1]", "at most 1,000 beneficiaries", "5,000",
                 "42 CFR 425.110", "population.size", "attribution.enforce_minimum: false"):
        assert part in msg


def test_the_floor_warns_when_declared_off_and_is_silent_without_attribution(tmp_path):
    with pytest.warns(UserWarning, match="below the programme's minimum of 5,000"):
        sc = load_scenario(_small_mssp(tmp_path, "attribution: {enforce_minimum: false}\n"))
    assert sc.population.size == 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(_small_mssp(tmp_path, "attribution: {enabled: false}\n"))
    # 10,000 patients in the shipped scenario: nothing to say
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_scenario(MSSP).attribution.enabled


def test_the_floor_warns_once_at_load_not_in_every_replication(tmp_path):
    """The warning is shown when the scenario is loaded; a replication's re-validation of it
    (parameter values substituted, as calibration does, or drawn, as a PSA does) is quiet,
    so `vbcsim calibrate` does not repeat it in every worker and evaluation."""
    from sim.experiment import Task, execute_task

    with pytest.warns(UserWarning, match="below the programme's minimum of 5,000"):
        sc = load_scenario(_small_mssp(tmp_path, "attribution: {enforce_minimum: false}\n"
                                                 "behavior: fixed\nhorizon_years: 1\n"
                                                 "warmup_years: 5\n"))
    seed = replication_seeds(1, 1)[0]
    path = "providers.primary_care_group.behavior.pass_through"
    seen = []

    def replicate(scenario, replication, seed_seq):
        seen.append(scenario)
        return simulate_replication(scenario, replication, seed_seq)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        execute_task(replicate, Task(0, sc, 0, seed, values={path: 0.5}))
        execute_task(replicate, Task(0, sc, 0, seed))
    assert seen[0].providers[0].behavior.pass_through == 0.5  # the values were applied


def test_outside_provider_names_are_reserved(tmp_path):
    f = tmp_path / "named.yaml"
    f.write_text(f"extends: {MSSP}\nname: named\nproviders:\n"
                 "  - {name: primary_care_group, kind: primary_care, panel_share: 1.0}\n"
                 "  - {name: outside_specialist, kind: specialist}\n")
    with pytest.raises(ScenarioError, match="outside_specialist.*reserves"):
        load_scenario(f)


# ---------------------------------------------------------------- in simulation
def _scenario(**att: object):
    sc = load_scenario(MSSP, overrides=["population.size=3000", "horizon_years=2",
                                        "behavior=fixed", "attribution.enforce_minimum=false"])
    return sc.model_copy(update={"attribution": sc.attribution.model_copy(update=att)})


def _run(sc, levers=None) -> CareSimulation:
    care = CareSimulation(sc, replication_seeds(7, 1)[0], levers=levers)
    while True:
        care.start_year(None)
        care.run_to_year_end()
        if care.close_year().last:
            return care


@pytest.fixture(scope="module")
def runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sc = _scenario()
    lever = Levers(discretionary_intensity=0.75, prevention_effort=0.6,
                   transitional_care_effort=0.6)
    return sc, _run(sc), _run(sc, {"primary_care_group": lever})


def test_leaked_share_of_services_is_the_configured_one(runs):
    sc, care, _ = runs
    out = care.providers.outside_indices
    for y in care.ledger.years:
        c = care.ledger.claims_in(y)
        spec = c["service"] == S.SPECIALIST_VISIT
        share = float(np.isin(c["provider"][spec], out).mean())
        se = np.sqrt(0.3 * 0.7 / spec.sum())
        assert abs(share - sc.attribution.outside_share) < 4 * se, (y, share)
        # spending: every service but primary-care visits leaks at the same share
        # (a spending share of heavy-tailed claims: 0.03 is ~4 SE for 3,000 patients)
        other = c["service"] != S.PCP_VISIT
        leaked = c["amount"][other & np.isin(c["provider"], out)].sum()
        assert abs(leaked / c["amount"][other].sum() - 0.30) < 0.03


def test_primary_care_leaks_by_each_patients_usual_source(runs):
    _, care, _ = runs
    y = care.ledger.years[-1]
    c = care.ledger.claims_in(y)
    pcp = c["service"] == S.PCP_VISIT
    share = care.usual.share[c["patient"][pcp]]  # the last year's shares, levers = reference
    outside = np.isin(c["provider"][pcp], care.providers.outside_indices)
    sd = np.sqrt((share * (1 - share)).sum())
    assert abs(outside.sum() - share.sum()) < 4 * sd


def test_medicare_advantage_rate_is_reproduced(runs):
    sc, care, _ = runs
    ma = care.ledger.patient_year[MA_KEY]
    se = np.sqrt(0.05 * 0.95 / ma.size)
    assert abs(ma.mean() - sc.attribution.medicare_advantage_rate) < 4 * se


def test_assigned_population_churns_as_published(runs):
    """Exits a year among assigned beneficiaries: over a third of those assigned in either of
    two years were not assigned in both (McWilliams et al. 2014), i.e. at least ~20% leave
    a year; we accept 20-35% (the care model's years without a primary-care visit put the
    simulated rate near 29%, see the usual_source_switch_rate source)."""
    sc, care, _ = runs
    ctx = SettlementContext.of(sc, care.ledger, care.pop, care.providers)
    years = care.ledger.years
    exits = [turnover(ctx.assigned(a), ctx.assigned(b), 0)[0]
             for a, b in zip(years, years[1:], strict=False)]
    assert all(0.20 <= e <= 0.35 for e in exits), exits


def test_levers_do_not_reach_leaked_spending(runs):
    """Same patients and chance (common random numbers), the group's levers changed: what
    the simulated providers bill falls, what outside providers bill does not move beyond
    chance (its expectation does not depend on the levers)."""
    _, ref, changed = runs
    out = ref.providers.outside_indices

    def billed(care, outside: bool) -> float:
        total = 0.0
        for y in care.ledger.years[-2:]:  # the plan years (levers in force from the start)
            c = care.ledger.claims_in(y)
            m = np.isin(c["provider"], out) == outside
            total += c["amount"][m & (c["service"] != S.PCP_VISIT)].sum()
        return total

    inside_change = billed(changed, False) / billed(ref, False) - 1
    outside_change = billed(changed, True) / billed(ref, True) - 1
    assert inside_change < -0.05
    assert abs(outside_change) < 0.03  # chance: the runs diverge after the first events


def test_money_adds_up_with_assigned_beneficiaries_and_leakage():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sc = _scenario()
    out = simulate_replication(sc, 0, replication_seeds(3, 1)[0])
    flows = out.tables["cash_flows"]
    payers = {p.name for p in sc.payers}
    paid = flows.loc[flows["source"].isin(payers), "amount_usd"].sum()
    received = flows.loc[~flows["target"].isin(payers), "amount_usd"].sum() - flows.loc[
        ~flows["source"].isin(payers), "amount_usd"].sum()
    assert paid == pytest.approx(received, rel=1e-12)
    # outside providers are paid fee-for-service for what they billed
    names = set(ProviderTable.from_scenario(sc).names)
    assert {"outside_primary_care", "outside_hospital"} <= names
    got = flows.loc[flows["target"] == "outside_hospital", "amount_usd"].sum()
    assert got > 0


def test_the_aco_is_settled_over_its_assigned_beneficiaries_including_leakage(runs):
    from sim.contracts.mssp.settler import aco_benchmark
    from sim.contracts.resolve import settler_for
    from sim.settlement.engine import active_contracts

    sc, care, _ = runs
    ctx = SettlementContext.of(sc, care.ledger, care.pop, care.providers)
    label, cfg = next((lbl, c) for lbl, c in active_contracts(sc, 0) if c.type == "mssp")
    settler = settler_for(cfg, label)
    _, _, py, expenditure, _ = aco_benchmark(ctx, settler, "mssp", 0, None, 5, 0.0)
    assigned = ctx.assigned(0) == 0
    members = ctx.members(0, 0, 0)
    assert (members == (assigned & care.ledger.pyear("member", 0))).all()
    assert 0.4 < members.sum() / care.ledger.pyear("member", 0).sum() < 0.9
    spend, _ = ctx.truncated_spend(0, 0)
    assert expenditure == pytest.approx(spend[members].sum())
    # the assigned beneficiaries' spending includes what outside providers billed for them
    c = ctx.claims(0)
    leaked = np.isin(c["provider"], care.providers.outside_indices) & members[c["patient"]]
    assert c["amount"][leaked].sum() > 0.2 * expenditure
    assert py == pytest.approx(ctx.person_years(0)[members].sum())
