"""Shared rules of irra-api: who sees every project, who reads what.

Built on :mod:`irra_openstack.policies.base`'s personas. The per-resource
rules of the API (in the other modules of this package) refer to these.
"""

from oslo_policy import policy

from irra_openstack.policies import base

ALL_PROJECTS = 'irra:all_projects'
SYSTEM_OR_ADMIN = 'rule:system_or_admin'
ANY_READER = 'rule:any_reader'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'

rules = [
    policy.RuleDefault(
        name='system_or_admin',
        check_str='%s or %s' % (base.SYSTEM_READER, base.ADMIN),
        description='A system-scoped reader or an administrator: '
                    'operator-wide data that belongs to no project.'),
    policy.RuleDefault(
        name='any_reader',
        check_str='role:reader or %s' % base.ADMIN,
        description='Anyone with the reader role (implied by member and '
                    'admin) in any project or in the system scope: data '
                    'that is not secret to any project.'),
    policy.RuleDefault(
        name='project_member_or_admin',
        check_str='%s or %s' % (base.PROJECT_MEMBER, base.ADMIN),
        description='A member of the project that owns the resource, or '
                    'an administrator.'),
    policy.DocumentedRuleDefault(
        name=ALL_PROJECTS,
        check_str=SYSTEM_OR_ADMIN,
        description='See every project\'s resources in lists (anomalies, '
                    'plans, actions, reservations, SLAs). Anyone else sees '
                    'only the resources of the project of their token.',
        operations=[{'path': '/v1/anomalies', 'method': 'GET'},
                    {'path': '/v1/plans', 'method': 'GET'},
                    {'path': '/v1/reservations', 'method': 'GET'},
                    {'path': '/v1/slas', 'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
