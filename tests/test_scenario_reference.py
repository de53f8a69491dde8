"""docs/scenario-reference.md is generated from the schema and kept up to date."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.scenario import Scenario
from sim.scenario import reference as ref

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "scenario-reference.md"


@pytest.fixture(scope="module")
def by_path() -> dict[str, ref.Entry]:
    return {e.path: e for e in ref.entries()}


def test_committed_reference_is_up_to_date():
    assert DOC.is_file(), f"{DOC} is missing; generate it with `{ref.REGENERATE}`"
    if DOC.read_text(encoding="utf-8") != ref.render():
        pytest.fail(f"docs/scenario-reference.md is stale (the scenario schema changed); "
                    f"regenerate it with `{ref.REGENERATE}` and commit the result")


def test_known_entries(by_path):
    e = by_path["population.conditions.diabetes.prevalence"]
    assert e.unit == "share 0-1" and e.default == "0.27" and e.allowed == "0 to 1"
    assert "Chronic Conditions Data Warehouse" in e.source and e.source.startswith("CMS")
    # a nested default differs from the class default: each condition has its own
    assert by_path["population.conditions.hypertension.prevalence"].default == "0.58"

    e = by_path["providers[].levers.prevention_effort"]
    assert (e.unit, e.default, e.allowed) == ("effort 0-1", "0.1", "0 to 1")
    e = by_path["plan[].contracts[type=mssp].track"]
    assert e.default == "`BASIC_A`" and "`ENHANCED`" in e.allowed and "`BASIC_E`" in e.allowed
    e = by_path["plan[].contracts[type=capitation].discount"]
    assert e.allowed == "≥ 0, < 1" and e.unit == "share 0-1"
    e = by_path["plan[].contracts[type=capitation].stop_loss.attachment_usd"]
    assert e.unit == "USD per patient-year" and e.default == "100000"
    assert by_path["plan[].contracts[type=mssp].aco"].default == "required"
    assert by_path["plan[].contracts[type=mssp].msr"].allowed == "0 to 0.2, or none"
    assert by_path["providers[].behavior.fee_elasticity"].allowed == "> 0, ≤ 10"
    assert "Clemens" in by_path["providers[].behavior.fee_elasticity"].source
    assert by_path["horizon_years"].allowed == "whole number, 1 to 30"
    assert by_path["behavior"].allowed == "one of `incentives`, `fixed`"
    assert by_path["payers[].price_factor"].unit == "multiple of the fee schedule"


def _models_in(tp) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models_in(arg)]


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted names of every leaf field, found independently of the generator."""
    out: set[str] = set()
    for name, f in model.model_fields.items():
        path = f"{prefix}{name}"
        models = _models_in(f.annotation)
        if not models:
            out.add(path)
        for m in models:
            out |= _leaf_paths(m, f"{path}.")
    return out


def test_every_field_of_the_schema_is_documented(by_path):
    documented = {re.sub(r"\[[^\]]*\]", "", p) for p in by_path}
    missing = _leaf_paths(Scenario) - documented
    assert not missing, f"fields missing from the reference: {sorted(missing)}"
    # every contract type has its section
    for kind in ("ffs", "capitation", "bundled", "mssp", "reach", "custom"):
        assert f"plan[].contracts[type={kind}].type" in by_path


def test_every_numeric_entry_has_unit_source_meaning_and_range(by_path):
    for e in by_path.values():
        if e.allowed.startswith(("number", "whole number")) or e.allowed[:1].isdigit() or \
                e.allowed[:1] in "≥>-":
            assert e.unit and e.source and e.meaning, e.path


def test_sections_have_intros_from_docstrings():
    sections = {s.path: s for s in ref.sections()}
    assert "Medicare Shared Savings Program" in " ".join(
        sections["plan[].contracts[type=mssp]"].intro)
    assert any("sum to 1" in p for p in sections["population.age_bands"].intro)
    text = DOC.read_text(encoding="utf-8")
    assert "## `population`" in text and "### `providers[].levers`" in text
    assert "| `population.conditions.diabetes.prevalence` |" in text


def test_check_mode_exits_1_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "ref.md"
    stale.write_text("old\n")
    assert ref.main(["--check", "--output", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "stale" in err and ref.REGENERATE in err
    assert ref.main(["--output", str(stale)]) == 0
    assert ref.main(["--check", "--output", str(stale)]) == 0
    assert stale.read_text() == ref.render()
    assert ref.main(["--check", "--output", str(tmp_path / "missing.md")]) == 1


def test_module_entry_point_checks_the_committed_file():
    proc = subprocess.run([sys.executable, "-m", "sim.scenario.reference", "--check"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
