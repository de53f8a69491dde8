"""ACO REACH-style Global / Professional risk (``type: reach``): ``config`` (scenario
model), ``rules`` (pure rules), ``settler`` (settles a run's year)."""
