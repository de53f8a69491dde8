"""Fee-for-service: payers pay the claims at their prices; MIPS-style P4P on FFS revenue."""

from __future__ import annotations

import numpy as np
import pytest
from settle_support import PROVIDERS_2PC, TWO_PAYERS, close, run, scenario

from sim.contracts.ffs.rules import budget_neutral_scaling, mips_adjustment, national_scaling
from sim.contracts.ffs.settler import PROFESSIONAL
from sim.replication import simulate_replication


def test_default_plan_medicare_pays_exactly_the_allowed_amounts():
    sc = scenario(size=1500, horizon=2)  # default payer (Medicare, price factor 1), FFS
    out = simulate_replication(sc, 0, np.random.SeedSequence(3))
    r = out.results
    for year in range(sc.horizon_years):
        ry = r[(r.year == year) & (r.entity == "population")].set_index("metric")["value"]
        assert ry["payer_spend_usd"] > 0
        assert close(ry["payer_spend_usd"], ry["spend_total_usd"])
        settled = r[(r.year == year) & (r.metric == "settlement_usd")]["value"]
        assert (settled == 0).all()  # no P4P, no reconciliation


def test_second_payer_pays_its_price_factor_times_its_patients_claims():
    sc = scenario(size=2000, horizon=2, providers=PROVIDERS_2PC, payers=TWO_PAYERS,
                  plan=[{"years": "all", "contracts": [{"type": "ffs", "payer": "medicare"},
                                                       {"type": "ffs", "payer": "commercial"}]}])
    r = run(sc, seed=5)
    for year in range(sc.horizon_years):
        c = r.claims(year)
        for payer, factor in (("medicare", 1.0), ("commercial", 1.4)):
            mine = c["payer"] == r.payer_index(payer)
            expected = factor * float(c["amount"][mine].sum())
            assert expected > 0
            assert close(r.metric(payer, "payer_spend_usd", year), expected)
            # ... and each provider gets its own claims of those patients
            f = r.flows[(r.flows.year == year) & (r.flows.source == payer)]
            for name in ("pc_a", "hospital"):
                own = mine & (c["provider"] == r.pindex(name))
                assert close(float(f.loc[f.target == name, "amount_usd"].sum()),
                             factor * float(c["amount"][own].sum()))
        # the commercial share of the panel is about 40%
        members = r.members(year)
        share = (members & (r.payer_of == 1)).sum() / members.sum()
        assert share == pytest.approx(0.4, abs=0.04)  # binomial SD ~0.011 at n ~ 2,000


P4P_PROVIDERS = [
    {"name": "pc_a", "kind": "primary_care", "panel_share": 0.5,
     "levers": {"prevention_effort": 0.9, "transitional_care_effort": 0.9}},
    {"name": "pc_b", "kind": "primary_care", "panel_share": 0.5,
     "levers": {"prevention_effort": 0.0, "transitional_care_effort": 0.0}},
    {"name": "specialists", "kind": "specialist"},
    {"name": "hospital", "kind": "hospital"},
]
CLINICIANS = ("pc_a", "pc_b", "specialists")


def professional_paid(r, year: int, name: str) -> float:
    """Covered professional services (PFS professional claims, not labs) billed by
    ``name`` in ``year``: the base MIPS adjusts."""
    c = r.claims(year)
    m = PROFESSIONAL[c["service"]] & (c["provider"] == r.pindex(name))
    return float(c["paid"][m].sum())


@pytest.fixture(scope="module")
def p4p_run():
    sc = scenario(size=2000, horizon=3, providers=P4P_PROVIDERS,
                  plan=[{"years": "all", "contracts": [
                      {"type": "ffs", "pay_for_performance": True}]}])
    return run(sc, seed=1)


def test_mips_adjusts_only_clinicians_professional_services_two_years_later(p4p_run):
    r = p4p_run
    cal = r.sc.economics.first_calendar_year
    for year in range(r.sc.horizon_years):
        for name in r.run.providers.names:
            settled = r.metric(name, "settlement_usd", year)
            if name not in CLINICIANS:  # hospitals, post-acute, other: no MIPS
                assert settled == 0.0, (year, name)
                continue
            st = r.statement(year, "ffs", name)
            base = professional_paid(r, year, name)
            assert close(st["mips_base_usd"], base)  # professional services only...
            assert close(st["allowed_usd"], r.metric(name, "ffs_revenue_usd", year))
            assert base < st["allowed_usd"]  # ... not the labs the group bills too
            assert close(settled, st["adjustment_usd"])
            assert st["scaling_factor"] == pytest.approx(national_scaling(cal + year))
            if year >= 2:  # the score of performance year - 2, a plan year we can read
                score = r.metric(name, "quality_score", year - 2)
                assert st["quality_score"] == pytest.approx(score, abs=1e-9)
                assert close(settled, mips_adjustment(score, 0.09, national_scaling(cal + year))
                             * base)
    # the group that manages care scores higher, and is paid a higher rate for it
    for year in range(r.sc.horizon_years):
        assert (r.statement(year, "ffs", "pc_a")["adjustment_rate"]
                > r.statement(year, "ffs", "pc_b")["adjustment_rate"])


def test_p4p_budget_neutral_adjustments_sum_to_zero_unless_the_cap_binds():
    # Score on the annual-visit share only, on a linear scale where the managed group and
    # the population land above the 75-point threshold and the unmanaged group below.
    quality = {"scoring": "linear", "annual_visit_share": {"floor": 0.5, "ceiling": 0.85},
               **{m: {"weight": 0.0} for m in ("readmission_rate_30d",
                                               "diabetes_controlled_share",
                                               "ed_visits_per_1000",
                                               "acsc_admissions_per_1000")}}
    sc = scenario(size=2000, horizon=2, providers=P4P_PROVIDERS, quality=quality,
                  plan=[{"years": "all", "contracts": [
                      {"type": "ffs", "pay_for_performance": True, "budget_neutral": True,
                       "mips_lag_years": 0}]}])
    r = run(sc, seed=1)
    neutral_years = 0
    for year in range(sc.horizon_years):
        scores = np.array([r.metric(n, "quality_score", year) for n in CLINICIANS])
        base = np.array([professional_paid(r, year, n) for n in CLINICIANS])
        settled = np.array([r.metric(n, "settlement_usd", year) for n in CLINICIANS])
        scaling = budget_neutral_scaling(scores, base)
        assert np.allclose(settled, mips_adjustment(scores, 0.09, scaling) * base,
                           rtol=1e-9, atol=1e-6)
        assert settled.min() < 0 < settled.max()
        if scaling < 3.0:
            assert abs(settled.sum()) <= 1e-9 * np.abs(settled).sum()
            neutral_years += 1
        else:  # the 3.0 limit binds: the payer keeps the rest of the penalties
            assert settled.sum() < 0
    assert neutral_years >= 1


def test_qualifying_apm_participants_are_exempt_and_paid_the_apm_incentive():
    # ENHANCED (an Advanced APM) from plan year 0, calendar 2022: QP years 2022 (5%) and
    # 2023 (3.5%) pay in plan years 2 and 3 on the professional services of years 1 and 2.
    providers = [{"name": "pc_a", "kind": "primary_care", "panel_share": 1.0},
                 {"name": "specialists", "kind": "specialist"},
                 {"name": "hospital", "kind": "hospital"}]
    sc = scenario(size=1500, horizon=4, providers=providers,
                  economics={"first_calendar_year": 2022},
                  plan=[{"years": "all", "contracts": [
                      {"type": "ffs", "pay_for_performance": True},
                      {"type": "mssp", "aco": "pc_a", "track": "ENHANCED"}]}])
    r = run(sc, seed=2)
    f = r.flows
    inc = f[f.kind == "apm_incentive"]
    assert set(inc.target) == {"pc_a"} and set(inc.source) == {"medicare"}
    for year, rate in ((2, 0.05), (3, 0.035)):
        paid = float(inc.loc[inc.year == year, "amount_usd"].sum())
        assert close(paid, rate * professional_paid(r, year - 1, "pc_a"))
        assert paid > 0
    assert inc[inc.year < 2].empty  # QP years before the plan: no incentive
    # pc_a is a QP from plan year 0: exempt from MIPS once its performance year is one
    for year in (2, 3):
        st = r.statement(year, "ffs", "pc_a")
        assert st["adjustment_usd"] == 0.0 and "qualifying APM participant" in st.facts["exempt"]
    # specialists are not in the ACO: MIPS applies to them
    assert r.statement(3, "ffs", "specialists")["adjustment_rate"] != 0.0
    # money adds up: the incentive is in the payer's spending and the group's revenue
    yr = f[f.year == 3]
    assert close(r.metric("medicare", "payer_spend_usd", 3),
                 float(yr.loc[yr.source == "medicare", "amount_usd"].sum()))
