"""Value of information (sim.voi, issue 16 item 5): EVPI against its closed form, EVPPI by
regression against known answers, the tables from results, the command and the plot."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

from sim.voi import ALL_PARAMETERS, VOIError, evpi, evppi, fit_additive, voi_from_dir, voi_table

N = 4000  # draws: EVPI's Monte Carlo SE is then ~1% of its value in the cases below


def closed_form_evpi(mu: float, sigma: float) -> float:
    """EVPI of a choice between two options with NB_A - NB_B = theta ~ Normal(mu, sigma^2):
    E[max(theta, 0)] - max(mu, 0) = sigma phi(mu/sigma) - |mu| Phi(-|mu|/sigma)."""
    return sigma * norm.pdf(mu / sigma) - abs(mu) * norm.cdf(-abs(mu) / sigma)


def mc_se(nb: np.ndarray) -> float:
    """Monte Carlo SE of the sample EVPI: SD of (best per draw - best on average) / sqrt(n)."""
    loss = nb.max(axis=1) - nb[:, int(np.argmax(nb.mean(axis=0)))]
    return float(loss.std(ddof=1) / np.sqrt(len(nb)))


@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 2.0), (-1.0, 1.0), (3.0, 2.0), (0.0, 1.0)])
def test_evpi_matches_the_normal_closed_form(mu, sigma):
    rng = np.random.default_rng(11)
    theta = rng.normal(mu, sigma, N)
    nb = np.column_stack([theta, np.zeros(N)])  # option A's NB minus B's is theta
    want = closed_form_evpi(mu, sigma)
    got = evpi(nb)
    # 4 Monte Carlo SEs, plus (at mu = 0) the bias of max over the estimated means, at most
    # E|mean theta| = sigma sqrt(2/(pi N))
    tol = 4 * mc_se(nb) + (sigma * np.sqrt(2 / (np.pi * N)) if mu == 0 else 0.0)
    assert abs(got - want) <= tol, (got, want, tol)
    # EVPPI of theta is the EVPI (NB depends on theta alone); of an unrelated parameter, 0
    assert evppi(nb, theta) == pytest.approx(got, rel=0.01)
    assert evppi(nb, rng.normal(size=N)) <= 0.02 * want


def test_evppi_removes_simulation_noise_that_the_sample_evpi_counts():
    """A replication's net benefit = f(theta) + patient-level noise: the sample EVPI counts
    the noise as resolvable, the EVPPI of theta (and of all parameters) does not."""
    rng = np.random.default_rng(5)
    mu, sigma = 0.5, 2.0
    theta, other = rng.normal(mu, sigma, N), rng.uniform(0, 1, N)
    nb = np.column_stack([theta + rng.normal(0, 3.0, N), np.zeros(N)])
    want = closed_form_evpi(mu, sigma)
    assert evpi(nb) > 1.5 * want  # the sample EVPI overstates
    # the regression estimate: within 4 SE of the noiseless estimate's error plus 8% for
    # the fit of the noise (GCV smoothing of 4,000 points)
    got = evppi(nb, np.column_stack([theta, other]))
    assert abs(got - want) <= 4 * mc_se(np.column_stack([theta, np.zeros(N)])) + 0.08 * want


def test_evppi_follows_a_nonlinear_net_benefit():
    """NB_B - NB_A = theta^2 - 1, theta ~ N(0, 1): EVPI = E[(theta^2 - 1)+] (both options
    have the same mean); a linear fit would give EVPPI 0, the spline gives the EVPI."""
    rng = np.random.default_rng(3)
    theta = rng.normal(0, 1, N)
    nb = np.column_stack([np.zeros(N), theta**2 - 1])
    want, _ = integrate.quad(lambda t: (t * t - 1) * norm.pdf(t), 1, np.inf)
    want *= 2
    assert evpi(nb) == pytest.approx(want, abs=4 * mc_se(nb) + 0.02)
    assert evppi(nb, theta) == pytest.approx(evpi(nb), rel=0.02)


def test_groups_value_the_parameters_together():
    """NB difference theta1 + theta2 (independent, equal spread): each alone resolves part of
    the uncertainty, the two together all of it (EVPPI of the group = EVPI)."""
    rng = np.random.default_rng(8)
    t1, t2 = rng.normal(0, 1, N), rng.normal(0, 1, N)
    nb = np.column_stack([np.zeros(N), t1 + t2])
    full = evpi(nb)
    both = evppi(nb, np.column_stack([t1, t2]))
    one = evppi(nb, t1)
    assert both == pytest.approx(full, rel=0.02)
    # theta1 alone: E|E(NB|t1)|/2 with E(NB|t1) = t1 ~ N(0,1): EVPPI = phi(0) = 0.399,
    # against EVPI sqrt(2) phi(0) = 0.564
    assert one == pytest.approx(norm.pdf(0), rel=0.05)
    assert one < 0.8 * full


def test_fit_keeps_the_means_and_ignores_constant_parameters():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(300, 2))
    x[:, 1] = 4.0
    y = np.column_stack([np.sin(6 * x[:, 0]), rng.normal(size=300)])
    fitted = fit_additive(x, y)
    assert np.allclose(fitted.mean(axis=0), y.mean(axis=0))
    assert np.corrcoef(fitted[:, 0], np.sin(6 * x[:, 0]))[0, 1] > 0.99


# --------------------------------------------------------------------------- from results


def _synthetic(tiny_scenario, n: int = 400):
    """Two plans A and B, one plan year: payer spending and QALYs of the population and the
    margin of one provider depend on two drawn parameters (the same draw in both plans, as
    with common random numbers); a third parameter is drawn but matters to nothing."""
    from sim.run_result import RunResult

    rng = np.random.default_rng(2)
    t1, t2, t3 = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 1, n)
    rows, draws = [], []
    for r in range(n):
        for s, qalys, cost, margin in (
                ("A", 100.0, 1e6, 5e4),
                ("B", 100.0 + 0.01 * t1[r], 1e6 + 500.0 * t2[r], 5e4 + 2e3 * t2[r] + 500)):
            rows += [(r, s, 0, "population", "qalys", qalys),
                     (r, s, 0, "population", "payer_spend_usd", cost),
                     (r, s, 0, "primary_care_group", "margin_usd", margin)]
            draws += [(r, s, "a.theta1", t1[r]), (r, s, "b.theta2", t2[r]),
                      (r, s, "c.theta3", t3[r])]
    results = pd.DataFrame(rows, columns=["replication", "scenario", "year", "entity",
                                          "metric", "value"])
    draws = pd.DataFrame(draws, columns=["replication", "scenario", "parameter", "value"])
    scenarios = tuple(tiny_scenario.model_copy(update={"name": s}) for s in ("A", "B"))
    now = datetime.now(UTC)
    return RunResult(results=results, tables={}, scenario=scenarios[0], seed=1, workers=1,
                     started_at=now, finished_at=now, scenarios=scenarios, draws=draws,
                     reference="A", wtp=(50_000.0, 100_000.0))


def test_voi_table_of_a_run_values_each_decision(tiny_scenario):
    n = 1600
    res = _synthetic(tiny_scenario, n)
    table = res.voi(groups={"qalys and cost": ["a.theta1", "b.theta2"]}, population=10_000)
    payer = table[table["decision"] == "payer"]
    assert sorted(payer["wtp_usd_per_qaly"].unique()) == [50_000.0, 100_000.0]
    t = res.draws.pivot(index=["replication", "scenario"], columns="parameter",
                        values="value").xs("A", level="scenario")
    for w, part in payer.groupby("wtp_usd_per_qaly"):
        # NB_B - NB_A = w 0.01 theta1 - 500 theta2, exactly as the table's net benefit
        nb = np.column_stack([np.zeros(len(t)), w * 0.01 * t["a.theta1"] - 500 * t["b.theta2"]])
        value = part.set_index("parameters")["value_usd"]
        assert value[""] == pytest.approx(evpi(nb), rel=1e-9)
        assert value["qalys and cost"] == pytest.approx(value[""], rel=0.02)
        assert value[ALL_PARAMETERS] == pytest.approx(value[""], rel=0.02)
        # an irrelevant parameter: the regression's upward bias, of order EVPI x
        # sqrt(effective degrees of freedom / n) (the linear term at least: 2.5%)
        assert value["c.theta3"] < 3 / np.sqrt(n) * value[""]
        # per person: the simulated population's value over its size; scaled to 10,000
        per = part.set_index("parameters")["per_person_usd"]
        assert per[""] == pytest.approx(value[""] / tiny_scenario.population.size)
        assert part["population_usd"].iloc[0] == pytest.approx(part["per_person_usd"].iloc[0]
                                                               * 10_000)
    # at a higher WTP the QALY parameter matters more, the cost parameter less
    lo, hi = (payer[payer["wtp_usd_per_qaly"] == w].set_index("parameters")["value_usd"]
              for w in (50_000.0, 100_000.0))
    assert hi["a.theta1"] > lo["a.theta1"] and hi["b.theta2"] < lo["b.theta2"]
    # the provider: margin B - A = 2000 theta2 + 500 ~ N(500, 2000^2): closed form
    prov = table[table["decision"] == "provider"].set_index("parameters")["value_usd"]
    assert prov[""] == pytest.approx(closed_form_evpi(500, 2000), rel=0.1)
    assert prov["b.theta2"] == pytest.approx(prov[""], rel=0.02)
    assert prov["a.theta1"] < 3 / np.sqrt(n) * prov[""]


def test_results_directory_and_command(tiny_scenario, tmp_path):
    from sim.cli import main

    res = _synthetic(tiny_scenario, n=200)
    path = res.to_dir(tmp_path / "cmp")
    from_dir = voi_from_dir(path, wtp=res.wtp)
    pd.testing.assert_frame_equal(from_dir, res.voi())
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["voi", str(path), "--wtp", "50000", "--group", "g=a.theta1,b.theta2"]) == 0
    written = pd.read_csv(path / "voi" / "voi.csv")
    assert set(written["parameters"].fillna("")) == {"", "a.theta1", "b.theta2", "c.theta3",
                                                    "g", ALL_PARAMETERS}
    assert (path / "voi" / "voi.png").stat().st_size > 0
    assert "EVPI" in text.getvalue()


def test_clear_errors(tiny_scenario, tmp_path, capsys):
    from sim.cli import main

    res = _synthetic(tiny_scenario, n=50)
    with pytest.raises(VOIError, match="at least two scenarios"):
        voi_table(res.results[res.results["scenario"] == "A"], res.draws)
    with pytest.raises(VOIError, match="no parameter draws"):
        voi_table(res.results, res.draws.iloc[0:0])
    with pytest.raises(VOIError, match="unknown parameter"):
        res.voi(groups={"g": ["nope"]})
    path = res.to_dir(tmp_path / "cmp")
    (path / "draws.parquet").unlink()
    assert main(["voi", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no draws.parquet" in err and "uncertainty:" in err
    assert main(["voi", str(path), "--group", "nonsense"]) == 2


def test_plot(tiny_scenario):
    from sim import plots

    res = _synthetic(tiny_scenario, n=100)
    fig = res.plot("voi")
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.get_lines()}
    table = res.voi()
    evpi_rows = table[(table["decision"] == "payer") & (table["measure"] == "EVPI")]
    assert list(lines["voi:"].get_ydata()) == pytest.approx(list(evpi_rows["per_person_usd"]))
    assert plots.voi_values(table) is table
    with pytest.raises(ValueError, match="missing column"):
        plots.voi_curve(pd.DataFrame({"x": [1]}))


def test_report_section_only_with_draws(small_comparison, tmp_path):
    """The report's cost-effectiveness section gets the value-of-information table when
    the results directory holds parameter draws (here drawn for the test, one per
    replication, the same in every scenario), and not without them."""
    import dataclasses
    import re

    from sim.report import write_report
    from sim.report.inputs import load_inputs
    from sim.report.voi import render_voi

    rng = np.random.default_rng(4)
    reps = sorted(small_comparison.results["replication"].unique())
    value = dict(zip(reps, rng.normal(size=len(reps)), strict=True))
    draws = pd.DataFrame([(r, s, "prices.x_usd", value[r])
                          for r in reps for s in small_comparison.scenario_names],
                         columns=["replication", "scenario", "parameter", "value"])
    with_draws = dataclasses.replace(small_comparison, draws=draws)
    # the shipped scenarios carry parameter uncertainty: "without" drops its draws
    dataclasses.replace(small_comparison, draws=draws.iloc[0:0]).to_dir(tmp_path / "without")
    assert render_voi(load_inputs([tmp_path / "without"])) == ""
    with_draws.to_dir(tmp_path / "with")
    page = write_report([tmp_path / "with"], tmp_path / "with.html").read_text()
    assert 'id="voi-table"' in page and "rough" in page
    payer = with_draws.voi()
    payer = payer[(payer["decision"] == "payer") & (payer["measure"] == "EVPPI")]
    shown = [float(v.replace(",", "")) for v in
             re.findall(r'data-voi="evpi">\$([0-9,.]+)<', page)]
    assert shown == pytest.approx(list(payer["per_person_usd"].round(2)), abs=0.006)


def _voi_rows(n: int, sample: float, all_params: float, alone: dict[str, float]) -> pd.DataFrame:
    """A provider's voi table as voi_table writes it (value and per person equal)."""
    rows = [("EVPI", "", sample), ("EVPPI", ALL_PARAMETERS, all_params)]
    rows += [("EVPPI", k, v) for k, v in alone.items()]
    return pd.DataFrame([{"decision": "provider", "entity": "aco", "wtp_usd_per_qaly": np.nan,
                          "measure": m, "parameters": p, "value_usd": v, "per_person_usd": v,
                          "population_usd": np.nan, "replications": n} for m, p, v in rows])


def test_summary_quotes_the_evpi_of_the_parameters_and_marks_what_cannot_be_read():
    """The printed summary quotes the EVPPI of all parameters as the EVPI (the sample EVPI
    beside it), marks EVPPIs below 2 EVPI / sqrt(n) (the larger EVPI) as noise (*) and one
    above the EVPI as a regression error (!), and calls fewer than STABLE_REPLICATIONS
    replications rough."""
    from sim.voi import STABLE_REPLICATIONS, format_voi

    # n = 100: floor 2 x 50 / 10 = 10
    text = format_voi(_voi_rows(100, 60.0, 50.0, {"a.x": 55.0, "b.y": 30.0, "c.z": 9.0}))
    line = text.splitlines()[1]
    assert line.startswith("  EVPI 50.00 (sample 60.00); EVPPI a.x 55.00!, b.y 30.00, c.z 9.00*")
    assert "*: below the noise floor" in text and "!: above the EVPI" in text
    assert "Only 100 replications" in text
    # enough replications, nothing to mark: no legend for marks, no warning
    text = format_voi(_voi_rows(STABLE_REPLICATIONS, 40.0, 40.0, {"a.x": 39.0, "b.y": 12.0}))
    assert "EVPPI a.x 39.00, b.y 12.00" in text
    assert "noise floor" not in text and "regression error" not in text and "Only" not in text
    # the parameters' EVPI zero, the sample's not (simulation noise): the floor comes from
    # the sample EVPI (2 x 46 / sqrt(1000) = 2.9), so a parameter's 1.34 is noise, not an
    # impossible value; with both zero, an EVPPI equal to them up to rounding is unmarked
    text = format_voi(_voi_rows(1000, 46.0, 0.0, {"a.x": 1.34, "b.y": 1e-9}))
    assert "EVPI 0.00 (sample 46.00); EVPPI a.x 1.34*, b.y 0.00*\n" in text
    text = format_voi(_voi_rows(1000, 0.0, 0.0, {"a.x": 1e-9}))
    assert "EVPI 0.00 (sample 0.00); EVPPI a.x 0.00\n" in text
