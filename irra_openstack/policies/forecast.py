"""Policy rules of irra-api's forecasts endpoints."""

from oslo_policy import policy

from irra_openstack.policies import scope

PREFIX = 'irra:forecast:%s'

rules = [
    policy.DocumentedRuleDefault(
        name=PREFIX % 'list',
        check_str=scope.SYSTEM_OR_ADMIN,
        description=('List forecasts. Forecasts belong to no project (a VM '
                     'forecast is about a VM of any project), so only '
                     'system readers and administrators read them.'),
        operations=[{'path': '/v1/forecasts',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
    policy.DocumentedRuleDefault(
        name=PREFIX % 'show',
        check_str=scope.SYSTEM_OR_ADMIN,
        description='Show a forecast with its values and intervals.',
        operations=[{'path': '/v1/forecasts/{forecast_id}',
                     'method': 'GET'}],
        scope_types=['system', 'project']),
]


def list_rules():
    return rules
