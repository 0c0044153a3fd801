"""Market clearing: property tests on random instances, and a worked case.

Each property is computed here from the trades themselves, not taken from
:func:`clearing.check`, which is tested against these.
"""

import hypothesis
from hypothesis import strategies as st
import numpy as np

from irra_openstack.market import clearing
from irra_openstack.market import cost
from irra_openstack.optimizer import region_lp
from tests import base
from tests.unit.optimizer import test_region_lp

TOL = 1e-6


def run(seed, scarce, share):
    problem, opt = test_region_lp.random_problem(seed, n=5, a=15,
                                                 share=share, scarce=scarce)
    return clearing.Marketplace(opt).run(problem)


class PropertiesTest(base.TestCase):

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31),
                      scarce=st.sampled_from([0.3, 1.0, 2.0]),
                      share=st.booleans())
    def test_properties(self, seed, scarce, share):
        try:
            market = run(seed, scarce, share)
        except region_lp.RegionLPError as exc:
            self.assertIn('minimum shares', str(exc))
            return
        sol = market.solution
        p = sol.problem
        regions = {r: i for i, r in enumerate(p.regions)}
        scale = max(1.0, market.cost_no_trade)
        paid = received = 0.0
        for t in market.trades:
            b, s = regions[t.buyer_region], regions[t.seller_region]
            self.assertNotEqual(b, s)
            self.assertGreater(t.quantity, 0)
            # Budget balance, trade by trade.
            self.assertEqual(t.paid, t.received)
            paid += t.quantity * t.price
            received += t.quantity * t.price
            # Sellers: never below the ask (marginal cost).
            self.assertGreaterEqual(t.price, t.ask - TOL)
            self.assertEqual(t.ask, sol.unit_price[s, p.resource_classes
                                                   .index(t.resource_class)])
            # Buyers: never above the bid of any app served by the trade.
            if t.forced < t.quantity - TOL:
                self.assertLessEqual(t.price + t.transfer,
                                     t.bid + TOL * max(1, t.bid))
        self.assertAlmostEqual(paid, received)
        # Consistent with the LP: the trades are its inter-region flows,
        # recomputed here app by app.
        flows = np.zeros((len(p.regions),) * 2 + (len(p.resource_classes),))
        for a in range(len(p.apps)):
            for n in range(len(p.regions)):
                if n != p.home[a]:
                    flows[p.home[a], n] += sol.allocation[a, n]
        traded = np.zeros_like(flows)
        for t in market.trades:
            traded[regions[t.buyer_region], regions[t.seller_region],
                   p.resource_classes.index(t.resource_class)] += t.quantity
        np.testing.assert_allclose(flows, traded, atol=1e-6)
        # The regions' gains from trade add up to the LP's saving, and
        # the LP with trade is never worse than without.
        self.assertGreaterEqual(market.saving, -TOL * scale)
        self.assertAlmostEqual(market.surplus.sum(), market.saving,
                               delta=TOL * scale)
        self.assertAlmostEqual(market.cost, sol.objective)
        # No region loses by trading, when no minimum share abroad
        # forces a trade on it (here shares are only at home).
        self.assertTrue(np.all(market.surplus >= -TOL * scale),
                        market.surplus)
        self.assertTrue(all(clearing.check(market).values()))

    @hypothesis.settings(max_examples=20, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31))
    def test_minimum_shares_abroad(self, seed):
        # Shares in foreign regions force trades: they are flagged, and
        # budget balance, sellers' rationality and consistency still hold.
        problem, opt = test_region_lp.random_problem(seed, n=4, a=10,
                                                     share=False)
        rng = np.random.default_rng(seed)
        away = problem.allowed & (np.arange(4)[None, :] !=
                                  problem.home[:, None])
        problem.min_share = np.where(
            away & (rng.random(away.shape) < 0.3), 0.2, 0.0)
        problem.min_share[problem.min_share.sum(axis=1) > 1] = 0.0
        try:
            market = clearing.Marketplace(opt).run(problem)
        except region_lp.RegionLPError as exc:
            self.assertIn('minimum shares', str(exc))
            return
        forced = problem.min_share[:, :, None] * problem.required[:, None]
        flows = np.zeros((4, 4, 2))
        np.add.at(flows, problem.home, forced)
        flows[np.arange(4), np.arange(4)] = 0
        regions = {r: i for i, r in enumerate(problem.regions)}
        for t in market.trades:
            want = flows[regions[t.buyer_region], regions[t.seller_region],
                         problem.resource_classes.index(t.resource_class)]
            self.assertAlmostEqual(min(want, t.quantity), t.forced)
            self.assertGreaterEqual(t.price, t.ask - TOL)
        properties = clearing.check(market)
        for name in ('budget_balanced', 'sellers_rational', 'flows_match',
                     'surplus_matches', 'buyers_rational'):
            self.assertTrue(properties[name], name)

    def test_check_detects_violations(self):
        market = run(11, 0.3, False)
        self.assertTrue(market.trades)
        self.assertTrue(all(clearing.check(market).values()))
        t = market.trades[0]
        t.price, old = t.ask - 1.0, t.price
        self.assertFalse(clearing.check(market)['sellers_rational'])
        t.price = t.bid + 1.0
        self.assertFalse(clearing.check(market)['buyers_rational'])
        t.price = old
        t.quantity += 1.0
        self.assertFalse(clearing.check(market)['flows_match'])
        t.quantity -= 1.0
        market.cost -= 1.0
        self.assertFalse(clearing.check(market)['surplus_matches'])


class WorkedExampleTest(base.TestCase):

    def test_two_regions(self):
        # East is full and dear; west is cheap with room. East's gold app
        # is served in west: one trade at west's price.
        opt = region_lp.RegionLPOptimizer(
            cost.UnitPriceCost(prices={'east/*': 3.0, 'west/*': 1.0}),
            cost.TransferCost(default=0.5),
            cost.SLAPenaltyCost(penalties={'gold': 100.0}))
        p = region_lp.RegionProblem(
            ['east', 'west'], ['e-app', 'w-app'], ['VCPU'],
            [[10.0], [5.0]], [[4.0], [20.0]], ['east', 'west'],
            ['gold', 'gold'], allowed=[[True, True], [False, True]])
        market = clearing.Marketplace(opt).run(p)
        self.assertEqual(1, len(market.trades))
        t = market.trades[0]
        self.assertEqual(('east', 'west', 'VCPU'),
                         (t.buyer_region, t.seller_region,
                          t.resource_class))
        # Cheaper to serve all 10 in west: 1 + 0.5 < 3.
        self.assertAlmostEqual(10.0, t.quantity)
        self.assertAlmostEqual(1.0, t.price)
        self.assertEqual(100.0, t.bid)
        # Without trade east serves 4 at 3 and misses 6 at 100.
        self.assertAlmostEqual(4 * 3 + 6 * 100 + 5 * 1,
                               market.cost_no_trade)
        self.assertAlmostEqual(15 * 1 + 10 * 0.5, market.cost)
        np.testing.assert_allclose([612 - 15, 0.0], market.surplus)
        self.assertEqual([('east', 'VCPU', 6.0, 100.0)],
                         [(b.region, b.resource_class, b.quantity, b.price)
                          for b in market.bids])
        self.assertEqual([('west', 'VCPU', 15.0, 1.0)],
                         [(o.region, o.resource_class, o.quantity, o.price)
                          for o in market.offers])
        self.assertEqual({'buyer_region': 'east', 'seller_region': 'west',
                          'resource_class': 'VCPU', 'quantity': 10.0,
                          'price': 1.0}, t.as_record())
