"""The OpenAPI 3.1 document of irra-api, built from the route table and
the request schemas.

``python -m irra_openstack.api.openapi`` writes
``irra_openstack/api/openapi.yaml``; a unit test checks that the file is
what this module builds, so the document never drifts from the schemas the
handlers validate with.
"""

import copy
import os
import sys

import yaml

from irra_openstack.api import microversion
from irra_openstack.api import router
from irra_openstack.api.schemas import anomaly
from irra_openstack.api.schemas import common
from irra_openstack.api.schemas import forecast
from irra_openstack.api.schemas import market
from irra_openstack.api.schemas import plan
from irra_openstack.api.schemas import region
from irra_openstack.api.schemas import reservation
from irra_openstack.api.schemas import sla

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    'openapi.yaml')

_NONE = common.NO_QUERY

#: (path, method) -> (summary, query schema, body schema, success status)
OPERATIONS = {
    ('/', 'GET'): ('API versions (no token needed).', _NONE, None, 200),
    ('/v1', 'GET'): ('The v1 API and its microversions (no token needed).',
                     _NONE, None, 200),
    ('/v1/regions', 'GET'): ('List regions.', region.LIST_QUERY, None, 200),
    ('/v1/regions/{region}', 'GET'): ('Show a region.', _NONE, None, 200),
    ('/v1/forecasts', 'GET'): ('List forecasts (without their values).',
                               forecast.LIST_QUERY, None, 200),
    ('/v1/forecasts/{forecast_id}', 'GET'): (
        'Show a forecast with its values and intervals.', _NONE, None, 200),
    ('/v1/anomalies', 'GET'): ('List anomalies.', anomaly.LIST_QUERY, None,
                               200),
    ('/v1/anomalies/{anomaly_id}', 'GET'): (
        'Show an anomaly with its root-cause report.', _NONE, None, 200),
    ('/v1/plans', 'GET'): ('List plans.', plan.LIST_QUERY, None, 200),
    ('/v1/plans', 'POST'): ('Create a plan.', _NONE, plan.CREATE, 201),
    ('/v1/plans/{plan_id}', 'GET'): ('Show a plan.', _NONE, None, 200),
    ('/v1/plans/{plan_id}/approve', 'POST'): (
        'Approve a PENDING plan.', _NONE, plan.TRANSITION, 200),
    ('/v1/plans/{plan_id}/cancel', 'POST'): (
        'Cancel a plan.', _NONE, plan.TRANSITION, 200),
    ('/v1/plans/{plan_id}/actions', 'GET'): (
        'List the actions of a plan.', plan.ACTION_LIST_QUERY, None, 200),
    ('/v1/plans/{plan_id}/actions/{action_id}', 'GET'): (
        'Show an action.', _NONE, None, 200),
    ('/v1/plans/{plan_id}/actions/{action_id}/skip', 'POST'): (
        'Skip a PENDING action, with a reason.', _NONE,
        plan.ACTION_TRANSITION, 200),
    ('/v1/plans/{plan_id}/actions/{action_id}/retry', 'POST'): (
        'Run a FAILED action again, with a reason.', _NONE,
        plan.ACTION_TRANSITION, 200),
    ('/v1/reservations', 'GET'): ('List reservations.',
                                  reservation.LIST_QUERY, None, 200),
    ('/v1/reservations/{reservation_id}', 'GET'): (
        'Show a reservation.', _NONE, None, 200),
    ('/v1/reservations/{reservation_id}', 'DELETE'): (
        'Release a reservation.', _NONE, None, 204),
    ('/v1/market/offers', 'GET'): ('List offers.', market.ORDERS_QUERY,
                                   None, 200),
    ('/v1/market/bids', 'GET'): ('List bids.', market.ORDERS_QUERY, None,
                                 200),
    ('/v1/market/trades', 'GET'): ('List trades.', market.TRADES_QUERY,
                                   None, 200),
    ('/v1/market/prices', 'GET'): ('Prices per resource class.',
                                   market.PRICES_QUERY, None, 200),
    ('/v1/slas', 'GET'): ('List SLAs.', sla.SLA_LIST_QUERY, None, 200),
    ('/v1/slas', 'POST'): ('Create an SLA.', _NONE, sla.SLA_CREATE, 201),
    ('/v1/slas/{sla_id}', 'GET'): ('Show an SLA.', _NONE, None, 200),
    ('/v1/slas/{sla_id}', 'PATCH'): ('Change an SLA.', _NONE,
                                     sla.SLA_UPDATE, 200),
    ('/v1/slas/{sla_id}', 'DELETE'): ('Delete an SLA.', _NONE, None, 204),
    ('/v1/cost-models', 'GET'): ('List cost models.',
                                 sla.COST_MODEL_LIST_QUERY, None, 200),
    ('/v1/cost-models', 'POST'): ('Create a cost model.', _NONE,
                                  sla.COST_MODEL_CREATE, 201),
    ('/v1/cost-models/{cost_model_id}', 'GET'): (
        'Show a cost model.', _NONE, None, 200),
    ('/v1/cost-models/{cost_model_id}', 'PATCH'): (
        'Change a cost model.', _NONE, sla.COST_MODEL_UPDATE, 200),
    ('/v1/cost-models/{cost_model_id}', 'DELETE'): (
        'Delete a cost model.', _NONE, None, 204),
    ('/v1/headroom', 'GET'): (
        'The headroom snapshot (microversion 1.2), with an ETag.', _NONE,
        None, 200),
}

#: The schema of each path parameter.
PATH_PARAMETERS = {
    'region': common.name,
    'forecast_id': {'type': 'string', 'pattern': '^[1-9][0-9]{0,17}$'},
    'anomaly_id': common.uuid,
    'plan_id': common.uuid,
    'action_id': common.uuid,
    'reservation_id': common.uuid,
    'sla_id': common.uuid,
    'cost_model_id': common.uuid,
}

ERROR = {
    'type': 'object',
    'required': ['errors'],
    'properties': {'errors': {
        'type': 'array', 'minItems': 1,
        'items': {
            'type': 'object',
            'required': ['status', 'code', 'title', 'detail', 'request_id'],
            'properties': {
                'status': {'type': 'integer'},
                'code': {'type': 'string'},
                'title': {'type': 'string'},
                'detail': {'type': 'string'},
                'request_id': {'type': ['string', 'null']},
            },
        },
    }},
}


def _clean(schema):
    schema = copy.deepcopy(schema)
    schema.pop('description', None)
    return schema


def _operation(template, method):
    summary, query, body, status = OPERATIONS[(template, method)]
    operation = {'summary': summary,
                 'operationId': '%s %s' % (method, template)}
    parameters = [{'name': name, 'in': 'path', 'required': True,
                   'schema': copy.deepcopy(PATH_PARAMETERS[name])}
                  for name in router._SEGMENT.findall(template)]
    for name, schema in query.get('properties', {}).items():
        parameter = {'name': name, 'in': 'query', 'required': False,
                     'schema': _clean(schema)}
        if schema.get('description'):
            parameter['description'] = schema['description']
        parameters.append(parameter)
    if parameters:
        operation['parameters'] = parameters
    if body is not None:
        operation['requestBody'] = {
            # Approving and cancelling take an optional body.
            'required': not template.endswith(('/approve', '/cancel')),
            'content': {'application/json': {
                'schema': copy.deepcopy(body)}}}
    success = {'description': 'Success.'}
    if status != 204:
        success['content'] = {'application/json': {
            'schema': {'type': 'object'}}}
    operation['responses'] = {
        str(status): success,
        'default': {'description': 'An error, in irra\'s error format.',
                    'content': {'application/json': {
                        'schema': {'$ref': '#/components/schemas/Error'}}}},
    }
    if template in router.PUBLIC_PATHS:
        operation['security'] = []
    return operation


def build():
    """The OpenAPI document, as a dict."""
    paths = {}
    for template, methods in router.ROUTES.items():
        paths[template] = {method.lower(): _operation(template, method)
                           for method in sorted(methods)}
    versions = '; '.join('%s: %s' % v for v in microversion.VERSIONS)
    return {
        'openapi': '3.1.0',
        'info': {
            'title': 'irra-api',
            'version': str(microversion.MAX_VERSION),
            'description': (
                'The REST API of irra (inter-region resource allocation). '
                'Send "OpenStack-API-Version: irra 1.x"; microversions: '
                + versions + '.'),
        },
        'security': [{'token': []}],
        'paths': paths,
        'components': {
            'schemas': {'Error': ERROR},
            'securitySchemes': {'token': {
                'type': 'apiKey', 'in': 'header', 'name': 'X-Auth-Token'}},
        },
    }


def dump():
    """The document as YAML text."""
    return yaml.safe_dump(build(), sort_keys=False, width=79)


def main():
    with open(PATH, 'w') as f:
        f.write(dump())
    print('Wrote %s' % PATH)


if __name__ == '__main__':
    sys.exit(main())
