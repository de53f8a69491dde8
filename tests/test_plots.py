"""Plots: every function returns a matplotlib Figure drawing the numbers of the results.

One tiny real experiment (FFS, one-sided MSSP and global capitation; 500 patients, 2 plan
years, 3 replications, common random numbers; ``small_comparison`` in conftest.py, shared
with the report tests) feeds every test; each test recomputes what
a chart should show straight from the tidy results table and compares it with what was
drawn (line data, bar sizes, marker positions).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from conftest import small_library_scenario
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim import plots
from sim.replication import ReplicationOutput
from sim.results import RESULT_COLUMNS
from sim.sensitivity import tornado as tornado_analysis

PROVIDER = "primary_care_group"
SPEND = "payer_spend_per_capita_usd"
NAMES = ["ffs_baseline", "mssp_one_sided", "capitation_global"]


@pytest.fixture(scope="module")
def run(small_comparison):
    assert small_comparison.scenario_names == NAMES
    return small_comparison


@pytest.fixture(scope="module")
def results(run):
    return run.results


def values(results, entity, metric):
    rows = results[(results["entity"] == entity) & (results["metric"] == metric)]
    return rows.astype({"scenario": str})


def bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() != 0
            and p.get_height() != 0]


def test_no_pyplot_state(results):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plots.fan_chart(results, SPEND)
    assert isinstance(fig, Figure) and plt.get_fignums() == before


def test_fan_chart_draws_the_median_and_bands(results):
    fig = plots.fan_chart(results, SPEND)
    assert len(fig.axes) == 1  # spending fans overlap: one shared panel
    ax = fig.axes[0]
    expected = values(results, "population", SPEND).groupby(["scenario", "year"])["value"]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    for name in NAMES:
        x, y = lines[name].get_data()
        med = expected.median().loc[name]
        assert list(x) == list(med.index) == [0, 1]
        np.testing.assert_allclose(y, med.to_numpy(), rtol=1e-12)
    assert len(ax.collections) == 2 * len(NAMES)  # a 50% and a 90% band per scenario
    assert "USD per person-year" in ax.get_ylabel()
    assert "Plan year" in ax.get_xlabel()
    assert "Payer spending per capita" in fig._suptitle.get_text()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "middle 50% of replications" in legend and "middle 90% of replications" in legend


def test_fan_table_quantiles(results):
    table = plots.fan_table(results, SPEND, scenarios=["mssp_one_sided"])
    raw = values(results, "population", SPEND)
    raw = raw[raw["scenario"] == "mssp_one_sided"]
    for r in table.itertuples():
        v = raw.loc[raw["year"] == r.year, "value"].to_numpy()
        assert (r.n, r.p5, r.p50, r.p95) == pytest.approx(
            (3, np.quantile(v, 0.05), np.median(v), np.quantile(v, 0.95)))


def test_fan_chart_gives_distant_fans_their_own_panel(results):
    # make one fan distant from the others: capitation_global's margins x 100
    far = results.copy()
    pick = (far["scenario"] == "capitation_global") & (far["metric"] == "margin_usd")
    far.loc[pick, "value"] = far.loc[pick, "value"] * 100 + 1e9
    fig = plots.fan_chart(far, "margin_usd", entity=PROVIDER)
    drawn = [ln.get_label() for ax in fig.axes for ln in ax.get_lines()]
    assert sorted(drawn) == sorted(NAMES)
    capitation = next(ax for ax in fig.axes
                      if "capitation_global" in [ln.get_label() for ln in ax.get_lines()])
    assert len(capitation.get_lines()) == 1  # its margin is far larger than the others'
    assert len(plots.fan_chart(far, "margin_usd", PROVIDER, separate=False).axes) == 1
    # fans that overlap share one panel
    together = plots.fan_chart(results[~results["scenario"].eq("capitation_global")],
                               "margin_usd", entity=PROVIDER)
    assert len(together.axes) == 1


def test_margin_distribution_marks_loss_region_and_var(results):
    fig = plots.margin_distribution(results, PROVIDER)
    assert len(fig.axes) == len(NAMES)
    totals = values(results, PROVIDER, "margin_usd").groupby(["scenario", "replication"])[
        "value"].sum()
    for ax, name in zip(fig.axes, NAMES, strict=True):
        x = totals.loc[name].to_numpy()
        assert ax.get_title(loc="left") == name
        vlines = {ln.get_label(): ln.get_xdata()[0] for ln in ax.get_lines()
                  if ln.get_label() in ("mean", "VaR95 (5th percentile)")}
        assert vlines["VaR95 (5th percentile)"] == pytest.approx(np.quantile(x, 0.05))
        assert vlines["mean"] == pytest.approx(x.mean())
        lo, hi = ax.get_xlim()
        assert lo < 0 < hi  # zero (the loss threshold) always shown
        loss = matplotlib.colors.to_rgb("#C0392B")
        assert any(p.get_facecolor()[:3] == loss for p in ax.patches), "loss region not shaded"
        assert f"P(loss) {(x < 0).mean():.0%}" in ax.get_title(loc="right")
        hist = ax.containers[0]
        assert sum(p.get_height() for p in hist) == len(x)  # one count per replication
    assert "USD over the plan" in fig.axes[-1].get_xlabel()


def test_margin_distribution_per_year(results):
    fig = plots.margin_distribution(results, PROVIDER, ["ffs_baseline"], period="year")
    assert len(fig.axes) == 1
    assert sum(p.get_height() for p in fig.axes[0].containers[0]) == 3 * 2  # reps x years
    assert "USD per year" in fig.axes[0].get_xlabel()


def test_owing_probability_bars_match_settlements(results):
    fig = plots.owing_probability(results, PROVIDER)
    owe_ax, loss_ax = fig.axes
    settle = values(results, PROVIDER, "settlement_usd")
    margin = values(results, PROVIDER, "margin_usd")
    for ax, rows in ((owe_ax, settle), (loss_ax, margin)):
        expected = rows.assign(neg=rows["value"] < 0).groupby(["scenario", "year"])["neg"].mean()
        heights = [[b.get_height() for b in c] for c in ax.containers]
        for name, h in zip(NAMES, heights, strict=True):
            assert h == pytest.approx(expected.loc[name].to_numpy())
    assert "Share of replications" in owe_ax.get_ylabel()
    assert "owing" in fig._suptitle.get_text()


def test_settlement_waterfall_adds_up(run, results):
    table = plots.waterfall_table(run, PROVIDER)
    last = values(results, PROVIDER, "margin_usd")["year"].max()
    assert set(table["year"]) == {last}
    for name, part in table.groupby("scenario"):
        means = values(results, PROVIDER, "revenue_usd")
        rev = means[(means["scenario"] == name) & (means["year"] == last)]["value"].mean()
        marg = values(results, PROVIDER, "margin_usd")
        m = marg[(marg["scenario"] == name) & (marg["year"] == last)]["value"].mean()
        assert part.loc[part["item"] == "Revenue", "value"].item() == pytest.approx(rev)
        assert part.loc[part["item"] == "Margin", "value"].item() == pytest.approx(m)
        deltas = part[part["kind"] == "delta"]
        before = deltas["step"] < part.loc[part["item"] == "Revenue", "step"].item()
        assert deltas.loc[before, "value"].sum() == pytest.approx(rev)
        assert rev + deltas.loc[~before, "value"].sum() == pytest.approx(m, abs=1e-6)
    cap = table[table["scenario"] == "capitation_global"]
    assert cap.loc[cap["metric"] == "capitation_revenue_usd", "value"].item() > 0
    fig = plots.settlement_waterfall(run, PROVIDER, year=0, scenario=["ffs_baseline"])
    assert len(fig.axes) == 1
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "Fee-for-service revenue" and labels[-1] == "Margin"
    assert "plan year 0" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="no plan year 7"):
        plots.waterfall_table(run, PROVIDER, year=7)


def test_scenario_comparison_relative(results):
    metrics = [SPEND, "admissions_per_1000", (PROVIDER, "quality_score")]
    fig = plots.scenario_comparison(results, metrics, "ffs_baseline")
    ax = fig.axes[0]
    per = values(results, "population", SPEND).groupby(["scenario", "replication"])[
        "value"].mean().unstack("scenario")
    pct = 100 * (per["mssp_one_sided"] - per["ffs_baseline"]).mean() / per["ffs_baseline"].mean()
    drawn = [b for b in bars(ax) if b.get_facecolor()[:3] == matplotlib.colors.to_rgb("#D55E00")]
    assert drawn[0].get_width() == pytest.approx(pct)  # first metric, mssp_one_sided
    # two scenarios against the reference (a difference of exactly 0 is a bar of width 0:
    # at 500 patients one-sided MSSP's behaviour may not differ from FFS at all)
    drawn_or_zero = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() != 0]
    assert len(drawn_or_zero) == len(metrics) * 2
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("Payer spending per capita") and "lower is better" in labels[0]
    assert "ffs_baseline" in ax.get_xlabel()
    table = plots.comparison_table(results, metrics, "ffs_baseline")
    row = table[(table["scenario"] == "mssp_one_sided") & (table["metric"] == SPEND)].iloc[0]
    assert row["pct_diff_mean"] == pytest.approx(pct)


def test_scenario_comparison_absolute(results):
    fig = plots.scenario_comparison(results, ["admissions_per_1000"], relative=False)
    ax = fig.axes[0]
    per = values(results, "population", "admissions_per_1000").groupby(
        ["scenario", "replication"])["value"].mean()
    heights = [b.get_height() for b in bars(ax)]
    assert heights == pytest.approx([per.loc[n].mean() for n in NAMES])
    assert ax.get_title() == "Hospital admissions"


def test_ceac(run):
    table = run.compare().ceac
    fig = plots.ceac(table)
    ax = fig.axes[0]
    for line in ax.get_lines():
        part = table[table["scenario"] == line.get_label()].sort_values("wtp_usd_per_qaly")
        np.testing.assert_allclose(line.get_ydata(), part["probability"])
    assert {ln.get_label() for ln in ax.get_lines()} == set(NAMES)
    assert "USD per QALY" in ax.get_xlabel()
    assert plots.ceac(run.compare()).axes  # a Comparison works too
    # lines that coincide stay distinguishable: no two share dash, marker and width
    styles = {(ln.get_linestyle(), ln.get_marker(), ln.get_linewidth())
              for ln in ax.get_lines()}
    assert len(styles) == len(ax.get_lines())


def test_overlapping_ceac_lines_stay_visible():
    grid = [0, 50_000, 100_000]
    table = pd.DataFrame([(w, s, p) for w in grid for s, p in (("a", 0.0), ("b", 0.0),
                                                               ("c", 1.0))],
                         columns=["wtp_usd_per_qaly", "scenario", "probability"])
    lines = plots.ceac(table).axes[0].get_lines()
    a, b = (ln for ln in lines if ln.get_label() in ("a", "b"))
    assert a.get_linewidth() > b.get_linewidth() and b.get_zorder() > a.get_zorder()
    assert a.get_linestyle() != b.get_linestyle() and a.get_marker() != b.get_marker()


@pytest.mark.parametrize(("path", "label"), [
    ("clinical.admissions.rate_per_year", "Admissions: rate per year"),
    ("prices.admission_mean_usd", "Admission mean ($)"),
    ("economics.discount_rate", "Discount rate"),
    ("plan.1.contracts.0.discount", "Contract 1 of plan period 2: discount"),
    ("clinical.admissions.los_mean_days", "Admissions: length of stay mean (days)"),
])
def test_parameter_labels_are_words(path, label):
    assert plots.parameter_label(path) == label


def linear_model(scenario, replication, seed_seq):
    """Output = 1000 x admission rate + 10 x mean length of stay: a known tornado."""
    adm = scenario.clinical.admissions
    rows = [(replication, scenario.name, y, "population", SPEND,
             1000.0 * adm.rate_per_year + 10.0 * adm.los_mean_days)
            for y in range(scenario.horizon_years)]
    return ReplicationOutput(pd.DataFrame(rows, columns=RESULT_COLUMNS))


def test_tornado():
    scenario = small_library_scenario("ffs_baseline")
    table = tornado_analysis(scenario, ["clinical.admissions.rate_per_year=0.1:0.2",
                                        "clinical.admissions.los_mean_days=4:6"], SPEND,
                             replicate=linear_model, replications=1, progress=False)
    fig = plots.tornado(table)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1].startswith("Admissions: rate per year")  # largest swing on top, in words
    assert "0.1 → 0.2" in labels[-1]
    # the legend sits below the axes: it covers no bar
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    legend = fig.legends[0].get_window_extent(renderer)
    assert legend.y1 <= ax.get_window_extent(renderer).y0 + 1e-6
    t = table.set_index("parameter")
    swings = (t["metric_high"] - t["metric_low"]).to_dict()
    assert swings == pytest.approx({"clinical.admissions.rate_per_year": 100.0,  # 0.1 x 1000
                                    "clinical.admissions.los_mean_days": 20.0})  # 2 days x 10
    widths = sorted(b.get_width() for b in bars(ax))
    expected = sorted(w for w in [*(t["metric_low"] - t["metric_base"]),
                                  *(t["metric_high"] - t["metric_base"])] if w != 0)
    assert widths == pytest.approx(expected)
    base = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert base == pytest.approx([t["metric_base"].iloc[0]])  # the base-case line
    assert "USD per person-year" in ax.get_xlabel()


def test_sobol_indices():
    table = pd.DataFrame({"parameter": ["a", "b"], "metric": SPEND, "S1": [0.6, 0.2],
                          "S1_conf": [0.05, 0.05], "ST": [0.7, 0.3], "ST_conf": [0.05, 0.04]})
    ax = plots.sobol_indices(table).axes[0]
    assert sorted(round(b.get_width(), 6) for b in bars(ax)) == [0.2, 0.3, 0.6, 0.7]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B", "A"]


def test_inputs_and_errors(run, tmp_path):
    run.to_dir(tmp_path / "out")
    from_dir = plots.fan_table(tmp_path / "out", SPEND)
    assert from_dir.equals(plots.fan_table(run, SPEND))
    with pytest.raises(ValueError, match="no 'nope' for entity 'population'"):
        plots.fan_chart(run, "nope")
    with pytest.raises(ValueError, match="unknown scenario"):
        plots.fan_chart(run, SPEND, scenarios=["nope"])
    with pytest.raises(ValueError, match="no 'margin_usd' for entity 'nobody'"):
        plots.margin_distribution(run, "nobody")
    with pytest.raises(TypeError, match="expected a results table"):
        plots.fan_chart(42, SPEND)
    with pytest.raises(ValueError, match="not a tornado table"):
        plots.tornado(pd.DataFrame({"x": [1]}))


def test_ce_plane_draws_the_comparisons_per_replication_differences(run, results):
    from sim.comparison import ce_differences, cost_effectiveness

    ref = "ffs_baseline"
    fig = plots.ce_plane(run, ref, wtp=(50_000, 100_000))
    ax = fig.axes[0]
    by_gid = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    points = ce_differences(results, ref, run.discount_rate)
    ce = cost_effectiveness(results, ref, [50_000.0], run.discount_rate).set_index("scenario")
    assert set(points["scenario"]) == {"mssp_one_sided", "capitation_global"}
    for scen in ("mssp_one_sided", "capitation_global"):
        # the same paired differences, recomputed here from the tidy table with pandas
        rows = results[results["entity"] == "population"].astype({"scenario": str})
        t = rows["year"] - rows["year"].min()
        disc = rows.assign(value=rows["value"] / (1 + run.discount_rate) ** t)
        tot = disc.groupby(["metric", "scenario", "replication"])["value"].sum()
        # closed-cohort QALYs + the last year's remaining QALYs one year further discounted,
        # health-sector cost (issue 11, docs/economics.md)
        end = rows[(rows["metric"] == "cohort_qale_end") & (rows["year"] == rows["year"].max())]
        end = end.set_index(["scenario", "replication"])["value"] / (
            1 + run.discount_rate) ** (t.max() + 1)
        want_x = (tot.loc[("cohort_qalys", scen)] + end.loc[scen]
                  - tot.loc[("cohort_qalys", ref)] - end.loc[ref]).to_numpy()
        want_y = (tot.loc[("health_sector_cost_usd", scen)]
                  - tot.loc[("health_sector_cost_usd", ref)]).to_numpy()
        drawn = by_gid[f"points:{scen}"].get_offsets()
        # a difference of two totals (QALYs ~1e4): exact up to rounding of the totals
        np.testing.assert_allclose(drawn[:, 0], want_x, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(drawn[:, 1], want_y, rtol=1e-12)
        part = points[points["scenario"] == scen]
        np.testing.assert_allclose(drawn, part[["d_qalys", "d_cost_usd"]].to_numpy())
        # the mean marker is where the ICER table puts the scenario
        mean = by_gid[f"mean:{scen}"].get_offsets()[0]
        assert list(mean) == pytest.approx([ce.loc[scen, "d_qalys"], ce.loc[scen, "d_cost_usd"]])
    # a willingness-to-pay line through the origin with slope = WTP (USD per QALY)
    for w in (50_000, 100_000):
        (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"wtp:{w:g}"]
        x, y = line.get_xdata(), line.get_ydata()
        assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(w) and y[0] == -y[1]
    text = " ".join(t.get_text() for t in ax.texts)
    assert "dominant" in text and "dominated" in text and "saves money" in text
    assert ax.get_xlabel().startswith(
        "Difference in QALYs (closed cohort + terminal value) from ffs_baseline")
    assert "health-sector cost" in ax.get_ylabel()
    # a RunResult's reference is the default; a subset of scenarios can be drawn
    only = plots.ce_plane(results, ref, scenarios=["mssp_one_sided"])
    assert {c.get_gid() for c in only.axes[0].collections} == {"points:mssp_one_sided",
                                                               "mean:mssp_one_sided"}
    with pytest.raises(ValueError, match="qalys"):
        plots.ce_plane(results[~results["metric"].isin(["qalys", "cohort_qalys"])], ref)


def test_ce_plane_reads_a_results_directory(run, results, tmp_path):
    from sim.comparison import ce_differences

    results.to_csv(tmp_path / "results.csv", index=False)
    table = plots.ce_plane_table(tmp_path, "ffs_baseline", discount_rate=0.0)
    want = ce_differences(results.astype({"scenario": str, "entity": str, "metric": str}),
                          "ffs_baseline", 0.0)
    np.testing.assert_allclose(table[["d_qalys", "d_cost_usd"]].to_numpy(),
                               want[["d_qalys", "d_cost_usd"]].to_numpy(), rtol=1e-12)
    assert list(table["quadrant"]) == list(want["quadrant"])
    # a RunResult brings its reference and discount rate
    assert plots.ce_plane_table(run)["reference"].iloc[0] == (run.reference or "ffs_baseline")
    with pytest.raises(ValueError, match="reference 'nope'"):
        plots.ce_plane(results, "nope")


def _make_plots():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "docs" / "make_plots.py"
    spec = importlib.util.spec_from_file_location("make_plots", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plots_gallery_is_current():
    """docs/plots.md is what docs/make_plots.py renders for today's sim.plots (names and
    signatures; the images are not compared), every public plot is on it and every image it
    shows exists."""
    make = _make_plots()
    page = make.PAGE.read_text(encoding="utf-8")
    stale = ("docs/plots.md is stale (sim.plots changed); regenerate it with "
             "`PYTHONPATH=. python docs/make_plots.py` and commit the page and images")
    assert make.FINGERPRINT.format(make.api_fingerprint()) in page, stale
    assert page == make.render_page(), stale
    for name in plots.__all__:
        assert f"`{name}" in page, name
    images = re.findall(r"!\[[^\]]*\]\((plots/[^)]+)\)", page)
    assert len(images) == len(make.GALLERY)
    for image in images:
        assert (make.PAGE.parent / image).is_file(), image


def test_figures_show_in_a_notebook_without_pyplot():
    """A sim.plots figure has a PNG representation of its own (IPython shows it as a cell's
    last expression even where no matplotlib display hook is registered)."""
    table = pd.DataFrame([(w, s, p) for w in (0, 1) for s, p in (("a", 0.2), ("b", 0.8))],
                         columns=["wtp_usd_per_qaly", "scenario", "probability"])
    png = plots.ceac(table)._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
