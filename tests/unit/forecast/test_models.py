"""The learned forecasters (ridge, gbm, auto) on data with known answers."""

import numpy as np

from irra_openstack.forecast import auto
from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import gbm
from irra_openstack.forecast import ridge
from tests import base

STEP = 3600          # hourly: a day is 24 steps, so tests stay small
DAY = 24
FAST_GBM = {'max_rows': 3000, 'max_iter': 25}


def seasonal_ar(n_series=8, days=30, noise=1.0, seed=0):
    """Level + daily sine of per-series phase + AR(1) noise (phi 0.8)."""
    rng = np.random.default_rng(seed)
    length = days * DAY
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    level = rng.uniform(20, 80, (n_series, 1))
    amp = rng.uniform(5, 15, (n_series, 1))
    eps = rng.normal(0, noise, (n_series, length))
    ar = np.zeros_like(eps)
    for i in range(1, length):       # generating the data, not forecasting
        ar[:, i] = 0.8 * ar[:, i - 1] + eps[:, i]
    return level + amp * np.sin(2 * np.pi * t / DAY + phase) + ar


def rolling(forecaster, values, test_start, adapt=False):
    """Fit before ``test_start``; forecast from every horizon-th origin."""
    h = forecaster.horizon
    forecaster.fit(values[:, :test_start], 0)
    origins = np.arange(test_start, values.shape[1] - h + 1, h)
    paths, w_lo, w_hi = forecaster._paths_band(values, origins)
    inside = []
    errors = []
    for i, o in enumerate(origins):
        point = paths[:, i]
        if w_lo is None:
            lower, upper = forecaster.calibrator.interval(point)
        else:
            lower, upper = forecaster.calibrator.interval(
                point, w_lo[:, i], w_hi[:, i])
        actual = values[:, o:o + h]
        inside.append((lower <= actual) & (actual <= upper))
        errors.append(np.abs(actual - point))
        if adapt:
            forecaster.update(actual, (point, lower, upper))
    return float(np.mean(errors)), float(np.mean(inside))


def naive_mae(values, test_start, horizon):
    f = baselines.NaiveForecaster(STEP, horizon)
    return rolling(f, values, test_start)[0]


class ModelAccuracyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.values = seasonal_ar()
        self.test_start = 24 * DAY
        self.naive = naive_mae(self.values, self.test_start, 6)

    def _beats_naive(self, forecaster, factor):
        mae, _ = rolling(forecaster, self.values, self.test_start)
        self.assertLess(mae, factor * self.naive,
                        '%s MAE %.3f vs naive %.3f'
                        % (forecaster.name, mae, self.naive))

    def test_ridge_beats_naive(self):
        self._beats_naive(ridge.RidgeForecaster(STEP, 6, season=DAY), 0.8)

    def test_gbm_beats_naive(self):
        self._beats_naive(gbm.GBMForecaster(STEP, 6, season=DAY,
                                            **FAST_GBM), 0.85)

    def test_auto_beats_naive(self):
        f = auto.AutoForecaster(
            STEP, 6, season=DAY, candidates=('naive', 'ridge'))
        self._beats_naive(f, 0.8)

    def test_gbm_raw_quantiles_are_ordered(self):
        f = gbm.GBMForecaster(STEP, 6, season=DAY, quantiles=True,
                              **FAST_GBM)
        f.fit(self.values[:, :self.test_start], 0)
        point, lower, upper = f.raw_quantiles(
            self.values, np.array([self.test_start]))
        self.assertTrue((lower <= point).all() and (point <= upper).all())
        self.assertGreater(float((upper - lower).mean()), 0.0)

    def test_quantile_iter_sizes_the_band_models(self):
        # Fewer, larger steps: 5 trees per quantile model, at five times
        # the point model's rate (25 x 0.08 / 5), and the point model
        # keeps its own; the calibrated band still covers.
        f = gbm.GBMForecaster(STEP, 6, season=DAY, quantiles=True,
                              quantile_iter=5, **FAST_GBM)
        self.assertAlmostEqual(0.4, f.quantile_rate())
        mae, coverage = rolling(f, self.values, self.test_start)
        for which in ('lower', 'upper'):
            model = f._models[which]
            self.assertEqual(5, model.n_iter_)
            self.assertAlmostEqual(0.4, model.learning_rate)
        self.assertEqual(25 * f.boost() ** 2, f._models['point'].n_iter_)
        self.assertGreater(coverage, 0.8)
        self.assertLess(mae, 0.85 * self.naive)
        # The rate is capped; a bad count is refused.
        self.assertEqual(gbm.MAX_QUANTILE_RATE, gbm.GBMForecaster(
            STEP, 6, quantile_iter=1, **FAST_GBM).quantile_rate())
        # None: the point model's own iterations and rate.
        plain = gbm.GBMForecaster(STEP, 6, quantile_iter=None, **FAST_GBM)
        self.assertEqual((25, plain.learning_rate),
                         (plain.quantile_iter, plain.quantile_rate()))
        self.assertEqual(gbm.DEFAULT_QUANTILE_ITERATIONS,
                         gbm.GBMForecaster(STEP, 6).quantile_iter)
        exc = self.assertRaises(fbase.ForecastError, gbm.GBMForecaster,
                                STEP, 6, quantile_iter=0)
        self.assertIn('quantile_iter must be 1 or more, got 0', str(exc))


class CoverageTest(base.TestCase):

    def test_sine_plus_noise_near_nominal(self):
        rng = np.random.default_rng(3)
        t = np.arange(40 * DAY)
        values = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 2.0, (10, t.size))
        f = ridge.RidgeForecaster(STEP, 4, season=DAY, level=0.9,
                                  calibration_window=10 * DAY)
        _, coverage = rolling(f, values, 30 * DAY)
        self.assertGreater(coverage, 0.86)
        self.assertLess(coverage, 0.95)

    def test_aci_keeps_coverage_after_variance_shift(self):
        rng = np.random.default_rng(4)
        t = np.arange(60 * DAY)
        sd = np.where(t < 30 * DAY, 1.0, 3.0)
        values = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 1, (10, t.size)) * sd
        static = ridge.RidgeForecaster(STEP, 4, season=DAY,
                                       calibration_window=10 * DAY)
        static.aci_gamma = 0.0
        adaptive = ridge.RidgeForecaster(STEP, 4, season=DAY,
                                         calibration_window=10 * DAY)
        adaptive.aci_gamma = 0.02
        _, cov_static = rolling(static, values, 30 * DAY, adapt=False)
        _, cov_aci = rolling(adaptive, values, 30 * DAY, adapt=True)
        self.assertLess(cov_static, 0.8)
        self.assertGreater(cov_aci, 0.85)


class ExogTest(base.TestCase):

    def test_leading_exog_helps(self):
        rng = np.random.default_rng(5)
        n, length, lead = 10, 30 * DAY, 4
        x = np.zeros((n, length))
        e = rng.normal(0, 1, (n, length))
        for i in range(1, length):   # an AR(1) request rate
            x[:, i] = 0.9 * x[:, i - 1] + e[:, i]
        y = 50 + 3 * np.roll(x, lead, axis=1) + rng.normal(0, 0.3,
                                                           (n, length))
        test_start = 24 * DAY
        horizon = 3
        plain = ridge.RidgeForecaster(STEP, horizon)
        mae_plain, _ = rolling(plain, y, test_start)
        with_x = ridge.RidgeForecaster(STEP, horizon)
        with_x.fit(y[:, :test_start], 0, exog=x[:, None, :test_start])
        origins = np.arange(test_start, length - horizon + 1, horizon)
        with_x._exog = x[:, None, :]
        paths = with_x._paths(y, origins)
        actual = y[:, origins[:, None] + np.arange(horizon)]
        mae_x = float(np.mean(np.abs(actual - paths)))
        self.assertLess(mae_x, 0.5 * mae_plain)
        # And through the public predict.
        fc = with_x.predict(y[:, :test_start], 0,
                            exog=x[:, None, :test_start])
        self.assertTrue(np.isfinite(fc.point).all())


class AutoChoiceTest(base.TestCase):

    def test_picks_the_right_model(self):
        rng = np.random.default_rng(6)
        length = 20 * DAY
        # Series 0-5: an exact daily pattern (seasonal naive is perfect);
        # series 6-11: random walks (naive is best).
        pattern = rng.uniform(0, 100, (6, DAY))
        seasonal = np.tile(pattern, (1, length // DAY))
        walks = 50 + np.cumsum(rng.normal(0, 1, (6, length)), axis=1)
        values = np.concatenate([seasonal, walks])
        f = auto.AutoForecaster(STEP, 6, season=DAY,
                                candidates=('naive', 'seasonal_naive'))
        f.fit(values, 0)
        names = f.chosen_names()
        self.assertEqual(['seasonal_naive'] * 6, names[:6])
        self.assertGreaterEqual(names[6:].count('naive'), 5)

    def test_candidates_from_a_string_and_no_self(self):
        f = auto.AutoForecaster(STEP, 2, candidates='naive, ridge')
        self.assertEqual(['naive', 'ridge'], f.names)
        self.assertRaises(fbase.ForecastError, auto.AutoForecaster, STEP, 2,
                          candidates=['auto'])


class RobustnessTest(base.TestCase):

    def _mess(self):
        values = seasonal_ar(n_series=6, days=12)
        values[0] = np.nan                    # all NaN
        values[1] = 42.0                      # constant
        values[2, ::3] = np.nan               # gaps
        values[3, :-20] = np.nan              # short: starts late
        values[4, -30:] = np.nan              # stops
        values[5, 100] = np.inf
        return values

    def _check(self, forecaster):
        values = self._mess()
        fc = forecaster.predict(values, 0)
        for a in (fc.point, fc.lower, fc.upper):
            self.assertTrue(np.isfinite(a).all(), forecaster.name)
        self.assertTrue((fc.lower <= fc.point).all())
        self.assertTrue((fc.point <= fc.upper).all())
        self.assertFalse(fc.valid[0])
        self.assertTrue(fc.valid[1:].all())
        np.testing.assert_allclose(fc.point[1], 42.0, atol=1e-6)

    def test_ridge(self):
        self._check(ridge.RidgeForecaster(STEP, 6, season=DAY))

    def test_gbm(self):
        self._check(gbm.GBMForecaster(STEP, 6, season=DAY, **FAST_GBM))

    def test_auto(self):
        self._check(auto.AutoForecaster(
            STEP, 6, season=DAY,
            candidate_kwargs={'gbm': FAST_GBM}))

    def test_tiny_history(self):
        values = np.array([[1.0, 2.0, np.nan], [np.nan] * 3])
        for f in (ridge.RidgeForecaster(STEP, 2),
                  gbm.GBMForecaster(STEP, 2, **FAST_GBM)):
            fc = f.predict(values, 0)
            self.assertTrue(np.isfinite(fc.point).all())
            self.assertEqual(2.0, fc.point[0, 0])


class PredictBlocksTest(base.TestCase):

    def test_blocks_give_the_same_predictions(self):
        from sklearn import ensemble

        rng = np.random.default_rng(2)
        X = rng.normal(size=(3000, 6)).astype(np.float32)
        X[rng.random(X.shape) < 0.1] = np.nan
        y = np.nan_to_num(X[:, 0]) + rng.normal(size=3000)
        model = ensemble.HistGradientBoostingRegressor(
            max_iter=20).fit(X, y)
        whole = model.predict(X)
        # One thread: blocks of one row are 3,000 calls of 20 trees, each
        # tree a parallel loop; on a busy machine, starting and joining
        # threads 60,000 times took more than the test's timeout.
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1):
            for block in (1, 7, 1000, 2999, 3000, 5000):
                np.testing.assert_array_equal(
                    whole, gbm.predict_blocks(model, X, block=block))
