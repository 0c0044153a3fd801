"""Surge shadowing: reservations ahead of surges, early releases."""

import datetime

import hypothesis
from hypothesis import strategies as st
import numpy as np

from irra_openstack.db import constants
from irra_openstack.optimizer import model
from irra_openstack.optimizer import shadowing
from irra_openstack import plugins
from tests import base

NOW = datetime.datetime(2026, 11, 22, 6, 0, tzinfo=datetime.timezone.utc)
RESERVE = constants.ActionType.RESERVE
RELEASE = constants.ActionType.RELEASE


def series(cpu_rows, mem=1000.0):
    """current (N, 3) and upper (N, T, 3) from per-step CPU rows.

    The current usage is the first value of each row; memory is flat.
    """
    cpu = np.asarray(cpu_rows, dtype=float)
    n, t = cpu.shape
    upper = np.zeros((n, t, 3))
    upper[:, :, 0] = cpu
    upper[:, :, 1] = mem
    current = np.stack([cpu[:, 0], np.full(n, mem), np.zeros(n)], axis=1)
    return current, upper


def by_target(result, kind=RESERVE):
    return {a.resource_id: a for a in result.actions
            if a.action_type == kind}


class ShadowingTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.shadow = shadowing.SurgeShadowing(
            margin=0.1, min_amount={'VCPU': 1, 'MEMORY_MB': 512})

    def plan(self, rows, **kw):
        current, upper = series(rows)
        names = ['r%d' % i for i in range(len(rows))]
        return self.shadow.plan_series(names, current, upper, now=NOW,
                                       **kw)

    def test_loads(self):
        shadow = plugins.load('irra.optimizers', 'shadowing', margin=0.2)
        self.assertIsInstance(shadow, shadowing.SurgeShadowing)
        names = [o.name for o in shadowing.SurgeShadowing.get_config_opts()]
        self.assertIn('expiry_margin', names)
        self.assertIn('release_ratio', names)

    def test_reserve_ahead_of_surge(self):
        res = self.plan([[10] * 8,
                         [10, 10, 17.5, 18, 12, 10, 10, 10],
                         [10, 20, 20, 20, 20, 20, 20, 20]])
        got = by_target(res)
        self.assertEqual({'r1', 'r2'}, set(got))
        r1 = got['r1']
        self.assertEqual('region', r1.resource_kind)
        self.assertEqual({'VCPU': 8}, r1.parameters['resources'])
        self.assertEqual('r1', r1.parameters['region'])
        self.assertEqual((NOW + datetime.timedelta(seconds=600)).isoformat(),
                         r1.parameters['starts_at'])
        # Surge over steps 2..4: it ends at 5 steps, plus 900 s.
        self.assertEqual(
            (NOW + datetime.timedelta(seconds=5 * 300 + 900)).isoformat(),
            r1.parameters['expires_at'])
        fc = r1.reason['forecast']['VCPU']
        self.assertEqual((10.0, 18.0, 3), (fc['current'], fc['peak_upper'],
                                           fc['peak_step']))
        self.assertEqual('predicted surge on region r1',
                         r1.reason['constraint'])
        # A surge to the end of the horizon expires after the horizon.
        self.assertEqual(
            (NOW + datetime.timedelta(seconds=8 * 300 + 900)).isoformat(),
            got['r2'].parameters['expires_at'])
        self.assertEqual({'VCPU': 10}, got['r2'].parameters['resources'])
        self.assertEqual(2, res.summary['surges'])

    def test_margin_min_amount_and_lead(self):
        # +0.8 is under min_amount; +0.9 of 10 is under the 10 % margin.
        self.assertEqual([], self.plan([[0.5, 1.3, 1.3],
                                        [10, 10.9, 10]]).actions)
        shadow = shadowing.SurgeShadowing(lead=600)
        current, upper = series([[10, 10, 10, 30], [10, 30, 10, 10]])
        res = shadow.plan_series(['a', 'b'], current, upper, now=NOW)
        self.assertEqual({'b'}, set(by_target(res)))

    def test_free_capacity_and_shortfall(self):
        res = self.plan([[10, 20, 20]], free=np.array([[6.5, 1e6, 0]]))
        self.assertEqual({'VCPU': 6},
                         by_target(res)['r0'].parameters['resources'])
        (short,) = res.shortfalls
        self.assertEqual(('r0', 'VCPU', 4.0), (short.resource_id,
                                               short.resource_class,
                                               short.amount))
        self.assertIn('only 6 can be reserved', short.reason)

    def test_release_when_revised_down(self):
        held = [
            {'id': 'gone', 'resource_id': 'r0', 'resources': {'VCPU': 8}},
            shadowing.ActiveReservation('right', 'r1', {'VCPU': 8}),
            shadowing.ActiveReservation('huge', 'r2', {'VCPU': 30}),
            shadowing.ActiveReservation('small', 'r3', {'VCPU': 4}),
        ]
        res = self.plan([[10] * 4, [10, 18, 18, 10], [10, 18, 18, 10],
                         [10, 18, 18, 10]], reservations=held)
        released = by_target(res, RELEASE)
        self.assertEqual({'gone', 'huge'}, set(released))
        self.assertEqual('gone', released['gone'].parameters['reservation'])
        self.assertEqual('r0', released['gone'].source)
        self.assertIn('no surge', released['gone'].reason['constraint'])
        self.assertIn('revised down', released['huge'].reason['constraint'])
        reserved = by_target(res)
        # The huge one is replaced by what is needed; the small one is
        # topped up; the right one is kept as it is (both are kept).
        self.assertEqual({'r2', 'r3'}, set(reserved))
        self.assertEqual({'VCPU': 8}, reserved['r2'].parameters['resources'])
        self.assertEqual({'VCPU': 4}, reserved['r3'].parameters['resources'])
        self.assertEqual((2, 2), (res.summary['kept'],
                                  res.summary['released']))

    def test_hosts_of_a_model(self):
        h, t = 3, 4
        usage = np.zeros((3, t, 3))
        usage[:, :, 0] = [[2, 2, 2, 2], [2, 6, 6, 2], [2, 6, 6, 2]]
        usage[:, :, 1] = 1024
        point = usage.copy()
        point[:, :, 0] = 2
        m = model.ClusterModel(
            host_names=['c0', 'c1', 'c2'],
            capacity=np.tile([16.0, 65536.0, 100.0], (h, 1)),
            allocation_ratio=np.ones((h, 3)), reserved=np.zeros((h, 3)),
            vm_ids=['a', 'b', 'c'], flavor=np.tile([4.0, 2048, 10], (3, 1)),
            vm_host=[0, 1, 2], usage_upper=usage, usage_point=point,
            enabled=np.array([True, True, False]))
        res = self.shadow.plan(m, now=NOW)
        got = by_target(res)
        self.assertEqual({'c1'}, set(got))   # c2 is disabled
        self.assertEqual('host', got['c1'].resource_kind)
        self.assertEqual('c1', got['c1'].parameters['host'])
        self.assertEqual({'VCPU': 4}, got['c1'].parameters['resources'])

    def test_bad_input(self):
        current, upper = series([[1, 2]])
        for kw in ({'kind': 'vm'}, {'current': current[:, :2]},
                   {'upper': upper * np.nan},
                   {'reservations': [{'resources': {}}]}):
            args = {'names': ['x'], 'current': current, 'upper': upper}
            args.update(kw)
            exc = self.assertRaises(shadowing.ShadowingError,
                                    self.shadow.plan_series, **args)
            self.assertIn('Cannot plan surge reservations', str(exc))
        for kw in ({'release_ratio': 0}, {'resource_classes': ('GPU',)},
                   {'margin': -1}, {'min_amount': {'GPU': 1}}):
            self.assertRaises(shadowing.ShadowingError,
                              shadowing.SurgeShadowing, **kw)

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(seed=st.integers(0, 2 ** 31), n=st.integers(1, 30),
                      t=st.integers(1, 12), margin=st.floats(0, 0.5))
    def test_every_surge_answered(self, seed, n, t, margin):
        rng = np.random.default_rng(seed)
        current = rng.uniform(0, 20, size=(n, 3))
        upper = current[:, None, :] * rng.uniform(0.5, 2.0, size=(n, t, 3))
        shadow = shadowing.SurgeShadowing(margin=margin)
        names = ['n%d' % i for i in range(n)]
        res = shadow.plan_series(names, current, upper, now=NOW)
        got = by_target(res)
        for i in range(n):
            rise = {}
            for c, rc in ((0, 'VCPU'), (1, 'MEMORY_MB')):
                steps = [k for k in range(t)
                         if upper[i, k, c] > current[i, c] * (1 + margin)
                         and upper[i, k, c] > current[i, c]]
                if steps:
                    rise[rc] = (max(upper[i, k, c] - current[i, c]
                                    for k in steps), max(steps))
            if not rise:
                self.assertNotIn(names[i], got)
                continue
            act = got[names[i]]
            for rc, (amount, last) in rise.items():
                self.assertGreaterEqual(act.parameters['resources'][rc],
                                        amount - 1e-6)
            expires = datetime.datetime.fromisoformat(
                act.parameters['expires_at'])
            end = max(last for _a, last in rise.values())
            self.assertEqual(NOW + datetime.timedelta(
                seconds=(end + 1) * 300 + 900), expires)
