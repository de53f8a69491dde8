"""Hospital global budgets, Maryland All-Payer / Pennsylvania Rural Health Model-like
(``type: global_budget``): ``config`` (scenario model), ``rules`` (pure rules), ``settler``
(settles a run's year)."""
