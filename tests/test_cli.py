"""The ``vbcsim`` command: arguments, exit codes, messages, files written."""

from __future__ import annotations

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


@pytest.mark.real_model
def test_real_model_cli_run_writes_outputs(real_model, tiny_yaml, tmp_path, capsys):
    out_dir = tmp_path / "r"
    code, out, err = run_cli("run", tiny_yaml, "--out", out_dir, "--workers", "2", "-q",
                             capsys=capsys)
    assert code == 0, err
    results = pd.read_parquet(out_dir / "results.parquet")
    assert set(results["replication"]) == {0, 1} and results["year"].nunique() == 2
    assert "population" in out
    assert read_manifest(out_dir)["workers"] == 2
