"""Schemas of /v1/plans and of their actions."""

from irra_openstack.api.schemas import common
from irra_openstack.db import constants

_names = {'type': 'array', 'items': common.name, 'maxItems': 1000,
          'uniqueItems': True}

SCOPE = {
    'type': 'object',
    'description': 'What the plan covers: a region, an aggregate or an '
                   'availability zone (one at least), less exclusions.',
    'properties': {
        'region': common.name,
        'aggregate': common.name,
        'availability_zone': common.name,
        'exclusions': {
            'type': 'object',
            'properties': {
                'hosts': _names,
                'instances': {'type': 'array', 'items': common.uuid,
                              'maxItems': 1000, 'uniqueItems': True},
                'aggregates': _names,
            },
            'additionalProperties': False,
        },
    },
    'anyOf': [{'required': ['region']}, {'required': ['aggregate']},
              {'required': ['availability_zone']}],
    'additionalProperties': False,
}

CREATE = {
    'type': 'object',
    'properties': {
        'scope': SCOPE,
        'mode': {'type': 'string', 'enum': ['one-shot', 'continuous'],
                 'description': 'one-shot (the default): one planning '
                                'cycle; continuous: a new plan every '
                                'cycle until cancelled.'},
        'automation_level': {
            'type': 'string',
            'enum': ['advisory', 'manual', 'partial', 'full'],
            'description': 'advisory: only shown; manual (the default): '
                           'runs once approved; partial: low-risk actions '
                           'run alone, the rest once approved; full: runs '
                           'at once.'},
        'description': {'type': 'string', 'maxLength': 255},
    },
    'required': ['scope'],
    'additionalProperties': False,
}

LIST_QUERY = common.list_query(
    state={'type': 'string', 'enum': list(constants.PlanState.ALL)})

ACTION_LIST_QUERY = common.list_query(
    state={'type': 'string', 'enum': list(constants.ActionState.ALL)})

#: The body of approve and cancel: an optional reason.
TRANSITION = {
    'type': 'object',
    'properties': {'reason': {'type': 'string', 'maxLength': 255}},
    'additionalProperties': False,
}

#: The body of skip and retry: the reason is required.
ACTION_TRANSITION = {
    'type': 'object',
    'properties': {'reason': {'type': 'string', 'minLength': 1,
                              'maxLength': 255}},
    'required': ['reason'],
    'additionalProperties': False,
}
