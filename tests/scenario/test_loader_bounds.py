"""Small scenario files that would hang or eat memory are refused fast (issue 18, item 3)."""

import time

import pytest

from sim.scenario import ScenarioError, load_scenario
from sim.scenario.extends import MAX_BASES, MAX_EXTENDS_DEPTH
from sim.scenario.loader import _resolve_file, resolve_scenario_dict
from sim.scenario.reading import MAX_BYTES


def test_merging_many_keys_is_linear(tmp_path):
    # 16,000 keys merged over a base took ~59 s when each key rescanned the provenance
    n = 16_000
    (tmp_path / "base.yaml").write_text(
        "".join(f"k{i}: {{a: 1}}\n" for i in range(0, n, 2)), encoding="utf-8")
    path = tmp_path / "big.yaml"
    path.write_text("extends: base.yaml\n" + "".join(f"k{i}: {i}\n" for i in range(n)),
                    encoding="utf-8")
    start = time.perf_counter()
    data, prov, _ = _resolve_file(path)
    elapsed = time.perf_counter() - start
    assert len(data) == n + 1 and data["k0"] == 0 and data[f"k{n - 1}"] == n - 1
    assert data["name"] == "big"
    assert elapsed < 30  # a bound for a hang, not a speed goal (59 s before, 3 s now)
    # replaced values keep only the new file's lines
    assert prov[("k0",)] == (str(path), 2) and ("k0", "a") not in prov
    assert prov[(f"k{n - 1}",)] == (str(path), n + 1)


def test_doubling_extends_diamond_resolves_each_file_once(tmp_path):
    # d0 extends [d1, d1], d1 extends [d2, d2], ...: 2**20 bases if each were re-read
    for i in range(20):
        (tmp_path / f"d{i}.yaml").write_text(
            f"extends: [d{i + 1}.yaml, d{i + 1}.yaml]\nlevel{i}: {{own: {i}}}\n",
            encoding="utf-8")
    (tmp_path / "d20.yaml").write_text("level20: {own: 20, list: [1, 2]}\n", encoding="utf-8")
    start = time.perf_counter()
    data = resolve_scenario_dict(tmp_path / "d0.yaml")
    assert time.perf_counter() - start < 20  # a bound for a hang (2**20 reads before)
    assert data["level20"] == {"own": 20, "list": [1, 2]}
    assert all(data[f"level{i}"] == {"own": i} for i in range(20))
    _, prov, _ = _resolve_file(tmp_path / "d0.yaml")
    assert prov[("level20", "list", "1")] == (str(tmp_path / "d20.yaml"), 1)


def test_a_reused_base_is_not_changed_by_merging_over_it(tmp_path):
    (tmp_path / "b.yaml").write_text("m: {x: 1, y: 2}\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("extends: b.yaml\nm: {x: 5}\n", encoding="utf-8")
    (tmp_path / "top.yaml").write_text("extends: [c.yaml, b.yaml]\n", encoding="utf-8")
    # b is merged under c (x becomes 5) and then again on its own: x is back to 1
    assert resolve_scenario_dict(tmp_path / "top.yaml")["m"] == {"x": 1, "y": 2}


def test_too_many_bases_name_the_file(tmp_path):
    (tmp_path / "b.yaml").write_text("a: 1\n", encoding="utf-8")
    path = tmp_path / "many.yaml"
    path.write_text("extends: [" + ", ".join(["b.yaml"] * (MAX_BASES + 1)) + "]\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError, match=f"more than {MAX_BASES} base files") as err:
        load_scenario(path)
    assert err.value.file == str(path) and err.value.field == "extends"


def test_a_long_extends_chain_names_the_file_not_recursion_error(tmp_path):
    n = 1200
    for i in range(n):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n", encoding="utf-8")
    (tmp_path / f"c{n}.yaml").write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="extends chain longer than") as err:
        load_scenario(tmp_path / "c0.yaml")
    assert err.value.file == str(tmp_path / f"c{MAX_EXTENDS_DEPTH - 1}.yaml")
    assert err.value.field == "extends" and str(tmp_path / "c0.yaml") in str(err.value)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(ScenarioError, match="larger than 1 MiB") as err:
        load_scenario(path)
    assert err.value.file == str(path)


def test_a_nul_byte_names_the_file_and_offset(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"seed: 1\n\x00\x01\x02")
    with pytest.raises(ScenarioError, match="NUL byte at offset 8") as err:
        load_scenario(path)
    assert err.value.file == str(path)


@pytest.mark.parametrize("number", ["1e999999999", "-2.5E+999999999", "1" * 5000 + "e1"])
def test_huge_exponent_numbers_are_refused_fast(tmp_path, number):
    path = tmp_path / "exp.yaml"
    path.write_text(f"seed: {number}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="digits") as err:
        load_scenario(path)
    assert err.value.file == str(path)


def test_tiny_exponent_numbers_are_read_as_reals(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("a: 1e-999999999\nb: 1.2e4\nc: 2e-3\n", encoding="utf-8")
    data = resolve_scenario_dict(path)
    assert data["a"] == 0.0 and data["b"] == 12000 and isinstance(data["b"], int)
    assert data["c"] == 0.002


DEEP = "description: deep\na: " + "[" * 1000 + "]" * 1000 + "\n"


def test_experiment_detection_reads_with_the_loader_bounds(tmp_path):
    from sim.experiment import is_experiment_file

    deep = tmp_path / "deep.yaml"  # a RecursionError escaped yaml.safe_load here before
    deep.write_text(DEEP, encoding="utf-8")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"experiment:\n  name: x\n# " + b"x" * MAX_BYTES + b"\n")
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"experiment:\n\x00")
    assert not is_experiment_file(deep)
    assert not is_experiment_file(big) and not is_experiment_file(nul)
    good = tmp_path / "exp.yaml"
    good.write_text("# an experiment\nexperiment:\n  name: x\n", encoding="utf-8")
    late = tmp_path / "late.yaml"
    late.write_text("description: x\nexperiment:\n  name: x\n", encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("description: x\nseed: 1\n", encoding="utf-8")
    assert is_experiment_file(good) and is_experiment_file(late)
    assert not is_experiment_file(scenario)
    assert not is_experiment_file(tmp_path / "missing.yaml")


def test_scenario_purpose_reads_with_the_loader_bounds(tmp_path):
    import os

    from sim.scenario.library import scenario_purpose

    deep = tmp_path / "deep.yaml"
    deep.write_text(DEEP, encoding="utf-8")
    assert scenario_purpose(deep) == ""
    big = tmp_path / "big.yaml"
    big.write_bytes(b"description: Big. More.\n# " + b"x" * MAX_BYTES + b"\n")
    assert scenario_purpose(big) == ""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert scenario_purpose(fifo) == ""  # refused, not opened (opening would block)
    ok = tmp_path / "ok.yaml"
    ok.write_text("description: >\n  Shows a thing. And more.\nseed: 1\n", encoding="utf-8")
    assert scenario_purpose(ok) == "Shows a thing."
