"""Host rebalancing with the risk objective: migrations worth their cost."""

import numpy as np

from irra_openstack.optimizer import _packing
from irra_openstack.optimizer import _risk
from irra_openstack.optimizer import model
from irra_openstack.optimizer import rebalance
from tests import base


def cluster(host_cpus, vm_host, samples, vcpus=None, step=300, **kw):
    """Hosts of ``host_cpus`` cores; VM CPU scenarios ``samples`` (V, S, T).

    Memory and disk never bind; flavors of ``vcpus`` (1 each by default)
    at an allocation ratio of 4.
    """
    samples = np.asarray(samples, dtype=float)
    v, s, t = samples.shape
    h = len(host_cpus)
    capacity = np.array([[c, 1024.0 * c, 1000.0] for c in host_cpus])
    scen = np.zeros((v, s, t, 3))
    scen[..., 0] = samples
    scen[..., 1] = 64.0
    flavor = np.zeros((v, 3))
    flavor[:, 0] = np.ones(v) if vcpus is None else vcpus
    flavor[:, 1] = 128.0
    upper = scen.max(axis=1)
    kw.setdefault('allocation_ratio', np.tile([4.0, 1.5, 1.0], (h, 1)))
    return model.ClusterModel(
        host_names=['h%d' % i for i in range(h)], capacity=capacity,
        reserved=np.zeros((h, 3)), vm_ids=['v%d' % i for i in range(v)],
        flavor=flavor, vm_host=vm_host, usage_upper=upper,
        usage_point=scen.mean(axis=1), usage_samples=scen,
        threshold=np.full((h, 3), 0.8), step=step, **kw)


def steady(values, scenarios=4, steps=3):
    """Scenarios (V, S, T) where every VM uses its value throughout."""
    return np.broadcast_to(np.asarray(values, dtype=float)[:, None, None],
                           (len(values), scenarios, steps)).copy()


def plan(m, **kw):
    kw.setdefault('objective', 'risk')
    return rebalance.HostRebalancer(**kw).plan(m)


def moves(result):
    return {a.resource_id: (a.source, a.destination)
            for a in result.actions}


class RiskTest(base.TestCase):

    def test_certain_overload_is_removed(self):
        # h0 (8 cores) runs 6 + 5 = 11 all the time; h1 runs 2. Moving v1
        # (5) leaves h0 at 6 and h1 at 7: no overload left; moving v0
        # would put h1 at 8, at its level: also fine, but v1 is smaller.
        m = cluster([8, 8], [0, 0, 1], steady([6, 5, 2]))
        res = plan(m, move_cost=1.0)
        self.assertEqual({'v1': ('h0', 'h1')}, moves(res))
        # 3 steps x 5 minutes, every scenario, before; none after.
        self.assertAlmostEqual(15.0, res.summary['risk_before'])
        self.assertAlmostEqual(0.0, res.summary['risk_after'])
        self.assertEqual('risk', res.summary['method'])
        (act,) = res.actions
        self.assertIn('overload risk', act.reason['constraint'])
        self.assertAlmostEqual(15.0, act.reason['risk']['minutes_saved'])
        self.assertAlmostEqual(0.0,
                               act.reason['risk']['source_minutes_after'])
        self.assertEqual([], res.shortfalls)

    def test_room_outweighs_a_small_risk(self):
        # h0 (8 cores) runs 6 + 4 = 10: overloaded at every step. v1 (4)
        # can go to h1 (runs 3.5: 7.5 after, no risk but 94 % full) or to
        # h2 (runs 1, but bursts to 5 in one scenario of 20 at one step:
        # 5 / 20 = 0.25 minutes of risk after the move, 5 + 4 = 9 > 8).
        # h2 keeps far more room on average: it is chosen.
        samples = steady([6, 4, 3.5, 1], scenarios=20, steps=3)
        samples[3, 0, 1] = 5.0
        m = cluster([8, 8, 8], [0, 0, 1, 2], samples)
        res = plan(m, move_cost=1.0)
        self.assertEqual({'v1': ('h0', 'h2')}, moves(res))
        self.assertAlmostEqual(0.25, res.summary['risk_after'])
        # With the headroom as a mere tie-break, the riskless h1 wins.
        self.patch(_risk, '_ROOM_WEIGHT', 1e-3)
        self.assertEqual({'v1': ('h0', 'h1')}, moves(plan(m, move_cost=1.0)))

    def test_host_only_busy_hosts_could_relieve_is_left_alone(self):
        # The same as below with h1 of 8 cores: v0 would fill it to 100 %
        # at its peak, and v1, which would leave room, costs more than it
        # saves. The chain goes to the room, is not worth its cost, and
        # nothing moves; with the room as a mere tie-break v0 goes.
        s = steady([5, 2, 1], scenarios=2, steps=3)
        s[0, :, 2] = 7.0
        m = cluster([8, 8], [0, 0, 1], s)
        m.move_penalty = np.array([0.0, 4.5, 0.0])
        self.assertEqual([], plan(m, move_cost=1.0).actions)
        self.patch(_risk, '_ROOM_WEIGHT', 1e-3)
        self.assertEqual({'v0': ('h0', 'h1')},
                         moves(plan(m, move_cost=1.0)))

    def test_move_penalty(self):
        # h0 overloads at one step in every scenario (5 minutes saved by
        # moving v1): worth a cost of 1, not 1 plus a penalty of 4.5; a
        # penalty on v0 only sends v1, never v0. h1 has room for either.
        s = steady([5, 2, 1], scenarios=2, steps=3)
        s[0, :, 2] = 7.0
        m = cluster([8, 16], [0, 0, 1], s)
        m.move_penalty = np.array([0.0, 4.5, 0.0])
        res = plan(m, move_cost=1.0)
        self.assertEqual({'v0': ('h0', 'h1')}, moves(res))
        m.move_penalty = np.array([4.5, 4.5, 0.0])
        self.assertEqual([], plan(m, move_cost=1.0).actions)
        m.move_penalty = np.array([4.5, 0.0, 0.0])
        self.assertEqual({'v1': ('h0', 'h1')},
                         moves(plan(m, move_cost=1.0)))

    def test_move_only_when_worth_its_cost(self):
        # h0 overloads at one step in one scenario of four: an expected
        # 5 / 4 = 1.25 minutes. Worth a migration costing 1, not 2.
        s = steady([5, 2, 1], scenarios=4, steps=3)
        s[0, 0, 2] = 7.0
        m = cluster([8, 8], [0, 0, 1], s)
        self.assertEqual([], plan(m, move_cost=2.0).actions)
        cheap = plan(m, move_cost=1.0)
        self.assertEqual(1, len(cheap.actions))
        self.assertAlmostEqual(1.25, cheap.summary['risk_before'])
        self.assertAlmostEqual(0.0, cheap.summary['risk_after'])
        # At half the cores (4), v0 alone (5) overloads any host: the
        # risk left is reported.
        res = plan(m, move_cost=1.0, risk_level=0.5)
        self.assertIn('h0', [x.resource_id for x in res.shortfalls])
        self.assertGreater(res.summary['risk_after'], 1.0)

    def test_level(self):
        # 7 of 8 cores: no overload at level 1, one at level 0.8.
        m = cluster([8, 8], [0, 0, 1], steady([4, 3, 1]))
        self.assertEqual([], plan(m, move_cost=1.0).actions)
        res = plan(m, move_cost=1.0, risk_level=0.8)
        self.assertEqual(1, len(res.actions))
        self.assertAlmostEqual(0.0, res.summary['risk_after'])

    def test_correlated_destination_avoided(self):
        # v0 (h0) must leave: h0 is overloaded whenever it bursts. h1 and
        # h2 have the same mean load, but v1 (h1) bursts in the same
        # scenarios as v0 and v2 (h2) in the others. Only h2 is safe.
        s = np.zeros((4, 4, 2))
        burst = np.array([True, True, False, False])
        s[0] = np.where(burst, 4.0, 1.0)[:, None]
        s[1] = np.where(burst, 5.0, 1.0)[:, None]
        s[2] = np.where(burst, 1.0, 5.0)[:, None]
        s[3] = 5.0
        m = cluster([8, 8, 8], [0, 1, 2, 0], s)
        np.testing.assert_allclose(m.samples()[1, :, :, 0].mean(),
                                   m.samples()[2, :, :, 0].mean())
        res = plan(m, move_cost=1.0)
        self.assertEqual({'v0': ('h0', 'h2')}, moves(res))
        self.assertAlmostEqual(0.0, res.summary['risk_after'])

    def test_chain_when_one_move_saves_nothing(self):
        # h0: 5 + 5 + 4 = 14 on 8 cores. Moving any one VM leaves it
        # overloaded (9 or 10), so the first move alone saves nothing;
        # two moves fix it, and the chain keeps both.
        m = cluster([8, 8, 8], [0, 0, 0, 1, 2], steady([5, 5, 4, 2, 2]))
        res = plan(m, move_cost=1.0)
        self.assertEqual(2, len(res.actions))
        self.assertAlmostEqual(0.0, res.summary['risk_after'])
        self.assertTrue(all(a.source == 'h0' for a in res.actions))
        # Two migrations to save 15 minutes: not at 8 minutes each.
        self.assertEqual([], plan(m, move_cost=8.0).actions)

    def test_lead_steps_cannot_be_helped(self):
        # The overload is at step 0 only: a migration planned now is
        # still running then.
        s = steady([5, 2, 1], scenarios=2, steps=3)
        s[0, :, 0] = 7.0
        m = cluster([8, 8], [0, 0, 1], s)
        self.assertEqual(1, len(plan(m, move_cost=1.0).actions))
        res = plan(m, move_cost=1.0, lead_steps=1)
        self.assertEqual([], res.actions)
        self.assertAlmostEqual(0.0, res.summary['risk_before'])

    def test_hard_rules(self):
        # h1 is disabled, h2 has no vCPU allocation left (4 x 1 cores),
        # h3 runs a member of v0's anti-affinity group: v0 (or v1) may
        # only go to h4.
        s = steady([5, 5, 0.5, 1, 1])
        m = cluster([8, 8, 1, 8, 8], [0, 0, 2, 3, 4], s,
                    vcpus=np.array([1, 1, 4, 1, 1]),
                    enabled=np.array([True, False, True, True, True]),
                    server_groups=[model.ServerGroup(
                        'g', model.ANTI_AFFINITY, (0, 1, 3))])
        res = plan(m, move_cost=1.0)
        (act,) = res.actions
        self.assertEqual(('h0', 'h4'), (act.source, act.destination))
        # Nowhere to go: the risk is left and reported.
        m.enabled[4] = False
        res = plan(m, move_cost=1.0)
        self.assertEqual([], res.actions)
        (short,) = res.shortfalls
        self.assertEqual(('h0', 'VCPU'), (short.resource_id,
                                          short.resource_class))
        self.assertAlmostEqual(15.0, short.amount)

    def test_no_scenarios_uses_the_point(self):
        m = cluster([8, 8], [0, 0, 1], steady([6, 5, 2]))
        m.usage_samples = None
        res = plan(m, move_cost=1.0)
        self.assertEqual(1, len(res.actions))

    def test_arguments(self):
        for kw in ({'objective': 'magic'}, {'move_cost': -1},
                   {'risk_level': 0}, {'lead_steps': -1},
                   {'objective': 'risk', 'consolidate': True},
                   {'objective': 'risk', 'evacuate': True}):
            self.assertRaises(rebalance.RebalanceError,
                              rebalance.HostRebalancer, **kw)
        names = [o.name for o in rebalance.HostRebalancer.get_config_opts()]
        for name in ('objective', 'move_cost', 'risk_level', 'lead_steps'):
            self.assertIn(name, names)

    def test_bad_samples(self):
        m = cluster([8, 8], [0, 0, 1], steady([6, 5, 2]))
        self.assertRaises(ValueError, model.ClusterModel,
                          host_names=m.host_names, capacity=m.capacity,
                          allocation_ratio=m.allocation_ratio,
                          reserved=m.reserved, vm_ids=m.vm_ids,
                          flavor=m.flavor, vm_host=m.vm_host,
                          usage_upper=m.usage_upper,
                          move_penalty=np.array([1.0, -1.0, 0.0]))
        for bad in (np.zeros((3, 2, 5, 3)), np.zeros((3, 2, 3)),
                    np.full((3, 2, 3, 3), np.nan)):
            self.assertRaises(ValueError, model.ClusterModel,
                              host_names=m.host_names, capacity=m.capacity,
                              allocation_ratio=m.allocation_ratio,
                              reserved=m.reserved, vm_ids=m.vm_ids,
                              flavor=m.flavor, vm_host=m.vm_host,
                              usage_upper=m.usage_upper, usage_samples=bad)


class RiskSearchTest(base.TestCase):

    def test_never_raises_the_total_risk(self):
        # Random clusters: the kept moves lower the total risk by more
        # than their cost, and obey the hard rules.
        rng = np.random.default_rng(4)
        for seed in range(5):
            base_m = model.ClusterModel.random(8, 60, horizon=4, seed=seed,
                                               load=0.85)
            v = base_m.n_vms
            scen = np.repeat(base_m.usage_point[:, None], 10, axis=1)
            noise = rng.gamma(0.5, 0.4, (v, 10, 4))
            scen[..., 0] *= 0.6 + noise
            base_m.usage_samples = scen
            problem = _packing.Problem(base_m, threshold=1.0)
            search = _risk.RiskSearch(problem, level=1.0, move_cost=2.0)
            before = search.total()
            vm_host = search.run(float('inf'))
            moved = int(np.count_nonzero(vm_host != base_m.vm_host))
            self.assertLessEqual(search.total(),
                                 before - 2.0 * moved + 1e-9)
            np.testing.assert_allclose(search.host_risk(vm_host),
                                       search.risk)
            alloc = base_m.host_allocated(vm_host)
            self.assertTrue(np.all(
                alloc[np.unique(vm_host[vm_host != base_m.vm_host])] <=
                base_m.placement_capacity()[np.unique(
                    vm_host[vm_host != base_m.vm_host])] * (1 + 1e-9)))
