"""The marketplace and the regions, from what the database holds.

The region LP of the engine records each market round: the offers and bids
the regions posted (``market_orders``) and the trades that cleared
(``market_trades``), in one transaction. The offers and bids irra-api
shows are those of the latest recorded round; before any round recorded
its orders, they are the two sides of the recorded trades, per region and
resource class. The price of a resource class is the price of its latest
trade. A region is any region that a reservation, a trade or a region
forecast names; its capacity and headroom are not stored yet (irra-rrm
reports them), so they are None.
"""

import collections

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import constants
from irra_openstack.db import models
from irra_openstack.db import paging_api
from irra_openstack.db import plan_api
from irra_openstack import exception

TRADE_FIELDS = ('uuid', 'buyer_region', 'seller_region', 'resource_class',
                'quantity', 'price', 'created_at')
ORDER_FIELDS = ('uuid', 'round_uuid', 'region', 'resource_class', 'side',
                'quantity', 'price', 'created_at')


class RegionNotFound(exception.IrraError):
    msg_fmt = "Region %(name)s was not found."


def _trade_dict(row, plan_uuid):
    trade = paging_api.as_dict(row, TRADE_FIELDS)
    trade['plan_uuid'] = plan_uuid
    return trade


def trade_list(buyer_region=None, seller_region=None, resource_class=None,
               plan_uuid=None, marker=None, limit=None, context=None):
    """A page of trades, oldest first."""
    table = models.MarketTrade
    query = sa.select(table, models.Plan.uuid).outerjoin(
        models.Plan, table.plan_id == models.Plan.id)
    for column, value in ((table.buyer_region, buyer_region),
                          (table.seller_region, seller_region),
                          (table.resource_class, resource_class),
                          (models.Plan.uuid, plan_uuid)):
        if value is not None:
            query = query.where(column == value)
    with api.read_session(context) as session:
        query = paging_api.page_query(session, table, query, marker, limit)
        return [_trade_dict(row, plan) for row, plan in session.execute(query)]


def prices(resource_class=None, context=None):
    """Per resource class: latest price, mean price, trade count."""
    table = models.MarketTrade
    query = sa.select(table.resource_class, table.price, table.quantity,
                      table.created_at).order_by(table.id)
    if resource_class is not None:
        query = query.where(table.resource_class == resource_class)
    result = {}
    with api.read_session(context) as session:
        for rc, price, quantity, created in session.execute(query):
            entry = result.setdefault(rc, {
                'resource_class': rc, 'trades': 0, 'quantity': 0.0,
                '_value': 0.0})
            entry['trades'] += 1
            entry['quantity'] += quantity
            entry['_value'] += price * quantity
            entry['price'] = price
            entry['updated_at'] = created
    for entry in result.values():
        value = entry.pop('_value')
        entry['mean_price'] = (value / entry['quantity']
                               if entry['quantity'] else entry['price'])
    return [result[rc] for rc in sorted(result)]


def orders(side, region=None, resource_class=None, context=None):
    """Offers (``side`` 'sell') or bids ('buy'), per region and class.

    The orders of the latest recorded round (one entry per region and
    class: quantity summed, price weighted by quantity, ``trades`` the
    trades of that round on that side), or, before any round recorded its
    orders, the matching side of every recorded trade.
    """
    with api.read_session(context) as session:
        latest = session.execute(
            sa.select(models.MarketOrder.round_uuid, models.MarketOrder
                      .created_at, models.MarketOrder.plan_id)
            .order_by(models.MarketOrder.id.desc()).limit(1)).first()
    if latest is None:
        return _orders_from_trades(side, region, resource_class, context)
    round_uuid, created, plan_id = latest
    table = models.MarketOrder
    query = sa.select(table.region, table.resource_class, table.quantity,
                      table.price, table.created_at).where(
        table.round_uuid == round_uuid, table.side == side).order_by(
        table.id)
    if region is not None:
        query = query.where(table.region == region)
    if resource_class is not None:
        query = query.where(table.resource_class == resource_class)
    trade = models.MarketTrade
    column = trade.seller_region if side == 'sell' else trade.buyer_region
    same_plan = (trade.plan_id == plan_id if plan_id is not None
                 else trade.plan_id.is_(None))
    counted = sa.select(
        column, trade.resource_class, sa.func.count()).where(
        trade.created_at == created, same_plan).group_by(
        column, trade.resource_class)
    result = {}
    with api.read_session(context) as session:
        counts = {(r, rc): n for r, rc, n in session.execute(counted)}
        for name, rc, quantity, price, when in session.execute(query):
            entry = result.setdefault((name, rc), {
                'region': name, 'resource_class': rc, 'quantity': 0.0,
                'trades': counts.get((name, rc), 0), '_value': 0.0})
            entry['quantity'] += quantity
            entry['_value'] += quantity * price
            entry['updated_at'] = when
    for entry in result.values():
        entry['price'] = entry.pop('_value') / entry['quantity']
    return [result[key] for key in sorted(result)]


def _orders_from_trades(side, region, resource_class, context):
    table = models.MarketTrade
    column = table.seller_region if side == 'sell' else table.buyer_region
    query = sa.select(column, table.resource_class, table.quantity,
                      table.price, table.created_at).order_by(table.id)
    if region is not None:
        query = query.where(column == region)
    if resource_class is not None:
        query = query.where(table.resource_class == resource_class)
    result = {}
    with api.read_session(context) as session:
        for name, rc, quantity, price, created in session.execute(query):
            entry = result.setdefault((name, rc), {
                'region': name, 'resource_class': rc, 'quantity': 0.0,
                'trades': 0})
            entry['quantity'] += quantity
            entry['trades'] += 1
            entry['price'] = price
            entry['updated_at'] = created
    return [result[key] for key in sorted(result)]


def region_names(context=None):
    """Every region that a reservation, a trade or a forecast names."""
    with api.read_session(context) as session:
        names = set(session.execute(
            sa.select(models.Reservation.region).distinct()).scalars())
        names.update(session.execute(
            sa.select(models.MarketTrade.buyer_region).distinct()).scalars())
        names.update(session.execute(
            sa.select(models.MarketTrade.seller_region).distinct())
            .scalars())
        names.update(session.execute(
            sa.select(models.Forecast.resource_id).where(
                models.Forecast.resource_kind ==
                constants.ResourceKind.REGION).distinct()).scalars())
    return sorted(names)


def region_get(name, context=None):
    """What the database knows of one region.

    :raises RegionNotFound: nothing names it.
    """
    if name not in region_names(context):
        raise RegionNotFound(name=name)
    return _region(context, name)


def region_list(marker=None, limit=None, context=None):
    """A page of regions, in name order; the marker is a name."""
    names = region_names(context)
    if marker is not None:
        if marker not in names:
            raise paging_api.MarkerNotFound(marker=marker)
        names = [n for n in names if n > marker]
    if limit is not None:
        names = names[:int(limit)]
    return [_region(context, name) for name in names]


def _region(session_context, name):
    reserved = collections.defaultdict(float)
    position = {}
    forecasts = {}
    live = (constants.ReservationState.PENDING,
            constants.ReservationState.ACTIVE)
    with api.read_session(session_context) as session:
        for resources, in session.execute(
                sa.select(models.Reservation.resources).where(
                    models.Reservation.region == name,
                    models.Reservation.state.in_(live))):
            for rc, amount in (resources or {}).items():
                if isinstance(amount, (int, float)):
                    reserved[rc] += amount
        trade = models.MarketTrade
        for buyer, rc, quantity in session.execute(
                sa.select(trade.buyer_region, trade.resource_class,
                          trade.quantity).where(
                    sa.or_(trade.buyer_region == name,
                           trade.seller_region == name))):
            entry = position.setdefault(rc, {'bought': 0.0, 'sold': 0.0})
            entry['bought' if buyer == name else 'sold'] += quantity
        for fid, metric in session.execute(
                sa.select(models.Forecast.id, models.Forecast.metric)
                .where(models.Forecast.resource_kind ==
                       constants.ResourceKind.REGION,
                       models.Forecast.resource_id == name)
                .order_by(models.Forecast.id)):
            forecasts[metric] = fid
    for entry in position.values():
        entry['net'] = entry['bought'] - entry['sold']
    return {'name': name, 'capacity': None, 'headroom': None,
            'reserved': dict(reserved), 'market_position': position,
            'latest_forecasts': forecasts}


class InvalidTrade(exception.IrraError):
    msg_fmt = "Invalid market trade: %(reason)s"


def _check_trade(values):
    for key in ('buyer_region', 'seller_region', 'resource_class'):
        if not values.get(key):
            raise InvalidTrade(reason="%s is missing" % key)
    if values['buyer_region'] == values['seller_region']:
        raise InvalidTrade(reason="region %s cannot trade with itself"
                           % values['buyer_region'])
    for key in ('quantity', 'price'):
        try:
            number = float(values.get(key))
        except (TypeError, ValueError):
            raise InvalidTrade(reason="%s must be a number, got %r"
                               % (key, values.get(key)))
        if number != number or number in (float('inf'), float('-inf')):
            raise InvalidTrade(reason="%s must be finite" % key)
        if key == 'quantity' and number <= 0:
            raise InvalidTrade(reason="quantity must be positive, got %r"
                               % number)
        if key == 'price' and number < 0:
            raise InvalidTrade(reason="price must not be negative, got %r"
                               % number)


def _check_order(values):
    for key in ('region', 'resource_class'):
        if not values.get(key):
            raise InvalidTrade(reason="order %s is missing" % key)
    if values.get('side') not in ('buy', 'sell'):
        raise InvalidTrade(reason="order side must be 'buy' or 'sell', "
                           "got %r" % (values.get('side'),))
    for key in ('quantity', 'price'):
        try:
            number = float(values.get(key))
        except (TypeError, ValueError):
            raise InvalidTrade(reason="order %s must be a number, got %r"
                               % (key, values.get(key)))
        if number != number or number in (float('inf'), float('-inf')) \
                or number < 0 or (key == 'quantity' and number == 0):
            raise InvalidTrade(reason="order %s must be finite and %s, got "
                               "%r" % (key, 'positive' if key == 'quantity'
                                       else 'not negative', number))


def round_create(orders, trades, plan_uuid=None, context=None):
    """Record one market round, its orders and its trades, atomically.

    :param orders: dicts with ``region``, ``resource_class``, ``side``
        ('buy' or 'sell'), ``quantity`` (> 0) and ``price`` (>= 0).
    :param trades: dicts as :func:`trade_create_many` takes.
    :param plan_uuid: the plan whose region LP cleared the round, or None.
    :returns: ``{'round_uuid': .., 'orders': [..], 'trades': [..]}``.
    :raises InvalidTrade: an order or a trade is malformed; nothing is
        written.
    :raises irra_openstack.db.plan_api.PlanNotFound: no plan
        ``plan_uuid``.
    """
    orders = [dict(o) for o in orders]
    trades = [dict(t) for t in trades]
    for values in orders:
        _check_order(values)
    for values in trades:
        _check_trade(values)
    round_uuid = uuidutils.generate_uuid()
    # One time for the whole round: it is how a round's trades are found.
    now = timeutils.utcnow()
    with api.write_session(context) as session:
        plan_id = _plan_id(session, plan_uuid)
        order_rows = [models.MarketOrder(
            round_uuid=round_uuid, region=o['region'],
            resource_class=o['resource_class'], side=o['side'],
            quantity=float(o['quantity']), price=float(o['price']),
            plan_id=plan_id, created_at=now) for o in orders]
        trade_rows = [_trade_row(t, plan_id, now) for t in trades]
        session.add_all(order_rows + trade_rows)
        session.flush()
        return {'round_uuid': round_uuid,
                'orders': [paging_api.as_dict(row, ORDER_FIELDS)
                           for row in order_rows],
                'trades': [_trade_dict(row, plan_uuid)
                           for row in trade_rows]}


def _plan_id(session, plan_uuid):
    if plan_uuid is None:
        return None
    plan_id = session.execute(sa.select(models.Plan.id).where(
        models.Plan.uuid == plan_uuid)).scalar()
    if plan_id is None:
        raise plan_api.PlanNotFound(uuid=plan_uuid)
    return plan_id


def _trade_row(t, plan_id, now=None):
    values = dict(
        buyer_region=t['buyer_region'], seller_region=t['seller_region'],
        resource_class=t['resource_class'], quantity=float(t['quantity']),
        price=float(t['price']), plan_id=plan_id)
    if now is not None:
        values['created_at'] = now
    return models.MarketTrade(**values)


def trade_create_many(trades, plan_uuid=None, context=None):
    """Record the trades of one market round in the ledger, atomically.

    :param trades: dicts with ``buyer_region``, ``seller_region``,
        ``resource_class``, ``quantity`` (> 0) and ``price`` (>= 0), e.g.
        from :meth:`irra_openstack.market.clearing.Trade.as_record`.
    :param plan_uuid: the plan whose region LP cleared them, or None.
    :returns: the stored trades, as :func:`trade_list` shows them.
    :raises InvalidTrade: a trade is malformed; nothing is written.
    :raises irra_openstack.db.plan_api.PlanNotFound: no plan
        ``plan_uuid``.
    """
    trades = [dict(t) for t in trades]
    for values in trades:
        _check_trade(values)
    with api.write_session(context) as session:
        plan_id = _plan_id(session, plan_uuid)
        rows = [_trade_row(t, plan_id) for t in trades]
        session.add_all(rows)
        session.flush()
        return [_trade_dict(row, plan_uuid) for row in rows]
