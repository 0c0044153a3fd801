"""The training budget for few series, and the seasonal-median feature."""

from unittest import mock

import numpy as np

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import features
from irra_openstack.forecast import gbm
from irra_openstack.forecast import pooled
from irra_openstack.forecast import ridge
from tests import base

STEP = 3600          # hourly: a day is 24 steps
DAY = 24


class BoostTest(base.TestCase):

    def _boost(self, n, **kwargs):
        f = ridge.RidgeForecaster(STEP, 4, **kwargs)
        f._n_now = n
        return f.boost(), f.train_rows()

    def test_proportional_and_clipped(self):
        self.assertEqual((pooled.MAX_BOOST, 3 * 60000), self._boost(10))
        self.assertEqual((2.0, 120000), self._boost(500))
        self.assertEqual((1.0, 60000), self._boost(1000))
        self.assertEqual((1.0, 60000), self._boost(10000))

    def test_off_and_before_fit(self):
        self.assertEqual((1.0, 60000), self._boost(10, small_series=0))
        f = ridge.RidgeForecaster(STEP, 4)
        self.assertEqual(1.0, f.boost())

    def test_bad_value(self):
        self.assertRaises(fbase.ForecastError, ridge.RidgeForecaster,
                          STEP, 4, small_series=-1)

    def test_gbm_point_model_gets_more_iterations(self):
        rng = np.random.default_rng(0)
        t = np.arange(20 * DAY)
        values = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 1, (5, t.size))
        f = gbm.GBMForecaster(STEP, 4, max_rows=400, max_iter=5,
                              small_series=10, quantile_rows=200,
                              quantile_iter=5)
        f.fit(values, 0)
        # 10 / 5 series: twice the rows and four times the point model's
        # iterations.
        self.assertEqual(2.0, f.boost())
        self.assertEqual(20, f._models['point'].n_iter_)
        self.assertEqual(5, f._models['lower'].n_iter_)
        self.assertEqual(5, f._models['upper'].n_iter_)
        X, z, h = f.training_rows(values, 0, values.shape[1])
        self.assertEqual(800, z.size)


class SeasonalMedianTest(base.TestCase):

    def test_a_burst_on_one_day_is_ignored(self):
        days = 10
        t = np.arange(days * DAY)
        day_index = t // DAY
        # The level of day d is d (so the median over days is known),
        # with a burst of 1000 at 05:00 on day 8.
        values = day_index.astype(np.float64)
        values[8 * DAY + 5] = 1000.0
        origin = 9 * DAY + 3
        step = 2                      # target 05:00 on day 9
        design = features.Design(STEP, 0, epoch_known=False)
        X, last, scale = design.rows(values[None, :], [0], [origin],
                                     [step])
        col = design.names.index('smedian')
        median = last[0] + scale[0] * X[0, col]
        # Days 2 .. 8 at 04:00, 05:00, 06:00: 21 values, median 5 (the
        # burst is one of the three values of day 8).
        self.assertAlmostEqual(5.0, float(median), places=3)
        mean_col = design.names.index('sdays')
        mean = last[0] + scale[0] * X[0, mean_col]
        self.assertGreater(float(mean), 100.0)


class _Recording(ridge.RidgeForecaster):
    """Ridge that records the end of the history of every training."""

    def _train_on(self, history, start, end, rows=None):
        self.ends = getattr(self, 'ends', []) + [end]
        return super()._train_on(history, start, end, rows)


class RefitTest(base.TestCase):

    def _ends(self, **kwargs):
        rng = np.random.default_rng(0)
        values = 50 + rng.normal(0, 1, (5, 20 * DAY))
        f = _Recording(STEP, 4, max_rows=400, calibration_window=5 * DAY,
                       **kwargs)
        f.fit(values, 0)
        return f.ends, values.shape[1]

    def test_auto_refits_few_series_on_all_the_history(self):
        ends, length = self._ends(small_series=10)
        self.assertEqual(2, len(ends))
        self.assertLess(ends[0], length)
        self.assertEqual(length, ends[1])

    def test_auto_keeps_the_calibrated_model_of_many_series(self):
        ends, length = self._ends(small_series=0)
        self.assertEqual(1, len(ends))
        self.assertLess(ends[0], length)
        ends, length = self._ends(small_series=5)   # not fewer than 5
        self.assertEqual(1, len(ends))

    def test_always_and_never(self):
        self.assertEqual(2, len(self._ends(small_series=0,
                                           refit='always')[0]))
        self.assertEqual(2, len(self._ends(small_series=0, refit=True)[0]))
        self.assertEqual(1, len(self._ends(small_series=10,
                                           refit='never')[0]))
        self.assertRaises(fbase.ForecastError, ridge.RidgeForecaster,
                          STEP, 4, refit='sometimes')


class RidgeEmptyColumnTest(base.TestCase):

    def test_a_feature_never_seen_trains_without_warnings(self):
        import warnings

        rng = np.random.default_rng(1)
        X = rng.normal(0, 1, (200, 4))
        X[:, 2] = np.nan                      # never computable
        z = X[:, 0] * 2.0 + rng.normal(0, 0.01, 200)
        f = ridge.RidgeForecaster(STEP, 1)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            f._train(X, z, np.zeros(200, dtype=np.int64))
        self.assertEqual(0.0, f._mean[2])
        self.assertEqual(1.0, f._std[2])
        pred = f._predict_z(X, np.zeros(200, dtype=np.int64))
        self.assertLess(np.abs(pred - z).mean(), 0.05)


class TrainingSeriesTest(base.TestCase):
    """With many series, the training rows come from a subset of them."""

    def _fit(self, n_series, max_rows):
        rng = np.random.default_rng(1)
        t = np.arange(12 * DAY)
        history = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 1.0, (n_series, t.size))
        f = gbm.GBMForecaster(STEP, 4, max_rows=max_rows, max_iter=20,
                              small_series=0, min_residuals=10)
        built = []
        real = features.Design.rows

        def rows(design, hist, series, *args, **kwargs):
            built.append((hist.shape[0], np.unique(series).size))
            return real(design, hist, series, *args, **kwargs)

        with mock.patch.object(features.Design, 'rows', rows):
            f.fit(history, 0)
            fc = f.predict(history, 0)
        return built, fc

    def test_rows_of_a_subset_of_many_series(self):
        # 3000 rows, 30 per series: 100 of the 150 series.
        built, fc = self._fit(150, 3000)
        self.assertEqual(30, pooled.ROWS_PER_SERIES)
        # The training rows are built on the 100 series only, and draw on
        # most of them.
        self.assertEqual(100, built[0][0])
        self.assertGreater(built[0][1], 90)
        # Every series is forecast, from its own history.
        self.assertEqual(150, built[-1][1])
        self.assertTrue(np.isfinite(fc.point).all())
        self.assertTrue(np.isfinite(fc.lower).all())
        self.assertTrue((fc.lower <= fc.upper).all())
        err = np.abs(fc.point - (50 + 10 * np.sin(
            2 * np.pi * (12 * DAY + np.arange(4)) / DAY)))
        self.assertLess(np.median(err), 2.0)

    def test_all_series_while_they_have_rows_enough(self):
        built, _ = self._fit(100, 3000)
        self.assertEqual(100, built[0][0])
        self.assertEqual(100, built[0][1])
