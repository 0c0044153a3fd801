"""Policy rules of irra-api's anomalies endpoints."""

from oslo_policy import policy

from irra_openstack.policies import base

PREFIX = 'irra:anomaly:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description=("List anomalies: a project's own, or every project's "
                     'for whom irra:all_projects allows.'),
        operations=[{'path': '/v1/anomalies',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=base.PROJECT_READER_OR_SYSTEM_READER,
        description='Show an anomaly with its root-cause report.',
        operations=[{'path': '/v1/anomalies/{anomaly_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
