"""The region LP: constraints, optimality, duals, shortfalls, bad input."""

import hypothesis
from hypothesis import strategies as st
import numpy as np
from scipy import optimize

from irra_openstack.db import constants
from irra_openstack.forecast import base as forecast_base
from irra_openstack.market import cost
from irra_openstack.optimizer import actions
from irra_openstack.optimizer import region_lp
from irra_openstack import plugins
from tests import base

CLASSES = ['VCPU', 'MEMORY_MB']
TOL = 1e-6


def make_optimizer(prices=None, transfer=0.3, penalties=None,
                   method='pricing', factors=None, **kw):
    return region_lp.RegionLPOptimizer(
        cost.UnitPriceCost(prices=prices or {}),
        cost.TransferCost(default=transfer, class_factors=factors),
        cost.SLAPenaltyCost(penalties=penalties, class_factors=factors),
        method=method, **kw)


def random_problem(seed, n=4, a=12, share=True, scarce=1.0, density=0.5,
                   method='pricing'):
    rng = np.random.default_rng(seed)
    home = rng.integers(0, n, a)
    allowed = rng.random((a, n)) < density
    allowed[np.arange(a), home] |= rng.random(a) < 0.8
    demand = rng.gamma(2.0, 5.0, (a, len(CLASSES)))
    capacity = rng.uniform(5, 40, (n, len(CLASSES))) * scarce
    tiers = list(rng.choice(['gold', 'silver', 'bronze'], a))
    min_share = np.zeros((a, n))
    if share:
        at_home = allowed & (np.arange(n)[None, :] == home[:, None])
        min_share = np.where(at_home & (rng.random((a, 1)) < 0.3),
                             rng.uniform(0, 0.3, (a, n)), 0.0)
    prices = {'r%d/*' % i: float(v)
              for i, v in enumerate(rng.uniform(0.5, 2.0, n))}
    problem = region_lp.RegionProblem(
        ['r%d' % i for i in range(n)], ['app%d' % i for i in range(a)],
        CLASSES, demand, capacity, home, tiers, allowed=allowed,
        min_share=min_share, level=0.95)
    return problem, make_optimizer(prices=prices, method=method)


def reference_objective(problem, opt, j):
    """The primal LP written out densely, solved by the dual simplex."""
    p = problem
    a, n = len(p.apps), len(p.regions)
    price = opt.unit_price.coefficients(p.regions, CLASSES)[:, j]
    transfer = opt.transfer.coefficients(p.regions, CLASSES)[:, :, j]
    penalty = opt.sla_penalty.coefficients(p.regions, CLASSES,
                                           tiers=p.tiers)[:, j]
    d = p.required[:, j]
    # Variables: x[a, n] for every pair (forbidden ones bounded to 0),
    # then s[a].
    c = np.concatenate([(price[None, :] + transfer.T[p.home]).ravel(),
                        penalty])
    a_eq = np.zeros((a, a * n + a))
    a_ub = np.zeros((n, a * n + a))
    for i in range(a):
        a_eq[i, i * n:(i + 1) * n] = 1
        a_eq[i, a * n + i] = 1
        for r in range(n):
            a_ub[r, i * n + r] = 1
    lower = (p.min_share * d[:, None]).ravel()
    upper = np.where(p.allowed, np.inf, 0.0).ravel()
    bounds = list(zip(lower, upper)) + [(0, None)] * a
    res = optimize.linprog(c, A_ub=a_ub, b_ub=p.capacity[:, j], A_eq=a_eq,
                           b_eq=d, bounds=bounds, method='highs-ds')
    assert res.status == 0, res.message
    return res.fun


def dual_objective(sol):
    """The dual objective at the solution's rents and demand prices.

    With ``lower`` the minimum-share bounds and ``r = cost + rent -
    demand_price`` the reduced costs, it is ``sum d mu - sum cap lambda +
    sum lower r``. It is at most the LP's optimum for any dual-feasible
    ``(mu, lambda)`` and equal to it only for optimal duals.

    :returns: ``(dual objective, least reduced cost on an allowed pair,
        least penalty - demand price, least rent)``.
    """
    p = sol.problem
    cost_an = (sol.unit_price[None, :, :] +
               sol.transfer[:, p.home, :].transpose(1, 0, 2))
    reduced = cost_an + sol.rent[None] - sol.demand_price[:, None, :]
    value = float((p.required * sol.demand_price).sum() -
                  (p.capacity * sol.rent).sum() +
                  (sol.lower * reduced).sum())
    least = float(np.where(p.allowed[:, :, None], reduced, np.inf).min(
        initial=np.inf))
    return (value, least, float((sol.penalty - sol.demand_price).min()),
            float(sol.rent.min()))


class ConstraintsTest(base.TestCase):

    def check_solution(self, problem, sol):
        p = problem
        x, s = sol.allocation, sol.shortfall
        d = p.required
        self.assertTrue(np.all(x >= -TOL))
        self.assertTrue(np.all(s >= -TOL))
        # Demand: served plus shortfall is the demand, exactly.
        np.testing.assert_allclose(x.sum(axis=1) + s, d, atol=1e-5)
        # Capacity.
        self.assertTrue(np.all(x.sum(axis=0) <= p.capacity + 1e-5))
        # Allowed regions only.
        self.assertEqual(0.0, float(np.abs(x[~p.allowed]).sum()))
        # Minimum shares.
        need = p.min_share[:, :, None] * d[:, None, :]
        self.assertTrue(np.all(x >= need - 1e-5))

    @hypothesis.settings(max_examples=30, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31),
                      scarce=st.sampled_from([0.2, 1.0, 3.0]))
    def test_random_instances(self, seed, scarce):
        problem, opt = random_problem(seed, scarce=scarce)
        try:
            sol = opt.solve(problem)
        except region_lp.RegionLPError as exc:
            # Only the minimum shares can make it infeasible; the message
            # says so.
            self.assertIn('minimum shares', str(exc))
            return
        self.check_solution(problem, sol)
        # Optimal: the same objective as the primal written out densely
        # and solved by another HiGHS method.
        ref = sum(reference_objective(problem, opt, j)
                  for j in range(len(CLASSES)))
        self.assertAlmostEqual(ref, sol.objective,
                               delta=1e-6 * max(1.0, abs(ref)))
        parts = sol.costs
        self.assertAlmostEqual(sol.objective, sum(parts.values()))

    @hypothesis.settings(max_examples=15, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31))
    def test_duals_are_marginal_costs(self, seed):
        problem, opt = random_problem(seed, share=False, scarce=0.5)
        sol = opt.solve(problem)
        rng = np.random.default_rng(seed)
        j = 0
        base_obj = reference_objective(problem, opt, j)
        # Capacity: one unit less in region r raises the cost by the
        # rent, when the basis does not change (a small step).
        r = int(rng.integers(len(problem.regions)))
        h = 1e-3
        cap = problem.capacity.copy()
        cap[r, j] -= h
        moved = region_lp.RegionProblem(
            problem.regions, problem.apps, CLASSES, problem.demand, cap,
            problem.home, problem.tiers, allowed=problem.allowed)
        up = reference_objective(moved, opt, j)
        slope = (up - base_obj) / h
        # Degenerate vertices have a range of duals: the rent is one
        # subgradient, between the two one-sided slopes.
        cap[r, j] += 2 * h
        moved.capacity = cap
        down = (base_obj - reference_objective(moved, opt, j)) / h
        self.assertGreaterEqual(slope + 1e-4, sol.rent[r, j])
        self.assertLessEqual(down - 1e-4, sol.rent[r, j])
        self.assertTrue(np.all(sol.rent >= 0))
        # Demand prices never exceed the penalty.
        self.assertTrue(np.all(sol.demand_price <= sol.penalty + 1e-9))

    def test_grouping_is_exact(self):
        # Many identical apps: grouped into one LP column per group; the
        # answer equals the one without identical twins.
        problem, opt = random_problem(7, a=6, share=False)
        p = problem
        twins = region_lp.RegionProblem(
            p.regions, ['%s-%d' % (x, i) for i in range(3) for x in p.apps],
            CLASSES, np.tile(p.demand / 3.0, (3, 1)), p.capacity,
            np.tile(p.home, 3), p.tiers * 3,
            allowed=np.tile(p.allowed, (3, 1)))
        one = opt.solve(p)
        three = opt.solve(twins)
        self.assertAlmostEqual(one.objective, three.objective, places=6)
        np.testing.assert_allclose(
            three.allocation.reshape(3, 6, len(p.regions), -1).sum(axis=0),
            one.allocation, atol=1e-6)


class PricingTest(base.TestCase):
    """The default method prices pairs into a small restricted LP."""

    @staticmethod
    def _pricing_and_full(classes, seed):
        """(problem, pricing solution, full-LP solution) of a bench case.

        12 regions and 400 apps, each with its own extra regions.
        """
        from irra_openstack.market import bench
        problem, fast = bench.instance(regions=12, apps=400,
                                       classes=classes, seed=seed,
                                       distinct=True)
        full = region_lp.RegionLPOptimizer(
            fast.unit_price, fast.transfer, fast.sla_penalty,
            method='full')
        return problem, fast.solve(problem), full.solve(problem)

    def assertOptimalDuals(self, sol):
        value, least, below_penalty, rent = dual_objective(sol)
        scale = float(np.abs(sol.penalty).max(initial=1.0))
        self.assertGreaterEqual(least, -1e-9 * scale)
        self.assertGreaterEqual(below_penalty, -1e-12 * scale)
        self.assertGreaterEqual(rent, 0.0)
        self.assertAlmostEqual(sol.objective, value,
                               delta=1e-7 * max(1.0, abs(sol.objective)))

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31),
                      n=st.integers(1, 8), a=st.integers(1, 60),
                      density=st.sampled_from([0.2, 0.6, 1.0]),
                      scarce=st.sampled_from([0.1, 0.5, 1.0, 4.0]),
                      share=st.booleans())
    def test_same_optimum_and_duals_as_the_full_lp(self, seed, n, a,
                                                   density, scarce, share):
        problem, fast = random_problem(seed, n=n, a=a, share=share,
                                       scarce=scarce * a / 12.0,
                                       density=density)
        _, full = random_problem(seed, n=n, a=a, share=share,
                                 scarce=scarce * a / 12.0, density=density,
                                 method='full')
        try:
            sol = fast.solve(problem)
        except region_lp.RegionLPError as exc:
            self.assertIn('minimum shares', str(exc))
            self.assertRaises(region_lp.RegionLPError, full.solve, problem)
            return
        ref = full.solve(problem)
        ConstraintsTest.check_solution(self, problem, sol)
        self.assertAlmostEqual(ref.objective, sol.objective,
                               delta=1e-7 * max(1.0, abs(ref.objective)))
        dense = sum(reference_objective(problem, fast, j)
                    for j in range(len(CLASSES)))
        self.assertAlmostEqual(dense, sol.objective,
                               delta=1e-6 * max(1.0, abs(dense)))
        self.assertOptimalDuals(sol)
        self.assertOptimalDuals(ref)
        self.assertEqual({'pricing'}, {v['method']
                                       for v in sol.solver.values()})

    def test_distinct_apps_like_the_benchmark(self):
        # Every app its own extra regions: nothing groups up front.
        problem, sol, ref = self._pricing_and_full(classes=3, seed=5)
        self.assertAlmostEqual(ref.objective, sol.objective,
                               delta=1e-9 * abs(ref.objective))
        ConstraintsTest.check_solution(self, problem, sol)
        self.assertOptimalDuals(sol)
        for rc, info in sol.solver.items():
            # The last LP had fewer pairs than the full one, in fewer
            # rows than there are apps.
            self.assertLess(info['arcs'], info['pairs'], rc)
            self.assertLess(info['groups'], 400, rc)

    def test_a_pair_left_out_is_priced_in(self):
        # The cheapest region, the app's first arc, holds 4 of its 10
        # units: the second round must bring in r1.
        opt = make_optimizer(prices={'r0/*': 1.0, 'r1/*': 2.0},
                             transfer=0.5)
        p = region_lp.RegionProblem(
            ['r0', 'r1'], ['a'], ['VCPU'], [[10.0]], [[4.0], [100.0]],
            [0], ['gold'])
        sol = opt.solve(p)
        np.testing.assert_allclose([[4.0], [6.0]], sol.allocation[0])
        self.assertEqual(2, sol.solver['VCPU']['rounds'])
        self.assertEqual(2, sol.solver['VCPU']['arcs'])

    def test_apps_of_one_row_are_not_split_needlessly(self):
        # a and b differ (r3 or r4 as a third choice) but share the row
        # {r0, r1} of the restricted LP. r0 holds 6 of their 12: one gets
        # all of r0, the other all of r1. Splitting both in proportion
        # would cost the same but reserve in four places instead of two.
        opt = make_optimizer(
            prices={'r0/*': 1.0, 'r1/*': 2.0, 'r3/*': 3.0, 'r4/*': 3.0},
            transfer=0.1)
        p = region_lp.RegionProblem(
            ['r0', 'r1', 'r3', 'r4'], ['a', 'b'], ['VCPU'], [[6.0], [6.0]],
            [[6.0], [100.0], [100.0], [100.0]], [0, 0], ['gold', 'gold'],
            allowed=[[True, True, True, False], [True, True, False, True]])
        sol = opt.solve(p)
        self.assertEqual(1, sol.solver['VCPU']['groups'])
        x = sol.allocation[:, :, 0]
        np.testing.assert_allclose([6.0, 6.0, 0, 0], x.sum(axis=0))
        np.testing.assert_allclose([6.0, 6.0], x.max(axis=1))
        self.assertEqual(2, len(opt.plan(p, solution=sol).actions))

    @hypothesis.settings(max_examples=50, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31))
    def test_fill(self, seed):
        # Rows of apps with the same pairs, random flows: every flow is
        # handed out in full (up to the row's demand), no app gets more
        # than its demand, and at most one app per flow is split.
        rng = np.random.default_rng(seed)
        n, apps = 5, int(rng.integers(1, 30))
        group = np.sort(rng.integers(0, max(1, apps // 3), apps))
        _, group = np.unique(group, return_inverse=True)
        g = int(group.max()) + 1
        demand = rng.gamma(2.0, 3.0, apps) * (rng.random(apps) < 0.9)
        regions = rng.random((g, n)) < 0.6
        ga, gn = np.nonzero(regions)
        g_demand = np.bincount(group, demand, minlength=g)
        flow = rng.dirichlet(np.ones(ga.size)) if ga.size else np.zeros(0)
        flow = flow * g_demand[ga] * rng.uniform(0.2, 1.0, ga.size)
        per_row = np.bincount(ga, flow, minlength=g)
        flow *= np.minimum(1.0, np.divide(
            g_demand, per_row, out=np.ones(g), where=per_row > 0))[ga]
        ai, ni = np.nonzero(regions[group])
        rows = np.arange(apps)
        x = region_lp._fill(rows, group, demand, ga, gn, flow, ai, ni, n)
        self.assertTrue(np.all(x >= 0))
        served = np.bincount(ai, x, minlength=apps)
        self.assertTrue(np.all(served <= demand + 1e-9))
        got = np.zeros((g, n))
        np.add.at(got, (group[ai], ni), x)
        np.testing.assert_allclose(got[ga, gn], flow, atol=1e-9)
        # An app is split when it is served in two regions, or served
        # in part although its row has flow to spare.
        pieces = np.bincount(ai, x > 1e-12, minlength=apps)
        self.assertLessEqual(int((pieces > 1).sum()), ga.size)

    def test_any_start_gives_the_optimum(self):
        # The arcs a class starts from (the previous class's) change the
        # rounds, never the answer.
        problem, opt = random_problem(11, n=6, a=40, share=False,
                                      scarce=0.5, density=0.8)
        p = problem
        price = opt.unit_price.coefficients(p.regions, CLASSES)[:, 0]
        transfer = opt.transfer.coefficients(p.regions, CLASSES)[:, :, 0]
        penalty = opt.sla_penalty.coefficients(p.regions, CLASSES,
                                               tiers=p.tiers)[:, 0]
        ai, ni = np.nonzero(p.allowed)
        cx = price[ni] + transfer[ni, p.home[ai]]
        args = ('VCPU', ai, ni, cx, penalty, p.required[:, 0],
                p.capacity[:, 0], len(p.apps), len(p.regions))
        rng = np.random.default_rng(3)
        results = []
        for start in (None, np.ones(ai.size, dtype=bool),
                      np.zeros(ai.size, dtype=bool),
                      rng.random(ai.size) < 0.3):
            x, short, rent, arcs, info = opt._solve_class(*args,
                                                          start=start)
            results.append((float(cx @ x + penalty @ short), rent))
            self.assertEqual(ai.size, arcs.size)
        ref = reference_objective(problem, opt, 0)
        for value, rent in results:
            self.assertAlmostEqual(ref, value, delta=1e-7 * abs(ref))
            np.testing.assert_allclose(results[0][1], rent, atol=1e-7)

    def test_costs_per_mib_are_as_exact_as_per_unit(self):
        # The benchmark prices memory per MiB, about 1e-4 per unit, where
        # HiGHS's absolute tolerances (1e-7) are loose: on this instance
        # the simplex on unscaled costs is 2e-6 off the optimum. Costs
        # are scaled before solving, so it is exact.
        problem, sol, ref = self._pricing_and_full(classes=2, seed=0)
        self.assertAlmostEqual(ref.objective, sol.objective,
                               delta=1e-9 * abs(ref.objective))
        self.assertAlmostEqual(ref.costs['penalty'], sol.costs['penalty'],
                               delta=1e-9 * abs(ref.objective))
        self.assertOptimalDuals(sol)

    def test_time_limit(self):
        problem, _ = random_problem(2, n=4, a=30)
        for method in region_lp.METHODS:
            opt = make_optimizer(method=method, time_limit=1e-12)
            exc = self.assertRaises(region_lp.RegionLPError, opt.solve,
                                    problem)
            self.assertIn('the LP solver failed on resource class VCPU',
                          str(exc))

    def test_unknown_method(self):
        exc = self.assertRaises(region_lp.RegionLPError, make_optimizer,
                                method='simplex')
        self.assertIn("unknown LP method 'simplex'", str(exc))


class ShortageTest(base.TestCase):

    def test_higher_tier_served_first(self):
        # One region, 10 units; gold wants 8, bronze wants 8.
        opt = make_optimizer()
        p = region_lp.RegionProblem(
            ['r0'], ['cheap', 'premium'], ['VCPU'], [[8.0], [8.0]],
            [[10.0]], [0, 0], ['bronze', 'gold'], level=0.9,
            demand_point=[[6.0], [6.0]])
        result = opt.plan(p, salt='plan-1')
        alloc = result.summary['allocation'][:, 0, 0]
        self.assertAlmostEqual(8.0, alloc[1])
        self.assertAlmostEqual(2.0, alloc[0])
        self.assertEqual(1, len(result.shortfalls))
        short = result.shortfalls[0]
        self.assertIsInstance(short, actions.Shortfall)
        self.assertEqual('cheap', short.resource_id)
        self.assertAlmostEqual(6.0, short.amount)
        self.assertIn('taken by demand that is worth more', short.reason)
        # The capacity price is the bronze penalty: the marginal unit
        # would go to bronze.
        self.assertAlmostEqual(5.0, result.summary['capacity_price'][0, 0])
        np.testing.assert_allclose([[6.0], [0.0]],
                                   result.summary['shortfall'])
        reserve = result.actions[0]
        self.assertEqual(constants.ActionType.RESERVE, reserve.action_type)
        self.assertEqual(constants.ResourceKind.APP, reserve.resource_kind)
        self.assertTrue(reserve.key)
        by_app = {a.resource_id: a for a in result.actions}
        self.assertEqual({'VCPU': 8.0},
                         by_app['premium'].parameters['resources'])
        why = by_app['premium'].reason
        self.assertEqual(6.0, why['forecast']['VCPU']['point'])
        self.assertEqual(0.9, why['forecast']['VCPU']['level'])
        self.assertIn('price', why)
        self.assertIn('benefit', why)

    def test_no_allowed_region_is_an_explained_shortfall(self):
        opt = make_optimizer()
        p = region_lp.RegionProblem(
            ['r0', 'r1'], ['stuck', 'ok'], ['VCPU'], [[3.0], [2.0]],
            [[10.0], [10.0]], ['r0', 'r1'], ['gold', 'gold'],
            allowed=[[False, False], [True, True]])
        result = opt.plan(p)
        self.assertEqual(['stuck'], [s.resource_id
                                     for s in result.shortfalls])
        self.assertIn('may not run in any region',
                      result.shortfalls[0].reason)
        self.assertAlmostEqual(3.0, result.shortfalls[0].amount)

    def test_penalty_below_price_is_explained(self):
        opt = make_optimizer(prices={'*/*': 50.0})
        p = region_lp.RegionProblem(
            ['r0'], ['a'], ['VCPU'], [[3.0]], [[10.0]], [0], ['bronze'])
        result = opt.plan(p)
        self.assertEqual(1, len(result.shortfalls))
        self.assertIn('not less than its SLA penalty',
                      result.shortfalls[0].reason)

    def test_demand_over_every_region(self):
        problem, opt = random_problem(3, scarce=0.01, share=False)
        result = opt.plan(problem)
        short = result.summary['shortfall']
        # Every unit not served is reported, app by app.
        self.assertAlmostEqual(
            float(short.sum()),
            sum(s.amount for s in result.shortfalls), places=6)
        served = result.summary['allocation'].sum(axis=(0, 1))
        np.testing.assert_allclose(
            served, np.minimum(problem.capacity.sum(axis=0),
                               problem.demand.sum(axis=0)), rtol=1e-6)

    def test_serving_away_from_home_is_costed(self):
        # Home is full; the app is served next door at price + transfer.
        opt = make_optimizer(prices={'r0/*': 1.0, 'r1/*': 2.0},
                             transfer=0.5)
        p = region_lp.RegionProblem(
            ['r0', 'r1'], ['a'], ['VCPU'], [[10.0]], [[4.0], [100.0]],
            [0], ['gold'])
        sol = opt.solve(p)
        np.testing.assert_allclose([[4.0], [6.0]], sol.allocation[0])
        self.assertAlmostEqual(4 * 1.0 + 6 * 2.0, sol.costs['price'])
        self.assertAlmostEqual(6 * 0.5, sol.costs['transfer'])
        # r0 is scarce: its rent is what the next unit saves.
        self.assertAlmostEqual(2.0 + 0.5 - 1.0, sol.rent[0, 0])
        self.assertAlmostEqual(0.0, sol.rent[1, 0])
        self.assertAlmostEqual(2.5, sol.demand_price[0, 0])


class TierPriorityTest(base.TestCase):

    @hypothesis.settings(max_examples=30, deadline=None)
    @hypothesis.given(
        demand=st.lists(st.floats(0.0, 50.0), min_size=2, max_size=8),
        tiers=st.lists(st.sampled_from(['gold', 'silver', 'bronze']),
                       min_size=8, max_size=8),
        capacity=st.floats(0.0, 200.0), regions=st.integers(1, 3))
    def test_higher_tier_first(self, demand, tiers, capacity, regions):
        # Every app allowed everywhere, prices and transfers well below the
        # gaps between tier penalties: a lower tier is served only when
        # every higher tier is fully served.
        a = len(demand)
        tiers = tiers[:a]
        opt = make_optimizer(prices={'*/*': 1.0}, transfer=0.5)
        p = region_lp.RegionProblem(
            ['r%d' % i for i in range(regions)],
            ['a%d' % i for i in range(a)], ['VCPU'],
            np.array(demand)[:, None],
            np.full((regions, 1), capacity / regions),
            np.arange(a) % regions, tiers)
        result = opt.plan(p)
        short = result.summary['shortfall'][:, 0]
        served = result.summary['allocation'].sum(axis=(1, 2))
        rank = {'gold': 0, 'silver': 1, 'bronze': 2}
        for i in range(a):
            for j in range(a):
                if rank[tiers[i]] < rank[tiers[j]] and served[j] > 1e-6:
                    self.assertLess(short[i], 1e-6)
        np.testing.assert_allclose(
            served.sum(), min(sum(demand), capacity), rtol=1e-6,
            atol=1e-6)
        self.assertAlmostEqual(short.sum(),
                               sum(s.amount for s in result.shortfalls))


class EmptyRegionTest(base.TestCase):

    def test_rent_of_a_region_without_capacity(self):
        # r0 has nothing; one more unit there would save 3.5 - 1.
        opt = make_optimizer(prices={'r0/*': 1.0, 'r1/*': 3.0},
                             transfer=0.5)
        p = region_lp.RegionProblem(
            ['r0', 'r1'], ['a', 'idle'], ['VCPU'], [[10.0], [0.0]],
            [[0.0], [100.0]], [0, 1], ['gold', 'gold'])
        sol = opt.solve(p)
        np.testing.assert_allclose([[0.0], [10.0]], sol.allocation[0])
        self.assertAlmostEqual(2.5, sol.rent[0, 0])
        self.assertAlmostEqual(3.5, sol.capacity_price[0, 0])
        self.assertAlmostEqual(3.5, sol.demand_price[0, 0])
        self.assertAlmostEqual(0.0, sol.rent[1, 0])


class BadInputTest(base.TestCase):

    def problem(self, **kw):
        args = dict(regions=['r0', 'r1'], apps=['a', 'b'],
                    resource_classes=['VCPU'], demand=[[1.0], [2.0]],
                    capacity=[[5.0], [5.0]], home=[0, 1],
                    tiers=['gold', 'silver'])
        args.update(kw)
        return region_lp.RegionProblem(**args)

    def assertBad(self, text, **kw):
        exc = self.assertRaises(region_lp.RegionLPError, self.problem, **kw)
        self.assertIn(text, str(exc))

    def test_bad_inputs(self):
        self.assertBad('negative', demand=[[1.0], [-2.0]])
        self.assertBad('NaN', demand=[[1.0], [np.nan]])
        self.assertBad('shape', demand=[[1.0, 2.0], [2.0, 1.0]])
        self.assertBad('shape', capacity=[[5.0]])
        self.assertBad('not among the regions', home=['r0', 'nowhere'])
        self.assertBad('outside', home=[0, 5])
        self.assertBad('tiers has 1 entries', tiers=['gold'])
        self.assertBad('not unique', apps=['a', 'a'])
        self.assertBad('more than all of its demand',
                       min_share=[[0.7, 0.7], [0, 0]])
        self.assertBad('not allowed', min_share=[[0.5, 0], [0, 0]],
                       allowed=[[False, True], [True, True]])

    def test_shares_over_capacity(self):
        p = self.problem(demand=[[10.0], [10.0]],
                         min_share=[[0.8, 0], [0.8, 0]])
        exc = self.assertRaises(region_lp.RegionLPError,
                                make_optimizer().solve, p)
        self.assertIn('minimum shares in region r0 need 16', str(exc))

    def test_unknown_tier(self):
        p = self.problem(tiers=['gold', 'platinum'])
        exc = self.assertRaises(cost.CostModelError,
                                make_optimizer().solve, p)
        self.assertIn("'platinum' has no penalty", str(exc))


class ForecastInputTest(base.TestCase):

    def forecast(self, rc, series, upper, level=0.95):
        upper = np.asarray(upper, dtype=float)
        return forecast_base.Forecast(
            series=series, metric=rc, start=0, step=300, level=level,
            point=upper * 0.5, lower=upper * 0.25, upper=upper,
            valid=np.ones(len(series), dtype=bool),
            reason=[''] * len(series), model='test')

    def test_peak_upper_bound(self):
        fcs = {'VCPU': self.forecast('VCPU', ['b', 'a'],
                                     [[1, 5, 2], [3, 1, 4]]),
               'MEMORY_MB': self.forecast('MEMORY_MB', ['a', 'b'],
                                          [[10, 20, 5], [7, 7, 8]])}
        upper, point = region_lp.demand_from_forecasts(
            fcs, ['a', 'b'], CLASSES, level=0.95)
        np.testing.assert_allclose([[4, 20], [5, 8]], upper)
        np.testing.assert_allclose([[2, 10], [2.5, 4]], point)

    def test_mismatches(self):
        fcs = {'VCPU': self.forecast('VCPU', ['a'], [[1, 2]], level=0.9)}
        for kwargs, text in (
                ({'level': 0.95}, 'at level 0.9 but the SLA needs 0.95'),
                ({'resource_classes': CLASSES}, 'no forecast of MEMORY_MB'),
                ({'apps': ['a', 'zz']}, 'no series for apps zz')):
            args = dict(forecasts=fcs, apps=['a'],
                        resource_classes=['VCPU'])
            args.update(kwargs)
            exc = self.assertRaises(region_lp.RegionLPError,
                                    region_lp.demand_from_forecasts,
                                    **args)
            self.assertIn(text, str(exc))


class PluginTest(base.TestCase):

    def test_entry_point_and_conf(self):
        cls = plugins.load_class('irra.optimizers', 'region_lp')
        self.assertIs(region_lp.RegionLPOptimizer, cls)
        opt = region_lp.from_conf(self.conf)
        self.assertIsInstance(opt.unit_price, cost.UnitPriceCost)
        self.assertIsInstance(opt.transfer, cost.TransferCost)
        self.assertIsInstance(opt.sla_penalty, cost.SLAPenaltyCost)
        self.assertEqual('pricing', opt.method)
        self.flags(group='optimizers.region_lp', lp_method='full')
        self.assertEqual('full', region_lp.from_conf(self.conf).method)
