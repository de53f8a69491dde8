"""Risk-adjusted capitation with scope, corridors and stop-loss (``type: capitation``):
``config`` (scenario model), ``rules`` (pure rules), ``settler`` (settles a run's year)."""
