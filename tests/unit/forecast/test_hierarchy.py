"""Aggregation of VM forecasts into hosts, applications and regions."""

import numpy as np

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import hierarchy
from tests import base

H = 6


def _forecast(point, lower=None, upper=None, valid=None, series=None):
    point = np.asarray(point, dtype=float)
    n = point.shape[0]
    return fbase.Forecast(
        series=series or list('abcd'[:n]), metric='cpu',
        start=0, step=300, level=0.9, point=point,
        lower=point if lower is None else lower,
        upper=point if upper is None else upper,
        valid=np.ones(n, bool) if valid is None else valid,
        reason=('',) * n, model='test')


def _coverage(rho, n_groups=150, k=8, length=700, seed=0):
    """Coverage of the host intervals of k VMs each, three ways.

    Each VM is 10 + sqrt(rho) * (its host's common factor) + sqrt(1 -
    rho) * (its own noise), all standard normal and independent over time.
    Forecasts from several origins are compared with what followed.
    """
    rng = np.random.default_rng(seed)
    n = n_groups * k
    series = ['vm%d' % i for i in range(n)]
    hier = hierarchy.Hierarchy(
        series, vm_host={'vm%d' % i: 'h%03d' % (i // k) for i in range(n)})
    common = np.repeat(rng.standard_normal((n_groups, length)), k, axis=0)
    y = 10 + np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(
        (n, length))
    hits = {'ours': [], 'sum_of_bounds': [], 'independent': []}
    for origin in range(length - 5 * H, length - H + 1, H):
        f = baselines.NaiveForecaster(step=300, horizon=H, level=0.9,
                                      calibration_window=0)
        out = hierarchy.forecast_hierarchy(f, y[:, :origin], 0, hier)
        vm, host = out['vm'], out['host']
        actual = hier.sum(y[:, origin:origin + H])
        matrix = hier.matrix
        low = np.sqrt(matrix @ (vm.point - vm.lower) ** 2)
        high = np.sqrt(matrix @ (vm.upper - vm.point) ** 2)
        for name, lo, up in [
                ('ours', host.lower, host.upper),
                ('sum_of_bounds', matrix @ vm.lower, matrix @ vm.upper),
                ('independent', host.point - low, host.point + high)]:
            hits[name].append((lo <= actual) & (actual <= up))
    return {name: float(np.mean(v)) for name, v in hits.items()}


class CalibrationTest(base.TestCase):
    """The aggregate interval is near nominal; the shortcuts are not."""

    def test_independent_children(self):
        cov = _coverage(rho=0.0)
        self.assertGreater(cov['ours'], 0.87)
        self.assertLess(cov['ours'], 0.94)
        # Summing quantiles of independent children over-covers.
        self.assertGreater(cov['sum_of_bounds'], 0.99)

    def test_correlated_children(self):
        cov = _coverage(rho=0.8, seed=1)
        self.assertGreater(cov['ours'], 0.87)
        self.assertLess(cov['ours'], 0.94)
        # Assuming independence under-covers with a common factor.
        self.assertLess(cov['independent'], 0.6)
        self.assertGreater(cov['sum_of_bounds'], cov['ours'])


class HierarchyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.hier = hierarchy.Hierarchy(
            ['a', 'b', 'c', 'd'],
            vm_host={'a': 'h1', 'b': 'h1', 'c': 'h2', 'd': 'h3'},
            vm_app={'a': 'web', 'c': 'web', 'b': 'db'},
            host_region={'h1': 'r1', 'h2': 'r1', 'h3': 'r2'},
            vm_region={'d': 'r3'},
            groups={'region': ['r1', 'r2', 'r3', 'empty']})

    def test_levels_and_matrix(self):
        self.assertEqual(['host', 'app', 'region'],
                         list(self.hier.levels))
        names, matrix = self.hier.levels['host']
        self.assertEqual(('h1', 'h2', 'h3'), names)
        np.testing.assert_array_equal(
            [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], matrix.toarray())
        names, matrix = self.hier.levels['region']
        # vm_region wins over the region of d's host; r2 has no VM.
        self.assertEqual(('empty', 'r1', 'r2', 'r3'), names)
        np.testing.assert_array_equal(
            [[0, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]],
            matrix.toarray())
        # d has no application: left out of that level.
        self.assertEqual(('db', 'web'), self.hier.levels['app'][0])

    def test_sum_with_nan(self):
        values = np.array([[1.0, np.nan], [2.0, np.nan],
                           [np.nan, np.nan], [4.0, 5.0]])
        total = self.hier.sum(values)
        hosts = total[self.hier.slices['host']]
        np.testing.assert_array_equal([[3.0, np.nan], [np.nan, np.nan],
                                       [4.0, 5.0]], hosts)

    def test_points_coherent_and_empty_region(self):
        rng = np.random.default_rng(3)
        point = rng.uniform(1, 5, (4, H))
        residuals = rng.standard_normal((4, 60, H))
        out = hierarchy.aggregate(_forecast(point), self.hier, residuals,
                                  floor=0.0)
        self.assertEqual(['vm', 'host', 'app', 'region'], list(out))
        np.testing.assert_allclose(out['host'].point,
                                   [point[0] + point[1], point[2],
                                    point[3]])
        region = out['region']
        np.testing.assert_allclose(region.point[1],
                                   out['host'].point[:2].sum(axis=0))
        for name in ('empty', 'r2'):
            i = region.series.index(name)
            self.assertFalse(region.valid[i])
            self.assertIn('no data', region.reason[i])
            np.testing.assert_array_equal(0.0, region.upper[i])
        for fc in out.values():
            self.assertTrue(np.isfinite(fc.lower).all())
            self.assertTrue((fc.lower <= fc.point).all())
            self.assertTrue((fc.point <= fc.upper).all())

    def test_interval_is_quantile_of_summed_residuals(self):
        hier = hierarchy.Hierarchy(['a', 'b'], vm_host={'a': 'h',
                                                        'b': 'h'})
        n = 39     # 0.9 -> ranks 2 and 38 of 39
        res_a = np.tile(np.arange(n, dtype=float)[:, None], (1, H))
        res_b = -res_a[::-1] * 0.5     # anti-correlated partner
        residuals = np.stack([res_a, res_b])
        out = hierarchy.aggregate(_forecast(np.ones((2, H))), hier,
                                  residuals)
        summed = np.sort(res_a[:, 0] + res_b[:, 0])
        np.testing.assert_allclose(out['host'].lower[0],
                                   2.0 + min(summed[1], 0))
        np.testing.assert_allclose(out['host'].upper[0],
                                   2.0 + max(summed[37], 0))

    def test_child_starting_mid_window_and_gaps(self):
        rng = np.random.default_rng(4)
        residuals = rng.standard_normal((4, 80, H))
        residuals[2, :50] = np.nan          # c started late
        residuals[3] = np.nan               # d: never any residual
        residuals[0, ::7] = np.nan          # gaps
        point = np.full((4, H), 2.0)
        point[1, 0] = np.nan                 # a hand-made bad point
        fc = fbase.Forecast(series='abcd', metric=None, start=0, step=60,
                            level=0.9, point=np.nan_to_num(point),
                            lower=np.nan_to_num(point),
                            upper=np.nan_to_num(point),
                            valid=[True, True, True, False],
                            reason=('',) * 4, model='m')
        out = hierarchy.aggregate(fc, self.hier, residuals)
        host = out['host']
        i = host.series.index('h3')
        # d's host: no residual and no valid child.
        self.assertFalse(host.valid[i])
        self.assertIn('no valid child forecast', host.reason[i])
        self.assertIn('borrowed', host.reason[i])
        region = out['region']
        r1 = region.series.index('r1')
        self.assertTrue(region.valid[r1])
        self.assertTrue(np.isfinite(region.upper).all())
        self.assertTrue((region.upper[r1] > region.point[r1]).all())

    def test_partly_invalid_children(self):
        out = hierarchy.aggregate(
            _forecast(np.ones((4, H)), valid=[True, False, True, True]),
            self.hier, np.zeros((4, 40, H)))
        host = out['host']
        self.assertTrue(host.valid[0])
        self.assertEqual('1 of 2 child forecasts invalid', host.reason[0])

    def test_no_origins(self):
        out = hierarchy.aggregate(_forecast(np.ones((4, H))), self.hier,
                                  np.zeros((4, 0, H)))
        host = out['host']
        np.testing.assert_array_equal(host.point, host.upper)
        self.assertIn('too little history', host.reason[0])

    def test_wrong_order_refused(self):
        fc = _forecast(np.ones((4, H)), series=['b', 'a', 'c', 'd'])
        self.assertRaises(fbase.ForecastError, hierarchy.aggregate, fc,
                          self.hier, np.zeros((4, 1, H)))
        self.assertRaises(fbase.ForecastError, hierarchy.aggregate,
                          _forecast(np.ones((4, H))), self.hier,
                          np.zeros((4, 1, H + 1)))

    def test_backtest_residuals_match_naive(self):
        history = np.array([[1.0, 2.0, 4.0, 7.0, np.nan, 16.0]])
        f = baselines.NaiveForecaster(step=60, horizon=2,
                                      calibration_window=0)
        res = hierarchy.backtest_residuals(f, history, origins=[2, 3, 5])
        np.testing.assert_array_equal(
            [[[2.0, 5.0], [3.0, np.nan], [9.0, np.nan]]], res)
