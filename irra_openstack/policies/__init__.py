"""oslo.policy defaults of irra.

The base rules follow OpenStack's secure RBAC personas: admin, project member
and reader, and system-scoped readers for operator-wide views. The API's
per-resource rules build on these.
"""

import itertools

from irra_openstack.policies import action
from irra_openstack.policies import anomaly
from irra_openstack.policies import base
from irra_openstack.policies import cost_model
from irra_openstack.policies import forecast
from irra_openstack.policies import headroom
from irra_openstack.policies import market
from irra_openstack.policies import plan
from irra_openstack.policies import region
from irra_openstack.policies import reservation
from irra_openstack.policies import scope
from irra_openstack.policies import sla


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        scope.list_rules(),
        forecast.list_rules(),
        region.list_rules(),
        anomaly.list_rules(),
        plan.list_rules(),
        action.list_rules(),
        reservation.list_rules(),
        market.list_rules(),
        sla.list_rules(),
        cost_model.list_rules(),
        headroom.list_rules(),
    ))
