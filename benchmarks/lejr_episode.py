"""LEJR episodes under FFS practice vs Medicare's (issue 12 item 6 follow-up).

Runs the care model (behaviour fixed at the FFS reference levers, ``--size`` patients,
``--seeds`` replications of 2 plan years after 3 history years) and, for every lower-
extremity joint replacement stay (``StayGroup.MAJOR_JOINT``), prints the mean episode
spending (anchor stay + 90 days after discharge, all Part A/B claims, the bundles' own
``episode_spending``) with its standard error, its parts (anchor, SNF, IRF, home health,
the rest), the discharge destinations (SNF, IRF, home with home health, home) and the
mean SNF stay, beside the published figures: CJR evaluation (~$26,900 per episode,
2016-17), Finkelstein et al. JAMA 2018 (33.7% institutional post-acute discharge).
Then the same with every provider's transitional-care effort at 1 and discretionary
intensity at 0.9 (``--lever``), to show what the levers do to LEJR post-acute care.
Run from the repository root (about 10 s of CPU per replication at the defaults)::

    python benchmarks/lejr_episode.py [--size 6000] [--seeds 2]
"""

from __future__ import annotations

import argparse

import numpy as np

from sim.care.engine import simulate_population
from sim.contracts.bundled.rules import episode_spending
from sim.scenario import scenario_from_dict
from sim.scenario.schema import Levers
from sim.services import Service as S
from sim.stay_groups import StayGroup


def measure(size: int, seed: int, levers: dict | None) -> dict[str, np.ndarray]:
    """Per LEJR episode of one replication: spending, its parts and the destination."""
    sc = scenario_from_dict({"name": "lejr", "horizon_years": 2, "warmup_years": 5,
                             "replications": 1, "population": {"size": size},
                             "behavior": "fixed",
                             "plan": [{"years": "all", "contracts": [
                                 {"type": "ffs", "payer": "medicare"}]}]}, "<lejr>")
    lv = None
    if levers:
        lv = {p.name: Levers(**levers) for p in sc.providers}
    care = simulate_population(sc, np.random.SeedSequence(seed), levers=lv)
    adm, c = care.ledger.admissions, care.ledger.claims
    m = adm["group"] == StayGroup.MAJOR_JOINT
    pat, start, disch = adm["patient"][m], adm["admit"][m], adm["discharge"][m]
    out = {"spend": episode_spending(c["patient"], c["day"], c["amount"], pat, start, disch,
                                     90)}
    for name, codes in (("anchor", [S.ELECTIVE_FACILITY, S.ELECTIVE_PROFESSIONAL]),
                        ("snf", [S.SNF]), ("irf", [S.IRF]), ("home_health", [S.HOME_HEALTH])):
        k = np.isin(c["service"], codes)
        out[name] = episode_spending(c["patient"][k], c["day"][k], c["amount"][k], pat,
                                     start, disch, 90)
    out["snf_days"] = adm["snf_days"][m]
    out["irf_stay"] = adm["irf"][m]
    out["hh_stay"] = adm["home_health"][m]
    return out


def report(rows: list[dict[str, np.ndarray]], title: str) -> None:
    """Print the pooled figures of ``rows`` (one dict per replication)."""
    r = {k: np.concatenate([x[k] for x in rows]) for k in rows[0]}
    n = len(r["spend"])
    spend = r["spend"]
    snf, irf = r["snf_days"] > 0, r["irf_stay"]
    home_hh = r["hh_stay"] & ~snf & ~irf
    print(f"\n{title}: {n} LEJR episodes")
    print(f"  episode spending  ${spend.mean():>9,.0f}  (SE ${spend.std() / np.sqrt(n):,.0f})"
          "   Medicare: ~$26,900 (CJR evaluation 2016-17); BPCI-A $25-30k")
    for k in ("anchor", "snf", "irf", "home_health"):
        print(f"  {k:<16} ${r[k].mean():>9,.0f}")
    rest = spend - r["anchor"] - r["snf"] - r["irf"] - r["home_health"]
    print(f"  {'rest':<16} ${rest.mean():>9,.0f}  (readmissions, visits, other)")
    print(f"  to SNF {snf.mean():.1%}, IRF {irf.mean():.1%} (institutional "
          f"{(snf | irf).mean():.1%}; Finkelstein 2018: 33.7%), home with home health "
          f"{home_hh.mean():.1%}, home {1 - (snf | irf | home_hh).mean():.1%}")
    print(f"  mean SNF stay {r['snf_days'][snf].mean():.1f} days")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    seeds = range(11, 11 + args.seeds)
    report([measure(args.size, s, None) for s in seeds], "FFS practice")
    report([measure(args.size, s, {"transitional_care_effort": 1.0,
                                   "discretionary_intensity": 0.9}) for s in seeds],
           "transitional care 1.0, intensity 0.9")


if __name__ == "__main__":
    main()
