"""Medicare Shared Savings Program, all tracks (``type: mssp``): ``config`` (scenario
model), ``rules`` (settlement of a performance year), ``benchmark`` (benchmark rules),
``settler`` (settles a run's year)."""
