"""The console view: key metrics by default, rows that say nothing left out (and said),
statements of one real replication so that they add up, one number format."""

from __future__ import annotations

import pandas as pd

from sim.catalogue import CATALOGUE, key_metrics
from sim.results import summarise
from sim.results.console import console_view, drop_hidden, hidden_rows
from sim.results.summary import ReadableFrame, format_table
from sim.settlement.report import format_statements, representative_replication


def _results() -> pd.DataFrame:
    rows = []
    for rep in (0, 1):
        for year in (0, 1):
            v = 100.0 + rep + year
            rows += [
                (rep, "s", year, "population", "spend_per_capita_usd", 10_000 + v),
                (rep, "s", year, "population", "tests_per_1000", v),
                (rep, "s", year, "population", "payer_spend_usd", 5 * v),
                (rep, "s", year, "payer", "payer_spend_usd", 5 * v),  # a single payer
                (rep, "s", year, "pcp", "margin_usd", v),
                (rep, "s", year, "pcp", "settlement_usd", v - 100),  # 0 only in rep 0 year 0
                (rep, "s", year, "pcp", "quality_score", 40.0),
                (rep, "s", year, "pcp", "attributed_person_years", 1000.0),
                (rep, "s", year, "hospital", "margin_usd", -v),
                (rep, "s", year, "hospital", "capitation_revenue_usd", 0.0),
                (rep, "s", year, "hospital", "quality_score", 40.0),  # the population's
                (rep, "s", year, "hospital", "attributed_person_years", 0.0),
            ]
    return pd.DataFrame(rows, columns=["replication", "scenario", "year", "entity", "metric",
                                       "value"])


def test_key_metrics_are_declared_and_cover_each_theme():
    keys = key_metrics()
    assert all(k in CATALOGUE for k in keys)
    for theme in ("spend_per_capita_usd", "admissions_per_1000", "readmission_rate_30d",
                  "margin_usd", "settlement_usd", "quality_score"):
        assert theme in keys
    assert len(keys) <= 12  # a short list


def test_rows_that_say_nothing_are_found_by_reason():
    hidden = hidden_rows(_results())
    assert hidden["zero"] == {("s", "hospital", "capitation_revenue_usd"),
                              ("s", "hospital", "attributed_person_years")}
    assert hidden["no own quality score"] == {("s", "hospital", "quality_score")}
    assert hidden["same as population"] == {("s", "payer", "payer_spend_usd")}


def test_key_view_and_full_view():
    results = _results()
    summary = summarise(results)
    key, notes = console_view(results, summary)
    shown = set(zip(key["entity"], key["metric"], strict=True))
    assert shown == {("population", "spend_per_capita_usd"), ("pcp", "margin_usd"),
                     ("pcp", "settlement_usd"), ("pcp", "quality_score"),
                     ("hospital", "margin_usd")}
    assert notes[0].startswith("Key metrics; `--full`")
    assert "2 row(s) that are 0 in every replication and year" in notes[1]
    assert "rows of payer identical to the population's" in notes[1]
    full, notes = console_view(results, summary, full=True)
    shown = set(zip(full["entity"], full["metric"], strict=True))
    assert ("population", "tests_per_1000") in shown and ("pcp", "attributed_person_years") in shown
    assert ("hospital", "quality_score") not in shown and ("payer", "payer_spend_usd") not in shown
    assert len(full) == len(summary) - 4 and notes[0].startswith("Not shown")


def test_paired_differences_drop_rows_hidden_in_every_scenario():
    results = pd.concat([_results(), _results().assign(scenario="t")])
    table = pd.DataFrame({"scenario": ["t", "t"], "entity": ["hospital", "pcp"],
                          "metric": ["capitation_revenue_usd", "margin_usd"]})
    assert list(drop_hidden(table, results)["entity"]) == ["pcp"]


def _statement(rep: int, year: int, expenditure: float) -> list[tuple]:
    """A two-line-threshold statement: savings count only above the threshold."""
    benchmark, threshold = 1000.0, 30.0
    gross = benchmark - expenditure
    shareable = gross if gross >= threshold else 0.0
    earned = 0.5 * shareable
    lines = [("benchmark", benchmark), ("expenditure", expenditure),
             ("gross savings", gross), ("threshold", threshold),
             ("shareable savings", shareable), ("earned", earned)]
    common = (year, "mssp:payer:pcp", "pcp", 0, rep, "mssp")
    rows = [(*common, "line", item, value) for item, value in lines]
    rows += [(*common, "cash", "provider_received_usd", earned),
             (*common, "cash", "payer_paid_usd", earned)]
    bench = (year, "mssp:payer:pcp", "pcp", 1, rep, "mssp_benchmark")
    rows += [(*bench, "line", "historical benchmark", benchmark),
             (*bench, "cash", "provider_received_usd", 0.0)]
    return rows


def _settlements() -> pd.DataFrame:
    # replication 0 misses the threshold, 1 passes it, 2 passes it widely
    rows = (_statement(0, 0, 990.0) + _statement(1, 0, 950.0) + _statement(2, 0, 900.0))
    return pd.DataFrame(rows, columns=["year", "label", "entity", "statement",
                                       "replication", "contract", "kind", "item", "value"])


def test_statements_show_the_median_replication_and_add_up():
    settlements = _settlements()
    rep, totals = representative_replication(settlements)
    assert rep == 1 and list(totals) == [0.0, 25.0, 50.0]
    text = format_statements(settlements)
    assert "replication 1: the median of 3" in text and "lowest 0, highest 50" in text
    values = {line.split()[0]: float(line.split()[-1].replace(",", ""))
              for line in text.splitlines()
              if line.startswith("    ") and not line.strip().startswith("item")}
    # gross savings 50 above the threshold 30: shareable = gross, as the rule says; the
    # line-by-line mean would show gross 53.3 beside shareable 50
    assert values["gross"] == 50 and values["shareable"] == 50 and values["earned"] == 25
    assert "historical benchmark" not in text  # a statement without cash: --full
    assert "historical benchmark" in format_statements(settlements, full=True)


def test_one_number_format():
    frame = pd.DataFrame({"parameter": ["a", "b"], "low": [12_587.3, 1_380.2],
                          "share": [0.5, 0.25], "n": [1, 2]})
    text = format_table(frame)
    assert "12,587" in text and "1,380" in text and "e+" not in text
    risk = ReadableFrame(pd.DataFrame({"entity": ["pcp"], "margin_mean": [-32_674_995.2],
                                       "p_negative_margin": [1.0]}))
    assert "-32,674,995" in repr(risk) and "e+" not in repr(risk)
    assert risk["margin_mean"].iloc[0] == -32_674_995.2  # values untouched
    assert "-32,674,995" in risk._repr_html_()
    flipped = repr(risk.set_index("entity").T)  # a column that mixes money and shares
    assert "-32,674,995" in flipped and "1.00" in flipped and "e+" not in flipped
