"""The providers of a run: names, kinds, and which provider bills each kind of service.

Built from the scenario's provider list; kinds nobody listed get an implicit provider
(``unlisted_<kind>``) so that every claim has a billing provider. Read by the care model
(who bills what, which groups hold a panel) and by settlement (names and kinds).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.schema import Scenario


@dataclass
class ProviderTable:
    """Providers of a run: names, kinds, and the provider that bills each kind."""

    names: list[str]
    kinds: list[str]
    primary_care: list[int]
    by_kind: dict[str, int]

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
        return cls(names=names, kinds=kinds, primary_care=pcs, by_kind=by_kind)
