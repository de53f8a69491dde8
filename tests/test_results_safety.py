"""Results folders are safe: checked parts, absolute resume targets, SIGTERM like Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from conftest import TINY_YAML, fake_replicate, fake_replicate_failing

import sim.runner
from sim.checkpoint import PartStore, PartWarning
from sim.cli import main
from sim.runner import run

REPS = 4
FILES = ("results.parquet", "settlements.parquet", "summary.csv", "results.csv")


def fake_replicate_failing_last(scenario, replication, seed_seq):
    """Fails on the last replication, so replications 0..2 are saved as parts 0..2."""
    if replication == REPS - 1:
        raise ValueError("boom in the last replication")
    return fake_replicate(scenario, replication, seed_seq)


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


def _interrupted(tmp_path: Path) -> Path:
    out = tmp_path / "r"
    with pytest.raises(Exception, match="replication 3 failed"):
        run(_scenario(tmp_path), replicate=fake_replicate_failing_last, workers=1, out=out,
            replications=REPS)
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        "task-000000", "task-000001", "task-000002"]
    return out


def _whole(tmp_path: Path) -> Path:
    out = tmp_path / "whole"
    run(_scenario(tmp_path), replicate=fake_replicate, workers=1, out=out, replications=REPS)
    return out


def _flip_a_bit(part: Path) -> None:
    f = part / "results.parquet"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))


def _truncate(part: Path) -> None:
    f = part / "results.parquet"
    f.write_bytes(f.read_bytes()[:-20])


def _duplicate(part: Path) -> None:
    # the same replication twice: part 0 copied under the name of part 1
    shutil.rmtree(part)
    shutil.copytree(part.parent / "task-000000", part)


@pytest.mark.parametrize("damage", [_flip_a_bit, _truncate, _duplicate],
                         ids=["flipped-bit", "truncated", "duplicated"])
def test_a_damaged_part_is_reported_and_recomputed(tmp_path, damage):
    out = _interrupted(tmp_path)
    damage(out / "parts" / "task-000001")
    with pytest.warns(PartWarning, match="task-000001") as record:
        run(_scenario(tmp_path), replicate=fake_replicate, workers=1, out=out,
            replications=REPS, resume=True)
    assert all("task-000000" not in str(w.message) for w in record)
    whole = _whole(tmp_path)
    for name in FILES:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert not (out / "parts").exists()


def test_a_copied_part_under_a_missing_name_is_not_used(tmp_path):
    out = _interrupted(tmp_path)
    shutil.copytree(out / "parts" / "task-000000", out / "parts" / "task-000003")
    shutil.copytree(out / "parts" / "task-000000", out / "parts" / "task-3")  # no part name
    with pytest.warns(PartWarning, match="task-000003.*a copied part"):
        run(_scenario(tmp_path), replicate=fake_replicate, workers=1, out=out,
            replications=REPS, resume=True)
    whole = _whole(tmp_path)
    for name in FILES:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_damaged_part_never_blocks_a_later_resume(tmp_path):
    out = _interrupted(tmp_path)
    _truncate(out / "parts" / "task-000002")
    # the resume fails again (same failing replication): the bad part is set aside ...
    with pytest.warns(PartWarning, match="task-000002"), \
            pytest.raises(Exception, match="replication 3 failed"):
        run(_scenario(tmp_path), replicate=fake_replicate_failing_last, workers=1, out=out,
            replications=REPS, resume=True)
    store = PartStore(out, {})
    assert store.done() == {0, 1, 2}  # ... and recomputed, checked
    assert store.checked_done() == {0, 1, 2}
    run(_scenario(tmp_path), replicate=fake_replicate, workers=1, out=out, replications=REPS,
        resume=True)
    whole = _whole(tmp_path)
    for name in FILES:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("legacy", [False, True], ids=["absolute", "old-relative-entry"])
def test_resume_from_another_folder_writes_where_the_run_was_to_write(
        tmp_path, monkeypatch, capsys, legacy):
    scen = _scenario(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    monkeypatch.chdir(b)  # a user's own results/r in folder b, with their notes
    assert main(["run", str(scen), "--out", "results/r", "-w", "1", "-q"]) == 0
    (b / "results" / "r" / "notes.txt").write_text("my notes\n")
    before = _snapshot(b / "results" / "r")

    monkeypatch.chdir(a)  # in folder a: replace results/r, interrupted by a failure
    assert main(["run", str(scen), "--out", "results/r", "-w", "1", "-q"]) == 0
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    assert main(["run", str(scen), "--out", "results/r", "-w", "1", "-q", "--overwrite",
                 "--replications", "3", "--seed", "9"]) == 1
    (partial,) = [p for p in (a / "results").iterdir() if p.name.startswith(".r.partial-")]
    state = json.loads((partial / "run.json").read_text())
    if legacy:  # what earlier versions recorded: the path as given, relative to the cwd
        state["target"] = "results/r"
        (partial / "run.json").write_text(json.dumps(state))
    else:
        assert state["target"] == str(a / "results" / "r")

    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    monkeypatch.chdir(b)  # resume from folder b
    assert main(["run", str(scen), "--resume", str(partial), "-w", "1", "-q",
                 "--replications", "3", "--seed", "9"]) == 0
    assert _snapshot(b / "results" / "r") == before
    assert not partial.exists()
    assert json.loads((a / "results" / "r" / "manifest.json").read_text())["seed"] == 9
    assert main(["run", str(scen), "--out", str(tmp_path / "whole"), "-w", "1", "-q",
                 "--replications", "3", "--seed", "9"]) == 0
    capsys.readouterr()
    for name in FILES:
        assert ((a / "results" / "r" / name).read_bytes()
                == (tmp_path / "whole" / name).read_bytes()), name


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_and_the_run_resumes(tmp_path, capsys, killme_whole):
    from test_checkpoint import KILL_YAML, run_and_signal, same_dirs

    scen = tmp_path / "killme.yaml"
    scen.write_text(KILL_YAML)
    out = tmp_path / "termed"
    code, err = run_and_signal(scen, out, signal.SIGTERM, 1)
    assert code == 130, err
    done = len([p for p in (out / "parts").iterdir() if p.name.startswith("task-")])
    assert 1 <= done < 12
    assert (f"vbcsim: interrupted; {done} of 12 replication(s) are saved in {out}; "
            f"complete them with --resume {out}") in err
    assert "Traceback" not in err
    assert not (out / "manifest.json").exists()

    assert main(["run", str(scen), "--resume", str(out), "-w", "1", "-q"]) == 0
    capsys.readouterr()
    same_dirs(out, killme_whole)


def test_the_sigterm_handler_is_restored_after_a_command(tmp_path, fake_model, capsys):
    before = signal.getsignal(signal.SIGTERM)
    assert main(["run", str(_scenario(tmp_path)), "--out", str(tmp_path / "o"), "-w", "1",
                 "-q"]) == 0
    capsys.readouterr()
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_cli_names_a_damaged_part_on_one_line(tmp_path, monkeypatch, capsys):
    scen = _scenario(tmp_path)
    out = tmp_path / "r"
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate_failing)
    assert main(["run", str(scen), "--out", str(out), "-w", "1", "-q",
                 "--replications", "3"]) == 1
    _flip_a_bit(out / "parts" / "task-000000")
    monkeypatch.setattr(sim.runner, "simulate_replication", fake_replicate)
    capsys.readouterr()
    assert main(["run", str(scen), "--resume", str(out), "-w", "1", "-q",
                 "--replications", "3"]) == 0
    err = capsys.readouterr().err
    assert (f"vbcsim: warning: part {out / 'parts' / 'task-000000'} is not used and will be "
            "run again: results.parquet does not match its SHA-256") in err
    assert main(["run", str(scen), "--out", str(tmp_path / "whole"), "-w", "1", "-q",
                 "--replications", "3"]) == 0
    for name in FILES:
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
