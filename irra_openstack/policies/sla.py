"""Policy rules of irra-api's slas endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base
from irra_openstack.policies import scope

PREFIX = 'irra:sla:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description=("List SLAs: a project's own, or every project's for "
                     'whom irra:all_projects allows.'),
        operations=[{'path': '/v1/slas',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description='Show an SLA.',
        operations=[{'path': '/v1/slas/{sla_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'create',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Create an SLA for the project of the token.',
        operations=[{'path': '/v1/slas',
                     'method': 'POST'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'update',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Change an SLA.',
        operations=[{'path': '/v1/slas/{sla_id}',
                     'method': 'PATCH'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'delete',
        check_str=scope.PROJECT_MEMBER_OR_ADMIN,
        description='Delete an SLA.',
        operations=[{'path': '/v1/slas/{sla_id}',
                     'method': 'DELETE'}],
        scope_types=['project']),
]


def list_rules():
    return rules
