"""Split-conformal calibration: ranks, quantiles, pooling and coverage."""

import numpy as np

from irra_openstack.forecast import baselines
from irra_openstack.forecast import conformal
from tests import base


def residuals_of(values, horizon=1):
    """(1, n, horizon) residuals, the same at every horizon step."""
    values = np.asarray(values, dtype=float)
    return np.repeat(values[None, :, None], horizon, axis=2)


class RanksTest(base.TestCase):

    def test_finite_sample_ranks(self):
        k_lo, k_hi = conformal.ranks(np.array([19, 39, 18]), 0.1)
        # (n + 1) * 0.05 and (n + 1) * 0.95, exactly on integers for 19
        # and 39, which rounding must not push over.
        np.testing.assert_array_equal([1, 2, 0], k_lo)
        np.testing.assert_array_equal([19, 38, 19], k_hi)

    def test_min_residuals_raised_to_what_the_level_needs(self):
        self.assertEqual(19, conformal.ConformalCalibrator(
            0.9, min_residuals=1).min_residuals)
        self.assertEqual(39, conformal.ConformalCalibrator(
            0.95, min_residuals=5).min_residuals)
        self.assertEqual(50, conformal.ConformalCalibrator(
            0.9, min_residuals=50).min_residuals)


class CalibratorTest(base.TestCase):

    def test_quantiles_are_order_statistics(self):
        cal = conformal.ConformalCalibrator(0.9, min_residuals=1)
        values = np.arange(-19.0, 20.0)          # 39 residuals
        np.random.default_rng(0).shuffle(values)
        cal.calibrate(residuals_of(values, 2), np.array([1.0]))
        # ranks 2 and 38 of -19 .. 19
        np.testing.assert_array_equal([[-18.0, -18.0]], cal.q_lo)
        np.testing.assert_array_equal([[18.0, 18.0]], cal.q_hi)
        self.assertFalse(cal.pooled[0])
        lower, upper = cal.interval(np.array([[100.0, 200.0]]))
        np.testing.assert_array_equal([[82.0, 182.0]], lower)
        np.testing.assert_array_equal([[118.0, 218.0]], upper)

    def test_asymmetric(self):
        cal = conformal.ConformalCalibrator(0.9, min_residuals=1)
        values = np.concatenate([np.arange(-9.0, 1.0) / 10,
                                 np.arange(1.0, 10.0) * 10])   # 19
        cal.calibrate(residuals_of(values), np.array([1.0]))
        self.assertEqual(-0.9, cal.q_lo[0, 0])
        self.assertEqual(90.0, cal.q_hi[0, 0])

    def test_bounds_contain_the_point(self):
        cal = conformal.ConformalCalibrator(0.9, min_residuals=1)
        cal.calibrate(residuals_of(np.arange(1.0, 40.0)), np.array([1.0]))
        self.assertEqual(0.0, cal.q_lo[0, 0])
        self.assertEqual(38.0, cal.q_hi[0, 0])

    def test_nan_residuals_are_not_counted(self):
        cal = conformal.ConformalCalibrator(0.9, min_residuals=1)
        values = np.concatenate([np.arange(-9.0, 10.0), [np.nan] * 30])
        cal.calibrate(residuals_of(values), np.array([1.0]))
        self.assertEqual(-9.0, cal.q_lo[0, 0])
        self.assertEqual(9.0, cal.q_hi[0, 0])

    def test_few_residuals_borrow_the_scaled_pool(self):
        rng = np.random.default_rng(3)
        n = 400
        res = np.full((3, n, 1), np.nan)
        res[0, :, 0] = rng.normal(0, 1, n)
        res[1, :, 0] = rng.normal(0, 2, n)
        res[2, :5, 0] = [0.0, 0.1, -0.1, 0.05, 0.0]
        scale = np.array([1.0, 2.0, 3.0])
        cal = conformal.ConformalCalibrator(0.9).calibrate(res, scale)
        np.testing.assert_array_equal([False, False, True], cal.pooled)
        self.assertFalse(cal.under_calibrated.any())
        # Scaled, the pool is N(0, 1): about +-1.645, times the scale 3.
        self.assertAlmostEqual(3 * 1.645, cal.q_hi[2, 0], delta=0.5)
        self.assertAlmostEqual(-3 * 1.645, cal.q_lo[2, 0], delta=0.5)

    def test_tiny_pool_is_flagged_and_uses_extremes(self):
        res = residuals_of([-1.0, 2.0, 0.5], horizon=2)
        res[0, :, 1] = np.nan        # nothing at the second step
        cal = conformal.ConformalCalibrator(0.9).calibrate(
            res, np.array([1.0]))
        self.assertTrue(cal.under_calibrated[0])
        np.testing.assert_array_equal([[-1.0, -1.0]], cal.q_lo)
        np.testing.assert_array_equal([[2.0, 2.0]], cal.q_hi)

    def test_no_residuals_at_all(self):
        cal = conformal.ConformalCalibrator(0.9).calibrate(
            np.zeros((2, 0, 3)), np.array([1.0, 1.0]))
        np.testing.assert_array_equal(np.zeros((2, 3)), cal.q_lo)
        np.testing.assert_array_equal(np.zeros((2, 3)), cal.q_hi)
        self.assertTrue(cal.under_calibrated.all())

    def test_alpha_can_be_adapted_per_series(self):
        values = np.arange(-49.0, 50.0)          # 99 residuals
        res = np.concatenate([residuals_of(values)] * 2)
        cal = conformal.ConformalCalibrator(0.9, min_residuals=1)
        cal.calibrate(res, np.ones(2))
        self.assertEqual(cal.q_hi[0, 0], cal.q_hi[1, 0])
        cal.alpha[1] = 0.5
        cal.update_quantiles()
        self.assertEqual(45.0, cal.q_hi[0, 0])
        self.assertEqual(25.0, cal.q_hi[1, 0])


class ScaleTest(base.TestCase):

    def test_mean_absolute_change(self):
        history = np.array([[1.0, 3.0, np.nan, 4.0, 0.0],
                            [np.nan, 10.0, np.nan, np.nan, np.nan],
                            [np.nan] * 5,
                            [2.0, 2.0, 2.0, 2.0, 2.0]])
        scale = conformal.series_scale(history)
        # series 0: |3-1| and |0-4| -> 3; its mean |level| 2 -> ratio 1.5
        # series 1: one value, so the median ratio (1.5 and 0) * 10
        np.testing.assert_allclose([3.0, 7.5, 0.0, 0.0], scale)


class CoverageTest(base.TestCase):
    """Sine plus Gaussian noise: the intervals cover about nominally."""

    def _coverage(self, cls, level, season):
        rng = np.random.default_rng(42)
        n_series, length, horizon, sigma = 1000, 900, 12, 2.0
        t = np.arange(length + horizon)
        phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
        y = (50 + 10 * np.sin(2 * np.pi * t / 48 + phase) +
             rng.normal(0, sigma, (n_series, length + horizon)))
        f = cls(step=300, horizon=horizon, level=level, season=season)
        fc = f.fit(y[:, :length], 0).predict(y[:, :length], 0)
        future = y[:, length:]
        inside = (fc.lower <= future) & (future <= fc.upper)
        return inside.mean(), fc

    def test_seasonal_naive(self):
        for level in (0.8, 0.9):
            coverage, fc = self._coverage(
                baselines.SeasonalNaiveForecaster, level, 48)
            self.assertAlmostEqual(level, coverage, delta=0.03,
                                   msg='level %s' % level)
            # Seasonal-naive residuals are N(0, 2 sigma^2): the 90 % band
            # is about 2 * 1.645 * 2.83 = 9.3 wide.
            if level == 0.9:
                self.assertAlmostEqual(
                    9.3, (fc.upper - fc.lower).mean(), delta=0.8)

    def test_naive(self):
        for level in (0.8, 0.9):
            coverage, _ = self._coverage(
                baselines.NaiveForecaster, level, 0)
            self.assertAlmostEqual(level, coverage, delta=0.03,
                                   msg='level %s' % level)
