"""A payment model written in Python, registered and run from a scenario."""

import numpy as np
import pytest

from sim.contracts import BaseSettler
from sim.contracts.statement import StatementBuilder
from sim.replication import simulate_replication
from sim.scenario import scenario_from_dict
from sim.settlement import register_custom


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


def test_custom_contract_by_import_path_works_with_allow_code():
    sc = scenario_from_dict({"population": {"size": 600}, "horizon_years": 1, "behavior": "fixed",
                             "plan": [{"contracts": [{
                                 "type": "custom", "kind": f"{__name__}:PerMemberBonus",
                                 "provider": "primary_care_group",
                                 "params": {"usd_per_member_year": 5.0}}]}]},
                            allow_code=True)
    out = simulate_replication(sc, 0, np.random.SeedSequence(2)).results
    pc = out[(out.entity == "primary_care_group") & (out.metric == "settlement_usd")]["value"]
    py = out[(out.entity == "population") & (out.metric == "person_years")]["value"]
    np.testing.assert_allclose(pc.to_numpy(), 5.0 * py.to_numpy())


CUSTOM_IN_MAIN = '''# the settler's class is defined in the script's __main__
import sys
import numpy as np
import pandas as pd
import sim
from sim.contracts.statement import StatementBuilder
from sim.contracts import BaseSettler
from sim.settlement import register_custom


{settler_source}

if __name__ == "__main__":
    register_custom("notebook_bonus", PerMemberBonus)
    sc = sim.scenario_from_dict({"name": "bonus", "population": {"size": 400},
                                 "horizon_years": 1, "behavior": "fixed", "replications": 3,
                                 "plan": [{"contracts": [{"type": "ffs"}, {
                                     "type": "custom", "kind": "notebook_bonus",
                                     "provider": "primary_care_group",
                                     "params": {"usd_per_member_year": 7.0}}]}]})
    backends = {"serial": {"workers": 1}, "processes": {"workers": 2}}
    if sys.argv[1] == "dask":
        backends["dask"] = {"dask_local": 2}
    runs = {name: sim.run(sc, progress=False, **kw) for name, kw in backends.items()}
    for name, res in runs.items():
        assert res.backend == name, (name, res.backend)
        pd.testing.assert_frame_equal(runs["serial"].results, res.results)
    out = runs["serial"].results
    pc = out[(out.entity == "primary_care_group") & (out.metric == "settlement_usd")]["value"]
    py = out[(out.entity == "population") & (out.metric == "person_years")]["value"]
    np.testing.assert_allclose(pc.to_numpy(), 7.0 * py.to_numpy())
    print("ok", sorted(runs))
'''


@pytest.mark.parametrize("backends", ["processes", "dask"])
def test_a_contract_class_written_in_main_runs_on_worker_processes(tmp_path, backends):
    """A class defined in ``__main__`` (a notebook, a script) and registered there is sent to
    the worker processes (and Dask workers), with the same results as in-process."""
    import subprocess
    import sys
    from pathlib import Path

    if backends == "dask":
        pytest.importorskip("distributed")
    script = tmp_path / "custom_in_main.py"
    import inspect

    source = CUSTOM_IN_MAIN.replace("{settler_source}", inspect.getsource(PerMemberBonus))
    script.write_text(source, encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, str(script), backends], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().startswith("ok")


ENTRY_POINT_MODULE = '''
from sim.contracts import BaseSettler
from sim.contracts.statement import StatementBuilder


class Bonus(BaseSettler):
    """Pays the holder a flat bonus per attributed member-year of the payer."""

    def settle(self, ctx, year, book):
        cfg = self.config
        p, a = ctx.payer_index(cfg.payer), ctx.provider_index(cfg.provider)
        py = float(ctx.person_years(year)[ctx.members(year, p, a)].sum())
        st = StatementBuilder("installed_bonus")
        amount = st.line("bonus", cfg.params["usd_per_member_year"] * py)
        book.pay(year, cfg.payer, cfg.provider, amount, "p4p_adjustment", self.label)
        return [(cfg.provider, st.build(amount))]


def not_a_settler():
    raise AssertionError("called")
'''


def _install_entry_points(root, entries: dict[str, str]) -> None:
    """A throwaway installed distribution under ``root`` (on ``sys.path``): importlib.metadata
    finds its ``*.dist-info`` folder and the ``vbcsim.contracts`` entry points it declares."""
    (root / "vbcsim_ep_test.py").write_text(ENTRY_POINT_MODULE, encoding="utf-8")
    info = root / "vbcsim_ep_test-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vbcsim-ep-test\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[vbcsim.contracts]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()),
        encoding="utf-8")


def test_installed_entry_point_contract_loads_and_runs_without_allow_code(tmp_path, monkeypatch):
    """A contract offered by an installed package (entry point of the ``vbcsim.contracts``
    group) is selected by its name: the scenario loads without the code opt-in, and the run
    resolves the class from the entry point and settles with it."""
    from sim.contracts import resolve as registry
    from sim.scenario import load_scenario

    _install_entry_points(tmp_path, {"installed_bonus": "vbcsim_ep_test:Bonus",
                                     "installed_junk": "vbcsim_ep_test:not_a_settler"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "RESOLVED", {})
    path = tmp_path / "installed.yaml"
    path.write_text("horizon_years: 1\nbehavior: fixed\npopulation: {size: 600}\nplan:\n"
                    "  - contracts:\n      - {type: ffs}\n"
                    "      - {type: custom, kind: installed_bonus, provider: primary_care_group,"
                    " params: {usd_per_member_year: 3.0}}\n", encoding="utf-8")
    sc = load_scenario(path)  # no allow_code
    out = simulate_replication(sc, 0, np.random.SeedSequence(3)).results
    pc = out[(out.entity == "primary_care_group") & (out.metric == "settlement_usd")]["value"]
    py = out[(out.entity == "population") & (out.metric == "person_years")]["value"]
    np.testing.assert_allclose(pc.to_numpy(), 3.0 * py.to_numpy())
    assert registry.RESOLVED["installed_bonus"].__module__ == "vbcsim_ep_test"
    # an entry point that is not a settler class is refused before anything is called
    with pytest.raises(registry.CustomCodeError, match="not a contract settler class"):
        registry.resolve_custom("installed_junk")
