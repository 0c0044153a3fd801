"""Policy rules of irra-api's reservations endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base
from irra_openstack.policies import scope

PREFIX = 'irra:reservation:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description=("List reservations: a project's own, or every "
                     "project's for whom irra:all_projects allows."),
        operations=[{'path': '/v1/reservations',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description='Show a reservation.',
        operations=[{'path': '/v1/reservations/{reservation_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'delete',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Release a PENDING or ACTIVE reservation.',
        operations=[{'path': '/v1/reservations/{reservation_id}',
                     'method': 'DELETE'}],
        scope_types=['project']),
]


def list_rules():
    return rules
