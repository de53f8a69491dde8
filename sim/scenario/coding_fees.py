"""Scenario schema of coding-driven fee-for-service payment (``coding_fees``).

Two coding behaviours change what fee-for-service pays (:mod:`sim.coding.fees`):

* **E/M level intensity**: the group's ``coding_intensity`` lever (0-1) shifts the level mix
  of office E/M visits (primary-care and specialist visits) upward; a visit is paid its
  level's relative value (CY2025 PFS non-facility RVUs), normalised so that at coding
  intensity 0 (the reference) the expected payment per visit is ``prices.pcp_visit_usd`` /
  ``prices.specialist_visit_usd``.
* **DRG CC/MCC capture**: a hospital's clinical documentation improvement (CDI) effort
  (0-1) turns a share of its stays coded without MCC into stays with MCC, paid at the
  with-MCC MS-DRG weight (FY2025 Table 5) instead of the without-MCC weights; at effort 0
  (the reference) nothing changes.
"""

from __future__ import annotations

from sim.fields import StrictModel, param

EM_TREND = ("Center for Public Integrity, 'Cracking the Codes' (2012): the share of "
            "established-patient office visits billed at the two highest levels "
            "(99214/99215) rose from 25% (2001) to 40% (2008), ~2 points a year; HHS-OIG "
            "OEI-04-10-00180 (2012): higher-level E/M billing rose in every E/M category "
            "2001-2010; OEI-04-10-00181 (2014): 42% of 2010 E/M claims miscoded, mostly "
            "upcoded")
CDI_EVIDENCE = ("CMS IPPS final rules FY2011-FY2013: documentation and coding effect of the "
                "MS-DRG introduction about 5.4% of case mix over FY2008-2010 (mostly CC/MCC "
                "capture, no change in patients' severity); RAND R-4098 (Carter, Newhouse, "
                "Relles 1991): half of the 3.3% CMI rise of 1987-1988 was coding; Mendez et al., "
                "Popul Health Manag 2014: CMI +14% (for-profit), +6% (non-profit), -0.4% "
                "(public hospitals) in 1996-2007; CDI programmes report case-mix index gains "
                "of a few percent (industry reports, not peer-reviewed)")


class CodingFees(StrictModel):
    """How coding behaviour changes fee-for-service payment (sim.coding.fees)."""

    em_level_pricing: bool = param(
        True, unit="switch", source="CMS physician fee schedule (each E/M level has its own "
        "RVUs)", description="true: an office visit is paid its E/M level's relative value "
        "(mean at reference coding = the visit price); false: every visit is paid the visit "
        "price (no coding effect on E/M payment).")
    em_high_level_gain: float = param(
        0.10, unit="share-point gain at coding_intensity 1", source="judgement: full coding "
        "intensity = about five years of the secular drift; " + EM_TREND, ge=0, le=0.4,
        description="Rise of the share of established office visits billed at level 4 or 5 "
        "(99214/99215) at coding_intensity 1, in the primary-care mix (0.58 at reference, "
        "CMS E/M utilisation 2022-2023); the same latent shift applies to specialists' "
        "visits. Linear in coding_intensity on the probit scale.")
    hospital_cdi_effort: float = param(
        0.0, unit="effort 0-1", source="assumption (0: today's documentation, which the "
        "MCC shares of clinical.stay_groups already reflect)", ge=0, le=1,
        description="Clinical documentation improvement effort of the simulated hospital(s): "
        "stays coded without MCC gain an MCC with probability cdi_mcc_capture_at_full x "
        "effort (outside hospitals code at 0).")
    cdi_mcc_capture_at_full: float = param(
        0.13, unit="share of stays without MCC", source="judgement, sized so a full "
        "programme raises the simulated hospital's facility payment per stay ~3% (measured "
        "+2.9% with two-decimal MS-DRG weights; expected +3.3% per unplanned stay with the "
        "FY2025 Table 5 weights, docs/coding.md): " + CDI_EVIDENCE, ge=0, le=0.5,
        description="Share of stays without MCC that a full CDI programme (effort 1) "
        "documents an MCC for.")
    cdi_cost_per_discharge_usd: float = param(
        30.0, unit="USD per discharge at effort 1", source="assumption: a CDI specialist "
        "(~$100,000 a year with benefits) reviews ~2,000-2,500 records a year, ~$40-50 per "
        "reviewed record, about two thirds of Medicare discharges reviewed", ge=0, le=1000,
        description="Cash cost of the CDI programme per discharge at effort 1 (linear in "
        "effort).")
