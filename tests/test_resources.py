"""The memory estimate before a run: warn, refuse above the memory available unless forced
(issue 18, item 7). The available memory is injected; nothing large is allocated."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import sim.resources as resources
from sim.resources import (
    BASE_MB,
    MB_PER_1000_PATIENT_YEARS,
    MemoryWarning,
    NotEnoughMemory,
    check_memory,
    estimate_memory,
)
from sim.scenario import scenario_from_dict


def _scenario(size: int, horizon: int = 5, warmup: int = 5, name: str = "s"):
    return scenario_from_dict({"name": name, "population": {"size": size},
                               "horizon_years": horizon, "warmup_years": warmup,
                               "replications": 2})


def test_estimate_follows_the_measured_fit():
    big = _scenario(450_000)
    one = estimate_memory([big], workers=1)
    assert one.patient_years == 4_500_000
    assert one.total_mb == pytest.approx(BASE_MB + MB_PER_1000_PATIENT_YEARS * 4_500)
    assert 4_000 < one.total_mb < 4_500  # linear in patient-years (module doc)
    # out of sample: 100,000 x 5 plan years (+5 warm-up) peaked at 956 MB (module doc)
    check = estimate_memory([_scenario(100_000)], workers=1).total_mb
    assert 956 <= check <= 1.15 * 956
    four = estimate_memory([big, _scenario(1_000, name="t")], workers=4)
    assert four.per_process_mb == one.per_process_mb  # the largest scenario counts
    assert four.total_mb == pytest.approx(BASE_MB + 4 * one.per_process_mb)


def test_small_run_passes_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_memory([_scenario(1_000)], 2, available_mb=16_000)


def test_warns_above_half_of_the_memory_available():
    sc = _scenario(100_000)  # ~1.1 GB
    with pytest.warns(MemoryWarning, match="of the 2.0 GB available"):
        check_memory([sc], 1, available_mb=2_048)


def test_refuses_above_the_memory_available_and_says_how_to_reduce_it():
    sc = _scenario(450_000)
    with pytest.raises(NotEnoughMemory) as info:
        check_memory([sc], 2, available_mb=4_096)
    message = str(info.value)
    estimate = estimate_memory([sc], 2).total_mb
    assert f"an estimated {estimate / 1024:.1f} GB" in message
    assert "more than the 4.0 GB available" in message
    assert "2 worker processes" in message and "--workers 1" in message
    assert "450,000 patients x 10 simulated years" in message
    assert "population.size" in message and "--force" in message


def test_force_runs_anyway_with_a_warning():
    with pytest.warns(MemoryWarning, match="more than the 1.0 GB available"):
        check_memory([_scenario(450_000)], 1, available_mb=1_024, force=True)


def test_unknown_available_memory_is_not_checked(monkeypatch):
    monkeypatch.setattr(resources, "available_memory_mb", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_memory([_scenario(450_000)], 8).total_mb > 8 * 4_000


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="Linux /proc/meminfo")
def test_available_memory_is_read_on_linux():
    assert 0 < resources.available_memory_mb() < 2**30


def _tiny_memory(monkeypatch, mb: float = 50.0) -> None:
    monkeypatch.setattr(resources, "available_memory_mb", lambda: mb)


def test_api_refuses_before_anything_runs(tmp_path: Path, monkeypatch):
    import sim

    _tiny_memory(monkeypatch)
    with pytest.raises(NotEnoughMemory, match="force=True"):
        sim.run(_scenario(500, horizon=1, warmup=0), workers=1, out=tmp_path / "out",
                progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_refuses_with_exit_2_and_force_runs(tmp_path: Path, monkeypatch, capsys):
    from sim.cli import main

    path = tmp_path / "small.yaml"
    path.write_text("name: small\nhorizon_years: 1\nwarmup_years: 0\nreplications: 1\n"
                    "population: {size: 300}\n", encoding="utf-8")
    _tiny_memory(monkeypatch)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "vbcsim: error: this run needs an estimated" in err and "--force" in err
    assert not (tmp_path / "out").exists()

    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--force"]) == 0
    err = capsys.readouterr().err
    assert "vbcsim: warning: this run needs an estimated" in err
    assert (tmp_path / "out" / "results.parquet").is_file()
