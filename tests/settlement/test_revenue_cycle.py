"""The revenue cycle: claim denials conserve money, hit their rates, delay cash; RADV
recoveries follow the hand-computed extrapolation; the shipped experiment validates.

One small care run (1,000 patients, 2 plan years, global capitation of one group beside
FFS) is settled twice, with the revenue cycle on and off (the care model does not read
``revenue_cycle``, so the claims are the same).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from settle_support import FFS_ALL, PROVIDERS_2PC, close, run, scenario

from sim.coding.denials import CLAIM_TYPES, REWORKED, outcomes
from sim.coding.radv import audit, extrapolated_recovery, supported_share
from sim.scenario.revenue_cycle import Denials, Radv
from sim.scenario.schema import RiskScore
from sim.settlement import settle_run

REPO = Path(__file__).resolve().parents[2]
CAPITATION = {"type": "capitation", "provider": "pc_a", "scope": "total_cost"}
ON = {"denials": {"enabled": True}, "radv": {"enabled": True}}
# pc_a (capitated) codes at full intensity, pc_b at the FFS norm (0): RADV finds the
# unsupported codes of the intensive coder (sim.coding.hcc: ~7% of HCCs at intensity 1)
PROVIDERS = [{**p, "levers": {"coding_intensity": 1.0}} if p["name"] == "pc_a" else p
             for p in PROVIDERS_2PC]


@pytest.fixture(scope="module")
def runs():
    """The same care run settled with the revenue cycle on and off."""
    plan = [{"years": "all", "contracts": [FFS_ALL, CAPITATION]}]
    on = scenario(size=1000, horizon=2, plan=plan, providers=PROVIDERS, revenue_cycle=ON)
    off = on.model_copy(update={"revenue_cycle": scenario().revenue_cycle})
    r_on = run(on, seed=3)
    care = r_on.run
    s_off = settle_run(off, care.ledger, care.population, care.providers, care.levers_by_year)
    return r_on, s_off


def test_outcome_rates_match_the_parameters():
    # 200,000 claims of each type: the binomial SE of a 6% rate is 0.05 points, so 4 SE is
    # 0.2 points; of the reworked share (n ~ 12,000 denials) about 1.8 points at 4 SE.
    cfg = Denials(enabled=True)
    rng = np.random.default_rng(1)
    n = 200_000
    for t, service in zip(CLAIM_TYPES, (0, 5, 7), strict=True):  # PCP visit, ED facility, stay
        out = outcomes(np.full(n, service, np.int8), rng.random((n, 2)), cfg)
        p = getattr(cfg, t)
        denied = out != 0
        se = np.sqrt(p.initial_denial_rate * (1 - p.initial_denial_rate) / n)
        assert abs(denied.mean() - p.initial_denial_rate) < 4 * se, t
        share = (out == REWORKED).sum() / denied.sum()
        se = np.sqrt(p.reworked_share * (1 - p.reworked_share) / denied.sum())
        assert abs(share - p.reworked_share) < 4 * se, t


def test_denials_off_draws_nothing_and_pays_everything(runs):
    _, s_off = runs
    assert not (s_off.flows["kind"] == "radv_recovery").any()
    rows = {(y, e, m): v for y, e, m, v in s_off.rows}
    assert rows[(0, "hospital", "denial_rate")] == 0.0
    assert rows[(0, "hospital", "written_off_usd")] == 0.0


def test_denials_conserve_money(runs):
    r_on, s_off = runs
    flows = r_on.flows
    for year in range(2):
        fy = flows[flows["year"] == year]
        # the payer pays what providers receive from it
        paid = fy.loc[fy["source"] == "medicare", "amount_usd"].sum()
        providers = {p["name"] for p in PROVIDERS_2PC}
        assert set(fy.loc[fy["source"] == "medicare", "target"]) <= providers
        assert close(r_on.metric("medicare", "payer_spend_usd", year), paid)
        net = sum(r_on.metric(p["name"], "revenue_usd", year)
                  - r_on.metric(p["name"], "paid_to_providers_usd", year)
                  for p in PROVIDERS_2PC)
        assert close(paid, net)
        # per provider: submitted = paid + written off, and what it was paid in claims
        for st in r_on.statements_of(year, "revenue_cycle"):
            v = st.values
            assert close(v["submitted_usd"], v["paid_usd"] + v["written_off_usd"])
            assert close(v["denied_usd"], v["reworked_paid_usd"] + v["written_off_usd"])
            assert st.payer_paid_usd == st.provider_received_usd == v["paid_usd"]
        claims_paid = fy[fy["kind"].isin(["ffs_claims", "capitated_claims"])]
        stated = sum(st["paid_usd"] for st in r_on.statements_of(year, "revenue_cycle"))
        assert close(float(claims_paid["amount_usd"].sum()), stated)
        # written-off claims are not paid by anyone: off - on = written off, for the
        # claims FFS pays (the capitation itself differs: its rate reads paid history)
        off_ffs = s_off.flows
        off_ffs = off_ffs[(off_ffs["year"] == year) & (off_ffs["kind"] == "ffs_claims")]
        on_ffs = fy[fy["kind"] == "ffs_claims"]
        written_ffs = sum(st["written_off_usd"] for st in r_on.statements_of(year, "revenue_cycle"))
        written_cap = float(sum(r_on.metric(p["name"], "written_off_usd", year)
                                for p in PROVIDERS_2PC)) - written_ffs
        assert abs(written_cap) < 1e-6 * written_ffs
        others = float(fy.loc[fy["kind"] == "capitated_claims", "amount_usd"].sum())
        off_others = float(s_off.flows.loc[(s_off.flows["year"] == year) & (
            s_off.flows["kind"] == "capitated_claims"), "amount_usd"].sum())
        assert close(float(off_ffs["amount_usd"].sum()) + off_others,
                     float(on_ffs["amount_usd"].sum()) + others + written_ffs)


def test_denial_rates_within_tolerance_in_a_run(runs):
    r_on, _ = runs
    cfg = Denials(enabled=True)
    st = r_on.statements_of(0, "revenue_cycle", "specialists")[0]
    n = int(st.lines[0].note.split()[0])  # "N claims"
    rate = st["denial_rate"]
    # the specialists bill professional claims only (6%): binomial 4 SE
    p = cfg.professional.initial_denial_rate
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert r_on.metric("specialists", "denial_rate", 0) == rate
    assert r_on.metric("specialists", "rework_cost_usd", 0) == pytest.approx(
        st["rework_cost_usd"])


def test_rework_delays_cash(runs):
    r_on, _ = runs
    flows = r_on.flows
    claims = flows[flows["kind"] == "ffs_claims"]
    for year in range(2):
        cy = claims[claims["year"] == year]
        dates = sorted(cy["paid_date"].unique())
        assert len(dates) == 2  # clean claims, then the reworked ones
        assert (dates[1] - dates[0]).days == 60
        late = float(cy.loc[cy["paid_date"] == dates[1], "amount_usd"].sum())
        ffs_rw = 0.0
        for st in r_on.statements_of(year, "revenue_cycle"):
            ffs_rw += st["reworked_paid_usd"]
        others_late = flows[(flows["year"] == year) & (flows["kind"] == "capitated_claims")]
        others_late = float(others_late.loc[others_late["paid_date"] == others_late[
            "paid_date"].max(), "amount_usd"].sum())
        assert close(late + others_late, ffs_rw)
    # cost: the rework cost is part of the provider's cost
    assert r_on.metric("hospital", "rework_cost_usd", 0) > 0


def test_days_in_ar_follows_the_payment_lags(runs):
    # Off: every claim paid at the claims lag (30 days). On: clean claims at 30 days,
    # reworked ones 60 days later, written-off ones held 90 days: 30 + 60 x the denied share
    # of charges, ~6-8% of claims (professional 6%, facility 8.4%), so ~33.5-35 days
    # (MGMA/HFMA: ~30-50 days for physician groups and hospitals, all payers).
    r_on, s_off = runs
    for year in range(2):
        for prov in ("hospital", "pc_b"):
            d = r_on.metric(prov, "days_in_ar", year)
            assert 32.0 < d < 37.0, (prov, year, d)
    off = [v for _, _, metric, v in s_off.rows if metric == "days_in_ar"]
    assert off and np.allclose(off, 30.0)


def test_radv_recovery_hand_computed():
    # 4 members; gross capitation $12,000 over sum(mm x coded) = 12x1.0 + 12x1.2 + 6x0.8
    # + 12x1.5 = 49.2 -> $243.90 per member-month per unit of score
    mm = np.array([12.0, 12.0, 6.0, 12.0])
    coded = np.array([1.0, 1.2, 0.8, 1.5])
    supported = np.array([1.0, 1.0, 0.8, 1.2])
    k = 12_000.0 / 49.2
    error, recovery = extrapolated_recovery(12_000.0, mm, coded, supported, np.array([1, 3]))
    assert error == pytest.approx(k * 12 * 0.2 + k * 12 * 0.3)
    assert recovery == pytest.approx(error / 2 * 4)  # mean of the sample x 4 members
    # the supported share: base 5%; at intensity 1 the 15% uplift is unsupported
    risk, cfg = RiskScore(), Radv(enabled=True)
    assert supported_share(np.array([0.0]), risk, cfg)[0] == pytest.approx(0.95)
    assert supported_share(np.array([1.0]), risk, cfg)[0] == pytest.approx(0.95 / 1.15)
    half = Radv(uplift_unsupported_share=0.5)
    assert supported_share(np.array([1.0]), risk, half)[0] == pytest.approx(0.95 * 1.075 / 1.15)
    # never audited: nothing recovered; everyone sampled: the exact error
    none = audit(Radv(audit_probability=0.0), np.random.default_rng(0), 12_000.0, mm, coded,
                 supported)
    assert not none.audited and none.recovery_usd == 0.0
    full = audit(Radv(sample_size=10), np.random.default_rng(0), 12_000.0, mm, coded, supported)
    assert full.sampled == 4
    assert full.recovery_usd == pytest.approx(k * (12 * 0.2 + 12 * 0.3))


def test_radv_in_a_run_is_repaid_by_the_capitated_group(runs):
    r_on, _ = runs
    flows = r_on.flows
    radv = flows[flows["kind"] == "radv_recovery"]
    recovered = []
    for year in range(2):
        st = r_on.statements_of(year, "radv", "pc_a")[0]  # audited every year (probability 1)
        fy = radv[radv["year"] == year]
        assert close(r_on.metric("pc_a", "radv_recovery_usd", year), st["recovery_usd"])
        # pc_a codes at intensity 1: some of its HCCs are unsupported (sim.coding.hcc), but
        # 35 sampled members of ~600 carry few of them, so a year's recovery is a noisy
        # share of the capitation (0 when no sampled member has an unsupported code)
        cap = r_on.statement(year, "capitation", "pc_a")["gross_capitation_usd"]
        assert 0.0 <= st["recovery_usd"] / cap < 0.10
        recovered.append(st["recovery_usd"])
        if st["recovery_usd"] == 0:
            assert close(float(fy["amount_usd"].sum()), 0.0)
            continue
        assert (fy["source"] == "medicare").all() and (fy["target"] == "pc_a").all()
        assert close(float(fy["amount_usd"].sum()), -st["recovery_usd"])
        # paid 3 years after the year ends (365-day years: within two days of 1 January)
        expected = pd.Timestamp(2025 + year + 4, 1, 1)
        assert abs((fy["paid_date"].iloc[0] - expected).days) <= 2
    assert max(recovered) > 0  # this seed: year 0 recovers ~2.4% of the capitation


def test_hcc_recapture_rate_near_the_coding_completeness(runs):
    r_on, _ = runs
    # CMS-HCC score: a condition family is documented when the patient has an encounter
    # and the recapture rate holds (0.76 at coding intensity 0, 0.95 at 1; diabetes, heart
    # failure and COPD more, hcc.RECAPTURE_MISS): ~0.75 of present families at 0
    # (docs/coding.md, target 0.65-0.75), ~0.86 at 1; ~500 members x 1.5
    # families each: SE ~1.5 points, so the bands below are over 5 SE either side
    for year in range(2):
        assert 0.60 < r_on.metric("pc_b", "hcc_recapture_rate", year) < 0.80
        assert 0.80 < r_on.metric("pc_a", "hcc_recapture_rate", year) < 0.95
    rows = r_on.rows
    assert not ((rows.entity == "hospital") & (rows.metric == "hcc_recapture_rate")).any()


def test_shipped_experiment_loads_and_validates():
    """The experiment file validates strictly and names 15 files that exist; one arm of
    each contract (the documented ones, the longest extends chains) loads and validates
    (loading all 15 takes ~7 CPU-s; ``vbcsim compare`` loads them all)."""
    import yaml

    from sim.experiment import ExperimentFile
    from sim.scenario import load_scenario

    path = REPO / "scenarios" / "experiments" / "value_of_documentation.yaml"
    spec = ExperimentFile.model_validate(yaml.safe_load(path.read_text())).experiment
    assert spec.reference == "ffs_usual" and len(spec.scenarios) == 15
    assert all((path.parent / f).is_file() for f in spec.scenarios)
    kinds = {}
    for f in spec.scenarios:
        if not f.endswith("_documented.yaml"):
            continue
        s = load_scenario(path.parent / f)
        assert s.revenue_cycle.denials.enabled and s.revenue_cycle.radv.enabled
        assert s.behavior == "fixed"
        assert s.revenue_cycle.documentation.coding_intensity == 0.5
        kinds[s.name.split("_")[0]] = {c.type for per in s.plan for c in per.contracts}
    assert kinds == {"ffs": {"ffs"}, "mssp1": {"ffs", "mssp"}, "mssp2": {"ffs", "mssp"},
                     "reach": {"ffs", "reach"}, "cap": {"ffs", "capitation"}}


def test_documentation_programme_sets_coding_from_its_year():
    from sim.coding.programme import with_programme

    sc = scenario(providers=PROVIDERS_2PC,
                  revenue_cycle={"documentation": {"coding_intensity": 0.5,
                                                   "from_plan_year": 1}})
    assert with_programme(sc, 0, None) is None  # before the programme: unchanged
    lv = with_programme(sc, 1, None)
    assert {k: v.coding_intensity for k, v in lv.items()} == {"pc_a": 0.5, "pc_b": 0.5}
    chosen = {"pc_a": sc.providers[0].levers.model_copy(update={"prevention_effort": 0.7})}
    lv = with_programme(sc, 2, chosen)
    assert lv["pc_a"].prevention_effort == 0.7 and lv["pc_a"].coding_intensity == 0.5
    assert chosen["pc_a"].coding_intensity == 0.0  # the input is not changed
    assert with_programme(scenario(), 3, chosen) is chosen  # no programme


def _inputs(rows: list[tuple], scenarios: tuple[str, ...], data: dict):
    from sim.report.inputs import ReportInputs

    results = pd.DataFrame(rows, columns=["replication", "scenario", "year", "entity",
                                          "metric", "value"])
    return ReportInputs(results=results, cash_flows=None, sources=(), scenarios=scenarios,
                        reference=scenarios[0], provider="pc", discount_rate=0.03,
                        paired=True, pairing="paired", sensitivity=(), scenario_data=data)


def test_report_section_values_per_1000_and_explains_contracts():
    from sim.report.revenue_cycle import per_1000, render_revenue_cycle

    rows = []
    for s, margin, radv in (("cap_usual", 100.0, 50.0), ("cap_documented", 400.0, 150.0)):
        for y in (0, 1):
            rows += [(0, s, y, "population", "person_years", 500.0),
                     (0, s, y, "population", "payer_spend_usd", 1e6),
                     (0, s, y, "population", "risk_score_mean", 1.0),
                     (0, s, y, "pc", "margin_usd", margin),
                     (0, s, y, "pc", "radv_recovery_usd", radv),
                     (0, s, y, "pc", "hcc_recapture_rate", 0.85),
                     (0, s, y, "pc", "denial_rate", 0.0),
                     (0, s, y, "hospital", "written_off_usd", 10.0),
                     (0, s, y, "hospital", "rework_cost_usd", 1.0)]
    cap = {"plan": [{"years": "all", "contracts": [
        {"type": "ffs"}, {"type": "capitation", "coding_adjustment": 0.059}]}]}
    inp = _inputs(rows, ("cap_usual", "cap_documented"), {"cap_usual": cap,
                                                          "cap_documented": cap})
    t = per_1000(inp)
    # $1e6 a year for 500 person-years a year: $2e6 per 1,000 person-years (beneficiary-years)
    assert t.loc[("cap_usual", 0), "payer"] == pytest.approx(2e6)
    assert t.loc[("cap_documented", 0), "radv"] == pytest.approx(300.0)
    html = render_revenue_cycle(inp)
    # margin +$300 a year for 500 person-years: +$600 per 1,000 person-years
    assert "cap_documented vs cap_usual" in html and "$600" in html
    assert "5.9%" in html and "RADV" in html
    none = _inputs([r for r in rows if r[4] not in {"radv_recovery_usd", "written_off_usd",
                                                    "rework_cost_usd"}],
                   ("cap_usual", "cap_documented"), {})
    assert render_revenue_cycle(none) == ""
