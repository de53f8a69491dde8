"""BPCI Advanced-like bundled payments (``type: bundled``): ``config`` (scenario model),
``rules`` (pure rules), ``settler`` (settles a run's year)."""
