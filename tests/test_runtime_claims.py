"""Every run-time claim in the docs, scenario comments and notebooks is measured by
benchmarks/runtime_claims.py (which records its results in benchmarks/README.md): each
phrase that states a run time is one of the script's claims, and each claim is still
written where the script says (so a reworded claim cannot lose its measurement)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _claims():
    spec = importlib.util.spec_from_file_location(
        "runtime_claims", REPO / "benchmarks" / "runtime_claims.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


RC = _claims()


def _text(path: Path) -> str:
    """A file's words with whitespace normalised (a notebook: its cells' sources)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells)
    else:
        text = path.read_text(encoding="utf-8")
    return " ".join(text.split())


def _files() -> list[Path]:
    return sorted({p for pattern in RC.CLAIM_FILES for p in REPO.glob(pattern)})


@pytest.mark.parametrize("claim", RC.CLAIMS, ids=lambda c: c.name)
def test_each_claim_is_written_where_the_script_says(claim):
    assert " ".join(claim.words.split()) in _text(REPO / claim.file), (
        f"{claim.file} no longer says {claim.words!r}: update benchmarks/runtime_claims.py "
        "and measure again")
    assert claim.limit_s > 0 and claim.command


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_run_time_phrase_is_a_measured_claim(path):
    text = _text(path)
    rel = str(path.relative_to(REPO))
    spans = []
    for c in RC.CLAIMS:
        if c.file == rel:
            words = " ".join(c.words.split())
            start = text.find(words)
            spans.append((start, start + len(words)))
    for m in RC.RUNTIME_PHRASE.finditer(text):
        assert any(a <= m.start() and m.end() <= b for a, b in spans), (
            f"{rel}: the run-time claim {text[max(0, m.start() - 40):m.end() + 20]!r} is not "
            "measured: add it to CLAIMS in benchmarks/runtime_claims.py and record it")


def test_recorded_results_name_every_claim():
    readme = (REPO / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert RC.BEGIN in readme and RC.END in readme, "run benchmarks/runtime_claims.py --write"
    block = readme[readme.index(RC.BEGIN):readme.index(RC.END)]
    for c in RC.CLAIMS:
        assert f"| {c.name} |" in block, c.name
