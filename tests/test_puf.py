"""``vbcsim init --from-puf``: a scenario from an ACO's row of CMS's MSSP ACO PUF (issue 15).

Mapping tests use the real PY2023/PY2024 files and a stand-in simulation (linear in the
fitted values, so the ratio method must hit every target exactly); one real calibration at
a small panel checks the fit table against the PUF within a stated tolerance.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sim.puf import PufError, read_puf_row, scenario_from_puf
from sim.puf.fit import LEVERS
from sim.puf.mapping import map_row
from sim.scenario import load_scenario

CMS = Path("/work/shared/data/cms")
PUF23, PUF24 = CMS / "mssp_aco_puf_py2023.csv", CMS / "mssp_aco_puf_py2024.csv"
pytestmark = pytest.mark.skipif(not PUF24.exists(), reason="CMS PUF files not present")


BASE = {"admissions_per_1000": 200.0, "ed_visits_per_1000": 400.0, "pcp_visits_per_1000":
        4000.0, "specialist_visits_per_1000": 5000.0, "snf_admissions_per_1000": 40.0,
        "spend_professional_per_capita_usd": 3000.0}


def fake_simulate(data):
    """Each target metric = BASE x (its first fitted value / that value's default): linear,
    so one ratio step reaches the target exactly."""
    from sim.scenario.schema import Scenario

    defaults = Scenario().model_dump()

    def get(path):
        node = data
        for p in path.split("."):
            node = node.get(p) if isinstance(node, dict) and p in node else None
            if node is None:
                break
        if node is None:
            node = defaults
            for p in path.split("."):
                node = node[p]
        return float(node)

    def default(path):
        node = defaults
        for p in path.split("."):
            node = node[p]
        return float(node)

    out = {m: BASE.get(m, 1000.0) * get(paths[0]) / default(paths[0])
           for m, paths in LEVERS.items()}
    per_cap = {k[len("spend_"):-len("_per_capita_usd")]: v for k, v in out.items()
               if k.startswith("spend_")}
    out["spend_per_capita_usd"] = sum(per_cap.values())
    out["spend_total_usd"] = out["spend_per_capita_usd"] * 10.0  # 10 person-years
    for cat, v in per_cap.items():
        out[f"spend_{cat}_usd"] = v * 10.0
    return {k: v for k, v in out.items() if not k.endswith("_per_capita_usd")
            or k == "spend_per_capita_usd"}


def test_maps_a_real_py2024_row():
    row = read_puf_row(PUF24, "A1001")
    assert row.year == 2024  # detected from the columns (RR_weight_AGND_PY)
    m = map_row(row)
    d = m.data
    assert d["population"]["size"] == 116_175  # N_AB
    assert d["population"]["female_share"] == pytest.approx(65_797 / 116_175, abs=1e-4)
    aged = 51_208 + 41_921 + 15_052
    assert d["population"]["age_bands"]["age_65_74"] == pytest.approx(51_208 / aged, abs=1e-4)
    assert sum(d["population"]["age_bands"].values()) == pytest.approx(1.0, abs=1e-9)
    assert d["clinical"]["post_acute"]["snf_los_mean_days"] == 26  # SNF_LOS
    mssp = d["plan"][0]["contracts"][1]
    assert mssp["track"] == "ENHANCED" and mssp["msr"] == mssp["mlr"] == 0.02  # EN, 2%
    assert mssp["prior_agreement_periods"] == 2  # Agreement_Period_Num 3
    # third agreement period, RegAdj +240 > 0: 50% share; 1 + 240/0.5/11695
    assert mssp["regional_to_aco_ratio"] == pytest.approx(1 + 240 / 0.5 / 11_695, abs=1e-4)
    targets = {t.name: t.value for t in m.targets}
    assert targets["spend_inpatient_per_capita_usd"] == 3167  # CapAnn_INP_All
    assert targets["spend_post_acute_per_capita_usd"] == 445 + 622  # SNF + HHA
    assert targets["admissions_per_1000"] == 248 and targets["ed_visits_per_1000"] == 561
    assert "N_AB" in m.comments["population.size"]
    assert d["behavior"] == "incentives"  # costs and norms at the fitted prices (issue 15)


def test_maps_a_py2023_row_with_percent_signs():
    row = read_puf_row(PUF23, "A1001")
    assert row.year == 2023 and row.number("Perc_Dual") == pytest.approx(5.99)  # "5.99%"
    m = map_row(row)
    assert m.data["population"]["size"] == 78_364
    assert m.data["economics"]["first_calendar_year"] == 2024
    one_sided = map_row(read_puf_row(PUF23, "A1247")).data["plan"][0]["contracts"][1]
    assert one_sided["track"].startswith("BASIC_") and "msr" not in one_sided  # one-sided
    assert "regional_to_aco_ratio" not in one_sided  # RegAdj: PY2024 file only
    assert "regional_to_aco_ratio keeps its default" in m.comments["plan"]


def test_year_mismatch_unknown_aco_missing_and_malformed_file(tmp_path):
    with pytest.raises(PufError, match="--year 2023 given but .* PY2024"):
        read_puf_row(PUF24, "A1001", year=2023)
    with pytest.raises(PufError, match=r"mssp_aco_puf_py2024\.csv: no ACO with ACO_ID "
                       r"'A10011'.*nearest: .*A1001"):
        read_puf_row(PUF24, "A10011")
    with pytest.raises(PufError, match="no such PUF file"):
        read_puf_row(tmp_path / "nope.csv", "A1001")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(PufError, match=r"bad\.csv: not an MSSP ACO PUF: missing column\(s\) "
                       "ACO_ID, N_AB, Current_Track"):
        read_puf_row(bad, "A1001")


def _one_row_copy(tmp_path, changes):
    with PUF24.open(encoding="latin-1", newline="") as fh:
        reader = csv.DictReader(fh)
        row = next(r for r in reader if r["ACO_ID"] == "A1001")
        cols = reader.fieldnames
    row.update(changes)
    out = tmp_path / "mssp_aco_puf_py2024.csv"
    with out.open("w", encoding="latin-1", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerow(row)
    return out


def test_suppressed_values_fall_back_to_defaults_and_say_so(tmp_path):
    path = _one_row_copy(tmp_path, {"CapAnn_SNF": "*", "N_Ben_Female": "", "ADM": "*"})
    built = scenario_from_puf(path, "A1001", simulate=fake_simulate)
    names = {r.target for r in built.fit}
    assert "admissions_per_1000" not in names and "spend_post_acute_per_capita_usd" not in names
    assert "female_share" not in built.data["population"]
    assert "CapAnn_SNF+CapAnn_HHA suppressed" in built.yaml
    assert "N_Ben_Female/N_Ben_Male suppressed: schema default" in built.yaml
    assert "ADM suppressed" in built.yaml
    with pytest.raises(PufError, match="N_AB is suppressed"):
        scenario_from_puf(_one_row_copy(tmp_path, {"N_AB": "*"}), "A1001",
                          simulate=fake_simulate)


def test_ratio_method_hits_a_linear_model_exactly_and_yaml_validates(tmp_path):
    built = scenario_from_puf(PUF24, "A1001", simulate=fake_simulate, iterations=1)
    for r in built.fit[:-1]:  # the last row is the unfitted total
        assert r.simulated == pytest.approx(r.puf, rel=1e-5), r.target
    yaml_path, table = built.write(tmp_path / "a1001.yaml")
    sc = load_scenario(yaml_path)
    assert sc.population.size == 116_175
    assert sc.plan[0].contracts[1].track == "ENHANCED"
    text = yaml_path.read_text()
    assert "# N_AB (assigned beneficiaries)" in text and "# fitted: simulated" in text
    assert table.read_text().startswith("target,puf_column,puf,simulated")


@pytest.fixture(scope="module")
def real_fit():
    return scenario_from_puf(PUF24, "A1001", calibration_size=2_000)


def test_real_calibration_reproduces_puf_spending(real_fit):
    """In the calibration panel spending by category is linear in the price factors, so the
    solve is exact (0.5%: rounding of prices to 6 digits); counts per 1,000 come from the
    ratio steps, within their Monte Carlo error at 2,000 patients (~500 admissions,
    ~56 SNF stays: 2 SE ~ 9% / 27%; so 10% for visits and admissions, 30% for SNF)."""
    rows = {r.target: r for r in real_fit.fit}
    for name, r in rows.items():
        if name.startswith("spend_") and "not fitted" not in name:
            assert abs(r.difference_pct) < 0.5, (name, r.puf, r.simulated)
        elif name.endswith("_per_1000"):
            tol = 30 if name.startswith("snf") else 10
            assert abs(r.difference_pct) < tol, (name, r.puf, r.simulated)
    # PY2024 A1001's CapAnn_* sum to $13,212 while Per_Capita_Exp_TOTAL_PY is $13,198
    total = rows["spend_per_capita_usd (sum, not fitted)"]
    assert abs(total.difference_pct) < 5


def test_calibrated_scenario_holds_out_of_sample(real_fit):
    """Another seed and panel (not the calibration's): per-capita spending within 6% of the
    PUF (Monte Carlo error of 2,000 person-years of heavy-tailed spending ~3%)."""
    from sim.puf.build import ffs_simulator
    from sim.puf.fit import measured

    m = measured(ffs_simulator(size=2_000, seed=7)(real_fit.data))
    puf_total = sum(r.puf for r in real_fit.fit if r.target.startswith("spend_")
                    and "not fitted" not in r.target)
    assert abs(m["spend_per_capita_usd"] / puf_total - 1) < 0.06


def test_cli_init_writes_yaml_and_fit_table_that_validate(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "my_aco.yaml"
    code = main(["init", "--from-puf", str(PUF23), "--aco", "A1247", "-o", str(out),
                 "--calibration-size", "500"])
    printed = capsys.readouterr().out
    assert code == 0 and "CapAnn_INP_All" in printed and out.exists()
    assert (tmp_path / "my_aco.fit.csv").exists()
    assert main(["validate", str(out)]) == 0
    assert main(["init", "--from-puf", str(PUF23), "--aco", "A1247", "-o", str(out)]) == 2
    code = main(["init", "--from-puf", str(PUF23), "--aco", "ZZZ", "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "mssp_aco_puf_py2023.csv: no ACO with ACO_ID 'ZZZ'" in err


def test_fitted_prices_are_the_behaviour_reference(real_fit):
    """The fitted prices are the ACO's own price level: written as reference_prices, so under
    FFS the behaviour model keeps the fitted practice (incentives = fixed, exactly) instead
    of reading them as a fee change (the +25-40% drift of the first version, docs/puf.md)."""
    from sim.puf.build import ffs_simulator

    d = real_fit.data
    assert d["behavior"] == "incentives" and d["reference_prices"] == d["prices"]
    assert "providers.primary_care_group.behavior.pass_through" in d["uncertainty"]
    sc = real_fit.scenario()
    # distributions of fitted prices are centred on them (the shipped means are defaults)
    ref, prices = sc.fee_reference.model_dump(), sc.prices.model_dump()
    assert all(ref[k] == pytest.approx(prices[k], rel=1e-9) for k in ref)
    run = ffs_simulator(size=300, seed=3)
    fixed = run(d)  # ffs_simulator holds behaviour fixed
    import sim.puf.build as build

    def incentives(data):
        from sim.replication import simulate_replication
        from sim.rng import replication_seeds
        from sim.scenario import scenario_from_dict

        x = {k: v for k, v in data.items() if k != "uncertainty"}
        x.update(horizon_years=1, warmup_years=build.CALIBRATION_WARMUP, replications=1,
                 seed=3, parameter_uncertainty=False,
                 plan=[{"years": "all", "contracts": [{"type": "ffs", "payer": "medicare"}]}])
        x["population"] = {**data["population"], "size": 300}
        sc = scenario_from_dict(x, source="<test>")
        res = simulate_replication(sc, 0, replication_seeds(3, 1)[0]).results
        pop = res[res.entity == "population"]
        return pop.groupby("metric")["value"].mean().to_dict()

    assert incentives(d)["spend_per_capita_usd"] == fixed["spend_per_capita_usd"]
