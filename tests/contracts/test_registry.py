"""The contract registry: one plug-in per contract type, and nobody else asks for type names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sim.contracts.registry import BUILT_IN, CONFIGS, SETTLEMENT_KINDS, SETTLERS, SHOWN_STATEMENTS
from sim.contracts.settler import CAPITATION, SETTLEMENT, BaseSettler
from sim.scenario.payment import PlanPeriod

SIM = Path(__file__).resolve().parents[2] / "sim"


@pytest.mark.parametrize("settler", SETTLERS, ids=lambda s: s.type_name)
def test_each_settler_is_a_complete_plug_in(settler):
    assert issubclass(settler, BaseSettler)
    assert settler.type_name and BUILT_IN[settler.type_name] is settler
    assert settler.config_model.model_fields["type"].default == settler.type_name
    assert settler.__module__ == f"sim.contracts.{settler.type_name}.settler"
    assert settler.config_model.__module__ == f"sim.contracts.{settler.type_name}.config"
    assert set(settler.flow_kinds.values()) <= {SETTLEMENT, CAPITATION}


def test_registry_tables_replace_the_old_ones():
    # the table that lived in sim/settlement/book.py, now declared by the settlers
    assert SETTLEMENT_KINDS == {"p4p_adjustment", "shared_savings", "bundle_reconciliation",
                                "capitation_settlement", "reach_reconciliation",
                                "apm_incentive", "global_budget_reconciliation"}
    # the statements printed by `vbcsim run` (was a tuple in sim/settlement/report.py)
    assert set(SHOWN_STATEMENTS) == {"capitation", "bundled", "mssp", "reach", "mssp_benchmark",
                                     "bundled_target", "reach_benchmark", "global_budget"}


def test_the_plan_selects_every_registered_type():
    types = {c.model_fields["type"].default for c in CONFIGS}
    assert types == set(BUILT_IN) | {"custom"}
    for t in sorted(BUILT_IN):
        holder = {"aco": "pc"} if "aco" in BUILT_IN[t].config_model.model_fields else {
            "provider": "pc"}
        period = PlanPeriod(contracts=[{"type": t, **holder}])
        assert type(period.contracts[0]) is BUILT_IN[t].config_model


def _type_name_branches(path: Path) -> list[str]:
    """Comparisons of a ``.type`` / ``.type_name`` with a built-in type name, and
    ``isinstance`` checks against a contract configuration or settler class."""
    names = set(BUILT_IN)
    classes = {c.__name__ for c in CONFIGS} | {s.__name__ for s in SETTLERS}
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            attr = any(isinstance(s, ast.Attribute) and s.attr in ("type", "type_name")
                       for s in sides)
            consts = {c.value for s in sides for c in ast.walk(s)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            if attr and consts & names:
                out.append(f"{path.name}:{node.lineno}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & classes):
            out.append(f"{path.name}:{node.lineno}")
    return out


def test_no_code_outside_the_contract_packages_branches_on_a_type_name():
    outside = [p for p in SIM.rglob("*.py") if "contracts" not in p.relative_to(SIM).parts]
    assert len(outside) > 20
    found = [hit for p in outside for hit in _type_name_branches(p)]
    assert found == []


def test_the_branch_finder_finds_a_branch(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(s, c):\n    return s.type_name == 'ffs' or c.type in ('mssp', 'x')"
                   "\n\ndef g(c):\n    return isinstance(c, MSSPContract)\n", encoding="utf-8")
    assert sorted(set(_type_name_branches(bad))) == ["bad.py:2", "bad.py:5"]
