"""Peers that the replay benchmark measures irra against.

- :mod:`.reactive`: Beloglazov and Buyya's THR-MMT threshold policy;
- :mod:`.watcher`: OpenStack Watcher's strategies, run offline from the
  ``python-watcher`` package on the replay state.
"""
