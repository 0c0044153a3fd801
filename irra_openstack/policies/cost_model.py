"""Policy rules of irra-api's cost models endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base
from irra_openstack.policies import scope

PREFIX = 'irra:cost_model:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=scope.ANY_READER,
        description='List cost models.',
        operations=[{'path': '/v1/cost-models',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=scope.ANY_READER,
        description='Show a cost model.',
        operations=[{'path': '/v1/cost-models/{cost_model_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'create',
        check_str=base.ADMIN,
        description='Create a cost model.',
        operations=[{'path': '/v1/cost-models',
                     'method': 'POST'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'update',
        check_str=base.ADMIN,
        description='Change a cost model.',
        operations=[{'path': '/v1/cost-models/{cost_model_id}',
                     'method': 'PATCH'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'delete',
        check_str=base.ADMIN,
        description='Delete a cost model.',
        operations=[{'path': '/v1/cost-models/{cost_model_id}',
                     'method': 'DELETE'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
