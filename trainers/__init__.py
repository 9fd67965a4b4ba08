"""Learning algorithms for multi-turn agents: a shared core, then one module per algorithm."""
