"""irra-rrm: the regional resource manager, one per region.

An oslo.messaging RPC server (topic ``irra-rrm``, server = the region name)
that reports capacity, keeps reservations in the region's Placement and runs
actions through the region's Nova with the ``irra.executors`` plugins.
"""
