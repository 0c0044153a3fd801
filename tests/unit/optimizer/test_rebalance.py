"""Host rebalancing: hard constraints, fewest migrations, exact vs fast."""

import hypothesis
from hypothesis import strategies as st
import numpy as np

from irra_openstack.db import constants
from irra_openstack.optimizer import _packing
from irra_openstack.optimizer import bench_rebalance
from irra_openstack.optimizer import model
from irra_openstack.optimizer import rebalance
from irra_openstack import plugins
from tests import base

BOTH = ('exact', 'heuristic')


def cluster(host_cpus, vms, threshold=0.8, **kw):
    """A cluster of hosts of ``host_cpus`` cores.

    ``vms`` = [(host, cpu)], ``cpu`` a number or one per forecast step.
    Memory and disk never bind.
    """
    horizon = max(np.size(cpu) for _h, cpu in vms)
    h, v = len(host_cpus), len(vms)
    capacity = np.array([[c, 1024.0 * c, 1000.0] for c in host_cpus])
    usage = np.zeros((v, horizon, 3))
    flavor = np.zeros((v, 3))
    for i, (_host, cpu) in enumerate(vms):
        usage[i, :, 0] = cpu
        usage[i, :, 1] = 64.0
        usage[i, :, 2] = 1.0
        flavor[i] = [np.max(cpu), 128.0, 1.0]
    kw.setdefault('allocation_ratio', np.tile([4.0, 1.5, 1.0], (h, 1)))
    return model.ClusterModel(
        host_names=['h%d' % i for i in range(h)], capacity=capacity,
        reserved=np.zeros((h, 3)), vm_ids=['v%d' % i for i in range(v)],
        flavor=flavor, vm_host=[host for host, _cpu in vms],
        usage_upper=usage, threshold=np.full((h, 3), threshold), **kw)


def plan(m, method, **kw):
    return rebalance.HostRebalancer(method=method, **kw).plan(m)


def moves(result):
    return {a.resource_id: (a.source, a.destination)
            for a in result.actions}


def check_hard(test, m, result, evacuate=False, threshold=None):
    """Every hard rule, checked from the model alone."""
    before = m.vm_host
    after = result.summary['vm_host']
    test.assertEqual(before.shape, after.shape)
    test.assertTrue(np.all((after >= 0) == (before >= 0)))
    limit = (m.threshold if threshold is None else threshold) * m.capacity
    usage = m.host_usage_upper(after)
    alloc = m.host_allocated(after)
    count = np.bincount(after[after >= 0], minlength=m.n_hosts)
    moved = np.flatnonzero(after != before)
    test.assertEqual(len(moved), result.summary['migrations'])
    test.assertEqual(len(moved), len(result.actions))
    for v in moved:
        dst = after[v]
        test.assertTrue(m.enabled[dst], 'VM %d moved to disabled host' % v)
        if m.vm_az[v] is not None:
            test.assertEqual(m.vm_az[v], m.host_az[dst])
        test.assertLessEqual(set(m.vm_aggregates[v]),
                             set(m.host_aggregates[dst]))
    for dst in set(after[moved].tolist()):
        # A host that receives VMs ends within every limit.
        test.assertTrue(np.all(usage[dst] <= limit[dst] * (1 + 1e-9)
                               + 1e-9), 'host %d overloaded' % dst)
        test.assertTrue(np.all(alloc[dst] <= m.placement_capacity()[dst]
                               * (1 + 1e-9) + 1e-9))
        if m.max_instances[dst] > 0:
            test.assertLessEqual(count[dst], m.max_instances[dst])
    for g in m.server_groups:
        hosts_b = before[list(g.members)]
        hosts_a = after[list(g.members)]
        if g.policy == model.AFFINITY and len(set(hosts_b)) == 1:
            test.assertEqual(1, len(set(hosts_a)), g)
        if g.policy == model.ANTI_AFFINITY and \
                len(set(hosts_b)) == len(hosts_b):
            test.assertEqual(len(hosts_a), len(set(hosts_a)), g)
    if evacuate:
        left = np.flatnonzero(~m.enabled[after[after >= 0]])
        if len(left):
            test.assertTrue(any('cannot be evacuated' in s.reason
                                for s in result.shortfalls))
    over = m.overloaded(after) if threshold is None else None
    if over is not None:
        # Over Placement capacity or max_instances counts as overloaded.
        over |= np.any(alloc > m.placement_capacity() * (1 + 1e-9) + 1e-9,
                       axis=1)
        over |= (m.max_instances > 0) & (count > m.max_instances)
        test.assertEqual(int(over.sum()),
                         result.summary['overloaded_after'])
        for h in np.flatnonzero(over):
            test.assertTrue(any(s.resource_id == m.host_names[h]
                                for s in result.shortfalls))


class PluginTest(base.TestCase):

    def test_loads(self):
        reb = plugins.load('irra.optimizers', 'rebalance', method='exact')
        self.assertIsInstance(reb, rebalance.HostRebalancer)
        self.assertEqual('exact', reb.method)

    def test_options_documented(self):
        opts = rebalance.HostRebalancer.get_config_opts()
        names = [o.name for o in opts]
        for name in ('threshold', 'consolidate', 'method', 'time_limit',
                     'evacuate', 'neighbourhood'):
            self.assertIn(name, names)
        for opt in opts:
            self.assertGreater(len(opt.help), 30, opt.name)

    def test_bad_arguments(self):
        for kw in ({'method': 'magic'}, {'threshold': -1},
                   {'threshold': [0.8, 0.9]}, {'time_limit': -1},
                   {'threshold': float('nan')}):
            exc = self.assertRaises(rebalance.RebalanceError,
                                    rebalance.HostRebalancer, **kw)
            self.assertIn('Cannot plan host rebalancing', str(exc))

    def test_not_a_model(self):
        self.assertRaises(rebalance.RebalanceError,
                          rebalance.HostRebalancer().plan, {'hosts': 1})

    def test_inconsistent_model(self):
        m = cluster([10, 10], [(0, 5), (1, 4)])
        m.host_az = ['az0']
        exc = self.assertRaises(rebalance.RebalanceError, plan, m, 'auto')
        self.assertIn('host_az has shape (1,), expected (2,)', str(exc))
        m = cluster([10, 10], [(0, 5), (1, 4)], server_groups=[
            model.ServerGroup('g', model.AFFINITY, (0, 7))])
        exc = self.assertRaises(rebalance.RebalanceError, plan, m, 'auto')
        self.assertIn('server group g names VM indices outside 0..1: [7]',
                      str(exc))

    def test_exact_refuses_a_huge_region(self):
        m = model.ClusterModel.random(2001, 1000, horizon=1)
        exc = self.assertRaises(rebalance.RebalanceError, plan, m, 'exact')
        self.assertIn("use method='heuristic'", str(exc))


class RebalanceTest(base.TestCase):

    def test_nothing_to_do(self):
        m = cluster([10, 10], [(0, 3), (1, 3)])
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual([], res.actions)
            self.assertEqual([], res.shortfalls)
            self.assertEqual(0, res.summary['overloaded_before'])

    def test_fewest_and_smallest(self):
        # h0 at 9 of a limit of 8: one 2-vCPU VM clears it; the 5 stays.
        m = cluster([10, 10], [(0, 5), (0, 2), (0, 2), (1, 1)])
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual(1, len(res.actions), method)
            act = res.actions[0]
            self.assertEqual(constants.ActionType.LIVE_MIGRATE,
                             act.action_type)
            self.assertIn(act.resource_id, ('v1', 'v2'))
            self.assertEqual(('h0', 'h1'), (act.source, act.destination))
            cpu = act.reason['forecast']['per_class']['VCPU']
            self.assertAlmostEqual(9.0, cpu['peak_upper'])
            self.assertAlmostEqual(8.0, cpu['limit'])
            self.assertEqual('host overload: h0 VCPU',
                             act.reason['constraint'])
            self.assertAlmostEqual(
                1.0, act.reason['benefit']['source_overload_removed']['VCPU'])
            self.assertEqual(1, res.summary['overloaded_before'])
            self.assertEqual(0, res.summary['overloaded_after'])
            self.assertEqual(method, res.summary['method'])
            check_hard(self, m, res)
        self.assertEqual(0.0, plan(m, 'exact').summary['optimality_gap'])

    def test_time_aware(self):
        # q's peak (6) plus r's peak (8) pass 10, but they peak at
        # different steps: per step q fits on h1; p does not.
        m = cluster([10, 10], [(0, [5, 5]), (0, [6, 1]), (1, [1, 8])],
                    threshold=1.0)
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual({'v1': ('h0', 'h1')}, moves(res), method)
            self.assertEqual(0, res.summary['overloaded_after'])

    def test_threshold_override(self):
        m = cluster([10, 10], [(0, 7), (1, 1)])
        self.assertEqual([], plan(m, 'heuristic').actions)
        for method in BOTH:
            res = plan(m, method, threshold=0.5)
            # 7 > 5 on h0, and 7 > 5 on h1: nothing helps.
            self.assertEqual([], res.actions)
            self.assertEqual(1, res.summary['overloaded_after'])
            self.assertIn('threshold', res.shortfalls[0].reason)

    def test_affinity_moves_together_within_zone(self):
        # v2 must stay (only h0 is in az1); the affinity pair v0+v1 moves
        # as one, to h2 (h1 has no room for both).
        m = cluster([10, 10, 10],
                    [(0, 3), (0, 3), (0, 5), (1, 6), (2, 2)],
                    host_az=['az1', 'az0', 'az0'],
                    vm_az=[None, None, 'az1', None, None],
                    server_groups=[model.ServerGroup('g', model.AFFINITY,
                                                     (0, 1))])
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual({'v0': ('h0', 'h2'), 'v1': ('h0', 'h2')},
                             moves(res), method)
            check_hard(self, m, res)

    def test_anti_affinity(self):
        # v0 cannot join v2 on h1 (anti-affinity); v1 is pinned to az1.
        m = cluster([10, 10, 10], [(0, 4), (0, 5), (1, 1), (2, 4)],
                    host_az=['az1', 'az0', 'az0'],
                    vm_az=[None, 'az1', None, None],
                    server_groups=[model.ServerGroup(
                        'g', model.ANTI_AFFINITY, (0, 2))])
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual({'v0': ('h0', 'h2')}, moves(res), method)

    def test_soft_anti_affinity_is_a_preference(self):
        # Either host takes v1; the soft rule prefers h2 (v2 is on h1),
        # and is broken when only h1 has room.
        group = [model.ServerGroup('g', model.SOFT_ANTI_AFFINITY, (1, 2))]
        m = cluster([10, 10, 10], [(0, 7.5), (0, 1.5), (1, 1), (2, 1)],
                    server_groups=group)
        for method in BOTH:
            self.assertEqual({'v1': ('h0', 'h2')},
                             moves(plan(m, method)), method)
        m = cluster([10, 10, 10], [(0, 7.5), (0, 1.5), (1, 1), (2, 7)],
                    server_groups=group)
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual({'v1': ('h0', 'h1')}, moves(res), method)
            self.assertEqual(1, res.summary['soft_violations'])

    def test_disabled_and_aggregates(self):
        # h1 is disabled and h2 lacks the aggregate v1 needs: only h3.
        m = cluster([10, 10, 10, 10], [(0, 5), (0, 4), (2, 1), (3, 1)],
                    enabled=np.array([True, False, True, True]),
                    host_aggregates=[frozenset(['ssd']), frozenset(['ssd']),
                                     frozenset(), frozenset(['ssd'])],
                    vm_aggregates=[frozenset(['ssd'])] * 2 +
                    [frozenset()] * 2)
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual(1, len(res.actions))
            self.assertEqual('h3', res.actions[0].destination)
            check_hard(self, m, res)

    def test_evacuate(self):
        m = cluster([10, 10, 10], [(0, 2), (0, 3), (1, 1), (2, 1)],
                    enabled=np.array([False, True, True]))
        for method in BOTH:
            self.assertEqual([], plan(m, method).actions)
            res = plan(m, method, evacuate=True)
            self.assertEqual({'v0', 'v1'}, set(moves(res)))
            self.assertTrue(all(a.reason['constraint'].startswith(
                'maintenance') for a in res.actions))
            check_hard(self, m, res, evacuate=True)
        # No room anywhere: a shortfall, not an exception.
        m = cluster([10, 10], [(0, 7), (1, 7)],
                    enabled=np.array([False, True]))
        for method in BOTH:
            res = plan(m, method, evacuate=True)
            self.assertEqual([], res.actions)
            self.assertEqual(1, len(res.shortfalls))
            self.assertIn('cannot be evacuated', res.shortfalls[0].reason)

    def test_placement_capacity_and_max_instances(self):
        # h1 has usage room but not Placement room (ratio 1, flavor 8);
        # h2 is at its instance limit; h3 takes it.
        m = cluster([10, 10, 10, 10], [(0, 5), (0, 4), (1, 3), (2, 1),
                                       (3, 1)],
                    allocation_ratio=np.tile([1.0, 1.5, 1.0], (4, 1)),
                    max_instances=np.array([0, 0, 1, 0]))
        m.flavor[1, 0] = 8.0
        m.flavor[2, 0] = 6.0
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual(['h3'], [a.destination for a in res.actions])
            check_hard(self, m, res)

    def test_consolidate(self):
        m = cluster([10, 10, 10], [(0, 3), (1, 3), (2, 1)])
        for method in BOTH:
            self.assertEqual([], plan(m, method).actions)
            res = plan(m, method, consolidate=True)
            self.assertEqual(1, res.summary['hosts_used'])
            self.assertEqual(3, res.summary['hosts_used_before'])
            self.assertEqual(2, res.summary['migrations'])
            self.assertTrue(all(a.reason['constraint'].startswith(
                'consolidation') for a in res.actions))
            self.assertTrue(all(a.reason['benefit']['host_freed']
                                for a in res.actions))

    def test_auto(self):
        m = cluster([10, 10], [(0, 5), (0, 4)])
        self.assertEqual('exact', plan(m, 'auto').summary['method'])
        self.assertEqual('heuristic', plan(
            m, 'auto', exact_max_vms=1).summary['method'])


class ImpossibleTest(base.TestCase):

    def test_vm_bigger_than_any_host(self):
        m = cluster([10, 10], [(0, 12), (1, 1)])
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual([], res.actions)
            self.assertEqual(1, res.summary['overloaded_after'])
            (short,) = res.shortfalls
            self.assertEqual(('h0', 'VCPU', constants.ResourceKind.HOST),
                             (short.resource_id, short.resource_class,
                              short.resource_kind))
            self.assertAlmostEqual(4.0, short.amount)
            self.assertIn('threshold blocks v0', short.reason)
            self.assertIn('12 VCPU', short.reason)

    def test_contradictory_groups(self):
        groups = [model.ServerGroup('together', model.AFFINITY, (0, 1)),
                  model.ServerGroup('apart', model.ANTI_AFFINITY, (0, 1))]
        m = cluster([10, 10], [(0, 5), (0, 5), (1, 1)],
                    server_groups=groups)
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual([], res.actions)
            reasons = ' '.join(s.reason for s in res.shortfalls)
            self.assertIn('contradict', reasons)
            self.assertIn('apart', reasons)
            # The overload it leaves is reported too.
            self.assertIn('h0', [s.resource_id for s in res.shortfalls])

    def test_affinity_across_zones(self):
        groups = [model.ServerGroup('g', model.AFFINITY, (0, 1))]
        m = cluster([10, 10, 10], [(0, 5), (0, 5), (1, 1)],
                    host_az=['az0', 'az0', 'az1'],
                    vm_az=['az0', 'az1', None], server_groups=groups)
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual([], res.actions)
            self.assertIn('no host in common',
                          ' '.join(s.reason for s in res.shortfalls))

    def test_zone_without_enabled_host(self):
        # v0 must stay in az1, whose other host is disabled.
        m = cluster([10, 10, 10], [(0, 9), (2, 1)],
                    host_az=['az1', 'az1', 'az0'], vm_az=['az1', None],
                    enabled=np.array([True, False, True]))
        for method in BOTH:
            res = plan(m, method)
            self.assertEqual([], res.actions)
            self.assertIn('availability zone', res.shortfalls[0].reason)

    def test_broken_affinity_is_repaired(self):
        groups = [model.ServerGroup('g', model.AFFINITY, (0, 1))]
        m = cluster([10, 10, 10], [(0, 2), (1, 2), (2, 1)],
                    server_groups=groups)
        for method in BOTH:
            res = plan(m, method)
            after = res.summary['vm_host']
            self.assertEqual(after[0], after[1])
            self.assertEqual(1, res.summary['migrations'])
            self.assertIn('server group affinity',
                          res.actions[0].reason['constraint'])


class BestEffortTest(base.TestCase):
    """An overload that cannot be removed is lowered as far as it goes."""

    def test_partial_relief(self):
        # h0: 6 + 6 + 3 = 15 over a limit of 8; h1 (4 used) takes 4 more
        # at most: only the 3 fits, which leaves h0 at 12.
        m = cluster([10, 10], [(0, 6), (0, 6), (0, 3), (1, 4)])
        res = plan(m, 'heuristic')
        self.assertEqual({'v2': ('h0', 'h1')}, moves(res))
        self.assertEqual(1, res.summary['overloaded_after'])
        self.assertLess(res.summary['residual_after'],
                        res.summary['residual_before'])
        act = res.actions[0]
        self.assertTrue(act.reason['benefit']['source_overloaded_after'])
        self.assertAlmostEqual(
            3.0, act.reason['benefit']['source_overload_removed']['VCPU'])
        (short,) = res.shortfalls
        self.assertEqual(('h0', 'VCPU'), (short.resource_id,
                                          short.resource_class))
        self.assertAlmostEqual(4.0, short.amount)
        check_hard(self, m, res)
        # Without best effort nothing moves and the overload stays whole.
        old = plan(m, 'heuristic', best_effort=False)
        self.assertEqual([], old.actions)
        self.assertAlmostEqual(7.0, old.shortfalls[0].amount)
        self.assertEqual(old.summary['residual_before'],
                         old.summary['residual_after'])

    def test_useless_move_not_made(self):
        # h0 is over at step 0 only, because of v0, which fits nowhere;
        # v1 peaks at step 1 and moving it lowers nothing.
        m = cluster([10, 10], [(0, [9, 1]), (0, [0, 5]), (1, 1)])
        res = plan(m, 'heuristic')
        self.assertEqual([], res.actions)
        self.assertEqual(1, res.summary['overloaded_after'])

    def test_lower_residual_and_hard_rules(self):
        # Overloaded clusters: best effort leaves less predicted overload
        # than moving nothing off unfixable hosts, never breaking a rule.
        lowered = 0
        for seed in range(4):
            m = model.ClusterModel.random(
                12, 160, horizon=6, seed=seed, load=0.95, n_groups=6,
                n_azs=2, max_instances=20)
            for consolidate in (False, True):
                kw = {'consolidate': consolidate, 'time_limit': 2}
                new = plan(m, 'heuristic', **kw)
                old = plan(m, 'heuristic', best_effort=False, **kw)
                check_hard(self, m, new)
                check_hard(self, m, old)
                self.assertLessEqual(new.summary['residual_after'],
                                     new.summary['residual_before'])
                self.assertLessEqual(new.summary['residual_after'],
                                     old.summary['residual_after'] + 1e-6)
                lowered += (new.summary['residual_after'] <
                            old.summary['residual_after'] - 1e-6)
        self.assertGreater(lowered, 0)


class MediumTest(base.TestCase):

    def test_heuristic_hard_rules_at_scale(self):
        m = model.ClusterModel.random(
            150, 1500, horizon=12, seed=7, load=0.75, n_groups=60,
            n_azs=3, disabled=0.05, max_instances=14)
        m.host_aggregates = [frozenset(['ssd']) if h % 2 else frozenset()
                             for h in range(m.n_hosts)]
        m.vm_aggregates = [frozenset(['ssd'])
                           if m.vm_host[v] >= 0 and m.vm_host[v] % 2 and
                           v % 5 == 0 else frozenset()
                           for v in range(m.n_vms)]
        for kw in ({}, {'consolidate': True}, {'evacuate': True}):
            res = plan(m, 'heuristic', time_limit=2, **kw)
            self.assertLess(res.summary['overloaded_after'],
                            res.summary['overloaded_before'])
            check_hard(self, m, res, evacuate=kw.get('evacuate', False))


def perturbed(seed, hosts, vms, moves_n):
    """A cluster with a known overload-free placement, perturbed.

    ``moves_n`` ungrouped VMs are moved at random (inside their zone).
    """
    m = model.ClusterModel.random(hosts, vms, horizon=6, seed=seed,
                                  load=0.35, n_groups=2, n_azs=2)
    clean = not m.overloaded().any()
    rng = np.random.default_rng(seed)
    grouped = {x for g in m.server_groups for x in g.members}
    free = [v for v in range(vms) if v not in grouped]
    k = min(moves_n, len(free))
    for v in rng.choice(free, size=k, replace=False):
        same = [h for h in range(hosts)
                if m.host_az[h] == m.host_az[m.vm_host[v]] and m.enabled[h]]
        m.vm_host[v] = rng.choice(same)
    return m, k, clean


class PropertyTest(base.TestCase):

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31),
                      hosts=st.integers(3, 6), vms=st.integers(4, 16),
                      groups=st.integers(0, 4), azs=st.integers(1, 2),
                      disabled=st.sampled_from([0.0, 0.3]),
                      max_instances=st.sampled_from([0, 5]),
                      load=st.floats(0.3, 0.8),
                      consolidate=st.booleans(), evacuate=st.booleans())
    def test_hard_rules_and_exact_bound(self, seed, hosts, vms, groups,
                                        azs, disabled, max_instances, load,
                                        consolidate, evacuate):
        m = model.ClusterModel.random(
            hosts, vms, horizon=4, seed=seed, load=load, n_groups=groups,
            n_azs=azs, disabled=disabled, max_instances=max_instances)
        kw = {'consolidate': consolidate, 'evacuate': evacuate,
              'time_limit': 60}
        ex = plan(m, 'exact', **kw)
        self.assertEqual('exact', ex.summary['method'])
        self.assertEqual(0, ex.summary['milp']['status'])
        fast = plan(m, 'heuristic', **kw)
        greedy = plan(m, 'heuristic', neighbourhood=0, **kw)
        problem = _packing.Problem(m, evacuate=evacuate)
        best = problem.objective(ex.summary['vm_host'], consolidate)
        for res in (ex, fast, greedy):
            check_hard(self, m, res, evacuate=evacuate)
            self.assertLessEqual(res.summary['overloaded_after'],
                                 res.summary['overloaded_before'])
            # The fast path is never better than the optimum.
            got = problem.objective(res.summary['vm_host'], consolidate)
            self.assertLessEqual(best, got * (1 + 1e-6) + 1e-6)

    @hypothesis.settings(max_examples=20, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31),
                      hosts=st.integers(3, 7), vms=st.integers(6, 24),
                      moves_n=st.integers(1, 6))
    def test_overloads_removed_when_feasible(self, seed, hosts, vms,
                                             moves_n):
        m, k, clean = perturbed(seed, hosts, vms, moves_n)
        hypothesis.assume(clean)
        ex = plan(m, 'exact')
        self.assertEqual(0, ex.summary['overloaded_after'])
        # Moving the k VMs back is one answer: the optimum is no worse.
        self.assertLessEqual(ex.summary['migrations'], k)
        fast = plan(m, 'heuristic')
        self.assertEqual(0, fast.summary['overloaded_after'])
        problem = _packing.Problem(m)
        self.assertLessEqual(
            problem.objective(ex.summary['vm_host'], False),
            problem.objective(fast.summary['vm_host'], False) + 1e-6)
        for res in (ex, fast):
            check_hard(self, m, res)

    def test_consolidation_close_to_optimum(self):
        # The 3 % target on hosts used, over a fixed set of instances; the
        # neighbourhoods (3 hosts) are much smaller than the clusters (8).
        exact_hosts = fast_hosts = greedy_hosts = 0
        for seed in range(8):
            m = model.ClusterModel.random(8, 24, horizon=6, seed=seed,
                                          load=0.4, n_groups=2)
            exact_hosts += plan(m, 'exact', consolidate=True).summary[
                'hosts_used']
            fast_hosts += plan(m, 'heuristic', consolidate=True,
                               neighbourhood=3).summary['hosts_used']
            greedy_hosts += plan(m, 'heuristic', consolidate=True,
                                 neighbourhood=0).summary['hosts_used']
        self.assertLessEqual(exact_hosts, fast_hosts)
        self.assertLessEqual(fast_hosts, exact_hosts * 1.03)
        # Greedy moves alone are no better than with the neighbourhoods.
        self.assertLessEqual(fast_hosts, greedy_hosts)


class BenchTest(base.TestCase):

    def test_first_fit_baseline(self):
        m = model.ClusterModel.random(30, 300, horizon=6, seed=3, load=0.7,
                                      n_groups=5, n_azs=2)
        after = bench_rebalance.first_fit(_packing.Problem(m))
        moved = np.flatnonzero(after != m.vm_host)
        self.assertGreater(len(moved), 0)
        limit = m.threshold * m.capacity
        peaks = m.host_usage_upper(after).max(axis=1)
        for v in moved:
            self.assertTrue(m.enabled[after[v]])
            self.assertTrue(m.vm_az[v] in (None, m.host_az[after[v]]))
            self.assertTrue(np.all(peaks[after[v]] <= limit[after[v]]
                                   + 1e-9))

    def test_run_small(self):
        out = bench_rebalance.run(hosts=20, vms=150, horizon=4,
                                  small_instances=1, small_hosts=4,
                                  small_vms=8)
        large = out['large']
        self.assertLessEqual(large['irra']['overloaded_after'],
                             large['overloaded_before'])
        self.assertEqual(
            large['ratio_irra_over_first_fit']['migrations'],
            round(large['irra']['migrations'] /
                  large['first_fit']['migrations'], 4)
            if large['first_fit']['migrations'] else None)
        small = out['small']
        for mode in ('consolidate', 'rebalance'):
            self.assertLessEqual(small[mode]['exact']['hosts_used'] if
                                 mode == 'consolidate' else 0,
                                 small[mode]['heuristic']['hosts_used'])
