"""Policy rules of irra-api's plans endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base
from irra_openstack.policies import scope

PREFIX = 'irra:plan:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description=("List plans: a project's own, or every project's for "
                     'whom irra:all_projects allows.'),
        operations=[{'path': '/v1/plans',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description='Show a plan.',
        operations=[{'path': '/v1/plans/{plan_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'create',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Create a plan for the project of the token.',
        operations=[{'path': '/v1/plans',
                     'method': 'POST'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'approve',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Approve a PENDING plan, so that its actions run.',
        operations=[{'path': '/v1/plans/{plan_id}/approve',
                     'method': 'POST'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'cancel',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description=('Cancel a plan that has not ended; its PENDING '
                     'actions are CANCELLED.'),
        operations=[{'path': '/v1/plans/{plan_id}/cancel',
                     'method': 'POST'}],
        scope_types=['project']),
]


def list_rules():
    return rules
