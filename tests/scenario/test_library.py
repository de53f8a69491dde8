"""Scenario-library discovery (sim.scenario.library): regular *.yaml files only, the first
folder that holds some, purposes read from header lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim.scenario import library

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_library_is_found_from_the_source_checkout(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./scenarios here
    assert library.library_dir() == REPO / "scenarios"
    files = library.scenario_files(REPO / "scenarios")
    assert [f.name for f in files] == sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
    assert all(library.scenario_purpose(f) for f in files)


def test_a_folder_holding_only_a_fifo_is_skipped_by_the_default_search(tmp_path, monkeypatch):
    fifo_only, good = tmp_path / "fifo", tmp_path / "good"
    fifo_only.mkdir()
    good.mkdir()
    os.mkfifo(fifo_only / "x.yaml")
    (good / "a.yaml").write_text("# a — a scenario that is a regular file\n", encoding="utf-8")
    (good / "sub.yaml").mkdir()  # a folder named like a scenario is not one either
    assert library.scenario_files(fifo_only) == []
    assert library.scenario_files(good) == [good / "a.yaml"]
    assert library.library_dir([tmp_path / "missing", fifo_only, good]) == good
    monkeypatch.setattr(library, "scenario_dirs", lambda: [fifo_only])
    assert library.library_dir() is None


def test_scenario_dirs_are_listed_once_each(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # ./scenarios is the source checkout's folder: listed once
    dirs = library.scenario_dirs()
    assert dirs[0] == Path("scenarios")
    resolved = [d.resolve() for d in dirs]
    assert len(resolved) == len(set(resolved))
    assert (REPO / "scenarios").resolve() in resolved


@pytest.mark.parametrize(("first", "purpose"), [
    ("# a — answers a question", "answers a question"),
    ("# a - with a hyphen", "with a hyphen"),
    ("# no dash here", ""),
])
def test_purpose_comes_from_the_header_line(tmp_path, first, purpose):
    path = tmp_path / "a.yaml"
    path.write_text(first + "\n", encoding="utf-8")
    assert library.scenario_purpose(path) == purpose
