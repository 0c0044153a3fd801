"""The allocation engine: turns forecasts into a plan.

- :mod:`.model`: the cluster state that every planner works on;
- :mod:`.actions`: the actions a planner emits, each with its reason;
- the ``irra.optimizers`` plugins (region LP, host rebalancing, surge
  shadowing, overcommit) and the ``irra.schedulers`` plugins (migration
  waves).
"""
