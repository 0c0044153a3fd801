"""The oslo.policy enforcer of irra."""

from oslo_config import cfg
from oslo_policy import policy

from irra_openstack import policies

_ENFORCER = None


def get_enforcer(conf=None):
    """The enforcer, with irra's defaults registered.

    Also the ``oslo.policy.enforcer`` entry point, which oslopolicy tools
    use to show effective policy.
    """
    global _ENFORCER
    if _ENFORCER is None:
        if conf is None:
            conf = cfg.CONF
            conf([], project='irra')
        _ENFORCER = policy.Enforcer(conf)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER
