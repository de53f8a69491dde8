"""The ``vbcsim`` command: arguments, exit codes, messages, files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.results import read_manifest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))


def run_cli(*argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("extra", "argument", "expected"),
    [
        (["--replications", "-3"], "--replications", "whole number of 1 or more"),
        (["--replications", "two"], "--replications", "whole number of 1 or more"),
        (["--workers", "0"], "--workers", "whole number of 1 or more"),
        (["--seed", "-1"], "--seed", "whole number of 0 or more"),
        (["--replications", "1000000"], "--replications", "less than or equal to 100000"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(tiny_yaml, fake_model, capsys, tmp_path,
                                                  extra, argument, expected):
    out_dir = tmp_path / "out"
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, *extra, capsys=capsys)
    assert code == 2
    assert argument in err and expected in err
    assert "Traceback" not in err and out == ""
    assert not out_dir.exists()


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    code, out, err = run_cli("run", tmp_path / "nope.yaml", capsys=capsys)
    assert code == 2
    assert "SCENARIO" in err and "no such file" in err and "nope.yaml" in err
    assert "Traceback" not in err


def test_no_command_exits_2(capsys):
    code, _, err = run_cli(capsys=capsys)
    assert code == 2 and "COMMAND" in err


def test_version(capsys):
    code, out, _ = run_cli("--version", capsys=capsys)
    assert code == 0 and out.startswith("vbcsim ")


def test_debug_shows_the_traceback(tmp_path, capsys):
    for argv in (["--debug", "run", tmp_path / "x.yaml"], ["run", tmp_path / "x.yaml", "--debug"]):
        code, _, err = run_cli(*argv, capsys=capsys)
        assert code == 2 and "Traceback" in err and "no such file" in err


def test_bad_arguments_in_a_real_process_have_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(tmp_path / "x.yaml"), "--workers", "0"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert "--workers" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


# --------------------------------------------------------------------------- validate


def test_validate_ok(tiny_yaml, capsys):
    code, out, err = run_cli("validate", tiny_yaml, capsys=capsys)
    assert code == 0 and "ok" in out and "tiny" in out and err == ""


def test_validate_refuses_a_bad_file_naming_file_and_field(tmp_path, tiny_yaml, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\npopulation:\n  size: -5\n")
    code, out, err = run_cli("validate", tiny_yaml, bad, capsys=capsys)
    assert code == 2
    assert "bad.yaml" in err and "population.size" in err and "Traceback" not in err
    assert "tiny.yaml: ok" in out


def test_validate_missing_file(tmp_path, capsys):
    code, _, err = run_cli("validate", tmp_path / "missing.yaml", capsys=capsys)
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_scenarios_validate(path, capsys):
    code, _, err = run_cli("validate", path, capsys=capsys)
    assert code == 0, err


# --------------------------------------------------------------------------- run (fake model)


def test_run_writes_all_files_and_prints_a_summary(tiny_yaml, fake_model, tmp_path, capsys):
    out_dir = tmp_path / "res"
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, "--workers", "1",
                             "--replications", "3", "--seed", "99", capsys=capsys)
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == {
        "results.parquet", "results.csv", "summary.csv", "scenario.yaml", "manifest.json",
        "settlements.parquet", "risk.csv"}
    lines = out.splitlines()
    assert lines[0].startswith("Scenario tiny: 3 replication(s)")
    assert "population" in lines and "payer_spending_usd" in out and "95% interval" in out
    assert "Results written to" in err

    m = read_manifest(out_dir)
    assert (m["seed"], m["replications"], m["workers"]) == (99, 3, 1)
    assert m["command"].startswith("vbcsim run ") and "--seed 99" in m["command"]
    assert m["scenario_name"] == "tiny" and m["scenario_source"] == str(tiny_yaml)
    for key in ("vbcsim_version", "started_at", "finished_at", "python_version",
                "numpy_version", "simpy_version", "scenario_sha256"):
        assert m[key], key
    results = pd.read_parquet(out_dir / "results.parquet")
    assert sorted(results["replication"].unique()) == [0, 1, 2]
    # the resolved scenario reproduces the run's settings
    code, out2, _ = run_cli("validate", out_dir / "scenario.yaml", capsys=capsys)
    assert code == 0 and "3 replication(s)" in out2


def test_quiet_prints_only_the_summary(tiny_yaml, fake_model, tmp_path, capsys):
    code, out, err = run_cli("run", tiny_yaml, "--out", tmp_path / "r", "--quiet",
                             "--workers", "1", capsys=capsys)
    assert code == 0 and err == "" and "payer_spending_usd" in out


def test_default_out_dir_is_results_slash_name(tiny_yaml, fake_model, tmp_path, capsys,
                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("run", tiny_yaml, "--workers", "1", "-q", capsys=capsys)
    assert code == 0, err
    assert (tmp_path / "results" / "tiny" / "manifest.json").is_file()


def test_existing_out_dir_is_refused_before_running_and_left_untouched(
    tiny_yaml, fake_model, tmp_path, capsys, monkeypatch
):
    out_dir = tmp_path / "r"
    assert run_cli("run", tiny_yaml, "--out", out_dir, "-w", "1", "-q", capsys=capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}

    import sim.runner

    def must_not_run(*args):
        raise AssertionError("simulation started before the arguments were checked")

    monkeypatch.setattr(sim.runner, "simulate_replication", must_not_run)
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, "--seed", "1", capsys=capsys)
    assert code == 2 and "--out" in err and "--overwrite" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before


def test_overwrite_replaces_the_results(tiny_yaml, fake_model, tmp_path, capsys):
    out_dir = tmp_path / "r"
    assert run_cli("run", tiny_yaml, "--out", out_dir, "-w", "1", "-q", capsys=capsys)[0] == 0
    code, _, err = run_cli("run", tiny_yaml, "--out", out_dir, "-w", "1", "-q", "--seed", "5",
                           "--overwrite", capsys=capsys)
    assert code == 0, err
    assert read_manifest(out_dir)["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "tiny.yaml"]


def test_overwrite_refuses_a_non_results_directory(tiny_yaml, fake_model, tmp_path, capsys):
    code, _, err = run_cli("run", tiny_yaml, "--out", tmp_path, "--overwrite", capsys=capsys)
    assert code == 2 and "not a vbcsim results directory" in err
    assert (tmp_path / "tiny.yaml").is_file()


def test_invalid_scenario_exits_2_before_running(tmp_path, fake_model, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nhorizon_years: 0\n")
    code, _, err = run_cli("run", bad, "--out", tmp_path / "r", capsys=capsys)
    assert code == 2 and "bad.yaml" in err and "horizon_years" in err
    assert not (tmp_path / "r").exists()


def test_a_failing_run_exits_1_without_traceback_and_keeps_finished_replications(
    tiny_yaml, tmp_path, capsys, monkeypatch
):
    from conftest import fake_replicate_failing

    import sim.runner

    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    code, out, err = run_cli("run", tiny_yaml, "--out", tmp_path / "r", "-w", "1",
                             "--replications", "3", capsys=capsys)
    assert code == 1
    assert "replication 1 failed" in err and "boom" in err and "--debug" in err
    assert "Traceback" not in err
    # replication 0 finished before replication 1 failed: it is kept, resumable, and no
    # final results were written
    assert "1 of 3 replication(s) finished" in err and "--resume" in err
    assert (tmp_path / "r" / "run.json").is_file()
    assert not (tmp_path / "r" / "manifest.json").exists()
    assert [p.name for p in (tmp_path / "r" / "parts").iterdir()] == ["task-000000"]


def test_workers_do_not_change_the_files(tiny_yaml, fake_model, tmp_path, capsys):
    for w in ("1", "2"):
        code, _, err = run_cli("run", tiny_yaml, "--out", tmp_path / w, "-w", w, "-q",
                               "--replications", "3", capsys=capsys)
        assert code == 0, err
    for name in ("results.parquet", "settlements.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "1" / name),
                                      pd.read_parquet(tmp_path / "2" / name))
    assert (tmp_path / "1" / "results.csv").read_bytes() == (
        tmp_path / "2" / "results.csv").read_bytes()


# --------------------------------------------------------------------------- real model


def test_real_model_cli_run_writes_outputs(tiny_yaml, tmp_path, capsys):
    out_dir = tmp_path / "r"
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, "--workers", "2", "-q",
                             capsys=capsys)
    assert code == 0, err
    results = pd.read_parquet(out_dir / "results.parquet")
    assert set(results["replication"]) == {0, 1} and results["year"].nunique() == 2
    assert "population" in out
    assert read_manifest(out_dir)["workers"] == 2


def test_real_model_key_view_by_default_full_on_request(tiny_yaml, tmp_path, capsys):
    """The printed view: key metrics, then every metric with --full; neither shows a row
    that is 0 in every replication (an FFS provider's capitation revenue)."""
    code, key, err = run_cli("run", tiny_yaml, "--out", tmp_path / "k", "--workers", "1",
                             "-q", capsys=capsys)
    assert code == 0, err
    code, full, err = run_cli("run", tiny_yaml, "--out", tmp_path / "f", "--workers", "1",
                              "-q", "--full", capsys=capsys)
    assert code == 0, err
    assert "Key metrics; `--full`" in key and "Key metrics" not in full
    for text in (key, full):
        assert "margin_usd" in text and "capitation_revenue_usd" not in text
        assert "Not shown:" in text and "Risk over the plan" in text
        assert "e+0" not in text
    assert "ffs_revenue_usd" in full and "ffs_revenue_usd" not in key
    assert len(key.splitlines()) < len(full.splitlines())
    results = pd.read_parquet(tmp_path / "k" / "results.parquet")
    pd.testing.assert_frame_equal(results, pd.read_parquet(tmp_path / "f" / "results.parquet"))


# --------------------------------------------------------------------------- help


def _subparsers():
    from sim.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return parser, sub.choices


def test_main_help_lists_every_command_with_an_example(capsys):
    code, out, _ = run_cli("--help", capsys=capsys)
    assert code == 0
    for command in ("run", "compare", "sensitivity", "validate", "scenarios", "report"):
        assert f"    {command}" in out
    assert "vbcsim report results/cmp -o report.html" in out
    assert "docs/scenario-reference.md" in out and "Exit codes" in out


@pytest.mark.parametrize("command", ["run", "compare", "sensitivity", "validate", "scenarios",
                                     "report", "voi"])
def test_every_subcommand_help_is_complete(command, capsys):
    parser, subparsers = _subparsers()
    sub = subparsers[command]
    assert sub.description and len(sub.description) > 40
    assert sub.epilog and sub.epilog.startswith("examples:") and f"vbcsim {command}" in sub.epilog
    for action in sub._actions:
        assert action.help and action.help != "==SUPPRESS==", (command, action.dest)
    code, out, _ = run_cli(command, "--help", capsys=capsys)
    assert code == 0 and out.startswith(f"usage: vbcsim {command}") and "examples:" in out
    # the examples keep their lines (they are not re-wrapped)
    first_example = sub.epilog.splitlines()[1]
    assert first_example in out


def test_every_top_level_option_has_help():
    parser, subparsers = _subparsers()
    for action in parser._actions:
        assert action.help or action.dest == "command", action.dest  # commands: listed
    for name, sub in subparsers.items():
        assert any(a.dest == "debug" for a in sub._actions), name


# --------------------------------------------------------------------------- scenarios


def test_scenarios_lists_the_shipped_library_with_purposes(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, err = run_cli("scenarios", capsys=capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ("Scenarios in scenarios/ (run one with: vbcsim run NAME; copy one to "
                        "edit it: vbcsim scenarios --copy NAME DIR)")
    listed = {line.split()[0]: line.split(None, 1)[1] for line in lines[2:]}
    assert list(listed) == [p.stem for p in SHIPPED]
    assert listed["ffs_baseline"] == "traditional Medicare fee-for-service, aged 65+."
    assert all(purpose and purpose != "(no header comment)" for purpose in listed.values())


def test_scenarios_found_from_another_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scenarios: the source checkout's folder is used
    code, out, _ = run_cli("scenarios", capsys=capsys)
    assert code == 0
    assert str(REPO / "scenarios") in out.splitlines()[0] and "ffs_baseline" in out


def test_scenarios_dir_option_and_purpose_fallbacks(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("# a — what happens under plan A for a test\nname: a\n")
    (tmp_path / "b.yaml").write_text("description: >-\n  Plan B for tests. More text.\n")
    (tmp_path / "c.yaml").write_text("name: c\n")
    (tmp_path / "notes.txt").write_text("not a scenario\n")
    code, out, _ = run_cli("scenarios", "--dir", tmp_path, capsys=capsys)
    assert code == 0
    rows = [line.split(None, 1) for line in out.splitlines()[2:]]
    assert rows == [["a", "what happens under plan A for a test"], ["b", "Plan B for tests."],
                    ["c", "(no header comment)"]]


def test_scenarios_dir_errors_exit_2(tmp_path, capsys):
    code, out, err = run_cli("scenarios", "--dir", tmp_path / "nope", capsys=capsys)
    assert code == 2 and "--dir" in err and "no such directory" in err and out == ""
    assert "Traceback" not in err
    code, _, err = run_cli("scenarios", "--dir", tmp_path, capsys=capsys)
    assert code == 2 and "no scenario files" in err


def test_scenarios_says_where_it_looked(tmp_path, capsys, monkeypatch):
    import sim.scenario.library

    looked = [tmp_path / "here", tmp_path / "there"]
    monkeypatch.setattr(sim.scenario.library, "scenario_dirs", lambda: looked)
    code, out, err = run_cli("scenarios", capsys=capsys)
    assert code == 2 and out == ""
    assert "no scenario files found" in err and all(str(d) in err for d in looked)
    assert "--dir" in err and "Traceback" not in err


# --------------------------------------------------------------------------- report


def _results_dir(path: Path, **manifest) -> Path:
    import json

    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"vbcsim_version": "0.1.0", **manifest}))
    pd.DataFrame({"replication": [0], "scenario": ["s"], "year": [0], "entity": ["population"],
                  "metric": ["x"], "value": [1.0]}).to_parquet(path / "results.parquet")
    return path


@pytest.fixture
def fake_report(monkeypatch):
    """A stand-in for sim.report (written in parallel): records calls, writes a page."""
    import types

    calls = []

    def write_report(result_dirs, output, title=None):
        calls.append((list(result_dirs), Path(output), title))
        Path(output).write_text(f"<html><title>{title}</title></html>")
        return Path(output)

    module = types.ModuleType("sim.report")
    module.write_report = write_report
    monkeypatch.setitem(sys.modules, "sim.report", module)
    return calls


def test_report_calls_write_report_and_writes_the_file(tmp_path, fake_report, capsys):
    a, b = _results_dir(tmp_path / "a"), _results_dir(tmp_path / "b")
    target = tmp_path / "report.html"
    code, out, err = run_cli("report", a, b, "-o", target, "--title", "Plans", capsys=capsys)
    assert code == 0, err
    (dirs, written, title) = fake_report[0]
    assert dirs == [a, b] and title == "Plans"
    assert written.parent == tmp_path and written != target  # written aside, then moved
    assert target.read_text() == "<html><title>Plans</title></html>"
    assert f"Report written to {target}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "report.html"]


def test_report_default_output_is_report_html(tmp_path, fake_report, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _results_dir(tmp_path / "r")
    code, _, err = run_cli("report", "r", capsys=capsys)
    assert code == 0, err
    assert (tmp_path / "report.html").is_file() and fake_report[0][2] is None


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: None, "no such directory"),
        (lambda d: d.write_text("x"), "not a directory"),
        (lambda d: d.mkdir(), "not a vbcsim results directory (no manifest.json)"),
        (lambda d: (d.mkdir(), (d / "run.json").write_text("{}")), "--resume"),
        (lambda d: (d.mkdir(), (d / "manifest.json").write_text('{"other": 1}')),
         "not written by vbcsim"),
        (lambda d: (d.mkdir(), (d / "manifest.json").write_text("{oops")), "unreadable"),
        (lambda d: ((d / "results.parquet").unlink() if _results_dir(d) else None),
         "results.parquet is missing"),
    ],
    ids=["missing", "file", "no-manifest", "unfinished", "foreign-manifest", "bad-manifest",
         "no-results"],
)
def test_report_refuses_what_is_not_a_results_dir(tmp_path, fake_report, capsys, make,
                                                  expected):
    bad = tmp_path / "bad"
    make(bad)
    good = _results_dir(tmp_path / "good")
    code, out, err = run_cli("report", good, bad, "-o", tmp_path / "r.html", capsys=capsys)
    assert code == 2 and out == ""
    assert "RESULTS_DIR" in err and str(bad) in err and expected in err
    assert "Traceback" not in err
    assert fake_report == [] and not (tmp_path / "r.html").exists()


def test_report_output_errors_exit_2_and_keep_existing_files(tmp_path, fake_report, capsys):
    r = _results_dir(tmp_path / "r")
    existing = tmp_path / "old.html"
    existing.write_text("keep me")
    code, _, err = run_cli("report", r, "-o", existing, capsys=capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert existing.read_text() == "keep me"
    code, _, err = run_cli("report", r, "-o", tmp_path, capsys=capsys)
    assert code == 2 and "is a directory" in err
    code, _, err = run_cli("report", r, "-o", tmp_path / "no" / "r.html", capsys=capsys)
    assert code == 2 and "no such directory" in err
    code, _, err = run_cli("report", r, r, "-o", tmp_path / "x.html", capsys=capsys)
    assert code == 2 and "given twice" in err
    assert fake_report == []
    code, _, err = run_cli("report", r, "-o", existing, "--overwrite", capsys=capsys)
    assert code == 0, err
    assert existing.read_text().startswith("<html>")


def test_report_failure_exits_1_and_leaves_the_previous_report(tmp_path, capsys, monkeypatch):
    import types

    def broken(result_dirs, output, title=None):
        Path(output).write_text("<html>half")
        raise ValueError("cannot draw the fan chart")

    module = types.ModuleType("sim.report")
    module.write_report = broken
    monkeypatch.setitem(sys.modules, "sim.report", module)
    r = _results_dir(tmp_path / "r")
    old = tmp_path / "report.html"
    old.write_text("previous report")
    code, out, err = run_cli("report", r, "-o", old, "--overwrite", capsys=capsys)
    assert code == 1 and out == ""
    assert "cannot draw the fan chart" in err and "--debug" in err and "Traceback" not in err
    assert old.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "report.html"]


def test_report_without_the_report_module_fails_clearly(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sim.report", None)  # import of sim.report fails
    r = _results_dir(tmp_path / "r")
    code, _, err = run_cli("report", r, "-o", tmp_path / "x.html", capsys=capsys)
    assert code == 1 and "not available" in err and "Traceback" not in err


def test_report_needs_at_least_one_results_dir(capsys):
    code, _, err = run_cli("report", capsys=capsys)
    assert code == 2 and "RESULTS_DIR" in err


def test_installed_scenarios_are_where_vbcsim_scenarios_looks():
    import tomllib

    from sim.scenario.library import scenario_dirs

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    data_files = config["tool"]["setuptools"]["data-files"]
    assert data_files["share/vbcsim/scenarios"] == ["scenarios/*.yaml"]
    assert Path(sys.prefix) / "share" / "vbcsim" / "scenarios" in scenario_dirs()


def test_every_data_file_of_the_package_is_installed():
    """A non-Python file under sim/ (life table, code sets, weights) reaches an installed
    copy only through pyproject's package-data: each one must match a pattern there (a
    missing economics/data pattern once broke `pip install . && vbcsim run` while every
    test, run from the checkout, passed)."""
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["sim"]
    files = [p.relative_to(REPO / "sim").as_posix() for p in (REPO / "sim").rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc")
             and "__pycache__" not in p.parts]
    assert "economics/data/ssa_period_life_table_2021.csv" in files

    def matches(f: str, pat: str) -> bool:  # setuptools' glob: "*" stays within a folder
        fs, ps = f.split("/"), pat.split("/")
        return len(fs) == len(ps) and all(map(fnmatch.fnmatchcase, fs, ps))

    missing = [f for f in files if not any(matches(f, pat) for pat in patterns)]
    assert not missing, f"not in pyproject's [tool.setuptools.package-data]: {missing}"


def test_report_end_to_end_with_the_real_report(tmp_path, capsys, monkeypatch):
    """compare two tiny real scenarios, then `vbcsim report` their results directory."""
    try:
        from sim.report import write_report  # noqa: F401
    except ImportError:
        pytest.skip("sim.report is not available")
    monkeypatch.chdir(tmp_path)
    for name in ("ffs_baseline", "aco_enhanced"):
        (tmp_path / f"{name}.yaml").write_text(
            f"extends: {REPO / 'scenarios' / name}.yaml\nname: {name}\n"
            "population: {size: 600}\nhorizon_years: 1\nreplications: 2\n"
            "attribution: {enforce_minimum: false}\n"  # below an ACO's 5,000 floor
            "behavior: fixed\n")  # the files and the report are under test, not the optimiser
    code, _, err = run_cli("compare", "ffs_baseline.yaml", "aco_enhanced.yaml", "--out", "res",
                           "-q", "-w", "1", capsys=capsys)
    assert code == 0, err
    code, out, err = run_cli("report", "res", "-o", "plans.html", "--title", "Two plans",
                             capsys=capsys)
    assert code == 0, err
    assert out.strip() == "Report written to plans.html"
    html = (tmp_path / "plans.html").read_text(encoding="utf-8")
    assert "Two plans" in html and "aco_enhanced" in html and "ffs_baseline" in html
    assert "data:image" in html and 'src="http' not in html  # self-contained
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aco_enhanced.yaml", "ffs_baseline.yaml", "plans.html", "res"]
    # a sensitivity analysis in its own folder (no manifest) is accepted and named
    code, _, err = run_cli("sensitivity", "aco_enhanced.yaml", "--metric",
                           "payer_spend_per_capita_usd", "--tornado",
                           "clinical.admissions.rate_per_year=0.12:0.18", "--replications", "1",
                           "-w", "1", "-q", "--out", "sens", capsys=capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "sens" / "sensitivity.json").read_text())["scenario"] == \
        "aco_enhanced"
    code, out, err = run_cli("report", "res", "sens", "-o", "with_sens.html", capsys=capsys)
    assert code == 0, err
    html = (tmp_path / "with_sens.html").read_text(encoding="utf-8")
    assert "Run on scenario aco_enhanced" in html and "Admissions: rate per year" in html


# --------------------------------------------------------------------------- --set, --quick


def test_set_changes_the_run_and_is_recorded(tiny_yaml, fake_model, tmp_path, capsys):
    out_dir = tmp_path / "res"
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, "-w", "1",
                             "--set", "population.size=400", "--set", "horizon_years=3",
                             capsys=capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("Scenario tiny: 2 replication(s) x 3 year(s)")
    m = read_manifest(out_dir)
    assert m["overrides"] == ["population.size=400", "horizon_years=3"]
    assert m["quick"] is False
    assert "--set population.size=400" in m["command"]
    results = pd.read_parquet(out_dir / "results.parquet")
    assert sorted(results["year"].unique()) == [0, 1, 2]
    # the resolved scenario holds the overridden values: running it reproduces the run
    code, out2, _ = run_cli("validate", out_dir / "scenario.yaml", capsys=capsys)
    assert code == 0 and "400 patients, 3 year(s)" in out2


def test_quick_is_marked_in_the_title_and_the_manifest(tiny_yaml, fake_model, tmp_path,
                                                       capsys):
    from sim.scenario.overrides import QUICK

    out_dir = tmp_path / "quick"
    code, out, err = run_cli("run", tiny_yaml, "--quick", "--out", out_dir, "-w", "1",
                             capsys=capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("QUICK LOOK (--quick: a small run for a first "
                                          "look, not a result): Scenario tiny: 2 replication")
    m = read_manifest(out_dir)
    assert m["quick"] is True and m["replications"] == QUICK["replications"] == 2
    assert m["overrides"] == ["population.size=1000", "replications=2",
                              "attribution.enforce_minimum=False"]
    code, out2, _ = run_cli("validate", out_dir / "scenario.yaml", capsys=capsys)
    assert code == 0 and "1,000 patients" in out2
    # --replications and --set win over --quick
    code, _, err = run_cli("run", tiny_yaml, "--quick", "--replications", "3", "--set",
                           "population.size=200", "--out", tmp_path / "q2", "-w", "1", "-q",
                           capsys=capsys)
    assert code == 0, err
    m = read_manifest(tmp_path / "q2")
    assert m["replications"] == 3 and m["quick"] is True
    code, out2, _ = run_cli("validate", tmp_path / "q2" / "scenario.yaml", capsys=capsys)
    assert "200 patients" in out2


@pytest.mark.parametrize(("setting", "expected"), [
    ("population.size=abc", "--set population.size=abc: population.size: expected a whole "
     "number (patients), got the text 'abc'"),
    ("population.sise=2000", "--set population.sise=2000: population.sise: unknown field "
     "'sise' in population (did you mean 'size'?)"),
    ("population.size", "--set population.size: expected PATH=VALUE"),
])
def test_a_bad_set_exits_2_naming_the_override_before_running(
        tiny_yaml, tmp_path, capsys, monkeypatch, setting, expected):
    import sim.runner

    def must_not_run(*args):
        raise AssertionError("ran")

    monkeypatch.setattr(sim.runner, "simulate_replication", must_not_run)
    out_dir = tmp_path / "r"
    for command in ("run", "validate", "sensitivity"):
        extra = ["--out", out_dir] if command == "run" else (
            ["--metric", "patients", "--tornado", "seed=1:2"] if command == "sensitivity"
            else [])
        code, out, err = run_cli(command, tiny_yaml, "--set", setting, *extra, capsys=capsys)
        assert code == 2, command
        assert expected in err and "Traceback" not in err, command
    assert not out_dir.exists()


def test_compare_applies_set_and_quick_to_every_scenario(tmp_path, fake_model, capsys):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\npopulation: {size: 300}\nhorizon_years: 2\nreplications: 2\n")
    b.write_text("name: b\npopulation: {size: 300}\nhorizon_years: 2\nreplications: 2\n"
                 "behavior: fixed\n")
    out_dir = tmp_path / "cmp"
    code, out, err = run_cli("compare", a, b, "--quick", "--set", "horizon_years=3",
                             "--out", out_dir, "-w", "1", capsys=capsys)
    assert code == 0, err
    assert out.startswith("QUICK LOOK") and "Scenarios a, b" in out.splitlines()[0]
    m = read_manifest(out_dir)
    assert m["quick"] is True and m["overrides"][-1] == "horizon_years=3"
    for name in ("a", "b"):
        code, text, _ = run_cli("validate", out_dir / "scenarios" / f"{name}.yaml",
                                capsys=capsys)
        assert code == 0 and "1,000 patients, 3 year(s)" in text


# --------------------------------------------------------------------------- by name, --copy


def test_a_shipped_scenario_runs_by_name_from_any_folder(tmp_path, fake_model, capsys,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)  # no scenarios/ here
    code, out, err = run_cli("validate", "ffs_baseline", "aco_enhanced.yaml", capsys=capsys)
    assert code == 0, err
    assert f"{REPO / 'scenarios' / 'ffs_baseline.yaml'}: ok (scenario 'ffs_baseline'" in out
    assert "scenario 'aco_enhanced'" in out and err == ""
    code, out, err = run_cli("run", "ffs_baseline", "--quick", "-w", "1", "-q", capsys=capsys)
    assert code == 0, err
    m = read_manifest(tmp_path / "results" / "ffs_baseline")
    assert m["scenario_source"] == str(REPO / "scenarios" / "ffs_baseline.yaml")
    assert m["quick"] is True


def test_a_file_in_the_working_directory_wins_and_a_note_says_so(tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ffs_baseline.yaml").write_text("name: mine\npopulation: {size: 321}\n")
    code, out, err = run_cli("validate", "ffs_baseline", capsys=capsys)
    assert code == 0 and "scenario 'mine': 321 patients" in out
    assert "note: using ffs_baseline.yaml from the working directory, not the shipped " \
           f"scenario {REPO / 'scenarios' / 'ffs_baseline.yaml'}" in err


def test_an_unknown_name_says_where_it_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("run", "ffs_basline", capsys=capsys)
    assert code == 2 and out == ""
    assert "argument SCENARIO: no such file: 'ffs_basline' (looked for " in err
    assert str(tmp_path / "ffs_basline.yaml") in err
    assert str(REPO / "scenarios" / "ffs_basline.yaml") in err
    assert "did you mean 'ffs_baseline'?" in err and "vbcsim scenarios" in err


def test_an_installed_library_is_found_by_name(tmp_path, capsys, monkeypatch):
    """Outside a checkout the library is <prefix>/share/vbcsim/scenarios (pyproject's
    data-files): a copy there is found by name."""
    import shutil

    import sim.scenario.library

    installed = tmp_path / "prefix" / "share" / "vbcsim" / "scenarios"
    shutil.copytree(REPO / "scenarios", installed)
    monkeypatch.setattr(sim.scenario.library, "scenario_dirs", lambda: [installed])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = run_cli("validate", "mssp_two_sided", capsys=capsys)
    assert code == 0, err
    assert out.startswith(f"{installed / 'mssp_two_sided.yaml'}: ok")


def test_copy_a_shipped_scenario_and_run_it_there(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("scenarios", "--copy", "aco_enhanced", "study", capsys=capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "study").iterdir()) == [
        "aco_basic_glide.yaml", "aco_enhanced.yaml", "ffs_baseline.yaml"]  # with its bases
    assert "vbcsim run study/aco_enhanced.yaml" in out
    for p in (tmp_path / "study").iterdir():
        assert p.read_bytes() == (REPO / "scenarios" / p.name).read_bytes()
    code, out, err = run_cli("validate", "study/aco_enhanced.yaml", capsys=capsys)
    assert code == 0 and "scenario 'aco_enhanced'" in out, err
    # a second copy would overwrite: refused, nothing touched
    (tmp_path / "study" / "ffs_baseline.yaml").write_text("# my edits\n")
    code, out, err = run_cli("scenarios", "--copy", "aco_enhanced", "study", capsys=capsys)
    assert code == 2 and "already exist" in err and "nothing was copied" in err
    assert (tmp_path / "study" / "ffs_baseline.yaml").read_text() == "# my edits\n"
    code, _, err = run_cli("scenarios", "--copy", "aco_enhancd", "x", capsys=capsys)
    assert code == 2 and "no shipped scenario 'aco_enhancd'" in err
    assert "did you mean 'aco_enhanced'?" in err and not (tmp_path / "x").exists()


def test_a_missing_extends_base_says_where_it_looked(tmp_path, capsys):
    copied = tmp_path / "aco_enhanced.yaml"
    copied.write_text((REPO / "scenarios" / "aco_enhanced.yaml").read_text())
    code, out, err = run_cli("validate", copied, capsys=capsys)
    assert code == 2
    assert "extends: base file 'aco_basic_glide.yaml': file not found (looked for " \
           f"{tmp_path / 'aco_basic_glide.yaml'}" in err
    assert "vbcsim scenarios --copy NAME DIR" in err


def test_by_name_and_quick_in_a_real_process_outside_the_checkout(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", "reach_global", "--quick"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "scenario 'reach_global': 1,000 patients" in proc.stdout
    # the shipped scenarios carry parameter uncertainty (issue 14)
    assert "2 replication(s), 16 uncertain parameter(s), with 3 override(s)" in proc.stdout


def test_set_and_quick_apply_to_the_scenarios_of_an_experiment(tmp_path, fake_model, capsys):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\npopulation: {{size: 300}}\nhorizon_years: 2\nreplications: 2\n")
    exp = tmp_path / "exp.yaml"
    exp.write_text("experiment:\n  scenarios: [a.yaml, b.yaml]\n")
    code, out, err = run_cli("validate", exp, "--set", "horizon_years=0", capsys=capsys)
    assert code == 2 and "--set horizon_years=0: horizon_years: expected a whole number >= 1" \
        in err
    code, out, err = run_cli("compare", exp, "--quick", "--out", tmp_path / "r", "-w", "1",
                             capsys=capsys)
    assert code == 0, err
    assert out.startswith("QUICK LOOK")
    assert read_manifest(tmp_path / "r")["quick"] is True
    code, text, _ = run_cli("validate", tmp_path / "r" / "scenarios" / "b.yaml", capsys=capsys)
    assert "1,000 patients" in text


def test_a_folder_given_as_scenario_is_not_looked_up_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ffs_baseline").mkdir()
    code, _, err = run_cli("run", "ffs_baseline", capsys=capsys)
    assert code == 2 and "argument SCENARIO: not a file: 'ffs_baseline'" in err


@pytest.mark.parametrize(("extra", "want"), [
    ([], (3, 5)),                                      # the experiment file's own
    (["--replications", "1", "--seed", "9"], (1, 9)),  # the command line wins
    (["--set", "replications=2"], (2, 5)),             # so does an override of the field
])
def test_experiment_files_replications_and_seed_are_honoured(tmp_path, fake_model, capsys,
                                                             extra, want):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\npopulation: {{size: 300}}\nhorizon_years: 1\nreplications: 4\n"
            "seed: 1\n")
    exp = tmp_path / "exp.yaml"
    exp.write_text("experiment:\n  scenarios: [a.yaml, b.yaml]\n  replications: 3\n  seed: 5\n")
    code, _, err = run_cli("compare", exp, *extra, "--out", tmp_path / "r", "-w", "1",
                           capsys=capsys)
    assert code == 0, err
    manifest = read_manifest(tmp_path / "r")
    assert (manifest["replications"], manifest["seed"]) == want
