"""Policy rules of irra-api's actions endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base
from irra_openstack.policies import scope

PREFIX = 'irra:action:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description=("List the actions of a plan (the plan's project "
                     'decides).'),
        operations=[{'path': '/v1/plans/{plan_id}/actions',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description='Show an action.',
        operations=[{'path': '/v1/plans/{plan_id}/actions/{action_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'skip',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Skip a PENDING action, with a reason.',
        operations=[{'path': '/v1/plans/{plan_id}/actions/{action_id}/skip',
                     'method': 'POST'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'retry',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Run a FAILED action again, with a reason.',
        operations=[{'path': '/v1/plans/{plan_id}/actions/{action_id}/retry',
                     'method': 'POST'}],
        scope_types=['project']),
]


def list_rules():
    return rules
