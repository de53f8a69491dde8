"""Every file in ``broken/`` must be refused with the message its first line announces.

Each broken file starts with ``# expect: <substring> | <substring> ...``; every substring
must appear in the error message. The error must name the broken file itself, or the file
given by an optional ``# error-file: <path relative to broken/>`` line (for errors that
live in a base file). Helper files under ``broken/bases/`` are not cases on their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def _directives(path: Path) -> tuple[list[str], str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("# expect:"), f"{path.name}: first line must be # expect:"
    expected = [part.strip() for part in lines[0].removeprefix("# expect:").split("|")]
    error_file = path.name
    for line in lines[1:3]:
        if line.startswith("# error-file:"):
            error_file = line.removeprefix("# error-file:").strip()
    return [part for part in expected if part], error_file


def test_there_are_broken_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_is_refused_with_its_message(path: Path, monkeypatch) -> None:
    expected, error_file = _directives(path)
    monkeypatch.chdir(BROKEN)  # file names in messages are relative to the working directory
    with pytest.raises(ScenarioError) as info:
        load_scenario(path.name)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert os.path.normpath(info.value.file) == os.path.normpath(error_file)
    assert error_file in message


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_is_refused_from_another_directory(path: Path) -> None:
    # Relative paths (extends) resolve from the file, not the working directory.
    expected, error_file = _directives(path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert Path(info.value.file).name == Path(error_file).name
