"""Attribution: which beneficiaries CMS assigns to which ACO in a year, from the claims.

The assignment rule of the Shared Savings Program (42 CFR 425.402), applied to the ledger:

* **step 1**: a beneficiary who received any primary-care service from a primary-care
  clinician is assigned to the entity (a group's TIN) whose primary-care clinicians
  account for the plurality of the beneficiary's allowed charges for primary-care
  services (office visits, ``Service.PCP_VISIT``), against every other entity, the
  clinicians outside the simulated groups (``outside_primary_care``) included;
* **step 2**: a beneficiary with no such service is assigned by the plurality of allowed
  charges for primary-care services (office visits, ``Service.SPECIALIST_VISIT``) from
  specialists; the simulated specialists belong to no group's ACO, so they never win an
  assignment for a group (faithful for a primary-care ACO);
* ties go to the entity with the most recent service (CMS's tie-break);
* only beneficiaries with at least one month of traditional Medicare in the year (members,
  not enrolled in Medicare Advantage that year) can be assigned.

The window is the assignment year's own claims (``retrospective``: preliminary prospective
with retrospective reconciliation) or the previous year's (``prospective``; exclusions
during the year still apply, and new beneficiaries are not assigned until the next list;
the first recorded year, without a previous one, uses its own claims).

:class:`UsualSource` is each patient's share of primary care from outside clinicians: it
differs between patients (Beta distribution) and is drawn anew when a patient changes
usual source of care; with the chance pattern of visits it makes assignment churn.
"""

from __future__ import annotations

import numpy as np

from sim.ledger import Ledger, service_rows
from sim.scenario.attribution import Attribution
from sim.services import Service

#: ``patient_year`` key: enrolled in Medicare Advantage in the year (excluded from assignment).
MA_KEY = "medicare_advantage"
NOT_ASSIGNED = -1


def plurality(patient: np.ndarray, provider: np.ndarray, amount: np.ndarray,
              day: np.ndarray, n_patients: int, n_providers: int) -> np.ndarray:
    """Per patient, the provider with the largest sum of ``amount`` (ties: the provider with
    the latest ``day``; then the lower index), or -1 for a patient without claims."""
    out = np.full(n_patients, NOT_ASSIGNED, np.int64)
    if len(patient) == 0:
        return out
    if n_patients * n_providers > 8 * len(patient) + 1_000_000:
        return _plurality_sparse(patient, provider, amount, day, n_patients, n_providers, out)
    # Dense (patient, provider) table over the providers with claims only (the same sums:
    # np.bincount adds each bin's claims in claim order), then the same ordering as the
    # sparse form's lexsort per patient: largest sum to the cent, then latest day, then
    # lowest provider index -- a running lexicographic maximum over the providers in
    # index order, one column at a time (a provider replaces the winner only if strictly
    # better, so ties keep the lower index).
    present = np.flatnonzero(np.bincount(provider, minlength=n_providers))
    m = len(present)
    column = np.zeros(n_providers, np.int64)
    column[present] = np.arange(m)
    # provider-major: each provider's row of patients is contiguous
    key = column.take(provider) * n_patients + patient
    size = n_patients * m
    total = np.bincount(key, weights=amount, minlength=size).reshape(m, n_patients)
    seen = np.bincount(key, minlength=size).reshape(m, n_patients) > 0
    last = np.full(size, -np.inf)
    np.maximum.at(last, key, day.astype(np.float64))
    last = last.reshape(m, n_patients)
    # Round the sums to the cent: equal charges are a tie whatever the summation order.
    rounded = np.round(total, 2)
    win = np.full(n_patients, -1, np.int64)
    win_sum = np.full(n_patients, -np.inf)
    win_day = np.full(n_patients, -np.inf)
    for j in range(m):
        r, d = rounded[j], last[j]
        better = seen[j] & ((r > win_sum) | ((r == win_sum) & (d > win_day)))
        win[better] = j
        win_sum[better] = r[better]
        win_day[better] = d[better]
    has = win >= 0
    out[has] = present[win[has]]
    return out


def _plurality_sparse(patient: np.ndarray, provider: np.ndarray, amount: np.ndarray,
                      day: np.ndarray, n_patients: int, n_providers: int, out: np.ndarray
                      ) -> np.ndarray:
    """:func:`plurality` over the (patient, provider) pairs with claims only (for tables
    too large to hold densely)."""
    key = patient.astype(np.int64) * n_providers + provider.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=amount, minlength=len(uniq))
    last = np.full(len(uniq), -np.inf)
    np.maximum.at(last, inv, day.astype(np.float64))
    pat, prov = uniq // n_providers, uniq % n_providers
    # Round the sums to the cent: equal charges are a tie whatever the summation order.
    order = np.lexsort((prov, -last, -np.round(total, 2), pat))
    first = np.ones(len(order), bool)
    first[1:] = pat[order][1:] != pat[order][:-1]
    win = order[first]
    out[pat[win]] = prov[win]
    return out


def assign_by_plurality(claims: dict[str, np.ndarray], n_patients: int, kinds: list[str]
                        ) -> np.ndarray:
    """Step 1 then step 2 of 42 CFR 425.402 over ``claims`` (ledger columns): per patient,
    the provider index that wins the assignment, or -1 (no primary-care service)."""
    n_prov = len(kinds)
    pc_kind = np.array([k == "primary_care" for k in kinds] + [False])
    service, provider = claims["service"], claims["provider"]
    # the claims of each step by index, in order (once per frozen year's block)
    step1 = service_rows(service, Service.PCP_VISIT)
    step1 = step1[pc_kind[provider[step1]]]
    step2 = service_rows(service, Service.SPECIALIST_VISIT)
    win = plurality(claims["patient"][step1], provider[step1].astype(np.int64),
                    claims["amount"][step1], claims["day"][step1], n_patients, n_prov)
    win2 = plurality(claims["patient"][step2], provider[step2].astype(np.int64),
                     claims["amount"][step2], claims["day"][step2], n_patients, n_prov)
    return np.where(win >= 0, win, win2)


def assigned_in(ledger: Ledger, year: int, method: str, groups: list[int], kinds: list[str],
                n_patients: int) -> np.ndarray:
    """Per patient, the group (provider index in ``groups``) it is assigned to in plan year
    ``year``, or -1: not assigned (outside clinicians win, no primary care, not a member,
    enrolled in Medicare Advantage)."""
    window = year - 1 if method == "prospective" and (year - 1) in ledger.years else year
    win = assign_by_plurality(ledger.claims_in(window), n_patients, kinds)
    out = np.where(np.isin(win, groups), win, NOT_ASSIGNED)
    eligible = ledger.pyear("member", year).astype(bool)
    if MA_KEY in ledger.patient_year:
        eligible = eligible & ~ledger.pyear(MA_KEY, year).astype(bool)
    out[~eligible] = NOT_ASSIGNED
    return out


def turnover(before: np.ndarray, after: np.ndarray, group: int) -> tuple[float, float]:
    """Share of ``group``'s assigned beneficiaries in ``before`` not assigned to it in
    ``after`` (exits), and share of ``after``'s not assigned in ``before`` (entries)."""
    a, b = before == group, after == group
    exits = float((a & ~b).sum() / a.sum()) if a.any() else float("nan")
    entries = float((b & ~a).sum() / b.sum()) if b.any() else float("nan")
    return exits, entries


class UsualSource:
    """Each patient's share of primary-care visits with clinicians outside the groups."""

    def __init__(self, n: int, att: Attribution, rng: np.random.Generator) -> None:
        self.att = att
        self.share = self._draw(rng, n)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mean, k = self.att.primary_care_outside_share, self.att.usual_source_concentration
        if mean <= 0.0 or mean >= 1.0:
            return np.full(n, float(mean))
        return rng.beta(mean * k, (1.0 - mean) * k, n)

    def advance(self, rng: np.random.Generator) -> None:
        """A year passes: patients who change usual source of care draw a new share."""
        switch = rng.random(len(self.share)) < self.att.usual_source_switch_rate
        self.share[switch] = self._draw(rng, int(switch.sum()))


def medicare_advantage(att: Attribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """Who is enrolled in Medicare Advantage in a year (a fresh draw each year)."""
    return rng.random(n) < att.medicare_advantage_rate
