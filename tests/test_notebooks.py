"""The notebooks in ``notebooks/`` run top to bottom and are committed without outputs.

Each notebook is executed in a fresh ``python3`` kernel (this interpreter: jupyter_client
launches ``sys.executable`` for the ``python`` of ipykernel's kernel spec) from the
``notebooks/`` folder, with ``VBCSIM_NOTEBOOK_SMALL=1`` so that it uses small panels, few
replications and short horizons. The notebooks assert their own claims (money adds up,
spread shrinks with panel size, ...) and end with a cell printing ``checks passed``; an
error in any cell fails the test and names the cell.

Needs the ``test`` extra (``pip install '.[test]'``: nbclient, nbformat, ipykernel).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install '.[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install '.[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install '.[test]' (ipykernel)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01_quickstart.ipynb", "02_transition_plan.ipynb", "03_custom_contract.ipynb",
            "04_panel_size_and_noise.ipynb"]
CELL_TIMEOUT_S = 300

# What each notebook must print besides "checks passed" (its own asserts guard the numbers).
MUST_PRINT = {
    "03_custom_contract.ipynb": ["money adds up: True"],
    "04_panel_size_and_noise.ipynb": ["spread shrinks with panel size: True"],
}
# Notebooks that must draw at least this many figures.
MIN_FIGURES = {"01_quickstart.ipynb": 1, "02_transition_plan.ipynb": 2,
               "03_custom_contract.ipynb": 1, "04_panel_size_and_noise.ipynb": 2}


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if isinstance(data, dict) else ""


def test_the_four_notebooks_exist():
    names = [p.name for p in notebook_paths()]
    assert [n for n in EXPECTED if n not in names] == []


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_is_stripped(path: Path):
    """Committed notebooks carry no outputs or execution counts (run them to see results)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} have outputs; strip them before committing"
    assert nb.cells and nb.cells[0].cell_type == "markdown", "start with a markdown intro"


@pytest.mark.slow
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs(path: Path):
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["VBCSIM_NOTEBOOK_SMALL"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures as outputs
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=env)  # raises CellExecutionError naming the failing cell

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    printed = "".join(_text(o) for o in outputs)
    assert "checks passed" in printed, f"{path.name}: the final checks cell did not run"
    for expected in MUST_PRINT.get(path.name, []):
        assert expected in printed, f"{path.name}: expected output {expected!r}"
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES.get(path.name, 0), f"{path.name}: {figures} figure(s)"
