"""The overcommit policy: ratios, the risk they take, budgets, bad input."""

import numpy as np
from scipy import stats

from irra_openstack.db import constants
from irra_openstack.forecast import base as forecast_base
from irra_openstack.optimizer import model as cluster_model
from irra_openstack.optimizer import overcommit
from irra_openstack import plugins
from tests import base

LEVEL = 0.9


def make_model(seed=0, hosts=5, vms=60, steps=8, aggregates=None):
    rng = np.random.default_rng(seed)
    cap = np.tile([32.0, 131072.0, 1000.0], (hosts, 1))
    flavor = np.tile([2.0, 4096.0, 20.0], (vms, 1))
    vm_host = rng.integers(0, hosts - 1, vms)     # the last host is empty
    point = flavor[:, None, :] * rng.uniform(0.1, 0.6, (vms, steps, 1))
    upper = point * rng.uniform(1.1, 1.6, (vms, 1, 3))
    if aggregates is None:
        aggregates = [frozenset({'agg'})] * hosts
    return cluster_model.ClusterModel(
        ['h%d' % i for i in range(hosts)], cap, np.ones((hosts, 3)),
        np.zeros((hosts, 3)), ['v%d' % i for i in range(vms)], flavor,
        vm_host, upper, usage_point=point, host_aggregates=aggregates)


class RatioTest(base.TestCase):

    def test_highest_ratio_within_budget(self):
        m = make_model()
        policy = overcommit.OvercommitPolicy(
            risk_budget=0.01, max_allocation_ratios={
                'VCPU': 100, 'MEMORY_MB': 100, 'DISK_GB': 100},
            min_allocation_ratio=0.1)
        result = policy.plan(m, LEVEL)
        ratio, risk = result.summary['ratio'], result.summary['risk']
        informed = m.host_allocated() > 0
        # Within budget, and at the budget: 2 % more is over it.
        self.assertTrue(np.all(risk[informed] <= 0.01 + 1e-9))
        np.testing.assert_allclose(risk[informed], 0.01, rtol=1e-6)
        mean, sigma = policy.host_distribution(m, LEVEL)
        higher = policy._risk(mean, sigma, m.host_allocated(), ratio * 1.02)
        self.assertTrue(np.all(higher[informed] > 0.01))

    def test_risk_is_what_sampling_gives(self):
        # Host-level forecasts; sample the normal tail they imply and
        # count how often usage at the proposed fill exceeds capacity.
        m = make_model(seed=3, steps=1)
        rng = np.random.default_rng(5)
        h = m.n_hosts
        host_point = m.host_usage_upper() * 0.6
        host_upper = m.host_usage_upper()
        policy = overcommit.OvercommitPolicy(
            risk_budget=0.02, max_allocation_ratios={
                'VCPU': 100, 'MEMORY_MB': 100, 'DISK_GB': 100})
        result = policy.plan(m, LEVEL, host_point=host_point,
                             host_upper=host_upper)
        z = stats.norm.ppf((1 + LEVEL) / 2)
        sigma = (host_upper - host_point)[:, 0, :] / z
        draws = 200000
        usage = host_point[:, 0, :] + sigma * rng.standard_normal(
            (draws, h, 3))
        allocated = m.host_allocated()
        ratio = result.summary['ratio']
        base_cap = m.capacity - m.reserved
        # Filled to ratio * capacity with VMs like these: usage scales.
        filled = usage * (ratio * base_cap / np.where(
            allocated > 0, allocated, 1.0))
        rate = (filled > base_cap).mean(axis=0)
        informed = allocated > 0
        # Binomial standard error at 2 %: 0.0003; allow 5 of them.
        np.testing.assert_allclose(rate[informed], 0.02, atol=0.0015)

    def test_correlation_bounds(self):
        m = make_model(seed=1)
        ones = overcommit.OvercommitPolicy(correlation=1.0)
        zero = overcommit.OvercommitPolicy(correlation=0.0)
        mean1, sig1 = ones.host_distribution(m, LEVEL)
        mean0, sig0 = zero.host_distribution(m, LEVEL)
        z = stats.norm.ppf((1 + LEVEL) / 2)
        # Correlation 1: the host's upper bound is the sum of the VMs'.
        np.testing.assert_allclose(mean1 + z * sig1, m.host_usage_upper())
        np.testing.assert_allclose(mean0, mean1)
        self.assertTrue(np.all(sig0 <= sig1 + 1e-12))
        # Correlation 0: variances add.
        s = (m.usage_upper - m.usage_point) / z
        var = np.zeros_like(sig0)
        for v in range(m.n_vms):
            var[m.vm_host[v]] += s[v] ** 2
        np.testing.assert_allclose(sig0, np.sqrt(var))

    def test_clipping_and_empty_hosts(self):
        m = make_model(aggregates=[frozenset({'a'}), frozenset({'a'}),
                                   frozenset({'b'}), frozenset(),
                                   frozenset({'a'})])
        m.allocation_ratio[:] = 2.0
        policy = overcommit.OvercommitPolicy(
            max_allocation_ratios={'VCPU': 1.5})
        result = policy.plan(m, LEVEL)
        ratio = result.summary['ratio']
        self.assertTrue(np.all(ratio[:4, 0] <= 1.5))
        self.assertTrue(np.all(ratio[:4] >= 1.0))
        # The empty host 4 takes its aggregate's lowest ratio.
        np.testing.assert_allclose(ratio[4], ratio[:2].min(axis=0))
        agg = result.summary['aggregate_ratio']['a']
        self.assertAlmostEqual(agg['VCPU'], ratio[4, 0])
        # The risk of the empty host is zero; the others within budget.
        self.assertTrue(np.all(result.summary['risk'][4] == 0))
        self.assertTrue(np.all(result.summary['risk'] <= 0.01 + 1e-9))

    def test_empty_host_without_aggregate_keeps_its_ratio(self):
        m = make_model(aggregates=[frozenset()] * 5)
        m.allocation_ratio[4] = [3.0, 1.2, 1.0]
        result = overcommit.OvercommitPolicy().plan(m, LEVEL)
        np.testing.assert_allclose([3.0, 1.2, 1.0],
                                   result.summary['ratio'][4])
        self.assertNotIn('h4', [a.resource_id for a in result.actions])

    def test_over_budget_at_the_lowest_ratio_is_said(self):
        m = make_model()
        m.usage_point[:] = m.flavor[:, None, :]       # VMs at 100 %
        m.usage_upper[:] = m.flavor[:, None, :] * 1.5
        m.allocation_ratio[:] = 4.0
        result = overcommit.OvercommitPolicy().plan(m, LEVEL)
        self.assertTrue(result.actions)
        warned = [a for a in result.actions if 'warning' in a.reason]
        self.assertTrue(warned)
        self.assertIn('exceed the risk budget', warned[0].reason['warning'])
        self.assertGreater(max(warned[0].reason['risk'].values()), 0.01)


class BudgetTest(base.TestCase):

    def test_budget_resolution(self):
        m = make_model(aggregates=[frozenset({'prod'}), frozenset({'dev'}),
                                   frozenset(), frozenset(), frozenset()])
        tiers = np.array(['bronze'] * m.n_vms, dtype=object)
        tiers[np.nonzero(m.vm_host == 2)[0][0]] = 'gold'
        policy = overcommit.OvercommitPolicy(
            risk_budget=0.05, aggregate_risk_budgets={'prod': 0.01},
            tier_risk_budgets={'gold': 0.001})
        budget, source = policy.host_budgets(m, vm_tier=tiers)
        np.testing.assert_allclose([0.01, 0.05, 0.001, 0.05, 0.05], budget)
        self.assertEqual(['aggregate prod', 'default', 'SLA tier',
                          'default', 'default'], source)
        # Per-call overrides.
        budget, _ = policy.host_budgets(
            m, vm_tier=tiers, risk_budget=0.02,
            aggregate_risk_budgets={'dev': 0.003},
            tier_risk_budgets={'gold': 0.04})
        np.testing.assert_allclose([0.01, 0.003, 0.02, 0.02, 0.02], budget)
        result = policy.plan(m, LEVEL, vm_tier=tiers)
        by_host = {a.resource_id: a for a in result.actions}
        reason = by_host['h2'].reason
        self.assertEqual(0.001, reason['risk_budget'])
        self.assertIn('SLA tier', reason['constraint'])
        self.assertTrue(all(r <= 0.001 + 1e-9
                            for r in reason['risk'].values()))
        action = by_host['h2']
        self.assertEqual(overcommit.SET_ALLOCATION_RATIO, action.action_type)
        self.assertEqual(constants.ResourceKind.HOST, action.resource_kind)
        self.assertEqual(set(reason['risk']),
                         set(action.parameters['allocation_ratio']))
        # A stricter budget never gives a higher ratio.
        strict = policy.plan(m, LEVEL, risk_budget=0.001)
        loose = policy.plan(m, LEVEL, risk_budget=0.2)
        self.assertTrue(np.all(strict.summary['ratio'] <=
                               loose.summary['ratio'] + 1e-12))


def _forecast(series, point, upper, level=LEVEL):
    point = np.asarray(point, dtype=float)
    return forecast_base.Forecast(
        series=series, metric=None, start=0, step=300, level=level,
        point=point, lower=point * 0.5, upper=np.asarray(upper, float),
        valid=np.ones(len(series), dtype=bool), reason=[''] * len(series),
        model='test')


class HostForecastTest(base.TestCase):

    def test_arrays_in_model_order(self):
        m = make_model(steps=2)
        names = list(m.host_names)
        rng = np.random.default_rng(0)
        point = rng.uniform(1, 5, (m.n_hosts, 2))
        fcs = {'VCPU': _forecast(names[::-1], point[::-1],
                                 point[::-1] * 2)}
        hp, hu, level = overcommit.host_forecasts(fcs, names)
        self.assertEqual(LEVEL, level)
        np.testing.assert_allclose(point, hp[:, :, 0])
        np.testing.assert_allclose(point * 2, hu[:, :, 0])
        self.assertEqual(0.0, float(np.abs(hu[:, :, 1:]).sum()))
        result = overcommit.OvercommitPolicy().plan(
            m, level, host_point=hp, host_upper=hu)
        self.assertEqual((m.n_hosts, 3), result.summary['ratio'].shape)

    def test_mismatches(self):
        fcs = {'VCPU': _forecast(['h0'], [[1.0]], [[2.0]]),
               'MEMORY_MB': _forecast(['h0'], [[1.0]], [[2.0]], level=0.5)}
        exc = self.assertRaises(overcommit.OvercommitError,
                                overcommit.host_forecasts, fcs, ['h0'])
        self.assertIn('share one level', str(exc))
        exc = self.assertRaises(overcommit.OvercommitError,
                                overcommit.host_forecasts,
                                {'VCPU': fcs['VCPU']}, ['h0', 'h9'])
        self.assertIn('no series for hosts h9', str(exc))
        self.assertRaises(overcommit.OvercommitError,
                          overcommit.host_forecasts, {}, ['h0'])


class BadInputTest(base.TestCase):

    def test_errors(self):
        m = make_model()
        for kwargs, text in (({'risk_budget': 0}, 'between 0 and 0.5'),
                             ({'risk_budget': 'x'}, 'must be a number'),
                             ({'correlation': 2}, 'correlation'),
                             ({'tier_risk_budgets': {'gold': 1.0}},
                              'tier gold'),
                             ({'max_allocation_ratios': {'VCPU': 0.5}},
                              'below min_allocation_ratio')):
            exc = self.assertRaises(overcommit.OvercommitError,
                                    overcommit.OvercommitPolicy, **kwargs)
            self.assertIn(text, str(exc))
        policy = overcommit.OvercommitPolicy()
        for kwargs, text in (({'level': 1.5}, 'level'),
                             ({'level': 0.9, 'host_point': np.zeros(3)},
                              'both'),
                             ({'level': 0.9, 'host_point': np.zeros(3),
                               'host_upper': np.zeros(3)}, 'shape'),
                             ({'level': 0.9, 'vm_tier': ['a']},
                              'vm_tier has 1'),
                             ({'level': 0.9, 'risk_budget': 0.9},
                              'between 0 and 0.5')):
            exc = self.assertRaises(overcommit.OvercommitError,
                                    policy.plan, m, **kwargs)
            self.assertIn(text, str(exc))
        nan = np.full(m.host_usage_upper().shape, np.nan)
        exc = self.assertRaises(overcommit.OvercommitError, policy.plan, m,
                                0.9, host_point=nan, host_upper=nan)
        self.assertIn('NaN', str(exc))


class PluginTest(base.TestCase):

    def test_entry_point_and_conf(self):
        self.assertIs(overcommit.OvercommitPolicy,
                      plugins.load_class('irra.optimizers', 'overcommit'))
        group = plugins.register_plugin_opts(self.conf, 'irra.optimizers',
                                             'overcommit')
        self.flags(group='optimizers.overcommit', risk_budget=0.03,
                   tier_risk_budgets={'gold': '0.002'})
        policy = overcommit.OvercommitPolicy.from_conf(group)
        self.assertEqual(0.03, policy.risk_budget)
        self.assertEqual({'gold': 0.002}, policy.tier_risk_budgets)
        self.assertEqual(16.0, policy.max_allocation_ratios['VCPU'])
