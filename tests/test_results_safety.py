"""Results folders are safe: checked parts, absolute resume targets, SIGTERM like Ctrl-C."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import TINY_YAML, fake_replicate

from sim.checkpoint import PartStore, PartWarning
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
