"""Policy rules of irra-api's headroom endpoints."""

from oslo_policy import policy

from irra_openstack.policies import scope

PREFIX = 'irra:headroom:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=scope.SYSTEM_OR_ADMIN + ' or role:service',
        description=('Read the headroom snapshot of the scheduler plugin '
                     '(microversion 1.2). The service role is allowed too, '
                     "for nova-scheduler's service user."),
        operations=[{'path': '/v1/headroom',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
