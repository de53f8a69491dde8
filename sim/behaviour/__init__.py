"""Provider behaviour: practice levers chosen each year from the incentives of contracts."""
