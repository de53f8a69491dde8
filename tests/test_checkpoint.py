"""Nothing lost: parts written as replications finish, resume after SIGKILL, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import KILL_YAML, TINY_YAML, fake_replicate, fake_replicate_failing

from sim.checkpoint import PartStore, ResumeError
from sim.cli import main
from sim.results import PartOutput
from sim.runner import run

REPO = Path(__file__).resolve().parents[1]



def same_dirs(a: Path, b: Path) -> None:
    files = sorted(p.name for p in a.iterdir() if p.suffix in (".parquet", ".csv"))
    assert files == sorted(p.name for p in b.iterdir() if p.suffix in (".parquet", ".csv"))
    assert "results.parquet" in files and "draws.parquet" in files
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def run_and_signal(scen: Path, out: Path, sig: int, parts: int) -> tuple[int, str]:
    """Run ``vbcsim run SCEN --out OUT -w 1 -q`` in a subprocess, send it ``sig`` once
    ``parts`` parts are written; its exit code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", str(scen), "--out", str(out), "-w", "1", "-q"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            folder = out / "parts"
            if folder.is_dir() and len([p for p in folder.iterdir()
                                        if p.name.startswith("task-")]) >= parts:
                break
            if proc.poll() is not None:
                pytest.fail("the run finished before it could be stopped")
            time.sleep(0.02)
        else:
            pytest.fail("no parts were written")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.slow
def test_sigkill_midway_then_resume_gives_the_uninterrupted_results(tmp_path, capsys,
                                                                     killme_whole):
    scen = tmp_path / "killme.yaml"
    scen.write_text(KILL_YAML)
    out = tmp_path / "killed"
    run_and_signal(scen, out, signal.SIGKILL, 3)
    done = [p.name for p in (out / "parts").iterdir() if p.name.startswith("task-")]
    assert 3 <= len(done) < 12
    assert not (out / "manifest.json").exists()

    assert main(["run", str(scen), "--resume", str(out), "-w", "2", "-q"]) == 0
    capsys.readouterr()
    same_dirs(out, killme_whole)
    assert not (out / "parts").exists() and not (out / "run.json").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == 12


@pytest.fixture
def interrupted(tmp_path, monkeypatch, capsys):
    """A run directory where replication 0 finished and replication 1 failed."""
    import sim.runner

    scen = tmp_path / "tiny.yaml"
    scen.write_text(TINY_YAML)
    out = tmp_path / "r"
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "-q",
                 "--replications", "3"]) == 1
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    capsys.readouterr()
    return scen, out


def test_resume_completes_and_equals_an_uninterrupted_run(interrupted, tmp_path, capsys):
    scen, out = interrupted
    assert main(["run", str(scen), "--resume", str(out), "-w", "1", "-q",
                 "--replications", "3"]) == 0
    assert main(["run", str(scen), "--out", str(tmp_path / "whole"), "-w", "1", "-q",
                 "--replications", "3"]) == 0
    capsys.readouterr()
    for name in ("results.parquet", "settlements.parquet", "summary.csv", "results.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--replications", "4"], "made with replications 3, not 4"),
        (["--replications", "3", "--seed", "8"], "made with seed 7, not 8"),
    ],
)
def test_resume_refuses_other_settings(interrupted, capsys, change, message):
    scen, out = interrupted
    assert main(["run", str(scen), "--resume", str(out), "-q", *change]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and message in err


def test_resume_refuses_a_different_scenario_or_version(interrupted, capsys):
    scen, out = interrupted
    scen.write_text(TINY_YAML.replace("size: 300", "size: 301"))
    assert main(["run", str(scen), "--resume", str(out), "-q", "--replications", "3"]) == 2
    assert "made from a different scenario 'tiny'" in capsys.readouterr().err
    scen.write_text(TINY_YAML)
    state = json.loads((out / "run.json").read_text())
    state["vbcsim_version"] = "0.0.1"
    (out / "run.json").write_text(json.dumps(state))
    assert main(["run", str(scen), "--resume", str(out), "-q", "--replications", "3"]) == 2
    assert "made by vbcsim 0.0.1" in capsys.readouterr().err


def test_resume_refuses_finished_and_foreign_directories(tmp_path, fake_model, capsys):
    scen = tmp_path / "tiny.yaml"
    scen.write_text(TINY_YAML)
    assert main(["run", str(scen), "--out", str(tmp_path / "done"), "-w", "1", "-q"]) == 0
    assert main(["run", str(scen), "--resume", str(tmp_path / "done"), "-q"]) == 2
    assert "holds a finished run" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    assert main(["run", str(scen), "--resume", str(tmp_path / "other"), "-q"]) == 2
    assert "not the directory of an interrupted vbcsim run" in capsys.readouterr().err
    assert main(["run", str(scen), "--resume", str(tmp_path / "nope"), "-q"]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["run", str(scen), "--resume", str(tmp_path / "done"), "--overwrite"]) == 2
    assert "not allowed with --out or --overwrite" in capsys.readouterr().err


def test_an_existing_interrupted_run_is_not_overwritten_by_accident(interrupted, capsys):
    scen, out = interrupted
    assert main(["run", str(scen), "--out", str(out), "-q"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_overwrite_keeps_the_old_results_until_the_new_ones_are_complete(tmp_path,
                                                                        monkeypatch, capsys):
    import sim.runner

    scen = tmp_path / "tiny.yaml"
    scen.write_text(TINY_YAML)
    out = tmp_path / "r"
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "-q"]) == 0
    before = (out / "results.parquet").read_bytes()
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "--overwrite",
                 "--replications", "3", "--seed", "9"]) == 1
    err = capsys.readouterr().err
    assert (out / "results.parquet").read_bytes() == before
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".r.partial-")]
    assert len(partial) == 1 and f"--resume {partial[0]}" in err
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    assert main(["run", str(scen), "--resume", str(partial[0]), "-w", "1", "-q",
                 "--replications", "3", "--seed", "9"]) == 0
    assert not partial[0].exists()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9


def test_parts_are_written_whole_and_temporary_names_are_ignored(tmp_path):
    store = PartStore.create(tmp_path / "w", {"vbcsim_version": "x", "tasks": 2})
    frame = pd.DataFrame({"replication": [0], "value": [1.5]})
    store.write(1, PartOutput(results=frame, tables={"t": frame}, draws=None))
    (store.parts / ".tmp-task-000000-abcd").mkdir()  # what a kill mid-write leaves
    assert store.done() == {1}
    back = store.read(1)
    pd.testing.assert_frame_equal(back.results, frame)
    pd.testing.assert_frame_equal(back.tables["t"], frame)
    with pytest.raises(ResumeError, match="made with tasks 2, not 3"):
        PartStore.resume(tmp_path / "w", {"vbcsim_version": "x", "tasks": 3})


def test_python_api_resume(tmp_path):
    out = tmp_path / "r"
    with pytest.raises(Exception, match="replication 1 failed"):
        run(TINY_PATH(tmp_path), replicate=fake_replicate_failing, workers=1, out=out,
            replications=3)
    result = run(TINY_PATH(tmp_path), replicate=fake_replicate, workers=1, out=out,
                 replications=3, resume=True)
    assert sorted(result.results["replication"].unique()) == [0, 1, 2]
    assert (out / "manifest.json").is_file()


def TINY_PATH(tmp_path: Path) -> Path:  # noqa: N802
    path = tmp_path / "tiny.yaml"
    if not path.exists():
        path.write_text(TINY_YAML)
    return path
