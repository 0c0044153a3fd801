"""Policy rules of irra-api's regions endpoints."""

from oslo_policy import policy

from irra_openstack.policies import scope

PREFIX = 'irra:region:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=scope.ANY_READER,
        description=('List regions with their reservations and market '
                     'position.'),
        operations=[{'path': '/v1/regions',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=scope.ANY_READER,
        description='Show a region.',
        operations=[{'path': '/v1/regions/{region}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
