"""A documentation programme's coding intensity, applied to the levers of a plan year.

``revenue_cycle.documentation`` (:class:`sim.scenario.revenue_cycle.DocumentationProgramme`)
sets every simulated primary-care group's ``coding_intensity`` from a plan year on; the
year loop (:func:`sim.replication.simulate_replication`) passes the levers chosen for each
plan year through :func:`with_programme` before the year is simulated, so the risk scores,
the settlement and RADV audits all see the programme's coding.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.scenario.schema import Levers, Scenario


def with_programme(sc: Scenario, plan_year: int, levers: Mapping[str, Levers] | None
                   ) -> dict[str, Levers] | None:
    """``levers`` (by provider name) with the programme's coding intensity for every
    primary-care group of the scenario when the programme runs in ``plan_year``;
    unchanged (the same object) otherwise."""
    prog = sc.revenue_cycle.documentation
    if prog.coding_intensity is None or plan_year < prog.from_plan_year:
        return levers  # type: ignore[return-value]
    out = dict(levers or {})
    for p in sc.providers:
        if p.kind == "primary_care":
            base = out.get(p.name, p.levers)
            out[p.name] = base.model_copy(update={"coding_intensity": prog.coding_intensity})
    return out


__all__ = ["with_programme"]
