"""The README tells the truth: its commands run and print what it shows.

Console blocks (```` ```console ````) are run command by command (``$ vbcsim ...``); every line
shown under a command must appear in its output, in order (``...`` stands for lines left
out; runs of spaces are compared as one). The Python examples are executed and their
printed output compared the same way.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from sim.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(kind: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", text, flags=re.S | re.M)


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.S | re.M)
    assert match, f"README has no section '## {title}'"
    return match[1]


def norm(line: str) -> str:
    return " ".join(line.split())


def assert_excerpt(shown: list[str], output: str, what: str) -> None:
    """Every shown line (but ``...``) appears in ``output``, in the order shown."""
    got = [norm(line) for line in output.splitlines()]
    i = 0
    for line in shown:
        want = norm(line)
        if want in ("", "..."):
            continue
        try:
            i = got.index(want, i) + 1
        except ValueError:
            pytest.fail(f"README excerpt of {what!r}: line not in the output (in this order):\n"
                        f"  {line}\nactual output:\n{output}")


def console_commands() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for block in blocks("console", section("Three doors")):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            else:
                out[-1][1].append(line)
    return out


COMMANDS = console_commands()


@pytest.fixture
def in_checkout_copy(tmp_path, monkeypatch):
    """Run where ``scenarios/`` is the repository's, but results land in a scratch folder."""
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_quick_start_is_unchanged():
    quick = section("Quick start")
    assert "pip install . && vbcsim run scenarios/ffs_baseline.yaml" in quick
    assert "pip install '.[test]' && python -m pytest" in quick


def test_three_doors_come_right_after_the_quick_start():
    titles = re.findall(r"^## (.+)$", README, flags=re.M)
    assert titles[titles.index("Quick start") + 1] == "Three doors"
    doors = section("Three doors")
    for who in ("Health economist", "Researcher", "Strategist"):
        assert f"**{who}" in doors
    assert "vbcsim report" in doors and "sim.run(" in doors and "r.summary()" in doors


def test_readme_links_the_scenario_reference():
    assert "(docs/scenario-reference.md)" in README
    assert (REPO / "docs" / "scenario-reference.md").is_file()


def test_the_console_examples_cover_the_cli_doors():
    commands = [shlex.split(c)[1] for c, _ in COMMANDS]
    assert commands[:3] == ["scenarios", "validate", "run"]
    assert all(shown for _, shown in COMMANDS), "every console command shows its output"


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS])
def test_console_excerpt_is_real_output(command, in_checkout_copy, capsys):
    argv = shlex.split(command)
    assert argv[0] == "vbcsim"
    shown = dict(COMMANDS)[command]
    code = main(argv[1:])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert_excerpt(shown, out, command)


@pytest.mark.slow
def test_python_door_example_prints_what_the_readme_shows(in_checkout_copy):
    doors = section("Three doors")
    code = blocks("python", doors)[0]
    (printed,) = blocks("text", doors)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, "README.md (Three doors)", "exec"), {"__name__": "__main__"})
    assert_excerpt(printed.splitlines(), stdout.getvalue(), "the Python door")
    assert norm(printed.splitlines()[-1]) in [norm(x) for x in stdout.getvalue().splitlines()]


def test_mssp_enhanced_example_reproduces_the_published_result():
    """The "Payment contracts" example: the ENHANCED ACO earns $107,895,330 as published."""
    (code,) = [b for b in blocks("python", section("Payment contracts"))
               if "settle_performance_year" in b]
    assert "107,895,330" in code
    namespace: dict = {}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, "README.md (Payment contracts)", "exec"), namespace)
    earned = namespace["st"]["earned_usd"]
    assert f"{round(earned):,}" == "107,895,330"
    assert "earned shared savings" in stdout.getvalue()
    assert f"{earned:,.2f}" in stdout.getvalue()  # the printed statement shows the same value


# --------------------------------------------------------------------------- pasted as is


def _starts_processes(node: ast.AST) -> bool:
    """Whether ``node`` calls ``sim.run``/``sim.compare``/``sim.tornado``/``sim.sobol``
    (which start worker processes)."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "sim"
               and n.func.attr in ("run", "compare", "tornado", "sobol")
               for n in ast.walk(node))


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__"
                    for c in node.test.comparators))


@pytest.mark.parametrize("i", range(len(blocks("python"))))
def test_python_snippets_start_processes_only_under_the_main_guard(i):
    """Pasted into a script, a snippet that starts worker processes outside
    ``if __name__ == "__main__":`` dies with BrokenProcessPool under spawn: every README
    snippet keeps such calls inside the guard."""
    tree = ast.parse(blocks("python")[i])
    for node in tree.body:
        if not _is_main_guard(node):
            assert not _starts_processes(node), ast.unparse(node)


def test_python_section_snippet_runs_as_pasted(in_checkout_copy, monkeypatch):
    """The "## Python" snippet, executed as a script's __main__ (with a small run, so that
    the test is quick: same calls, 300 patients, 1 year, 1 replication)."""
    pytest.importorskip("openpyxl")
    import matplotlib

    matplotlib.use("Agg")
    import sim

    real = sim.run

    def small(*args, **kwargs):
        kwargs.update(replications=1, workers=1, progress=False,
                      overrides={"population.size": 300, "horizon_years": 1})
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "run", small)
    (code,) = [b for b in blocks("python", section("Python")) if "sim.run" in b]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, "README.md (Python)", "exec"), {"__name__": "__main__"})
    assert stdout.getvalue().startswith("Scenario ffs_baseline: 1 replication(s)")
    for made in ("results/my_run/results.parquet", "results/my_run.xlsx", "spending.png"):
        assert (in_checkout_copy / made).is_file(), made
