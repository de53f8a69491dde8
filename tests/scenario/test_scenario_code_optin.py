"""Scenario files run no code unless the user allows it (issue 18, item 1)."""

import pytest

from sim.scenario import ScenarioError, load_scenario

ATTACKS = ["pydoc:pipepager", "os:system", "builtins:exec"]


def _write(tmp_path, kind):
    marker = tmp_path / "MARKER"
    path = tmp_path / "attack.yaml"
    path.write_text(
        "horizon_years: 1\npopulation: {size: 100}\nplan:\n  - contracts:\n"
        "      - {type: ffs}\n"
        f"      - {{type: custom, kind: '{kind}', provider: primary_care_group, "
        f"params: {{name: 'touch {marker}'}}}}\n", encoding="utf-8")
    return path, marker


@pytest.mark.parametrize("kind", ATTACKS)
def test_code_path_refused_without_opt_in(tmp_path, kind):
    path, marker = _write(tmp_path, kind)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.file == str(path)
    assert err.value.field == "plan.0.contracts.1.kind"
    assert "--allow-code" in str(err.value) and "allow_code=True" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ATTACKS)
def test_code_path_must_be_a_settler_class_even_with_opt_in(tmp_path, kind):
    path, marker = _write(tmp_path, kind)
    with pytest.raises(ScenarioError, match="not a contract settler class"):
        load_scenario(path, allow_code=True)
    assert not marker.exists()


def test_a_class_that_is_not_a_settler_is_refused(tmp_path):
    path, _ = _write(tmp_path, "subprocess:Popen")
    with pytest.raises(ScenarioError, match="not a contract settler"):
        load_scenario(path, allow_code=True)


def test_a_fifo_named_yaml_is_refused_without_reading(tmp_path):
    import os

    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file") as err:
        load_scenario(fifo)
    assert err.value.file == str(fifo)


def test_scenarios_dir_skips_a_fifo(tmp_path):
    import io
    import os

    from sim.cli import main

    os.mkfifo(tmp_path / "x.yaml")
    (tmp_path / "ok.yaml").write_text("# ok — a plain scenario\n", encoding="utf-8")
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert main(["scenarios", "--dir", str(tmp_path)]) == 0
    assert "ok" in out.getvalue() and " x " not in out.getvalue()


def test_a_folder_holding_only_a_fifo_has_no_scenario_files(tmp_path, capsys):
    import os

    from sim.cli import main

    os.mkfifo(tmp_path / "x.yaml")
    assert main(["scenarios", "--dir", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "x\ty", "a" * 101])
def test_unsafe_scenario_names_are_refused(name):
    from sim.scenario import scenario_from_dict

    with pytest.raises(ScenarioError, match="name") as err:
        scenario_from_dict({"name": name})
    assert err.value.field == "name"


def test_alias_bomb_is_refused_fast(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, n in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{n}: &{n} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="aliases") as err:
        load_scenario(path)
    assert err.value.file == str(path)


@pytest.mark.parametrize("text", ["a: " + "[" * 1000 + "]" * 1000 + "\n",
                                  "seed: " + "9" * 5000 + "\n"])
def test_deep_nesting_and_huge_integers_name_the_file(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.file == str(path)
