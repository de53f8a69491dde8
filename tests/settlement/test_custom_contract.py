"""A payment model written in Python, registered and run from a scenario."""

import numpy as np
import pytest

from sim.contracts.statement import StatementBuilder
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict
from sim.settlement import BaseSettler, register_custom


class PerMemberBonus(BaseSettler):
    """Pays the holder a flat bonus per attributed member-year of the payer."""

    def settle(self, ctx, year, book):
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        py = float(ctx.person_years(year)[ctx.members(year, p, a)].sum())
        st = StatementBuilder("per_member_bonus")
        amount = st.line("bonus", cfg.params["usd_per_member_year"] * py, f"{py:,.1f} member-years")
        book.pay(year, cfg.payer, cfg.provider, amount, "p4p_adjustment", self.label)
        return [(cfg.provider, st.build(amount))]


def test_custom_contract_pays_and_money_adds_up():
    register_custom("per_member_bonus", PerMemberBonus)
    sc = scenario_from_dict({"population": {"size": 800}, "horizon_years": 2, "behavior": "fixed",
                             "plan": [{"contracts": [{"type": "ffs"}, {
                                 "type": "custom", "kind": "per_member_bonus",
                                 "provider": "primary_care_group",
                                 "params": {"usd_per_member_year": 10.0}}]}]})
    out = simulate_replication(sc, 0, np.random.SeedSequence(1)).results
    pc = out[(out.entity == "primary_care_group") & (out.metric == "settlement_usd")]["value"]
    py = out[(out.entity == "population") & (out.metric == "person_years")]["value"]
    np.testing.assert_allclose(pc.to_numpy(), 10.0 * py.to_numpy())
    spend = out[(out.entity == "population") & (out.metric == "payer_spend_usd")]["value"].sum()
    allowed = out[(out.entity == "population") & (out.metric == "spend_total_usd")]["value"].sum()
    assert spend == pytest.approx(allowed + 10.0 * py.sum())


def test_unregistered_custom_contract_is_named_in_the_error():
    sc = scenario_from_dict({"population": {"size": 300}, "horizon_years": 1, "behavior": "fixed",
                             "plan": [{"contracts": [{"type": "custom", "kind": "nope",
                                                      "provider": "primary_care_group"}]}]})
    with pytest.raises(ValueError, match="no custom contract registered as 'nope'"):
        simulate_replication(sc, 0, np.random.SeedSequence(1))


def test_custom_contract_by_import_path_works_without_registration():
    sc = scenario_from_dict({"population": {"size": 600}, "horizon_years": 1, "behavior": "fixed",
                             "plan": [{"contracts": [{
                                 "type": "custom", "kind": f"{__name__}:PerMemberBonus",
                                 "provider": "primary_care_group",
                                 "params": {"usd_per_member_year": 5.0}}]}]})
    out = simulate_replication(sc, 0, np.random.SeedSequence(2)).results
    pc = out[(out.entity == "primary_care_group") & (out.metric == "settlement_usd")]["value"]
    py = out[(out.entity == "population") & (out.metric == "person_years")]["value"]
    np.testing.assert_allclose(pc.to_numpy(), 5.0 * py.to_numpy())
