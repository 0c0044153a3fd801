"""The calibration back-test of many series runs on a sample of them."""

from unittest import mock

import numpy as np

from irra_openstack.forecast import auto
from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import gbm
from irra_openstack.forecast import pooled
from tests import base

STEP = 3600          # hourly: a day is 24 steps
DAY = 24
HORIZON = 4


def _budgets(backtest_rows, sample_rows):
    """Patch the back-test budgets, so that tests stay small."""
    return mock.patch.multiple(pooled, BACKTEST_ROWS=backtest_rows,
                               SAMPLE_ROWS=sample_rows)


def seasonal_and_walks(n_series, days=20, seed=0):
    """Even series: daily sine + small noise; odd ones: random walks."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    values = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
        0, 0.5, (n_series, t.size))
    walks = 50 + np.cumsum(rng.normal(0, 3, (n_series, t.size)), axis=1)
    values[1::2] = walks[1::2]
    return values


def _naive_auto():
    """auto choosing between naive and seasonal naive (fast)."""
    return auto.AutoForecaster(STEP, HORIZON,
                               candidates=('naive', 'seasonal_naive'),
                               season=DAY, min_residuals=10,
                               calibration_window=5 * DAY)


class BacktestSeriesTest(base.TestCase):

    def _forecaster(self, **kwargs):
        return gbm.GBMForecaster(STEP, HORIZON, min_residuals=10, **kwargs)

    def test_all_series_while_each_can_get_its_own_interval(self):
        f = self._forecaster()
        # 4000 // (100 * 4) = 10 origins: the 10 residuals a series needs.
        with _budgets(4000, 800):
            self.assertIsNone(pooled.backtest_series(f, 100))
            self.assertIsNone(f._backtest_series(100))

    def test_a_sample_once_they_cannot(self):
        f = self._forecaster()
        with _budgets(4000, 800):
            # 4000 // (101 * 4) = 9 < 10 residuals: a sample of
            # 800 // (10 * 4) = 20 series.
            sample = pooled.backtest_series(f, 101)
            self.assertEqual(20, sample.size)
            self.assertEqual(20, np.unique(sample).size)
            self.assertTrue((np.diff(sample) > 0).all())
            self.assertTrue((sample >= 0).all() and (sample < 101).all())
            # Fixed by the seed; another seed, another sample.
            self.assertEqual(sample.tolist(),
                             pooled.backtest_series(f, 101).tolist())
            other = pooled.backtest_series(self._forecaster(seed=1), 101)
            self.assertNotEqual(sample.tolist(), other.tolist())

    def test_no_sample_when_it_would_hold_every_series(self):
        f = self._forecaster()
        with _budgets(400, 800):
            # 400 // (15 * 4) = 6 < 10, but the sample would be 20 >= 15.
            self.assertIsNone(pooled.backtest_series(f, 15))

    def test_sampled_series_get_enough_origins(self):
        f = self._forecaster()
        origins = np.arange(100, 400)
        with _budgets(4000, 800):
            kept = pooled.capped_origins(f, origins, 101)
            # 800 rows over 20 series of 4 steps: 10 origins each, the
            # residuals a series needs.
            self.assertEqual(10, kept.size)
            self.assertEqual(399, kept[-1])
            # Without a sample: 4000 // (100 * 4) = 10 too.
            self.assertEqual(10, pooled.capped_origins(f, origins,
                                                       100).size)
            # Far more series: still 10, where the whole budget would
            # give each one MIN_ORIGINS.
            self.assertEqual(10, pooled.capped_origins(f, origins,
                                                       5000).size)

    def test_spread(self):
        out = fbase._spread(np.ones((2, 3)), np.array([1, 3]), 4)
        self.assertEqual((4, 3), out.shape)
        self.assertTrue(np.isnan(out[[0, 2]]).all())
        self.assertTrue((out[[1, 3]] == 1).all())


class AutoSampleTest(base.TestCase):

    def test_only_sampled_series_are_chosen_by_back_test(self):
        values = seasonal_and_walks(40)
        f = _naive_auto()
        with _budgets(1000, 400):
            # 1000 // (40 * 4) = 6 < 10: a sample of 400 // 40 = 10.
            sample = pooled.backtest_series(f, 40)
            self.assertEqual(10, sample.size)
            f.fit(values, 0)
        names = np.array(f.chosen_names())
        outside = np.setdiff1d(np.arange(40), sample)
        # The default candidate (seasonal_naive here) outside the sample.
        self.assertEqual({'seasonal_naive'}, set(names[outside]))
        # Inside, the back-test chose: the random walks take naive.
        walks = sample[sample % 2 == 1]
        seasonal = sample[sample % 2 == 0]
        self.assertTrue(walks.size and seasonal.size)
        self.assertEqual({'naive'}, set(names[walks]))
        self.assertEqual({'seasonal_naive'}, set(names[seasonal]))
        # Every series gets a finite interval (the pooled one outside).
        fc = f.predict(values, 0)
        self.assertTrue(np.isfinite(fc.lower).all())
        self.assertTrue(np.isfinite(fc.upper).all())
        self.assertTrue((fc.lower <= fc.upper).all())

    def test_a_silent_sample_still_gives_every_series_an_interval(self):
        values = seasonal_and_walks(40)
        f = _naive_auto()
        with _budgets(1000, 400):
            sample = pooled.backtest_series(f, 40)
            # Every sampled series stops reporting before the back-test:
            # it has no residual at all.
            values[sample, -6 * DAY:] = np.nan
            f.fit(values, 0)
            fc = f.predict(values, 0)
        for a in (fc.point, fc.lower, fc.upper):
            self.assertTrue(np.isfinite(a).all())
        self.assertTrue((fc.lower <= fc.upper).all())


class SampledCoverageTest(base.TestCase):

    def test_gbm_intervals_cover_every_series(self):
        rng = np.random.default_rng(3)
        n_series, days = 60, 24
        t = np.arange(days * DAY)
        level = rng.uniform(20, 80, (n_series, 1))
        values = level + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 2, (n_series, t.size))
        test_start = 18 * DAY
        f = gbm.GBMForecaster(STEP, HORIZON, max_rows=3000, max_iter=25,
                              quantile_rows=2000, min_residuals=30,
                              calibration_window=6 * DAY)
        with _budgets(3000, 2400):
            # 3000 // (60 * 4) = 12 < 30: a sample of 2400 // 120 = 20.
            self.assertEqual(20, pooled.backtest_series(f, n_series).size)
            f.fit(values[:, :test_start], 0)
        origins = np.arange(test_start, values.shape[1] - HORIZON + 1,
                            HORIZON)
        point, lower, upper = f.intervals(values, origins)
        target = origins[:, None] + np.arange(HORIZON)[None, :]
        actual = values[:, target]
        inside = (lower <= actual) & (actual <= upper)
        self.assertTrue(np.isfinite(upper).all())
        # Near nominal on all series, the 40 outside the sample included.
        self.assertGreater(inside.mean(), 0.84)
        self.assertLess(inside.mean(), 0.96)
        outside = np.setdiff1d(np.arange(n_series),
                               pooled.backtest_series(f, n_series))
        self.assertGreater(inside[outside].mean(), 0.84)
