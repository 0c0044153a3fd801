"""/v1/market: offers, bids, trades and prices."""

from irra_openstack.api.schemas import market as schema
from irra_openstack.api import util
from irra_openstack.db import market_api


def _order_view(entry):
    return dict(entry, updated_at=util.isotime(entry['updated_at']))


def list_offers(req):
    util.authorize(req, 'irra:market:offers')
    params = util.query(req, schema.ORDERS_QUERY)
    offers = market_api.orders('sell', region=params.get('region'),
                               resource_class=params.get('resource_class'))
    return util.json_response({'offers': [_order_view(o) for o in offers]})


def list_bids(req):
    util.authorize(req, 'irra:market:bids')
    params = util.query(req, schema.ORDERS_QUERY)
    bids = market_api.orders('buy', region=params.get('region'),
                             resource_class=params.get('resource_class'))
    return util.json_response({'bids': [_order_view(b) for b in bids]})


def trade_view(row):
    return {
        'id': row['uuid'],
        'buyer_region': row['buyer_region'],
        'seller_region': row['seller_region'],
        'resource_class': row['resource_class'],
        'quantity': row['quantity'],
        'price': row['price'],
        'plan_id': row['plan_uuid'],
        'created_at': util.isotime(row['created_at']),
    }


def list_trades(req):
    util.authorize(req, 'irra:market:trades')
    params = util.query(req, schema.TRADES_QUERY)
    limit = util.limit_of(req, params)
    rows = market_api.trade_list(
        buyer_region=params.get('buyer_region'),
        seller_region=params.get('seller_region'),
        resource_class=params.get('resource_class'),
        plan_uuid=params.get('plan'), marker=params.get('marker'),
        limit=limit)
    items = [trade_view(r) for r in rows]
    return util.json_response(
        util.page(req, 'trades', items, limit, lambda t: t['id']))


def list_prices(req):
    util.authorize(req, 'irra:market:prices')
    params = util.query(req, schema.PRICES_QUERY)
    prices = market_api.prices(resource_class=params.get('resource_class'))
    return util.json_response({'prices': [_order_view(p) for p in prices]})
