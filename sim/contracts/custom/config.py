"""Scenario configuration of a payment model written in Python (``type: custom``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.contracts.config import ContractConfig


class CustomContract(ContractConfig):
    """A payment model written in Python and registered under ``kind``.

    ``sim.settlement.register_custom(kind, SettlerClass)`` makes it available to runs started
    from the same Python session, on any backend (the class is sent to the workers); give
    ``kind: package.module:Class`` to import it instead (e.g. for ``vbcsim run``); the settler
    receives this configuration (``params`` holds its own parameters) and settles like the
    built-in contracts (``docs/contracts.md``, notebook ``03_custom_contract.ipynb``).
    """

    type: Literal["custom"] = "custom"
    kind: str = Field(description="Name the Python implementation was registered under.",
                      min_length=1)
    provider: str = Field(description="The provider that holds the contract.")
    params: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="Parameters of the custom contract (its own units).")
    needs_history: bool = Field(False, description="Keep three baseline years of history "
                                "(plan years -3..-1) for this contract, as MSSP does.")

    def requires_history(self) -> bool:
        return self.needs_history
