"""Schemas of /v1/market."""

from irra_openstack.api.schemas import common

RESOURCE_CLASS = {'type': 'string', 'pattern': '^[A-Z0-9_]{1,255}$'}

TRADES_QUERY = common.list_query(
    buyer_region=common.name,
    seller_region=common.name,
    resource_class=RESOURCE_CLASS,
    plan=common.uuid)

ORDERS_QUERY = {'type': 'object',
                'properties': {'region': common.name,
                               'resource_class': RESOURCE_CLASS},
                'additionalProperties': False}

PRICES_QUERY = {'type': 'object',
                'properties': {'resource_class': RESOURCE_CLASS},
                'additionalProperties': False}
