"""Schemas of /v1/slas and /v1/cost-models."""

import copy

from irra_openstack.api.schemas import common

_SLA_PROPERTIES = {
    'name': common.name,
    'tier': {'type': 'string', 'minLength': 1, 'maxLength': 64,
             'pattern': r'^[^\x00-\x1f\x7f]+$'},
    'confidence_level': {'type': 'number', 'exclusiveMinimum': 0,
                         'exclusiveMaximum': 1,
                         'description': 'Probability that predicted demand '
                                        'plus headroom is met, e.g. 0.95.'},
    'headroom': {'type': 'number', 'minimum': 0, 'maximum': 100,
                 'description': 'Capacity kept free above the forecast, as '
                                'a fraction (0.2 is 20 %).'},
    'penalty': {'type': 'number', 'minimum': 0, 'maximum': 1e12,
                'description': 'Cost of one violation.'},
}

SLA_CREATE = {
    'type': 'object',
    'properties': copy.deepcopy(_SLA_PROPERTIES),
    'required': ['name', 'tier', 'confidence_level'],
    'additionalProperties': False,
}

SLA_UPDATE = {
    'type': 'object',
    'properties': copy.deepcopy(_SLA_PROPERTIES),
    'minProperties': 1,
    'additionalProperties': False,
}

SLA_LIST_QUERY = common.list_query(tier=_SLA_PROPERTIES['tier'])

_COST_MODEL_PROPERTIES = {
    'name': common.name,
    'plugin': {'type': 'string', 'pattern': '^[A-Za-z0-9_.-]{1,255}$',
               'description': 'Name of a cost model plugin (namespace '
                              'irra.cost_models).'},
    'parameters': {'type': 'object', 'maxProperties': 100,
                   'description': 'The arguments of the plugin.'},
}

COST_MODEL_CREATE = {
    'type': 'object',
    'properties': copy.deepcopy(_COST_MODEL_PROPERTIES),
    'required': ['name', 'plugin'],
    'additionalProperties': False,
}

COST_MODEL_UPDATE = {
    'type': 'object',
    'properties': copy.deepcopy(_COST_MODEL_PROPERTIES),
    'minProperties': 1,
    'additionalProperties': False,
}

COST_MODEL_LIST_QUERY = common.list_query(plugin=_COST_MODEL_PROPERTIES[
    'plugin'])
