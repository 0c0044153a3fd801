"""oslo.policy defaults of irra.

The base rules follow OpenStack's secure RBAC personas: admin, project member
and reader, and system-scoped readers for operator-wide views. The API's
per-resource rules build on these.
"""

import itertools

from irra_openstack.policies import base


def list_rules():
    return list(itertools.chain(base.list_rules()))
