"""Anomaly detection: the "Detect" step of a planning cycle.

Detectors are plugins of the ``irra.anomaly_detectors`` namespace (see
:mod:`irra_openstack.anomaly.base`); :mod:`irra_openstack.anomaly.rootcause`
explains the anomalies of hosts, applications and regions by the VMs and
metrics below them.
"""
