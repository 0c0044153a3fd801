"""The Forecaster contract: arguments, bad data, plugins, the Forecast."""

import dataclasses
import logging

import fixtures
import numpy as np

from irra_openstack import exception
from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import pooled
from irra_openstack import frame as mframe
from irra_openstack import plugins
from tests import base

NAN = np.nan


def seasonal(**kw):
    kw.setdefault('step', 300)
    kw.setdefault('horizon', 6)
    kw.setdefault('season', 4)
    return baselines.SeasonalNaiveForecaster(**kw)


def noisy(n_series=5, length=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return (20 + 5 * np.sin(2 * np.pi * t / 4) +
            rng.normal(0, 1, (n_series, length)))


class ArgumentsTest(base.TestCase):

    def _fails(self, text, **kw):
        exc = self.assertRaises(fbase.ForecastError, seasonal, **kw)
        self.assertIsInstance(exc, exception.IrraError)
        self.assertIn(text, str(exc))

    def test_horizon(self):
        self._fails('horizon must be positive', horizon=0)
        self._fails('horizon must be positive', horizon=-3)
        self._fails('horizon must be a whole number', horizon=1.5)
        self._fails('horizon must be a whole number', horizon='x')

    def test_level(self):
        for level in (0, 1, 1.2, -0.1, 'x', None, float('nan')):
            self._fails('level must be between 0 and 1', level=level)

    def test_step_and_season(self):
        self._fails('step must be positive', step=0)
        self._fails('season must be at least 0', season=-1)
        self._fails('season must be a whole number', season=True)

    def test_season_longer_than_history(self):
        self._fails('season (288 steps) is longer than the history (100',
                    season=288, history=100)
        self._fails('horizon (6 steps) is longer than the history (5',
                    season=0, history=5)
        self.assertEqual(288, seasonal(season=288, history=288).season)

    def test_floor_and_cold_start(self):
        self._fails('floor must be a finite number', floor=float('inf'))
        self._fails('cold_start must be a finite number', cold_start='a')

    def test_history_shape(self):
        f = seasonal()
        self.assertRaises(fbase.ForecastError, f.fit, np.zeros((2, 3, 4)), 0)
        self.assertRaises(fbase.ForecastError, f.fit,
                          np.array([['a', 'b']]), 0)
        self.assertRaises(fbase.ForecastError, f.fit, np.zeros((2, 9)), 0.5)

    def test_predict_on_other_series_than_fitted(self):
        f = seasonal().fit(noisy(3), 0)
        exc = self.assertRaises(fbase.ForecastError, f.predict, noisy(4), 0)
        self.assertIn('fitted on 3 series but is asked to forecast 4',
                      str(exc))

    def test_series_names_must_match(self):
        f = seasonal()
        self.assertRaises(fbase.ForecastError, f.predict, noisy(3), 0,
                          series=['a', 'b'])

    def test_is_abstract(self):
        self.assertRaises(TypeError, fbase.Forecaster, step=300, horizon=1)


class ForecastTest(base.TestCase):

    def test_fields(self):
        history = noisy(3, 100)
        f = seasonal()
        f.fit(history, 1000)
        fc = f.predict(history, 1000, series=['a', 'b', 'c'], metric='cpu')
        self.assertEqual(('a', 'b', 'c'), fc.series)
        self.assertEqual('cpu', fc.metric)
        self.assertEqual(1000 + 100 * 300, fc.start)
        self.assertEqual(fc.start + 6 * 300, fc.end)
        np.testing.assert_array_equal(fc.start + 300 * np.arange(6),
                                      fc.times)
        self.assertEqual((3, 6), fc.point.shape)
        self.assertEqual(6, fc.horizon)
        self.assertEqual(0.9, fc.level)
        self.assertEqual('seasonal_naive', fc.model)
        self.assertTrue(fc.valid.all())
        self.assertRaises(ValueError, fc.point.__setitem__, (0, 0), 1.0)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, fc,
                          'level', 0.5)

    def test_repr_has_no_data(self):
        history = noisy(2, 60) * 123456.789
        fc = seasonal().predict(history, 0)
        text = repr(fc)
        self.assertEqual('<Forecast seasonal_naive: 2 series x 6 steps of '
                         '300s from 18000, level 0.9, 0 invalid>', text)

    def test_shapes_checked(self):
        self.assertRaises(
            fbase.ForecastError, fbase.Forecast, series=['a'], metric=None,
            start=0, step=300, level=0.9, point=np.zeros((1, 2)),
            lower=np.zeros((1, 3)), upper=np.zeros((1, 2)),
            valid=[True], reason=[''], model='x')

    def test_predict_without_fit_fits(self):
        history = noisy(2, 100)
        a = seasonal().predict(history, 0)
        b = seasonal().fit(history, 0).predict(history, 0)
        np.testing.assert_array_equal(a.upper, b.upper)

    def test_one_dimensional_history(self):
        fc = seasonal().predict(noisy(1, 50)[0], 0)
        self.assertEqual((1, 6), fc.point.shape)

    def test_predict_frame(self):
        values = noisy(2, 100)[:, None, :]
        frame = mframe.MetricFrame(start=600, step=300,
                                   resources=['v1', 'v2'],
                                   metrics=['cpu'], values=values)
        fc = seasonal().predict_frame(frame, 'cpu')
        self.assertEqual(('v1', 'v2'), fc.series)
        self.assertEqual(frame.end, fc.start)
        np.testing.assert_array_equal(values[:, 0, -4:-2], fc.point[:, :2])
        self.assertRaises(fbase.ForecastError,
                          seasonal(step=60).predict_frame, frame, 'cpu')


class RobustnessTest(base.TestCase):
    """Bad data gives defined, finite, ordered results and a reason."""

    def _check(self, fc):
        for name in ('point', 'lower', 'upper'):
            self.assertTrue(np.isfinite(getattr(fc, name)).all(), name)
        self.assertTrue((fc.lower <= fc.point).all())
        self.assertTrue((fc.point <= fc.upper).all())

    def _forecast(self, bad, **kw):
        history = np.vstack([noisy(4, len(bad)), bad[None, :]])
        for cls in (baselines.NaiveForecaster,
                    baselines.SeasonalNaiveForecaster):
            kw.setdefault('step', 300)
            kw.setdefault('horizon', 6)
            kw.setdefault('season', 4)
            fc = cls(**kw).predict(history, 0)
            self._check(fc)
            yield fc

    def test_all_nan_series_gets_cold_start(self):
        for fc in self._forecast(np.full(100, NAN)):
            np.testing.assert_array_equal(np.zeros(6), fc.point[-1])
            np.testing.assert_array_equal(np.zeros(6), fc.lower[-1])
            np.testing.assert_array_equal(np.zeros(6), fc.upper[-1])
            np.testing.assert_array_equal([True] * 4 + [False], fc.valid)
            self.assertIn('no finite value', fc.reason[-1])
        for fc in self._forecast(np.full(100, NAN), cold_start=7.5):
            np.testing.assert_array_equal(np.full(6, 7.5), fc.upper[-1])

    def test_empty_history(self):
        fc = seasonal().predict(np.zeros((2, 0)), 0)
        self._check(fc)
        self.assertFalse(fc.valid.any())

    def test_no_series(self):
        fc = seasonal().predict(np.zeros((0, 50)), 0)
        self.assertEqual((0, 6), fc.point.shape)

    def test_constant_series(self):
        for fc in self._forecast(np.full(100, 3.25)):
            np.testing.assert_array_equal(np.full(6, 3.25), fc.point[-1])
            np.testing.assert_array_equal(np.full(6, 3.25), fc.lower[-1])
            np.testing.assert_array_equal(np.full(6, 3.25), fc.upper[-1])
            self.assertTrue(fc.valid[-1])

    def test_gaps(self):
        bad = noisy(1, 100, seed=5)[0]
        bad[np.random.default_rng(2).random(100) < 0.4] = NAN
        bad[[10, 20]] = [np.inf, -np.inf]
        for fc in self._forecast(bad):
            self.assertTrue(fc.valid.all())

    def test_series_that_starts_late(self):
        bad = noisy(1, 100)[0]
        bad[:97] = NAN      # less than a season: naive for both
        for fc in self._forecast(bad):
            self.assertTrue(fc.valid[-1])
            np.testing.assert_array_equal(np.full(6, bad[-1]),
                                          fc.point[-1])
            self.assertIn('borrowed from all series', fc.reason[-1])
            # The borrowed interval is not zero width.
            self.assertTrue((fc.upper[-1] > fc.lower[-1]).all())

    def test_series_that_stops(self):
        bad = noisy(1, 100)[0]
        bad[50:] = NAN
        for fc in self._forecast(bad):
            self.assertTrue(fc.valid[-1])
            self.assertIn('stale', fc.reason[-1])
            self.assertEqual('', fc.reason[0])

    def test_negative_values_and_floor(self):
        bad = noisy(1, 100)[0] - 25.0
        for fc in self._forecast(bad):
            self.assertTrue((fc.lower[-1] < 0).all())
        for fc in self._forecast(bad, floor=0.0):
            self.assertTrue((fc.lower >= 0).all())
            self.assertTrue((fc.point[-1] == 0).any())

    def test_huge_values(self):
        bad = np.tile([1e308, -1e308, 1.7e308, -1.7e308], 25)
        for fc in self._forecast(bad):
            self.assertTrue(fc.valid[-1])
        bad = np.tile([1e300, 1e301, 1e302, -1e300], 25)
        for fc in self._forecast(bad):
            self.assertTrue(fc.valid[-1])

    def test_random_mess_never_nan(self):
        rng = np.random.default_rng(11)
        history = rng.standard_cauchy((30, 80)) * 10.0 ** rng.integers(
            -5, 300, (30, 1))
        history[rng.random((30, 80)) < 0.5] = NAN
        history[rng.random(30) < 0.2] = NAN
        for horizon in (1, 7, 30):
            for season in (0, 5, 200):
                fc = seasonal(horizon=horizon, season=season,
                              min_residuals=3).predict(history, 0)
                self._check(fc)

    def test_reasons_are_logged_once(self):
        logger = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, name='irra_openstack.forecast.base'))
        history = np.vstack([noisy(4, 100), np.full((3, 100), NAN)])
        seasonal().predict(history, 0, metric='cpu')
        lines = [line for line in logger.output.splitlines() if line]
        self.assertEqual(1, len(lines), logger.output)
        self.assertIn('seasonal_naive forecast of 7 series (cpu): 3 no '
                      'finite value in the history', lines[0])


class HistoryCopyTest(base.TestCase):
    """A float64 history is read in place, never written."""

    def test_float_history_is_a_read_only_view(self):
        history = noisy(3)[:, :150]      # a slice: not contiguous
        checked = seasonal()._check_history(history)
        self.assertTrue(np.shares_memory(history, checked))
        self.assertFalse(checked.flags.writeable)
        self.assertTrue(history.flags.writeable)

    def test_inf_is_replaced_in_a_copy(self):
        history = noisy(3)
        history[1, 7] = np.inf
        history[2, 9] = -np.inf
        before = history.copy()
        checked = seasonal()._check_history(history)
        self.assertFalse(np.shares_memory(history, checked))
        self.assertTrue(np.isnan(checked[1, 7]) and np.isnan(checked[2, 9]))
        self.assertEqual(2, np.isnan(checked).sum())
        np.testing.assert_array_equal(before, history)

    def test_other_dtypes_are_converted(self):
        checked = seasonal()._check_history(np.arange(12, dtype=np.int32))
        self.assertEqual((1, 12), checked.shape)
        self.assertEqual(np.float64, checked.dtype)
        self.assertFalse(checked.flags.writeable)

    def test_fit_and_predict_leave_the_callers_data_alone(self):
        history = noisy(4)
        history[0, 30:60] = NAN
        history[1, 5] = np.inf
        exog = noisy(4, seed=1)[:, None, :]
        before, exog_before = history.copy(), exog.copy()
        for name in ('ridge', 'auto'):
            f = plugins.load('irra.forecasters', name, step=300, horizon=6,
                             season=4)
            f.fit(history, 0, exog=exog)
            fc = f.predict(history, 0, exog=exog)
            self.assertTrue(np.isfinite(fc.point).all())
            np.testing.assert_array_equal(before, history)
            np.testing.assert_array_equal(exog_before, exog)

    def test_exog_checked(self):
        f = plugins.load('irra.forecasters', 'ridge', step=300, horizon=6,
                         season=4)
        history = noisy(2)
        exc = self.assertRaises(fbase.ForecastError, f.fit, history, 0,
                                exog=np.full((2, 1, 200), 'a'))
        self.assertIn('exog must be numeric', str(exc))
        exog = np.ones((2, 1, 200))
        exog[0, 0, 3] = -np.inf
        checked = f._check_exog(exog, history)
        self.assertTrue(np.isnan(checked[0, 0, 3]))
        self.assertEqual(-np.inf, exog[0, 0, 3])
        self.assertFalse(checked.flags.writeable)


class PluginTest(base.TestCase):

    def test_load(self):
        f = plugins.load('irra.forecasters', 'seasonal_naive', step=300,
                         horizon=12, level=0.9, season=288)
        self.assertIsInstance(f, baselines.SeasonalNaiveForecaster)
        self.assertIsInstance(f, fbase.Forecaster)
        self.assertEqual((300, 12, 0.9, 288),
                         (f.step, f.horizon, f.level, f.season))
        f = plugins.load('irra.forecasters', 'naive', step=60, horizon=1)
        self.assertIsInstance(f, baselines.NaiveForecaster)

    def test_load_rejects_bad_arguments(self):
        self.assertRaises(fbase.ForecastError, plugins.load,
                          'irra.forecasters', 'naive', step=300,
                          horizon=12, level=1.5)

    def test_from_conf(self):
        # The service's default is the auto forecaster (issue 3).
        f = fbase.from_conf(self.conf)
        self.assertEqual('auto', f.name)
        self.assertEqual((300, 12, 0.9, 288, 4032, 2016),
                         (f.step, f.horizon, f.level, f.season, f.history,
                          f.calibration_window))
        self.flags(group='forecast', forecaster='naive', horizon=86400)
        f = fbase.from_conf(self.conf, floor=0.0)
        self.assertIsInstance(f, baselines.NaiveForecaster)
        self.assertEqual((288, 0.0), (f.horizon, f.floor))
        self.flags(group='forecasters.naive', calibration_window=3600)
        self.assertEqual(12, fbase.from_conf(self.conf).calibration_window)

    def test_auto_candidates_read_their_own_groups(self):
        # The service's default forecaster is auto: the options of
        # [forecasters.gbm] and [forecasters.ridge] must reach its
        # candidates, or an operator's setting silently does nothing.
        f = fbase.from_conf(self.conf)
        by_name = {c.name: c for c in f.candidates}
        self.assertEqual(pooled.SERVICE_THREADS, by_name['gbm'].threads)
        self.assertEqual(pooled.SERVICE_THREADS, by_name['ridge'].threads)
        self.flags(group='forecasters.gbm', threads=3, max_iter=7,
                   quantile_rows=500, train_window=86400,
                   calibration_window=3600, min_residuals=50,
                   quantile_iter=5)
        self.flags(group='forecasters.ridge', threads=0, max_rows=1234)
        f = fbase.from_conf(self.conf)
        by_name = {c.name: c for c in f.candidates}
        gbm = by_name['gbm']
        self.assertEqual((3, 7, 500, 288, 5),
                         (gbm.threads, gbm.max_iter, gbm.quantile_rows,
                          gbm.train_window, gbm.quantile_iter))
        self.assertEqual((0, 1234), (by_name['ridge'].threads,
                                     by_name['ridge'].max_rows))
        # The back-test window is auto's, for every candidate.
        for c in f.candidates:
            self.assertEqual(f.calibration_window, c.calibration_window)
            self.assertEqual(f.min_residuals, c.min_residuals)
        # gbm alone reads all of its group.
        self.flags(group='forecast', forecaster='gbm')
        alone = fbase.from_conf(self.conf)
        self.assertEqual((3, 12, 50), (alone.threads,
                                       alone.calibration_window,
                                       alone.min_residuals))

    def test_auto_with_an_unknown_candidate(self):
        plugins.register_plugin_opts(self.conf, 'irra.forecasters', 'auto')
        self.flags(group='forecasters.auto', candidates=['naive', 'nope'])
        exc = self.assertRaises(exception.PluginError, fbase.from_conf,
                                self.conf)
        self.assertIn("'nope'", str(exc))

    def test_from_conf_checks_multiples(self):
        self.flags(group='forecast', horizon=1000)
        exc = self.assertRaises(fbase.ForecastError, fbase.from_conf,
                                self.conf)
        self.assertIn('horizon (1000s) must be a whole multiple', str(exc))

    def test_options_registered_in_plugin_group(self):
        for name in ('naive', 'seasonal_naive'):
            group = plugins.register_plugin_opts(
                self.conf, 'irra.forecasters', name)
            self.assertEqual(fbase.DEFAULT_CALIBRATION_WINDOW,
                             group.calibration_window)
            self.assertEqual(
                30, self.conf['forecasters.%s' % name].min_residuals)
