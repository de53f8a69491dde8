"""RunResult shortcuts: ``plot(kind, ...)`` draws with sim.plots, ``to_excel(path)`` writes
one sheet per table with units in the headers (read back and compared with the tables)."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import plots
from sim.run_result import PLOT_KINDS

PROVIDER = "primary_care_group"


@pytest.mark.parametrize(("kind", "args"), [
    ("fan", ("payer_spend_per_capita_usd",)), ("margin", (PROVIDER,)), ("owing", (PROVIDER,)),
    ("waterfall", (PROVIDER,)), ("comparison", (["admissions_per_1000"],)), ("ceac", ()),
    ("ce_plane", ()),
])
def test_plot_shortcuts_draw_what_sim_plots_draws(small_comparison, kind, args):
    fig = small_comparison.plot(kind, *args)
    assert isinstance(fig, Figure) and fig.axes
    if kind == "fan":  # the same lines as the function itself
        direct = plots.fan_chart(small_comparison, *args)
        got = [tuple(ln.get_ydata()) for ax in fig.axes for ln in ax.get_lines()]
        want = [tuple(ln.get_ydata()) for ax in direct.axes for ln in ax.get_lines()]
        assert got == want


def test_unknown_plot_kind_lists_the_kinds(small_comparison):
    with pytest.raises(ValueError, match="unknown plot kind 'pie'; expected one of fan"):
        small_comparison.plot("pie")
    assert set(PLOT_KINDS) >= {"fan", "margin", "ceac"}


def test_to_excel_one_sheet_per_table_with_units(small_comparison, tmp_path):
    pytest.importorskip("openpyxl")
    r = small_comparison
    path = r.to_excel(tmp_path / "run.xlsx")
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == ["run.xlsx"]
    book = pd.read_excel(path, sheet_name=None)
    expected = {"results", "summary", *r.tables, *r.reports()} | (
        {"draws"} if len(r.draws) else set())
    assert set(book) == {n[:31] for n in expected}
    results = book["results"]
    assert len(results) == len(r.results)
    assert list(results.columns) == ["replication", "scenario", "year", "entity", "metric",
                                     "unit", "value"]
    spend = results[results["metric"] == "payer_spend_usd"]
    assert set(spend["unit"]) == {"USD per year"}
    assert spend["value"].sum() == pytest.approx(
        r.results.loc[r.results["metric"] == "payer_spend_usd", "value"].sum())
    flows = book["cash_flows"]
    assert "amount_usd (USD)" in flows.columns
    assert flows["amount_usd (USD)"].sum() == pytest.approx(
        r.tables["cash_flows"]["amount_usd"].sum())
    assert any(c.endswith("(probability 0-1)") for c in book["risk"].columns)


def test_to_excel_without_openpyxl_says_what_to_install(small_comparison, tmp_path,
                                                        monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ImportError, match=r"pip install openpyxl"):
        small_comparison.to_excel(tmp_path / "x.xlsx")
    assert not list(tmp_path.iterdir())
