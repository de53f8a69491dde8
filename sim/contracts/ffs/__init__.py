"""Fee-for-service with a MIPS-style pay-for-performance adjustment (``type: ffs``):
``config`` (scenario model), ``rules`` (pure rules), ``settler`` (settles a run's year)."""
