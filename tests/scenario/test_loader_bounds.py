"""Small scenario files that would hang or eat memory are refused fast (issue 18, item 3)."""

import time

from sim.scenario.loader import _resolve_file, resolve_scenario_dict


def test_merging_many_keys_is_linear(tmp_path):
    # 16,000 keys merged over a base took ~59 s when each key rescanned the provenance
    n = 16_000
    (tmp_path / "base.yaml").write_text(
        "".join(f"k{i}: {{a: 1}}\n" for i in range(0, n, 2)), encoding="utf-8")
    path = tmp_path / "big.yaml"
    path.write_text("extends: base.yaml\n" + "".join(f"k{i}: {i}\n" for i in range(n)),
                    encoding="utf-8")
    start = time.perf_counter()
    data = resolve_scenario_dict(path)
    elapsed = time.perf_counter() - start
    assert len(data) == n + 1 and data["k0"] == 0 and data[f"k{n - 1}"] == n - 1
    assert data["name"] == "big"
    assert elapsed < 20  # a bound for a hang, not a speed goal (59 s before)
    _, prov, _ = _resolve_file(path)  # replaced values keep only the new file's lines
    assert prov[("k0",)] == (str(path), 2) and ("k0", "a") not in prov
    assert prov[(f"k{n - 1}",)] == (str(path), n + 1)
