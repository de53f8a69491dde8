"""The providers of a run: names, kinds, and which provider bills each kind of service.

Built from the scenario's provider list; kinds nobody listed get an implicit provider
(``unlisted_<kind>``) so that every claim has a billing provider. With attribution on
(``attribution.enabled``), one ``outside_<kind>`` provider per kind stands for every
provider outside the simulated ones: it bills the leaked share of services (at reference
practice, no levers, no panel) and is paid fee-for-service like any other. Read by the care model
(who bills what, which groups hold a panel) and by settlement (names and kinds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.scenario.schema import Scenario

#: Kinds of the outside providers (attribution on), in index order.
OUTSIDE_KINDS = ("primary_care", "specialist", "hospital", "post_acute", "other")
#: Name prefix of the outside providers (reserved when attribution is on).
OUTSIDE_PREFIX = "outside_"


def is_outside(name: str) -> bool:
    """Whether provider ``name`` is an outside provider (no panel, no levers)."""
    return name.startswith(OUTSIDE_PREFIX)


@dataclass
class ProviderTable:
    """Providers of a run: names, kinds, and the provider that bills each kind."""

    names: list[str]
    kinds: list[str]
    primary_care: list[int]
    by_kind: dict[str, int]
    outside: dict[str, int] = field(default_factory=dict)  # kind -> outside provider

    @classmethod
    def from_scenario(cls, sc: Scenario) -> ProviderTable:
        """The scenario's providers plus one implicit provider per kind nobody listed."""
        names = [p.name for p in sc.providers]
        kinds = [p.kind for p in sc.providers]
        by_kind: dict[str, int] = {}
        for i, k in enumerate(kinds):
            if k != "primary_care":
                by_kind[k] = i
        for k in ("specialist", "hospital", "post_acute", "other"):
            if k not in by_kind:  # services of a kind nobody listed go to an implicit provider
                by_kind[k] = len(names)
                names.append(f"unlisted_{k}")
                kinds.append(k)
        pcs = [i for i, k in enumerate(kinds) if k == "primary_care"]
        outside: dict[str, int] = {}
        if sc.attribution.enabled:  # appended last: existing indices do not move
            for k in OUTSIDE_KINDS:
                outside[k] = len(names)
                names.append(f"{OUTSIDE_PREFIX}{k}")
                kinds.append(k)
        return cls(names=names, kinds=kinds, primary_care=pcs, by_kind=by_kind,
                   outside=outside)

    @property
    def outside_indices(self) -> list[int]:
        """Indices of the outside providers (empty with attribution off)."""
        return list(self.outside.values())
