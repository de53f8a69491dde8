"""Output folders cannot be destroyed by mistake (issue 18): one writer per folder (a lock,
with real processes), ``--overwrite`` removes only what vbcsim wrote (by its manifest), and
a failed run leaves nothing new or a folder clearly marked unfinished."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import TINY_YAML, fake_replicate, fake_replicate_failing

import sim.executors
import sim.runner
from sim.cli import main
from sim.results import OutputLock, OutputLocked, layout
from sim.runner import run

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

#: ``vbcsim`` in a real process, with a slow fake model (0.4 s per replication).
SLOW_VBCSIM = textwrap.dedent(f"""
    import sys, time
    sys.path.insert(0, {str(TESTS)!r})
    import conftest
    import sim.runner

    def slow(scenario, replication, seed_seq):
        time.sleep(0.4)
        return conftest.fake_replicate(scenario, replication, seed_seq)

    sim.runner.simulate_replication = slow
    from sim.cli import main
    sys.exit(main(sys.argv[1:]))
""")

#: Takes the lock of the folder given and then ends (0: without releasing it, as a
#: ``kill -9`` would) or holds it until killed (1).
HOLD_LOCK = textwrap.dedent("""
    import os, sys, time
    from sim.results import OutputLock

    OutputLock(sys.argv[1], command="vbcsim run holder.yaml").acquire()
    print("locked", flush=True)
    if sys.argv[2] == "die":
        os._exit(0)
    time.sleep(600)
""")


def _scenario(tmp_path: Path, reps: int = 2) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML.replace("replications: 2", f"replications: {reps}"))
    return path


def _popen(*args: str, script: str = SLOW_VBCSIM) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_parts(proc: subprocess.Popen, out: Path, n: int = 1) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        parts = out / layout.PARTS
        if parts.is_dir() and len([p for p in parts.iterdir()
                                   if layout.part_index(p.name) is not None]) >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.communicate()[1]}")
        time.sleep(0.02)
    pytest.fail("no part was written")


def _holder(folder: Path, how: str) -> subprocess.Popen:
    proc = _popen(str(folder), how, script=HOLD_LOCK)
    assert proc.stdout.readline().strip() == "locked", proc.communicate()[1]
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=60)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def failed(tmp_path, monkeypatch, capsys):
    """``vbcsim run`` whose replication 1 of 3 failed: (scenario file, its folder, stderr)."""
    scen = _scenario(tmp_path)
    out = tmp_path / "r"
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "-q",
                 "--replications", "3"]) == 1
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    return scen, out, capsys.readouterr().err


# --------------------------------------------------------------------------- one writer


def test_a_second_writer_is_refused_naming_the_folder_and_the_process(tmp_path, capsys,
                                                                       monkeypatch):
    scen = _scenario(tmp_path, reps=8)
    out = tmp_path / "r"
    writer = _popen("run", str(scen), "--out", str(out), "-w", "1", "-q")
    try:
        _wait_for_parts(writer, out)
        lock = json.loads(layout.lock_file(out).read_text())
        assert (lock["pid"], lock["host"]) == (writer.pid, socket.gethostname())
        monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
        before = _snapshot(out)
        for extra in (["--out", str(out), "--overwrite"], ["--out", str(out)],
                      ["--resume", str(out)]):
            code = main(["run", str(scen), *extra, "-w", "1", "-q"])
            err = capsys.readouterr().err
            assert code == 2, err
            assert f"{out} is being written by another vbcsim run (process {writer.pid}" in err
            assert "Traceback" not in err
        assert main(["sensitivity", str(scen), "--metric", "spend_total_usd", "--tornado",
                     "prices.admission_mean_usd=11000:15000", "--out", str(out), "-w", "1",
                     "-q"]) == 2
        assert f"process {writer.pid}" in capsys.readouterr().err
        with pytest.raises(OutputLocked, match=f"process {writer.pid}"):
            run(scen, replicate=fake_replicate, workers=1, out=out, overwrite=True)
        assert set(before) <= set(_snapshot(out))  # nothing of the run was touched
        _, err = writer.communicate(timeout=120)
    finally:
        _stop(writer)
    assert writer.returncode == 0, err
    assert (out / layout.MANIFEST).is_file() and not (out / layout.STATE).exists()
    assert not layout.lock_file(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "tiny.yaml"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_lock_is_released_when_the_run_is_interrupted(tmp_path, sig):
    scen = _scenario(tmp_path, reps=8)
    out = tmp_path / "r"
    writer = _popen("run", str(scen), "--out", str(out), "-w", "1", "-q")
    try:
        _wait_for_parts(writer, out)
        assert layout.lock_file(out).is_file()
        writer.send_signal(sig)
        _, err = writer.communicate(timeout=60)
    finally:
        _stop(writer)
    assert writer.returncode == 130, err
    assert "--resume" in err
    assert not layout.lock_file(out).exists()
    assert (out / layout.STATE).is_file()  # unfinished, resumable, and says so
    note = (out / layout.UNFINISHED_NOTE).read_text()
    assert "has not finished" in note and f"--resume {out}" in note


def test_the_lock_is_released_after_an_error(failed):
    _, out, err = failed
    assert "replication 1 failed" in err
    assert not layout.lock_file(out).exists()
    assert (out / layout.STATE).is_file()


def test_a_lock_held_by_a_live_process_refuses_the_api_and_creates_nothing(tmp_path):
    out = tmp_path / "new" / "r"
    (tmp_path / "new").mkdir()
    holder = _holder(out, "hold")
    try:
        with pytest.raises(OutputLocked, match=f"{out} is being written by another vbcsim "
                           rf"run \(process {holder.pid}, since .*: vbcsim run holder.yaml\)"):
            run(_scenario(tmp_path), replicate=fake_replicate, workers=1, out=out)
        assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [".r.lock"]
    finally:
        _stop(holder)


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    holder = _holder(out, "die")
    holder.communicate(timeout=60)  # ended without releasing the lock
    lock = layout.lock_file(out)
    assert json.loads(lock.read_text())["pid"] == holder.pid
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    assert main(["run", str(_scenario(tmp_path)), "--out", str(out), "-w", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert (f"vbcsim: warning: {out}: took over the lock left by process {holder.pid}"
            in err), err
    assert (out / layout.MANIFEST).is_file() and not lock.exists()


def test_a_lock_made_on_another_host_is_respected(tmp_path):
    out = tmp_path / "r"
    layout.lock_file(out).write_text(json.dumps(
        {"pid": 1, "host": "cluster-node-7", "started_at": "2026-01-01T00:00:00+00:00",
         "command": "vbcsim run x.yaml"}))
    with pytest.raises(OutputLocked, match="process 1 on host cluster-node-7"):
        OutputLock(out).acquire()
    assert not out.exists()


# --------------------------------------------------------------------------- --overwrite


@pytest.fixture
def finished(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    scen = _scenario(tmp_path)
    out = tmp_path / "r"
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "-q"]) == 0
    capsys.readouterr()
    return scen, out


def test_the_manifest_lists_every_file_vbcsim_wrote(finished):
    _, out = finished
    manifest = json.loads((out / layout.MANIFEST).read_text())
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == {layout.MANIFEST, *manifest["files"]}


def test_overwrite_refuses_a_folder_holding_a_users_files_and_deletes_nothing(finished,
                                                                            capsys):
    scen, out = finished
    (out / "notes.txt").write_text("my notes")
    (out / "nb").mkdir()
    (out / "nb" / "analysis.ipynb").write_text("{}")
    before = _snapshot(out)
    code = main(["run", str(scen), "--out", str(out), "--overwrite", "-w", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert (f"{out} holds files vbcsim did not write (not listed in its manifest.json): nb, "
            "nb/analysis.ipynb, notes.txt; refusing to replace it") in err
    assert _snapshot(out) == before


def test_overwrite_replaces_only_what_vbcsim_wrote(finished, capsys):
    scen, out = finished
    assert main(["run", str(scen), "--out", str(out), "--overwrite", "--seed", "5", "-w", "1",
                 "-q"]) == 0
    assert json.loads((out / layout.MANIFEST).read_text())["seed"] == 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["r", "tiny.yaml"]


def test_overwrite_refuses_a_folder_whose_only_link_to_vbcsim_is_a_run_json(tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"vbcsim_version": "0.1.0"}))
    (folder / "thesis.tex").write_text("years of work")
    (folder / "data").mkdir()
    (folder / "data" / "survey.csv").write_text("a,b\n1,2\n")
    before = _snapshot(folder)
    code = main(["run", str(_scenario(tmp_path)), "--out", str(folder), "--overwrite", "-w",
                 "1", "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert ("holds files vbcsim did not write (not listed in its run.json): data, "
            "data/survey.csv, thesis.tex") in err
    assert _snapshot(folder) == before


def test_overwrite_replaces_an_unfinished_run(failed):
    scen, out, _ = failed
    state = json.loads((out / layout.STATE).read_text())
    assert state["files"] == list(layout.WORKDIR_FILES)
    assert main(["run", str(scen), "--out", str(out), "--overwrite", "-w", "1", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        json.loads((out / layout.MANIFEST).read_text())["files"] + [layout.MANIFEST])


def test_removing_a_replaced_folder_deletes_only_what_vbcsim_listed(tmp_path):
    """What appears between the check and the deletion is kept, never deleted."""
    old = tmp_path / ".r.old-1234"
    (old / "scenarios").mkdir(parents=True)
    for name in ("manifest.json", "results.parquet", "scenarios/a.yaml"):
        (old / name).write_text("vbcsim's")
    (old / "scenarios" / "mine.yaml").write_text("a user's")
    (old / "late.txt").write_text("a user's")
    left = layout.remove_owned(old, ["manifest.json", "results.parquet", "scenarios/a.yaml"])
    assert left == ["late.txt", "scenarios", "scenarios/mine.yaml"]
    assert _snapshot(old) == {"late.txt": b"a user's", "scenarios/mine.yaml": b"a user's"}
    assert layout.remove_owned(old, ["late.txt", "scenarios/mine.yaml"]) == []
    assert not old.exists()


# --------------------------------------------------------------------------- failed runs


def test_an_unreachable_dask_scheduler_leaves_nothing_new(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    # What is left behind is under test, not how long the connection is tried (the default
    # time limit is tested in test_worker_faults): 1 s instead of 10 s of waiting.
    monkeypatch.setattr(sim.executors, "CONNECT_TIMEOUT_SECONDS", 1)
    scen = _scenario(tmp_path)
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "results" / "r"
    code = main(["run", str(scen), "--out", str(out), "--scheduler",
                 f"tcp://127.0.0.1:{port}", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def _dies_in_its_worker(scenario, replication, seed_seq):
    os._exit(3)


def test_a_worker_that_dies_before_any_replication_leaves_nothing_new(tmp_path, capsys):
    scen = _scenario(tmp_path)
    out = tmp_path / "r"
    with pytest.raises(sim.runner.ReplicationError, match="died"):
        run(scen, replicate=_dies_in_its_worker, workers=2, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def _interrupted_at_once(scenario, replication, seed_seq):
    raise KeyboardInterrupt


def test_ctrl_c_before_any_replication_leaves_nothing_new(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.runner, "simulate_replication", _interrupted_at_once)
    assert main(["run", str(_scenario(tmp_path)), "--out", str(tmp_path / "a" / "r"), "-w",
                 "1", "-q"]) == 130
    assert "no replication finished" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_a_failed_overwrite_keeps_the_old_results_and_leaves_nothing_else(finished, capsys,
                                                                          monkeypatch):
    scen, out = finished
    before = _snapshot(out)
    monkeypatch.setattr(sim.runner, "simulate_replication", _interrupted_at_once)
    assert main(["run", str(scen), "--out", str(out), "--overwrite", "-w", "1", "-q"]) == 130
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["r", "tiny.yaml"]


def test_a_run_that_fails_later_is_marked_unfinished_for_people_and_the_report(
        failed, tmp_path, capsys):
    _, out, _ = failed
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["run.json", "UNFINISHED.txt", "parts"])
    assert not (out / layout.MANIFEST).exists() and not (out / layout.RESULTS_PARQUET).exists()
    note = (out / layout.UNFINISHED_NOTE).read_text()
    assert f"--resume {out.absolute()}" in note and "results are then written here" in note
    capsys.readouterr()
    assert main(["report", str(out), "-o", str(tmp_path / "x.html")]) == 2
    assert "the run did not finish; complete it with `vbcsim run --resume" in (
        capsys.readouterr().err)
