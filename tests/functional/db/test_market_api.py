"""The market ledger on sqlite, PostgreSQL and MariaDB.

A market round cleared by the region LP is recorded, then read back
through the functions irra-api uses (trades, prices, orders, regions).
"""

import numpy as np
from oslo_config import cfg
import oslo_messaging
from oslo_messaging.notify import _impl_test

from irra_openstack.db import market_api
from irra_openstack.db import migration
from irra_openstack.db import plan_api
from irra_openstack.market import clearing
from irra_openstack.market import cost
from irra_openstack import notifications
from irra_openstack.optimizer import region_lp
from tests.functional.db import base


def _round():
    opt = region_lp.RegionLPOptimizer(
        cost.UnitPriceCost(prices={'east/*': 3.0, 'west/*': 1.0,
                                   'south/*': 1.5}),
        cost.TransferCost(default=0.5),
        cost.SLAPenaltyCost(penalties={'gold': 100.0, 'bronze': 2.0}))
    problem = region_lp.RegionProblem(
        ['east', 'west', 'south'], ['e1', 'e2', 'w1', 's1'],
        ['VCPU', 'MEMORY_MB'],
        np.array([[10.0, 20.0], [4.0, 4.0], [5.0, 5.0], [3.0, 3.0]]),
        np.array([[4.0, 10.0], [12.0, 12.0], [6.0, 30.0]]),
        ['east', 'east', 'west', 'south'],
        ['gold', 'bronze', 'gold', 'gold'])
    return clearing.Marketplace(opt).run(problem)


class _MarketApi:

    def setUp(self):
        super().setUp()
        migration.upgrade()

    def test_record_and_read(self):
        market = _round()
        self.assertTrue(market.trades)
        self.assertTrue(all(clearing.check(market).values()))
        plan = plan_api.plan_create({'kind': 'region'}, 'advisory', 'p1')
        # oslo.messaging's in-process 'test' notification driver.
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[])
        transport = oslo_messaging.get_notification_transport(
            conf, url='fake:/')
        self.addCleanup(transport.cleanup)
        conf.set_override('driver', ['test'],
                          group='oslo_messaging_notifications')
        notifier = notifications.Notifier(conf, service='irra-engine',
                                          host='h1', transport=transport)
        _impl_test.reset()
        self.addCleanup(_impl_test.reset)
        stored = clearing.Marketplace(None, notifier=notifier).record(
            market, plan_uuid=plan['uuid'])
        sent = [n[1] for n in _impl_test.NOTIFICATIONS]
        self.assertEqual(['irra.market.trade'] * len(market.trades),
                         [n['event_type'] for n in sent])
        self.assertEqual(
            sorted(t['uuid'] for t in stored['trades']),
            sorted(n['payload']['irra_object.data']['id'] for n in sent))
        self.assertEqual(len(market.trades), len(stored['trades']))
        self.assertEqual(len(market.offers) + len(market.bids),
                         len(stored['orders']))
        listed = market_api.trade_list(plan_uuid=plan['uuid'])
        got = sorted((t['buyer_region'], t['seller_region'],
                      t['resource_class'], round(t['quantity'], 9),
                      round(t['price'], 9)) for t in listed)
        want = sorted((t.buyer_region, t.seller_region, t.resource_class,
                       round(t.quantity, 9), round(t.price, 9))
                      for t in market.trades)
        self.assertEqual(want, got)
        self.assertTrue(all(t['uuid'] for t in listed))
        # What irra-api derives from the ledger.
        prices = {p['resource_class']: p for p in market_api.prices()}
        for rc in {t.resource_class for t in market.trades}:
            qty = sum(t.quantity for t in market.trades
                      if t.resource_class == rc)
            self.assertAlmostEqual(qty, prices[rc]['quantity'])
        # Offers and bids are what the regions posted, at ask and bid.
        sells = market_api.orders('sell')
        self.assertEqual(
            sorted((o.region, o.resource_class, round(o.quantity, 9),
                    round(o.price, 9)) for o in market.offers),
            sorted((o['region'], o['resource_class'],
                    round(o['quantity'], 9), round(o['price'], 9))
                   for o in sells))
        sold = {}
        for t in market.trades:
            key = (t.seller_region, t.resource_class)
            sold[key] = sold.get(key, 0) + 1
        self.assertEqual(sold, {(o['region'], o['resource_class']):
                                o['trades'] for o in sells
                                if o['trades']})
        buys = market_api.orders('buy', region='east')
        want = {}
        for b in market.bids:
            if b.region == 'east':
                q, v = want.get(b.resource_class, (0.0, 0.0))
                want[b.resource_class] = (q + b.quantity,
                                          v + b.quantity * b.price)
        self.assertEqual(sorted(want), sorted(o['resource_class']
                                              for o in buys))
        for o in buys:
            q, v = want[o['resource_class']]
            self.assertAlmostEqual(q, o['quantity'])
            self.assertAlmostEqual(v / q, o['price'])
        # A newer round replaces the order book.
        market_api.round_create(
            [{'region': 'north', 'resource_class': 'VCPU', 'side': 'sell',
              'quantity': 3.0, 'price': 0.5}], [])
        self.assertEqual([('north', 3.0, 0.5, 0)],
                         [(o['region'], o['quantity'], o['price'],
                           o['trades'])
                          for o in market_api.orders('sell')])
        self.assertEqual([], market_api.orders('buy'))
        self.assertIn('east', market_api.region_names())
        east = market_api.region_get('east')
        bought = sum(t.quantity for t in market.trades
                     if t.buyer_region == 'east')
        self.assertAlmostEqual(
            bought, sum(p['bought'] for p in
                        east['market_position'].values()))

    def test_bad_trades_write_nothing(self):
        good = {'buyer_region': 'a', 'seller_region': 'b',
                'resource_class': 'VCPU', 'quantity': 1.0, 'price': 2.0}
        for bad, text in (({'seller_region': 'a'}, 'itself'),
                          ({'quantity': 0}, 'positive'),
                          ({'price': -1}, 'negative'),
                          ({'price': float('nan')}, 'finite'),
                          ({'resource_class': ''}, 'missing')):
            exc = self.assertRaises(
                market_api.InvalidTrade, market_api.trade_create_many,
                [good, dict(good, **bad)])
            self.assertIn(text, str(exc))
        self.assertRaises(plan_api.PlanNotFound,
                          market_api.trade_create_many, [good],
                          plan_uuid='5c1f1c8e-0000-4000-8000-000000000000')
        order = {'region': 'a', 'resource_class': 'VCPU', 'side': 'sell',
                 'quantity': 1.0, 'price': 1.0}
        for bad, text in (({'side': 'hold'}, "'buy' or 'sell'"),
                          ({'quantity': 0}, 'positive'),
                          ({'price': -2}, 'not negative'),
                          ({'region': None}, 'missing')):
            exc = self.assertRaises(
                market_api.InvalidTrade, market_api.round_create,
                [order, dict(order, **bad)], [good])
            self.assertIn(text, str(exc))
        self.assertEqual([], market_api.trade_list())
        self.assertEqual([], market_api.orders('sell'))
        # Before any round recorded orders, they come from the trades.
        market_api.trade_create_many([good])
        self.assertEqual([('b', 'VCPU', 1.0, 2.0, 1)],
                         [(o['region'], o['resource_class'],
                           o['quantity'], o['price'], o['trades'])
                          for o in market_api.orders('sell')])


class SqliteMarketApiTest(_MarketApi, base.BackendTestCase):
    BACKEND = 'sqlite'


class PostgresqlMarketApiTest(_MarketApi, base.BackendTestCase):
    BACKEND = 'postgresql'


class MysqlMarketApiTest(_MarketApi, base.BackendTestCase):
    BACKEND = 'mysql'
