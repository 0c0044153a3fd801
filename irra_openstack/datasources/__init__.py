"""Metric datasources: Gnocchi, Prometheus and trace replay.

Every datasource answers one question per region: the values of a set of
metrics for every VM (or host) of the region over ``[start, end)`` on a
regular grid of ``step`` seconds. It asks its server one batched question
per metric per region, never one per VM, and says plainly when its answer
is partial. See :mod:`irra_openstack.datasources.base`.
"""
