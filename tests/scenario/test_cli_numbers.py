"""Number arguments of ``vbcsim compare``: refused before anything runs (issue 18 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import discount_rate, main, wtp_usd

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize(("argument", "value", "expected"), [
    ("--wtp", "nan", "expected a finite number of USD >= 0, got 'nan'"),
    ("--wtp", "inf", "expected a finite number of USD >= 0, got 'inf'"),
    ("--wtp", "-1", "expected a finite number of USD >= 0, got '-1'"),
    ("--wtp", "lots", "expected a finite number of USD >= 0, got 'lots'"),
    ("--discount-rate", "nan", "expected a number from 0 to 0.5"),
    ("--discount-rate", "0.7", "expected a number from 0 to 0.5 (economics.discount_rate)"),
    ("--discount-rate", "-0.01", "expected a number from 0 to 0.5 (economics.discount_rate), got '-0.01'"),
])
def test_compare_refuses_bad_numbers(argument: str, value: str, expected: str,
                                     capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["compare", str(SCENARIOS / "ffs_baseline.yaml"),
                 str(SCENARIOS / "mssp_one_sided.yaml"), argument, value, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"argument {argument}: {expected}" in err
    assert not out.exists()


def test_number_parsers_accept_the_edges() -> None:
    assert wtp_usd("0") == 0.0
    assert wtp_usd("150000") == 150_000.0
    assert discount_rate("0") == 0.0
    assert discount_rate("0.5") == 0.5
    assert discount_rate("0.03") == 0.03
