"""Policy rules of irra-api's market endpoints."""

from oslo_policy import policy

from irra_openstack.policies import scope

PREFIX = 'irra:market:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'offers',
        check_str=scope.ANY_READER,
        description='List the capacity that regions offer.',
        operations=[{'path': '/v1/market/offers',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'bids',
        check_str=scope.ANY_READER,
        description='List the capacity that regions bid for.',
        operations=[{'path': '/v1/market/bids',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'trades',
        check_str=scope.ANY_READER,
        description='List the trades between regions.',
        operations=[{'path': '/v1/market/trades',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'prices',
        check_str=scope.ANY_READER,
        description='Show the prices per resource class.',
        operations=[{'path': '/v1/market/prices',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
