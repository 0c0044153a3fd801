"""Nova scheduler filter and weigher on irra's predicted headroom.

:mod:`.filters` and :mod:`.weighers` are loaded by nova-scheduler by class
path; :mod:`.snapshot` is the headroom snapshot (its encoding, and the loader
that refreshes it in the background); :mod:`.headroom` the arithmetic they
share. Only :mod:`.filters` and :mod:`.weighers` import Nova, and nothing here
imports numpy, pandas or scikit-learn. :mod:`.bench` is the benchmark behind
``irra-manage bench scheduler``; nova-scheduler never imports it.
"""
