"""Runs the OpenFisca-style settlement cases in ``tests/contracts/cases/*.yaml``.

Each case: ``name``, ``contract`` (a key of :data:`CONTRACTS`), ``input`` (keyword
arguments), and either ``output`` (expected items, compared within
``absolute_error_margin`` or a per-item ``output_margins``) or ``error`` (a text the
refusal's message must contain). Expected values are computed by hand in the YAML
comments from the rule text.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.contracts import quality
from sim.contracts.bundled import rules as bundled
from sim.contracts.capitation import rules as capitation
from sim.contracts.ffs import rules as ffs
from sim.contracts.global_budget import rules as global_budget
from sim.contracts.mssp import rules as mssp
from sim.contracts.reach import rules as reach
from sim.contracts.statement import Statement

CASES_DIR = Path(__file__).parent / "cases"
CASE_KEYS = {"name", "contract", "description", "input", "output", "error",
             "absolute_error_margin", "output_margins"}


def _quality(measures: dict[str, float], scale: dict[str, Any] | None = None,
             missing: str = "error") -> Statement:
    return quality.quality_score(
        measures, None if scale is None else quality.scale_from_config(scale), missing)


def _app(measures: dict[str, float], benchmarks: dict[str, Any], missing: str = "error"
         ) -> Statement:
    benches = {k: quality.DecileBenchmark(k, tuple(v["deciles"]), v.get("weight", 1.0),
                                          v.get("outcome", False))
               for k, v in benchmarks.items()}
    return quality.app_quality_score(measures, benches, missing)


def _decile_points(value: float, deciles: list[float]) -> float:
    return quality.decile_points(value, quality.DecileBenchmark("m", tuple(deciles)))


def _inf(corridors: list[list[Any]] | None) -> list[tuple[float, float]] | None:
    # YAML writes an open-ended band as .inf; lists become tuples.
    return None if corridors is None else [(float(u), float(s)) for u, s in corridors]


def _capitation(**kw: Any) -> Statement:
    kw["corridors"] = _inf(kw.get("corridors"))
    return capitation.settle_capitation(**kw)


def _reach(**kw: Any) -> Statement:
    kw["corridors"] = _inf(kw.get("corridors"))
    return reach.settle_reach(**kw)


CONTRACTS: dict[str, Callable[..., Any]] = {
    "mssp": mssp.settle_performance_year,
    "mssp_msr": mssp.minimum_savings_rate,
    "mssp_historical_benchmark": mssp.historical_benchmark,
    "mssp_updated_benchmark": mssp.updated_benchmark,
    "mssp_agreement_period": mssp.agreement_period,
    "mssp_baseline_weights": mssp.baseline_weights,
    "mssp_regional_adjustment": mssp.regional_adjustment,
    "mssp_prior_savings_adjustment": mssp.prior_savings_adjustment,
    "mssp_benchmark_adjustment": mssp.benchmark_adjustment,
    "mssp_update_factor": mssp.blended_update_factor,
    "mssp_acpt_weight": mssp.acpt_weight,
    "mssp_capped_risk_ratios": mssp.capped_risk_ratios,
    "ffs": ffs.settle_ffs,
    "global_budget": global_budget.settle_global_budget,
    "mips_adjustment": ffs.mips_adjustment,
    "mips_scaling": ffs.budget_neutral_scaling,
    "capitation": _capitation,
    "capitation_benchmark": capitation.capitation_benchmark,
    "bundled": bundled.settle_bundled,
    "bundled_target": bundled.target_price,
    "bundled_winsorize": bundled.winsorize,
    "bundled_case_mix": bundled.case_mix_adjustment,
    "reach": _reach,
    "reach_benchmark": reach.reach_benchmark,
    "reach_risk_ratio": reach.normalised_risk_ratio,
    "reach_rta": reach.retrospective_trend_adjustment,
    "reach_pcc_pmpm": reach.pcc_pmpm,
    "reach_stop_loss_payout": reach.stop_loss_payout,
    "quality": _quality,
    "app_quality": _app,
    "decile_points": _decile_points,
    "quality_standard": quality.quality_standard_met,
    "mips_national_scaling": ffs.national_scaling,
    "mips_low_volume": ffs.low_volume_exempt,
    "apm_incentive": ffs.apm_incentive,
}


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(cases, list), f"{path.name}: expected a list of cases"
        for i, case in enumerate(cases):
            unknown = set(case) - CASE_KEYS
            assert not unknown, f"{path.name} case {i}: unknown keys {sorted(unknown)}"
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def _item(result: Any, key: str) -> Any:
    if isinstance(result, Statement):
        if key in ("payer_paid_usd", "provider_received_usd"):
            return getattr(result, key)
        return result[key]
    if dataclasses.is_dataclass(result):
        return getattr(result, key)
    if key == "result":
        return result
    raise KeyError(key)


def _close(actual: Any, expected: Any, margin: float) -> bool:
    if isinstance(expected, str):
        return str(actual) == expected
    if isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(
            _close(a, e, margin) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(float(actual))
    return abs(float(actual) - float(expected)) <= margin


CASES = _load_cases()


def test_cases_found() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES)
def test_settlement_case(case: dict[str, Any]) -> None:
    func = CONTRACTS[case["contract"]]
    if "error" in case:
        with pytest.raises((ValueError, KeyError)) as info:
            func(**case["input"])
        assert case["error"] in str(info.value)
        return
    result = func(**case["input"])
    if isinstance(result, Statement):
        assert result.payer_paid_usd == pytest.approx(result.provider_received_usd)
    default = float(case.get("absolute_error_margin", 1e-9))
    margins = case.get("output_margins", {})
    for key, expected in case["output"].items():
        actual = _item(result, key)
        margin = float(margins.get(key, default))
        assert _close(actual, expected, margin), (
            f"{case['name']}: {key} = {actual!r}, expected {expected!r} ± {margin}"
            + (f"\n{result}" if isinstance(result, Statement) else ""))
