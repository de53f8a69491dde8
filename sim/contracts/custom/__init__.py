"""Payment models written in Python (``type: custom, kind: <name>``): ``config`` (scenario
model). The settler is the user's class (a :class:`~sim.contracts.settler.BaseSettler`),
resolved by ``sim.contracts.resolve``: registered in the session, an installed entry
point of the ``vbcsim.contracts`` group, or an import path with the user's opt-in."""
