"""The notebooks in ``notebooks/`` run top to bottom and are committed without outputs.

Each notebook is executed in a fresh ``python3`` kernel (this interpreter: jupyter_client
launches ``sys.executable`` for the ``python`` of ipykernel's kernel spec) from the
``notebooks/`` folder, with ``VBCSIM_NOTEBOOK_SMALL=1`` so that it uses small panels, few
replications and short horizons. The notebooks end with cells for readers; the checks of
what their text claims (money adds up, spread shrinks with panel size, ...) live here, in
:data:`CHECKS`, and run as an extra last cell in the same kernel, printing ``checks
passed``; an error in any cell fails the test and names the cell.

Needs the ``test`` extra (``pip install '.[test]'``: nbclient, nbformat, ipykernel).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install '.[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install '.[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install '.[test]' (ipykernel)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01_quickstart.ipynb", "02_transition_plan.ipynb", "03_custom_contract.ipynb",
            "04_panel_size_and_noise.ipynb", "05_my_aco.ipynb"]
CELL_TIMEOUT_S = 300

# What each notebook must print besides "checks passed" (its own asserts guard the numbers).
MUST_PRINT = {
    "03_custom_contract.ipynb": ["money adds up: True"],
    "04_panel_size_and_noise.ipynb": ["spread shrinks with panel size: True"],
}
# The checks of each notebook's claims, run after its last cell (same kernel, same names).
CHECKS = {
    "01_quickstart.ipynb": """\
assert set(summary["n"]) == {scenario.replications}
assert set(res["year"]) == set(range(scenario.horizon_years))
assert 9_000 < key.loc["allowed spending per capita (USD/year)", "mean"] < 17_000
assert (out_dir / "results.parquet").is_file() and (out_dir / "scenario.yaml").is_file()
print("checks passed")
""",
    "02_transition_plan.ipynb": """\
assert sorted(group.index) == sorted(NAMES)
# staying in FFS settles nothing, so never owes
assert group.loc["stay_ffs", "settlement_mean"] == 0 and group.loc["stay_ffs", "p_owing"] == 0
# the glide path's year 0 is plain FFS: nothing is settled
g0 = by_year[(by_year.scenario == "glide_to_enhanced") & (by_year.year == 0)]
assert float(g0["settlement_mean"].iloc[0]) == 0.0
# cumulative savings: one row per other plan and year, the last equal to the total difference
assert len(savings) == 2 * glide.horizon_years
final = savings[savings.year == glide.horizon_years - 1].set_index("scenario")["cumulative_mean"]
total = inc[(inc.entity == "population") & (inc.metric == "payer_spend_usd")].set_index(
    "scenario")["diff_mean"]
assert np.allclose(final.sort_index(), -total.sort_index(), rtol=1e-9, atol=1e-3)
assert (group["margin_var95"] <= group["margin_mean"] + 1e-6).all()
print("checks passed")
""",
    "03_custom_contract.ipynb": """\
assert adds_up
assert set(mine["year"]) == set(range(custom.horizon_years))
assert (paid >= 0).all()  # one-sided: the group never owes
# the fee is paid every year: at least fee PMPM x 12 x member-years
fee_floor = PARAMS["care_management_pmpm_usd"] * 12 * values["member_years"]
assert (paid >= fee_floor - 1e-6).all()
# FFS settles nothing; the custom contract's shared savings count as settlement
settled = res[(res.entity == "primary_care_group") & (res.metric == "settlement_usd")]
assert (settled[settled.scenario == ffs.name]["value"] == 0).all()
print("checks passed")
""",
    "04_panel_size_and_noise.ipynb": """\
assert shrinks, spread
assert noise_sd.iloc[0] > noise_sd.iloc[-1]
assert msr.is_monotonic_decreasing
assert (payout["expected, no MSR"] > payout["expected, with MSR"]).all()
assert (payout["expected, with MSR"] >= 0).all()
assert ((p_clear >= 0) & (p_clear < 0.5)).all()
print("checks passed")
""",
    "05_my_aco.ipynb": """\
assert yaml_path.exists() and fit_path.exists()
fitted = [r for r in built.fit if "not fitted" not in r.target]
assert all(abs(r.difference_pct) < 1 for r in fitted if r.target.startswith("spend_"))
assert len(forecast) == REPS and forecast["savings rate"].notna().all()
assert abs(summary.loc["savings rate", "actual PY2024"] - 0.0502) < 1e-12  # PUF Sav_rate
assert {"stay", "glide_up", "enhanced", "reach", "capitation"} == set(ranking["option"])
assert ranking["npv_usd"].is_monotonic_decreasing and ranking["p_owing"].between(0, 1).all()
assert len(plan.tornado) >= 1
print("checks passed")
""",
}
# Notebooks that must draw at least this many figures.
MIN_FIGURES = {"01_quickstart.ipynb": 1, "02_transition_plan.ipynb": 2,
               "03_custom_contract.ipynb": 1, "04_panel_size_and_noise.ipynb": 2,
               "05_my_aco.ipynb": 2}


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if isinstance(data, dict) else ""


def test_the_four_notebooks_exist():
    names = [p.name for p in notebook_paths()]
    assert [n for n in EXPECTED if n not in names] == []


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_is_stripped(path: Path):
    """Committed notebooks carry no outputs or execution counts (run them to see results)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} have outputs; strip them before committing"
    assert nb.cells and nb.cells[0].cell_type == "markdown", "start with a markdown intro"
    # the last cells are for readers: no test-only checks (they are in CHECKS, run by the test)
    for cell in nb.cells[-2:]:
        assert "checks passed" not in cell.source and "## Checks" not in cell.source


def test_every_notebook_has_its_checks():
    assert sorted(CHECKS) == [p.name for p in notebook_paths()]
    for name, code in CHECKS.items():
        assert "assert " in code and code.rstrip().endswith('print("checks passed")'), name


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_draws_with_sim_plots(path: Path):
    """The notebooks show the library's charts (sim.plots), not hand-made copies of them."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if path.name != "04_panel_size_and_noise.ipynb":  # its log-log charts are its own
        assert "plots." in code or ".plot(\"" in code


@pytest.mark.slow
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs(path: Path):
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["VBCSIM_NOTEBOOK_SMALL"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures as outputs
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS[path.name]))  # not saved to the file
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=env)  # raises CellExecutionError naming the failing cell

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    printed = "".join(_text(o) for o in outputs)
    assert "checks passed" in printed, f"{path.name}: the checks cell did not run"
    for expected in MUST_PRINT.get(path.name, []):
        assert expected in printed, f"{path.name}: expected output {expected!r}"
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES.get(path.name, 0), f"{path.name}: {figures} figure(s)"
