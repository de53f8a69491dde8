"""What fee-for-service pays for coded claims: E/M levels and DRG CC/MCC capture.

The care model draws claims with a service and an amount (:mod:`sim.care.claims`); two
coding behaviours change the amount (parameters: ``coding_fees``,
:class:`sim.scenario.coding_fees.CodingFees`).

**E/M level intensity.** An office visit (primary care or specialist) is billed at a level
2-5 (99212-99215; new-patient visits 99202-99205 take the same level). The level is an
ordered probit, as :mod:`sim.coding.codes` draws it::

    latent = rho * z + sqrt(1 - rho^2) * e + delta * c

with ``z`` the standard-normal score (by rank) of the patient's risk score among the year's
visits of the service, ``e`` a standard-normal draw (stream ``coding_fees``), ``rho``
:attr:`sim.coding.codes.CodingParams.morbidity_correlation`, ``c`` the coding intensity of
the patient's group (the ``coding_intensity`` lever; outside providers code at 0) and
``delta`` the latent shift that raises the share at level 4 or 5 of the primary-care mix by
``em_high_level_gain`` at ``c = 1`` (:func:`em_shift`). The latent is cut at the normal
quantiles of the CMS level mix (``hcpcs.csv``, established visits), so at ``c = 0`` the mix
is CMS's. The visit is paid ``price x f[level] / m`` with ``f`` the level's CY2025 PFS
non-facility total RVUs (:data:`EM_RVU`) divided by their mean under the reference mix
(:func:`em_factors`) and ``m`` the realised mean of ``f`` over the billing provider's
visits of the year at their reference levels (a budget-neutral conversion factor, 1 in
expectation): at ``c = 0`` each provider's visits pay exactly the visit price on average,
so totals at the reference levers do not move; at ``c`` the expected payment is ``price
x`` :func:`em_price_factor` ``(c)``. The level is written on the
claim by :mod:`sim.coding.codes`, recovered from the paid amount (:func:`em_level_of`), so
the CCLF level is the level paid.

**DRG CC/MCC capture.** A stay coded without MCC (``sim.stay_groups``) gains an MCC with
probability ``cdi_mcc_capture_at_full x effort`` (the hospital's documentation effort; 0 for
outside hospitals and at the reference): its facility payment is multiplied by the ratio of
its family's with-MCC MS-DRG weight to the mean of its without-MCC weights
(:func:`mcc_upgrade_ratio`, FY2025 Table 5 weights in ``data/drg_weights.csv``) and the stay
is flagged with MCC, so the coder writes the with-MCC MS-DRG. At effort 0 no stay changes.

Both draw only from the year's ``coding_fees`` stream (visits' normals first, then one
uniform per stay), so no other draw of the model changes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from sim.stay_groups import StayGroup

__all__ = ["EM_LEVELS", "EM_RVU", "EM_RVU_NEW", "cdi_price_factors", "drg_weight", "em_factors",
           "em_level_of", "em_levels", "em_price_factor", "em_shares", "em_shift",
           "expected_inpatient_factor", "mcc_upgrade", "mcc_upgrade_ratio", "resource_amount",
           "resource_prices", "visit_amounts"]

#: E/M levels 2-5 (index 0-3 in the arrays below)
EM_LEVELS = (2, 3, 4, 5)
#: CY2025 Medicare PFS national non-facility total RVUs (work + non-facility PE + MP) of
#: 99212-99215, from CMS's national RVU file RVU25D (``PPRRVU2025_Oct.csv``, October 2025
#: quarterly update): work 0.70 /
#: 1.30 / 1.92 / 2.80, non-facility PE 0.95 / 1.35 / 1.80 / 2.42, MP 0.05 / 0.10 / 0.15 /
#: 0.21. Checked 2026-12-07 (issue 13) against the file as mirrored at
#: github.com/alex-bea/cms_api ``sample_data/rvu25d_0/PPRRVU2025_Oct.csv``; the values
#: entered before (1.73 / 2.77 / 3.92 / 5.49, labelled CY2024) were off by 0.02-0.06. The
#: national payment is RVU x conversion factor ($32.3465 in CY2025): about $55, $89, $125
#: and $176. Only the ratios between levels matter here.
EM_RVU = np.array([1.70, 2.75, 3.87, 5.43])
#: the same for new-patient visits 99202-99205 (same file: work 0.93 / 1.60 / 2.60 / 3.50;
#: the value entered before for 99204, 5.44, was wrong). Shown for reference: new visits are
#: paid at the established ladder's relative values, because the care model does not know
#: at claim time which visits are new (the coder decides it afterwards, from the sequence of
#: a patient's visits to a provider, sim.coding.codes): at the same level a new visit's RVUs
#: are 1.22-1.30x the established visit's, a redistribution within the budget-neutral mean
#: (the visit price is calibrated to the whole mix), see docs/coding.md.
EM_RVU_NEW = np.array([2.16, 3.37, 5.05, 6.67])

_WHO = ("pcp", "specialist")
DATA = Path(__file__).parent / "data"


@cache
def em_reference_shares(who: str) -> np.ndarray:
    """CMS level mix (levels 2-5) of established office visits of ``who`` ("pcp" or
    "specialist"), from ``hcpcs.csv``."""
    if who not in _WHO:
        raise ValueError(f"who must be one of {_WHO}, got {who!r}")
    t = pd.read_csv(DATA / "hcpcs.csv", comment="#", dtype=str, keep_default_na=False)
    g = t[t["group"] == f"em_established_{who}"].copy()
    g["level"] = g["level"].astype(int)
    w = g.sort_values("level")["weight"].astype(float).to_numpy()
    return w / w.sum()


def _cuts(shares: np.ndarray) -> np.ndarray:
    return ndtri(np.clip(np.cumsum(shares)[:-1], 1e-12, 1 - 1e-12))


def em_shift(gain: float) -> float:
    """Latent shift ``delta`` per unit of coding intensity: the shift that raises the share
    of level 4-5 visits of the primary-care mix by ``gain`` (share points, e.g. 0.10)."""
    s = em_reference_shares("pcp")
    high = s[2:].sum()
    if not 0.0 <= gain < 1.0 - high:
        raise ValueError(f"coding_fees.em_high_level_gain must be in [0, {1 - high:.2f}), "
                         f"got {gain}")
    return float(ndtri(1.0 - high) - ndtri(1.0 - high - gain))


def em_shares(who: str, intensity: np.ndarray | float, gain: float) -> np.ndarray:
    """Expected level mix (levels 2-5, last axis) at ``intensity`` (scalar or array)."""
    c = np.asarray(intensity, np.float64)[..., None]
    cum = ndtr(_cuts(em_reference_shares(who)) - em_shift(gain) * c)
    lo = np.concatenate([np.zeros(c.shape), cum], axis=-1)
    hi = np.concatenate([cum, np.ones(c.shape)], axis=-1)
    return hi - lo


def em_factors(who: str) -> np.ndarray:
    """Payment of each level (2-5) relative to the mean visit payment under the reference
    mix: ``EM_RVU / (shares . EM_RVU)``."""
    return EM_RVU / float(em_reference_shares(who) @ EM_RVU)


def em_price_factor(who: str, intensity: np.ndarray | float, gain: float) -> np.ndarray:
    """Expected payment per visit at ``intensity`` relative to the visit price (exactly 1
    at 0)."""
    c = np.asarray(intensity, np.float64)
    return np.where(c == 0.0, 1.0, em_shares(who, c, gain) @ em_factors(who))


def _normal_scores(x: np.ndarray) -> np.ndarray:
    n = len(x)
    return ndtri((rankdata(x) - 0.5) / n) if n else np.zeros(0)


def normal_scores_of(score: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """``_normal_scores(score[pid])`` (the standard-normal score by average rank of each
    visit's patient score among the visits), from the patients instead of the visits:
    a visit's average rank is ``below + (count + 1) / 2``, with ``below`` the visits of
    patients with a lower score and ``count`` those with the same score, all whole or half
    numbers, so exactly rankdata's doubles; the normal quantile is taken once per distinct
    score. Sorts the patients with visits, not the visits (issue 16: 5-10x cheaper).
    NaN scores take the plain path (rankdata then gives NaN everywhere)."""
    score = np.asarray(score, np.float64)
    pid = np.asarray(pid, np.int64)
    n = len(pid)
    if not n:
        return np.zeros(0)
    count = np.bincount(pid, minlength=len(score))
    who = np.flatnonzero(count)
    s = score[who]
    if np.isnan(s).any():
        return _normal_scores(score[pid])
    order = np.argsort(s)  # ties share a rank: their order does not matter
    ys = s[order]
    cs = count[who][order]
    new = np.empty(len(ys), bool)
    new[0] = True
    np.not_equal(ys[1:], ys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    in_group = np.add.reduceat(cs, starts)  # visits per distinct score
    below = np.cumsum(in_group) - in_group
    rank = below + (in_group + 1) / 2.0  # rankdata's average rank (exact halves)
    z_group = ndtri((rank - 0.5) / n)
    z = np.empty(len(score))
    z[who[order]] = z_group[np.cumsum(new) - 1]
    return z[pid]


def em_levels(who: str, score: np.ndarray, e: np.ndarray, intensity: np.ndarray,
              gain: float, rho: float) -> np.ndarray:
    """Level index (0-3 for levels 2-5) of each visit: the ordered probit of the module
    docstring, ``score`` the patients' risk scores (ranked here), ``e`` standard normals."""
    latent = (rho * _normal_scores(np.asarray(score, np.float64))
              + np.sqrt(1.0 - rho * rho) * e + em_shift(gain) * np.asarray(intensity))
    return _level_index(_cuts(em_reference_shares(who)), latent)


def visit_amounts(who: str, price: float, score: np.ndarray | None, intensity: np.ndarray,
                  rng: np.random.Generator, gain: float, rho: float,
                  provider: np.ndarray | int = 0,
                  normal_scores: np.ndarray | None = None) -> np.ndarray:
    """Paid amount of each office visit: ``price x f[level] / m``, one normal per visit from
    ``rng`` (the year's ``coding_fees`` stream). ``m`` is the mean of ``f`` over the same
    visits of the billing ``provider`` at their reference levels (coding intensity 0, same
    draws): a budget-neutral conversion factor per provider and year, as CMS sets the
    PFS's, so at the reference each provider's visits pay exactly ``price`` on average
    (``m`` is 1 +- ~0.003, its expectation 1). ``normal_scores``: the rank scores of
    ``score`` if already known (:func:`normal_scores_of`; ``score`` is then not read and may
    be None)."""
    if normal_scores is None and score is None:
        raise ValueError("visit_amounts needs the visits' scores or their normal scores")
    n = len(score) if normal_scores is None else len(normal_scores)
    e = rng.standard_normal(n)
    f = em_factors(who)
    # em_levels' latent, with the risk scores ranked once for both codings (the same sums
    # in the same order; at the reference the shift term is 0)
    z = _normal_scores(np.asarray(score, np.float64)) if normal_scores is None \
        else normal_scores
    base = rho * z + np.sqrt(1.0 - rho * rho) * e
    cuts = _cuts(em_reference_shares(who))
    paid = f[_level_index(cuts, base + em_shift(gain) * np.asarray(intensity))]
    ref = f[_level_index(cuts, base)]
    prov = np.broadcast_to(np.asarray(provider, np.int64), (n,))
    if not n:
        return np.zeros(0)
    if prov.min() >= 0:  # providers are indices: number them by a lookup, not a sort
        present = np.bincount(prov) > 0
        lut = np.cumsum(present) - 1
        inv = lut[prov]
    else:
        _, inv = np.unique(prov, return_inverse=True)
    m = np.bincount(inv, weights=ref) / np.bincount(inv)
    return price * paid / m[inv]


def _level_index(cuts: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cuts, latent)`` for the three ascending cuts: the number of cuts
    below each latent (``cut < x``, as the left-sided search places ties; NaN, which the
    search puts last, counted above every cut)."""
    latent = np.asarray(latent, np.float64)
    if len(cuts) != 3 or latent.ndim != 1:
        return np.searchsorted(cuts, latent)
    idx = (latent > cuts[0]).view(np.int8) + (latent > cuts[1]).view(np.int8)
    idx += (latent > cuts[2]).view(np.int8)
    nan = np.isnan(latent)
    if nan.any():
        idx[nan] = 3
    return idx


def em_level_of(who: str, amount: np.ndarray, price: float) -> np.ndarray:
    """The E/M level (2-5) a visit's amount pays for: the level whose ``price x f`` is
    nearest on the log scale (levels are 30-60% apart, so the budget-neutral factor of
    :func:`visit_amounts`, within a few tenths of a percent of 1, or a uniform price factor
    of up to +-15% still finds the level)."""
    ratio = np.log(np.maximum(np.asarray(amount, np.float64), 1e-12) / price)
    idx = np.abs(ratio[:, None] - np.log(em_factors(who))[None, :]).argmin(axis=1)
    return np.asarray(EM_LEVELS)[idx]


def resource_prices(prices) -> tuple[tuple[int, float], ...]:
    """``(service code, price)`` of the claims whose costs follow a flat resource price, not
    the amount paid: the office visits, at the visit price (their expected payment at the
    reference coding, so reference costs are as before; a higher level bought by coding
    uses no more care)."""
    from sim.services import Service

    return ((int(Service.PCP_VISIT), prices.pcp_visit_usd),
            (int(Service.SPECIALIST_VISIT), prices.specialist_visit_usd))


def resource_amount(service: np.ndarray, amount: np.ndarray, prices) -> np.ndarray:
    """Each claim's amount at the resource level its costs follow (:func:`resource_prices`;
    others unchanged)."""
    service = np.asarray(service)
    out = amount
    for code, price in resource_prices(prices):
        out = np.where(service == code, price, out)
    return out


# ----------------------------------------------------------------------------- DRGs

@cache
def _weights() -> dict[int, float]:
    t = pd.read_csv(DATA / "drg_weights.csv", comment="#")
    return dict(zip(t["drg"].astype(int), t["weight"].astype(float), strict=True))


def drg_weight(drg: int) -> float:
    """FY2025 (v42) relative weight of a modelled MS-DRG (``data/drg_weights.csv``)."""
    try:
        return _weights()[int(drg)]
    except KeyError:
        raise KeyError(f"MS-DRG {drg} has no weight in sim/coding/data/drg_weights.csv") \
            from None


#: Per family: (with-MCC DRG, [(without-MCC DRG, share of the family's stays without MCC)]);
#: CC shares from ``stay_reasons.csv`` (``cc_share``). Other medical: pneumonia 193-195,
#: UTI 689/690 and acute kidney injury 682-684, equally weighted; other surgical (coronary
#: stents, TAVR, colectomy, bypass) the joint-replacement ratio (judgement: the surgical
#: DRGs' with/without-MCC ratios are 1.3-2.3).
_FAMILY_DRGS: dict[StayGroup, list[tuple[int, list[tuple[int, float]]]]] = {
    StayGroup.SEPSIS: [(871, [(872, 1.0)])],
    StayGroup.HEART_FAILURE: [(291, [(292, 0.70), (293, 0.30)])],
    StayGroup.COPD: [(190, [(191, 0.55), (192, 0.45)])],
    StayGroup.MAJOR_JOINT: [(469, [(470, 1.0)])],
    StayGroup.SPINAL_FUSION: [(450, [(451, 1.0)])],
    StayGroup.OTHER_MEDICAL: [(193, [(194, 0.75), (195, 0.25)]), (689, [(690, 1.0)]),
                              (682, [(683, 0.70), (684, 0.30)])],
    StayGroup.OTHER_SURGICAL: [(469, [(470, 1.0)])],
}


@cache
def mcc_upgrade_ratio() -> np.ndarray:
    """Per :class:`StayGroup`: the with-MCC MS-DRG weight over the mean without-MCC weight
    (CC and no-CC DRGs at their shares), averaged over the family's DRGs."""
    out = np.ones(len(StayGroup))
    for fam, rows in _FAMILY_DRGS.items():
        out[int(fam)] = np.mean([drg_weight(m) / sum(drg_weight(d) * s for d, s in rest)
                                 for m, rest in rows])
    return out


def mcc_upgrade(group: np.ndarray, mcc: np.ndarray, effort: np.ndarray | float,
                capture_at_full: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stays that documentation turns into with-MCC stays, and each stay's payment factor.

    ``group``/``mcc`` the stays' family and MCC flag, ``effort`` the billing hospital's CDI
    effort per stay (or one value), ``rng`` the year's ``coding_fees`` stream (one uniform
    per stay, drawn whatever the effort). Returns (upgraded mask, factor: the family's
    :func:`mcc_upgrade_ratio` where upgraded, else 1)."""
    u = rng.random(len(group))
    p = capture_at_full * np.asarray(effort, np.float64)
    up = ~np.asarray(mcc, bool) & (u < p)
    factor = np.where(up, mcc_upgrade_ratio()[np.asarray(group, np.int64)], 1.0)
    return up, factor


def expected_inpatient_factor(effort: float, capture_at_full: float, stay_cfg,
                              joint_share: float, elective: bool = False,
                              sd_log: float = 0.0) -> float:
    """Expected facility payment per unplanned (or ``elective``) stay at CDI ``effort``
    relative to effort 0: ``1 + p x sum_g share_g x (1 - mcc_g) x (ratio_g - 1) x
    rel_g`` over the families of ``clinical.stay_groups`` (unplanned: sepsis at its share,
    the rest at the other-medical ratio, which the HF and COPD ratios are close to;
    elective: joint replacement at ``joint_share``, spinal fusion, the rest other
    surgical). ``rel_g`` is the mean payment of a stay without MCC relative to all stays:
    the MCC flag is a Gaussian copula on the stay's lognormal payment (SD of its log
    ``sd_log``, correlation ``mcc_payment_correlation``, :func:`sim.stay_groups.assign`),
    so ``rel = Phi(c - rho sd) / Phi(c)`` with ``c = Phi^-1(1 - mcc)``. Approximate where
    the family mix is (HF and COPD stays are counted as other medical)."""
    from sim.stay_groups import mcc_share_of

    m = mcc_share_of(stay_cfg)
    r = mcc_upgrade_ratio()
    rho = stay_cfg.mcc_payment_correlation
    if elective:
        mix = {StayGroup.MAJOR_JOINT: joint_share,
               StayGroup.SPINAL_FUSION: stay_cfg.spinal_fusion_share}
        mix[StayGroup.OTHER_SURGICAL] = max(1.0 - sum(mix.values()), 0.0)
    else:
        mix = {StayGroup.SEPSIS: stay_cfg.sepsis_share}
        mix[StayGroup.OTHER_MEDICAL] = max(1.0 - stay_cfg.sepsis_share, 0.0)
    p = capture_at_full * effort
    total = 0.0
    for g, w in mix.items():
        share = float(np.clip(m[int(g)], 1e-9, 1 - 1e-9))
        c = ndtri(1.0 - share)
        rel = ndtr(c - rho * sd_log) / ndtr(c)
        total += w * (1.0 - share) * (r[int(g)] - 1.0) * rel
    return 1.0 + p * total


def cdi_price_factors(sc, effort: float, elective_sd_log: float) -> tuple[float, float]:
    """Expected facility payment per unplanned and per elective stay at CDI ``effort``
    relative to effort 0 (:func:`expected_inpatient_factor` for scenario ``sc``; elective
    stays' payments with SD of their log ``elective_sd_log``,
    ``sim.care.claims.ELECTIVE_SD_LOG``): linear in the effort, ``1 + effort x slope``,
    with the slopes (independent of the effort) computed once per set of inputs."""
    if effort == 0:
        return 1.0, 1.0
    cf, cl = sc.coding_fees, sc.clinical
    s_unpl, s_el = _cdi_slopes(cf.cdi_mcc_capture_at_full,
                               float(sc.prices.admission_cost_sd_log), float(elective_sd_log),
                               float(cl.electives.joint_replacement_share), cl.stay_groups)
    return 1.0 + effort * s_unpl, 1.0 + effort * s_el


#: slopes by their inputs (the stay-group config by identity, kept alive in the value)
_SLOPES: dict[tuple, tuple[object, float, float]] = {}


def _cdi_slopes(capture: float, sd_log: float, el_sd_log: float, joint_share: float,
                stay_cfg) -> tuple[float, float]:
    key = (capture, sd_log, el_sd_log, joint_share, id(stay_cfg))
    hit = _SLOPES.get(key)
    if hit is None or hit[0] is not stay_cfg:
        hit = (stay_cfg,
               expected_inpatient_factor(1.0, capture, stay_cfg, joint_share,
                                         sd_log=sd_log) - 1.0,
               expected_inpatient_factor(1.0, capture, stay_cfg, joint_share, elective=True,
                                         sd_log=el_sd_log) - 1.0)
        _SLOPES[key] = hit
    return hit[1], hit[2]
