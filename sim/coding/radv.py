"""RADV-style audits: recover the capitation paid for coded scores the record does not support.

Contract-level Risk Adjustment Data Validation as the 2023 RADV final rule has it (42 CFR
422.311; 88 FR 6643): CMS samples enrollees of an MA contract's payment year, reviews their
medical records, and extrapolates the payment error of the sample to the whole contract,
with no fee-for-service adjuster (from payment year 2018). Since May 2025 CMS audits every
eligible contract every payment year, sampling 35-200 enrollees by contract size.

Here (``revenue_cycle.radv``), for each contract whose settler is ``radv_audited``
(risk-adjusted capitation, ``type: capitation``), each plan year:

1. the contract-year is audited with probability ``audit_probability``;
2. ``sample_size`` members are drawn without replacement (all of them if fewer);
3. each sampled member's payment error is the capitation paid for the unsupported part of
   its score: ``k x member-months x (coded - supported)``, with ``k = gross capitation /
   sum(member-months x coded score)`` (the payment per member-month per unit of score);
4. the recovery is the sample's mean error times the number of members (extrapolation),
   paid back by the provider ``recovery_lag_years`` after the year ends (flow kind
   ``radv_recovery``, negative to the provider).

Draws come from the named stream ``"radv"`` of the replication, contract and year.

**Where scores come from: one interface.** Steps 3-4 need, per patient and year, the coded
score and the part of it the medical record supports: a :data:`ScoreSource`,
``(ctx, year, levers) -> ScoreParts``. :func:`score_parts` serves today's risk score
(``sim.population.raw_risk_score``): coded = the ledger's score; supported = coded x
``(1 - base_unsupported_share) x (1 + u x c x (1 - s)) / (1 + u x c)`` where ``u`` is
``risk_score.coding_intensity_uplift``, ``c`` the coding intensity of the patient's group
in the year and ``s`` ``uplift_unsupported_share``: the uplift from coding intensity is
codes beyond documentation; completer coding of present conditions (also raised by
coding intensity) is documented and supported. A prospective HCC model that knows which
HCCs were coded without a supporting diagnosis replaces it by passing its own source to
:func:`audit` (e.g. ``coded = sum of coded HCC coefficients + demographics``,
``supported = the same over supported HCCs``).

MSSP and REACH are not audited: CMS's RADV is a Medicare Advantage programme; ACO
benchmarks are protected from coding instead by the MSSP risk-ratio cap (+/-3% over the
agreement) and REACH's normalisation and coding-intensity cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from sim.rng import name_key, stream
from sim.scenario.revenue_cycle import Radv
from sim.scenario.schema import CONDITIONS, Levers, RiskScore


class ScoreParts(NamedTuple):
    """Per patient in a year: the coded score paid on and the part the record supports."""

    coded: np.ndarray
    supported: np.ndarray


#: ``(settlement context, plan year, levers by provider name) -> ScoreParts``.
ScoreSource = Callable[[Any, int, Mapping[str, Levers]], ScoreParts]


def coding_intensity(provider_names: list[str], patient_provider: np.ndarray,
                     levers: Mapping[str, Levers]) -> np.ndarray:
    """Each patient's coding intensity: its group's lever in the year (0 without levers)."""
    table = np.array([levers[n].coding_intensity if n in levers else 0.0
                      for n in provider_names])
    return table[patient_provider]


def supported_share(intensity: np.ndarray, risk: RiskScore, cfg: Radv) -> np.ndarray:
    """Share of the coded score the medical record supports at each coding intensity."""
    lift = risk.coding_intensity_uplift * np.asarray(intensity, float)
    return ((1.0 - cfg.base_unsupported_share)
            * (1.0 + lift * (1.0 - cfg.uplift_unsupported_share)) / (1.0 + lift))


def score_parts(ctx: Any, year: int, levers: Mapping[str, Levers]) -> ScoreParts:
    """The default :data:`ScoreSource`: today's coded risk score and its supported part
    (module docstring)."""
    coded = np.asarray(ctx.risk(year), float)
    ci = coding_intensity(ctx.provider_names, ctx.patient_provider, levers)
    sc = ctx.scenario
    return ScoreParts(coded, coded * supported_share(ci, sc.risk_score, sc.revenue_cycle.radv))


def hcc_score_parts(ctx: Any, year: int, levers: Mapping[str, Levers]) -> ScoreParts:
    """The :data:`ScoreSource` of the prospective CMS-HCC score (``risk_score.model:
    cms_hcc``, :mod:`sim.coding.hcc`): coded = the ledger's score; supported = coded minus
    the part scored on HCCs the record does not support (``hcc_unsupported_score``, from
    :func:`sim.coding.hcc.radv_view`: an upcode falls back to the documented lower HCC, a
    code without a condition to none). Falls back to :func:`score_parts` when the run did
    not record it (the legacy concurrent score)."""
    py = ctx.ledger.patient_year
    if "hcc_unsupported_score" not in py:
        return score_parts(ctx, year, levers)
    coded = np.asarray(ctx.risk(year), float)
    unsupported = ctx.ledger.pyear("hcc_unsupported_score", year)
    return ScoreParts(coded, np.maximum(coded - unsupported, 0.0))


class AuditResult(NamedTuple):
    """One contract-year's audit."""

    audited: bool
    members: int
    sampled: int
    sample_error_usd: float  # sum of the sampled members' payment errors
    recovery_usd: float  # extrapolated: mean sample error x members


def extrapolated_recovery(gross_capitation_usd: float, member_months: np.ndarray,
                          coded: np.ndarray, supported: np.ndarray, sample: np.ndarray
                          ) -> tuple[float, float]:
    """Sum of the payment errors of the ``sample`` (indices into the member arrays) and the
    recovery extrapolated to every member (mean sample error x number of members)."""
    weight = float(np.sum(member_months * coded))
    if len(sample) == 0 or weight <= 0:
        return 0.0, 0.0
    k = gross_capitation_usd / weight
    error = k * member_months[sample] * np.maximum(coded[sample] - supported[sample], 0.0)
    return float(error.sum()), float(error.mean() * len(member_months))


def audit(cfg: Radv, rng: np.random.Generator, gross_capitation_usd: float,
          member_months: np.ndarray, coded: np.ndarray, supported: np.ndarray
          ) -> AuditResult:
    """Audit one contract-year (arrays: one entry per member of the contract)."""
    n = len(member_months)
    audited = bool(rng.random() < cfg.audit_probability)
    if not audited or n == 0:
        return AuditResult(audited, n, 0, 0.0, 0.0)
    sample = rng.choice(n, size=min(cfg.sample_size, n), replace=False)
    error, recovery = extrapolated_recovery(gross_capitation_usd, member_months, coded,
                                            supported, sample)
    return AuditResult(True, n, len(sample), error, recovery)


def audit_stream(seed_seq: np.random.SeedSequence, label: str, year: int
                 ) -> np.random.Generator:
    """The generator of one contract-year's audit (stream ``"radv"``)."""
    return stream(seed_seq, "radv", name_key(label), year + 1000)


def recapture_rate(conditions: np.ndarray, coding_u: np.ndarray, intensity: np.ndarray,
                   mask: np.ndarray, risk: RiskScore) -> float:
    """Share of the payment-relevant chronic conditions (HCC coefficient > 0) present in the
    patients of ``mask`` that are coded at their coding ``intensity`` (the rule of
    ``sim.population.raw_risk_score``: coded when the fixed draw is below the completeness
    ``coding_completeness + (1 - coding_completeness) x intensity``); NaN without any.

    The rule of the legacy concurrent score; with the CMS-HCC score the care model records
    the documented condition families instead (:func:`sim.settlement.revenue_cycle.
    recapture_by_provider` reads them)."""
    coefs = np.array([getattr(risk, f"hcc_{c}") for c in CONDITIONS])
    present = conditions[mask][:, coefs > 0]
    if not present.any():
        return float("nan")
    completeness = risk.coding_completeness + (1.0 - risk.coding_completeness) * intensity[mask]
    coded = present & (coding_u[mask][:, coefs > 0] < completeness[:, None])
    return float(coded.sum() / present.sum())


__all__ = ["AuditResult", "ScoreParts", "ScoreSource", "audit", "audit_stream",
           "coding_intensity", "extrapolated_recovery", "hcc_score_parts", "recapture_rate",
           "score_parts",
           "supported_share"]
