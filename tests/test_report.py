"""The HTML report: one self-contained file whose numbers match the results files.

Two tiny real runs (FFS and one-sided MSSP; 500 patients, 2 plan years, 3 replications, the
same seed, so common random numbers; taken out of ``small_comparison`` in conftest.py, shared
with the plot tests) are written as results directories, as `vbcsim run` writes them; every
number the report shows in its table is recomputed here from `results.parquet` by plain
pandas. The last test renders the page in a real browser (Debian's chromium, headless) and
checks the rendered DOM and a screenshot.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import matplotlib.image

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from conftest import one_scenario, small_library_scenario

import sim
from sim.replication import ReplicationOutput
from sim.report import ReportInputError, load_inputs, write_report
from sim.results import RESULT_COLUMNS, write_results_dir
from sim.sensitivity import tornado

PROVIDER = "primary_care_group"
SPEND = "payer_spend_per_capita_usd"
RATE = 0.03  # economics.discount_rate of the scenarios
CHROMIUM = shutil.which("chromium") or next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)


def linear_model(scenario, replication, seed_seq):
    """A stand-in model for a quick real tornado analysis (known answer)."""
    adm = scenario.clinical.admissions
    rows = [(replication, scenario.name, y, "population", SPEND,
             10_000 + 10_000 * adm.rate_per_year + 100 * adm.los_mean_days)
            for y in range(scenario.horizon_years)]
    return ReplicationOutput(pd.DataFrame(rows, columns=RESULT_COLUMNS))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, small_comparison):
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for name in ("ffs_baseline", "mssp_one_sided"):
        runs[name] = one_scenario(small_comparison, name)
        runs[name].to_dir(root / name)
    sens = root / "sensitivity"
    sens.mkdir()
    tornado(small_library_scenario("mssp_one_sided"), ["clinical.admissions.rate_per_year=0.1:0.2",
                                      "clinical.admissions.los_mean_days=4:6"], SPEND,
            replicate=linear_model, replications=1, progress=False).to_csv(
        sens / "tornado.csv", index=False)
    (sens / "sensitivity.json").write_text('{"scenario": "mssp_one_sided"}')  # as the CLI
    return {"ffs": root / "ffs_baseline", "mssp": root / "mssp_one_sided", "sens": sens,
            "root": root, "runs": runs}


@pytest.fixture(scope="module")
def report(dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert write_report([dirs["ffs"], dirs["mssp"]], out) == out
    return out


class Page(HTMLParser):
    """Tags, key table cells (attributes and shown value), figures and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[dict] = []
        self.figures: list[dict] = []
        self.words: list[str] = []
        self._td = self._fig = None
        self._value = self._caption = False
        self.feed(text)
        self.text = " ".join(" ".join(self.words).split())

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "td" and "data-metric" in a:
            self._td = {**a, "shown": ""}
        elif tag == "span" and self._td is not None and a.get("class") == "v":
            self._value = True
        elif tag == "figure":
            self._fig = {"id": a.get("id"), "img": None, "caption": ""}
        elif tag == "img" and self._fig is not None:
            self._fig["img"] = a.get("src")
        elif tag == "figcaption":
            self._caption = True

    def handle_endtag(self, tag):
        if tag == "span":
            self._value = False
        elif tag == "td" and self._td is not None:
            self.cells.append(self._td)
            self._td = None
        elif tag == "figcaption":
            self._caption = False
        elif tag == "figure" and self._fig is not None:
            self.figures.append(self._fig)
            self._fig = None

    def handle_data(self, data):
        self.words.append(data)
        if self._value and self._td is not None:
            self._td["shown"] += data
        if self._caption and self._fig is not None:
            self._fig["caption"] += data


def expected_value(results: pd.DataFrame, entity: str, metric: str, stat: str) -> float:
    """What a table cell must hold, computed from results.parquet with plain pandas."""
    rows = results[(results["entity"] == entity) & (results["metric"] == metric)]
    if stat == "mean":  # each replication's mean over the years, then across replications
        return float(rows.groupby("replication")["value"].mean().mean())
    if stat == "npv":
        disc = rows["value"] / (1 + RATE) ** (rows["year"] - results["year"].min())
        return float(disc.groupby(rows["replication"]).sum().mean())
    total = rows.groupby("replication")["value"].sum()
    if stat in ("p_negative_margin", "p_owing"):
        return float((total < 0).mean())
    if stat == "margin_var95":
        return float(np.quantile(total, 0.05))
    if stat == "margin_cvar95":
        return float(total[total <= np.quantile(total, 0.05)].mean())
    if stat == "p_cumulative_loss":
        cum = rows.sort_values("year").groupby("replication")["value"].cumsum()
        return float((cum < 0).groupby(rows["replication"]).any().mean())
    raise AssertionError(f"unexpected stat {stat}")


def shown(metric: str, stat: str, v: float) -> str:
    """How the report must show a value."""
    if stat.startswith("p_"):
        return f"{100 * v:.0f}%"
    if metric.endswith("_usd"):
        sign = "-" if v < 0 else ""
        return f"{sign}${abs(v) / 1e6:,.2f}M" if abs(v) >= 1e6 else f"{sign}${abs(v):,.0f}"
    if metric in ("readmission_rate_30d", "diabetes_controlled_share"):
        return f"{100 * v:.1f}%"
    return f"{v:,.1f}"


def check_cells(page: Page, dirs) -> int:
    """Every key table cell holds (and shows) the number recomputed from the results files."""
    results = {n: pd.read_parquet(dirs[k] / "results.parquet")
               for n, k in (("ffs_baseline", "ffs"), ("mssp_one_sided", "mssp"))}
    for cell in page.cells:
        want = expected_value(results[cell["data-scenario"]], cell["data-entity"],
                              cell["data-metric"], cell["data-stat"])
        got = float(cell["data-value"])
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), cell
        assert cell["shown"] == shown(cell["data-metric"], cell["data-stat"], got), cell
    keys = {(c["data-scenario"], c["data-metric"], c["data-stat"]) for c in page.cells}
    for scen in results:
        for key in ((SPEND, "mean"), ("payer_spend_usd", "mean"), ("admissions_per_1000", "mean"),
                    ("readmission_rate_30d", "mean"), ("diabetes_controlled_share", "mean"),
                    ("qalys", "mean"), ("quality_score", "mean"), ("margin_usd", "mean"),
                    ("margin_usd", "npv"), ("margin_usd", "p_negative_margin"),
                    ("margin_usd", "margin_var95"), ("margin_usd", "margin_cvar95")):
            assert (scen, *key) in keys, (scen, key)
    return len(page.cells)


def spending_sentence(dirs) -> str:
    per = {}
    for name, key in (("ffs_baseline", "ffs"), ("mssp_one_sided", "mssp")):
        r = pd.read_parquet(dirs[key] / "results.parquet")
        r = r[(r["entity"] == "population") & (r["metric"] == SPEND)]
        per[name] = r.groupby("replication")["value"].mean()
    pct = 100 * (per["mssp_one_sided"] - per["ffs_baseline"]).mean() / per["ffs_baseline"].mean()
    word = "lower" if pct < 0 else "higher"
    return (f"Under mssp_one_sided, payer spending per capita is {abs(pct):.1f}% {word} than "
            "under ffs_baseline")


def test_report_is_one_self_contained_file(report):
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html"]
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "url(" not in text and "@import" not in text
    page = Page(text)
    imgs = [a for t, a in page.tags if t == "img"]
    assert len(imgs) >= 6
    ids = {a["id"] for _, a in page.tags if a.get("id")}
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed")
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), (tag, attrs["src"][:40])
        if "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs["href"])
            assert attrs["href"][1:] in ids, f"link to a missing section: {attrs['href']}"
    for a in imgs:
        png = base64.b64decode(a["src"].split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
        assert a.get("alt")


def test_every_figure_has_a_caption(report):
    page = Page(report.read_text(encoding="utf-8"))
    ids = [f["id"] for f in page.figures]
    for want in ("fig-spending", "fig-margin", "fig-distribution", "fig-waterfall",
                 "fig-outcomes", "fig-outcomes-points"):
        assert want in ids
    # the owing chart is drawn only when some bar is not 0%; otherwise the page says why
    assert ("fig-owing" in ids) != ("never owes the payer money and never makes a loss"
                                    in page.text)
    for i, fig in enumerate(page.figures, start=1):
        assert fig["img"] and fig["img"].startswith("data:image/png")
        caption = " ".join(fig["caption"].split())
        assert caption.startswith(f"Figure {i}.") and len(caption) > 80, caption


def test_key_numbers_match_the_results_files(report, dirs):
    page = Page(report.read_text(encoding="utf-8"))
    assert check_cells(page, dirs) >= 2 * 15
    assert spending_sentence(dirs) in page.text
    assert "paired by replication" in page.text  # same seed: common random numbers
    assert f"For {PROVIDER}, the margin averages" in page.text


def test_report_sections(report, dirs, tmp_path):
    page = Page(report.read_text(encoding="utf-8"))
    title = [t for t in page.tags if t[0] == "title"]
    assert title and "ffs_baseline and mssp_one_sided" in page.text
    assert "No sensitivity analysis was run" in page.text and "vbcsim sensitivity" in page.text
    for heading in ("Summary", "Side by side", "Payer spending", "Provider margin and financial "
                    "risk", "Assumptions that matter most", "Method and sources"):
        assert heading in page.text
    for d in ("ffs", "mssp"):
        assert str(dirs[d]) in page.text

    out = write_report([dirs["ffs"], dirs["mssp"], dirs["sens"]], tmp_path / "r.html",
                       title="FFS or MSSP?")
    page = Page(out.read_text(encoding="utf-8"))
    assert "FFS or MSSP?" in page.text and "No sensitivity analysis" not in page.text
    assert any(f["id"].startswith("fig-tornado") for f in page.figures)
    # labelled in words, with the path; named with the scenario it was run on
    assert "Admissions: rate per year ( clinical.admissions.rate_per_year ) from 0.1 to 0.2" \
        in page.text
    assert any(a.get("alt") == "One-way sensitivity of mssp_one_sided (tornado)"
               for t, a in page.tags if t == "img")
    assert "Run on scenario mssp_one_sided" in page.text
    assert "is not one of the plans compared" not in page.text
    other = tmp_path / "sens_other"
    shutil.copytree(dirs["sens"], other)
    (other / "sensitivity.json").write_text('{"scenario": "reach_global"}')
    page = Page(write_report([dirs["ffs"], dirs["mssp"], other], tmp_path / "o.html")
                .read_text(encoding="utf-8"))
    assert "reach_global is not one of the plans compared here" in page.text


def test_one_scenario(dirs, tmp_path):
    page = Page(write_report(dirs["ffs"], tmp_path / "one.html").read_text(encoding="utf-8"))
    assert "This report describes ffs_baseline" in page.text
    assert "paired" not in page.text and "vs ffs_baseline" not in page.text
    ids = [f["id"] for f in page.figures]
    assert "fig-spending" in ids and "fig-outcomes" not in ids
    hrefs = {a["href"][1:] for t, a in page.tags if t == "a"}
    assert hrefs <= {a["id"] for _, a in page.tags if a.get("id")}


def test_runs_with_different_seeds_are_not_paired(dirs, tmp_path):
    import json

    other = tmp_path / "mssp_other_seed"
    shutil.copytree(dirs["mssp"], other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "seed": 1}))
    inputs = load_inputs([dirs["ffs"], other])
    assert not inputs.paired and "independent samples" in inputs.pairing
    page = Page(write_report([dirs["ffs"], other], tmp_path / "u.html").read_text("utf-8"))
    assert "95% confidence interval" in page.text and "independent samples" in page.text
    # unpaired replications make no points of a CE plane; the ICER table (of means) stays
    ids = [f["id"] for f in page.figures]
    assert "fig-ce-plane" not in ids and "fig-ceac" in ids
    assert "Cost-effectiveness" in page.text and "How to read the plane" not in page.text


def hand_value(dirs) -> tuple[np.ndarray, np.ndarray]:
    """Per replication, mssp_one_sided minus ffs_baseline in discounted plan-total
    health-sector cost and closed-cohort QALYs plus the terminal value (the last year's
    remaining QALYs, discounted one year further; docs/economics.md), from results.parquet
    with plain pandas."""
    totals, terminal = {}, {}
    for name, key in (("ffs_baseline", "ffs"), ("mssp_one_sided", "mssp")):
        r = pd.read_parquet(dirs[key] / "results.parquet")
        r = r[r["entity"] == "population"]
        t = r["year"] - r["year"].min()
        disc = r["value"] / (1 + RATE) ** t
        totals[name] = disc.groupby([r["metric"].astype(str), r["replication"]]).sum()
        end = r[(r["metric"] == "cohort_qale_end") & (r["year"] == r["year"].max())]
        terminal[name] = (end.set_index("replication")["value"]
                          / (1 + RATE) ** (t.max() + 1))
    d = totals["mssp_one_sided"] - totals["ffs_baseline"]
    dq = d.loc["cohort_qalys"] + terminal["mssp_one_sided"] - terminal["ffs_baseline"]
    return d.loc["health_sector_cost_usd"].to_numpy(), dq.to_numpy()


def test_cost_effectiveness_section(report, dirs):
    from sim.comparison import icer_text

    text = report.read_text(encoding="utf-8")
    page = Page(text)
    dc, dq = hand_value(dirs)
    cells = dict(re.findall(r'<td data-ce="([a-z_0-9.]+)"[^>]*data-value="([^"]+)"', text))
    assert float(cells["d_cost_usd"]) == pytest.approx(dc.mean(), rel=1e-9)
    assert float(cells["d_qalys"]) == pytest.approx(dq.mean(), rel=1e-9)
    words = icer_text(dc.mean(), dq.mean())
    (icer_cell,) = re.findall(r'<td data-ce="icer_usd_per_qaly"[^>]*>([^<]*)</td>', text)
    assert icer_cell == words
    icer = float(cells["icer_usd_per_qaly"])
    if dq.mean() > 0 > dc.mean() or dq.mean() < 0 < dc.mean():
        assert np.isnan(icer) and words.split()[0] in ("dominant", "dominated")
    else:
        assert icer == pytest.approx(dc.mean() / dq.mean()) and icer > 0
    nmb = 50_000 * dq - dc
    assert float(cells["p_nmb_positive_50000"]) == pytest.approx((nmb > 0).mean())
    # the first "ICER" of a page may carry its glossary expansion in parentheses
    assert re.search(r"so (it|the ICER( \([^)]*\))?) is " + re.escape(words), page.text)
    # the plane, with its one sentence on how to read it, and its caption's counts
    ids = [f["id"] for f in page.figures]
    assert "fig-ce-plane" in ids and "fig-ceac" in ids
    assert "How to read the plane" in page.text and "dominant (cheaper and healthier)" in page.text
    caption = " ".join(page.figures[ids.index("fig-ce-plane")]["caption"].split())
    same = ((np.sign(dc) == np.sign(dc.mean())) & (np.sign(dq) == np.sign(dq.mean()))).sum()
    assert f"mssp_one_sided: {words} ({same} of {len(dc)} replications in that quadrant)" \
        in caption
    assert "ICER -" not in page.text and "ICER: -" not in page.text


def test_experiment_directory_gives_the_same_numbers(report, dirs, tmp_path):
    runs = dirs["runs"]
    both = pd.concat([r.results for r in runs.values()], ignore_index=True)
    flows = pd.concat([r.tables["cash_flows"] for r in runs.values()], ignore_index=True)
    exp = write_results_dir(tmp_path / "exp", both, scenario=runs["ffs_baseline"].scenario,
                            scenarios=[r.scenario for r in runs.values()], seed=runs[
                                "ffs_baseline"].seed, tables={"cash_flows": flows},
                            extra_manifest={"reference": "mssp_one_sided",
                                            "common_random_numbers": True})
    out = write_report(exp, tmp_path / "exp.html")
    inputs = load_inputs([exp])
    assert inputs.reference == "mssp_one_sided" and inputs.paired
    cells = {(c["data-scenario"], c["data-metric"], c["data-stat"]): float(c["data-value"])
             for c in Page(out.read_text(encoding="utf-8")).cells}
    before = {(c["data-scenario"], c["data-metric"], c["data-stat"]): float(c["data-value"])
              for c in Page(report.read_text(encoding="utf-8")).cells}
    assert cells == pytest.approx(before)


def test_inputs_refused_with_a_reason(dirs, tmp_path):
    with pytest.raises(ReportInputError, match="not a directory"):
        write_report([tmp_path / "nope"], tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportInputError, match="not a vbcsim results directory"):
        write_report([tmp_path / "empty"], tmp_path / "r.html")
    with pytest.raises(ReportInputError, match="only sensitivity"):
        write_report([dirs["sens"]], tmp_path / "r.html")
    with pytest.raises(ReportInputError, match="reference 'x' is not among"):
        load_inputs([dirs["ffs"]], reference="x")
    shutil.copytree(dirs["ffs"], tmp_path / "again")
    inputs = load_inputs([dirs["ffs"], dirs["ffs"], tmp_path / "again"])
    assert inputs.scenarios == ("ffs_baseline", "ffs_baseline (again)")
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".*tmp"))


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([*flags, *args], capture_output=True, text=True, timeout=240,
                          check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (Debian: apt-get "
                    "install chromium; .ci/run installs it when it runs as root)")
def test_report_in_a_real_browser(report, dirs, tmp_path):
    url = report.resolve().as_uri()
    dom = run_chromium(["--dump-dom", url], tmp_path / "profile1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln]
    assert not console, console  # no script errors, no blocked (external) resources
    page = Page(dom.stdout)
    body = next(a for t, a in page.tags if t == "body")
    n_imgs = len([t for t, _ in page.tags if t == "img"])
    assert body["data-images"] == body["data-images-rendered"] == str(n_imgs)
    assert n_imgs >= 6
    assert spending_sentence(dirs) in page.text
    assert check_cells(page, dirs) >= 2 * 15

    shot = tmp_path / "report.png"
    r = run_chromium(["--window-size=1200,2600", "--hide-scrollbars", f"--screenshot={shot}",
                      url], tmp_path / "profile2")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    assert shot.stat().st_size > 50_000
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2600, 1200)
    ink = (pixels.mean(axis=2) < 0.85).mean()
    assert 0.02 < ink < 0.6, ink  # text, table and charts drawn; not blank, not all dark
    assert re.search(r"\bSummary\b", page.text)


def test_a_run_taken_from_the_comparison_is_the_run_of_the_scenario_alone(dirs):
    """The shared fixture's claim: with common random numbers, a compared scenario's
    replication r is replication r of ``sim.run`` of that scenario alone (checked on the
    first replication: the seeds do not depend on how many replications follow)."""

    alone = sim.run(small_library_scenario("ffs_baseline"), replications=1, workers=1,
                    progress=False)
    taken = dirs["runs"]["ffs_baseline"]

    def first(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["replication"] == 0].reset_index(drop=True)

    pd.testing.assert_frame_equal(alone.results, first(taken.results))
    assert alone.tables.keys() == taken.tables.keys()
    for name, table in alone.tables.items():
        pd.testing.assert_frame_equal(table, first(taken.tables[name]))


# --------------------------------------------------------------------------- a CFO's reading


def test_plans_described_with_their_contracts_by_year(report, dirs):
    import yaml

    page = Page(report.read_text(encoding="utf-8"))
    for key in ("ffs", "mssp"):
        saved = yaml.safe_load((dirs[key] / "scenario.yaml").read_text(encoding="utf-8"))
        assert " ".join(saved["description"].split()[:6]) in page.text
    text = report.read_text(encoding="utf-8")
    timeline = text[text.index('id="timeline"'):]
    timeline = timeline[:timeline.index("</table>")]
    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th>(.*?)</tr>", timeline)
    assert [r[0] for r in rows] == ["ffs_baseline", "mssp_one_sided"]
    years = pd.read_parquet(dirs["ffs"] / "results.parquet")["year"].nunique()
    for _, cells in rows:  # every plan year covered once
        spans = [int(c) for c in re.findall(r'colspan="(\d+)"', cells)]
        assert sum(spans) == years
    assert "MSSP shared savings" in rows[1][1] and "MSSP" not in rows[0][1]


def test_drivers_in_words_add_up(report, dirs):
    """The 'Why' sentences: the payer's difference splits into care and payments beyond
    claims, and the margin's difference is that of its lines (checked with plain pandas)."""
    from sim.report.drivers import MARGIN_LINES, drivers
    from sim.report.numbers import fmt_money

    inputs = load_inputs([dirs["ffs"], dirs["mssp"]])
    why = drivers(inputs, "mssp_one_sided")
    assert why and drivers(inputs, "ffs_baseline") == []
    res = inputs.results

    def mean(scen, entity, metric):
        r = res[(res["scenario"] == scen) & (res["entity"] == entity) & (res["metric"] == metric)]
        return r.groupby("replication")["value"].mean().mean()

    d_payer = (mean("mssp_one_sided", "population", "payer_spend_per_capita_usd")
               - mean("ffs_baseline", "population", "payer_spend_per_capita_usd"))
    assert why[0].startswith(f"Payer spending: {'+' if d_payer > 0 else ''}{fmt_money(d_payer)}")
    d_margin = mean("mssp_one_sided", PROVIDER, "margin_usd") - mean("ffs_baseline", PROVIDER,
                                                                     "margin_usd")
    lines = sum(sign * (mean("mssp_one_sided", PROVIDER, m) - mean("ffs_baseline", PROVIDER, m))
                for m, _, sign in MARGIN_LINES if (res["metric"] == m).any())
    assert lines == pytest.approx(d_margin, rel=1e-6, abs=1.0)  # the lines add up to it
    margin = next(w for w in why if w.startswith(f"{PROVIDER}'s margin"))
    assert fmt_money(abs(d_margin)) in margin
    page = Page(report.read_text(encoding="utf-8"))
    assert "Why — Payer spending" in page.text


def test_clear_only_when_material():
    from sim.report.numbers import clear_rule, material

    assert not material("qalys", 0.0001 * 378, 378)          # +0.01% of QALYs
    assert material("qalys", 0.002 * 378, 378)
    assert not material("payer_spend_per_capita_usd", 50, 13_000)  # 0.4%
    assert material("payer_spend_per_capita_usd", 300, 13_000)
    assert not material("readmission_rate_30d", 0.003, 0.16)  # 0.3 points
    assert material("readmission_rate_30d", -0.009, 0.16)
    assert not material("quality_score", 0.5, 40) and material("quality_score", 2.0, 40)
    assert "excludes zero and it is material" in clear_rule("ffs_baseline")


def test_differences_marked_clear_follow_the_rule(dirs):
    from sim.report.numbers import differences, material

    inputs = load_inputs([dirs["ffs"], dirs["mssp"]])
    table = differences(inputs, [("population", m) for m in
                                 ("qalys", "admissions_per_1000", "readmission_rate_30d")])
    for r in table.itertuples():
        excludes = r.low > 0 or r.high < 0
        assert r.clear == (excludes and material(r.metric, r.diff_mean, r.reference_mean))


def test_jargon_explained_once_where_it_first_appears(report):
    from sim.report.jargon import TERMS

    page = Page(report.read_text(encoding="utf-8"))
    for term, _, meaning in TERMS:
        if re.search(rf"\b{term}\b", page.text):
            first = page.text.index(meaning.split(":")[0][:25])
            assert page.text.count(meaning) == 1, term
            assert first < page.text.rindex("Method and sources"), term


def test_empty_charts_are_left_out_with_a_reason(dirs, tmp_path):
    """A provider that never owes nor loses gets no chart of 0% bars, but a sentence."""
    results = pd.read_parquet(dirs["ffs"] / "results.parquet")
    other = tmp_path / "safe"
    shutil.copytree(dirs["ffs"], other)
    margin = (results["entity"] == PROVIDER) & (results["metric"] == "margin_usd")
    results.loc[margin, "value"] = results.loc[margin, "value"].abs() + 1.0
    results.to_parquet(other / "results.parquet")
    page = Page(write_report([other], tmp_path / "s.html").read_text(encoding="utf-8"))
    assert "fig-owing" not in [f["id"] for f in page.figures]
    assert "never owes the payer money and never makes a loss" in page.text


def test_deltas_in_the_units_a_cfo_reads():
    from sim.report.numbers import fmt_delta

    assert fmt_delta("margin_usd", 17_888, 24_296) == "+$17,888 (+73.6%)"
    assert fmt_delta("margin_usd", 486_078, 24_296) == "+$486,078 (21.0 times as much)"
    assert fmt_delta("readmission_rate_30d", -0.009, 0.169) == "-0.9 pts"  # as the figure
    assert fmt_delta("quality_score", 4.4, 38.4) == "+4.4 pts"
    assert fmt_delta("admissions_per_1000", -4.4, 275.3) == "-1.6%"
