"""Continuous learning: schedule, accuracy in the database, fallback."""

import datetime
import os

import fixtures
import numpy as np

from irra_openstack.db import forecast_api
from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import learning
from irra_openstack.forecast import registry
from tests.unit.db import base as db_base

STEP = 300
SEASON = 12
H = 3


def _forecast(point, lower, upper, start, model='m', series=('a', 'b')):
    point = np.asarray(point, dtype=float)
    return fbase.Forecast(series=series, metric='cpu', start=start,
                          step=STEP, level=0.9, point=point, lower=lower,
                          upper=upper, valid=[True] * len(series),
                          reason=('',) * len(series), model=model)


class PureFunctionsTest(db_base.base.TestCase):

    def test_needs_retrain(self):
        self.assertTrue(learning.needs_retrain(10, None, 3600))
        self.assertFalse(learning.needs_retrain(3599, 0, 3600))
        self.assertTrue(learning.needs_retrain(3600, 0, 3600))
        self.assertTrue(learning.needs_retrain(1, 1, 0))

    def test_assess(self):
        fig = {'n_points': 100, 'rel_mae': 1.3, 'coverage': 0.91}
        self.assertEqual((False, 'only 100 of 200 values needed to judge'),
                         learning.assess(fig, 0.9, 200, 1.1, 0.05))
        self.assertEqual((True, 'relMAE 1.30 > 1.10 over 100 values'),
                         learning.assess(fig, 0.9, 50, 1.1, 0.05))
        fig = {'n_points': 100, 'rel_mae': 0.8, 'coverage': 0.8}
        self.assertEqual((True, 'coverage 0.800 < 0.850 over 100 values'),
                         learning.assess(fig, 0.9, 50, 1.1, 0.05))
        fig['coverage'] = 0.86
        self.assertEqual(
            (False, 'relMAE 0.80, coverage 0.860 over 100 values'),
            learning.assess(fig, 0.9, 50, 1.1, 0.05))

    def test_times(self):
        when = learning.to_datetime(1700000000)
        self.assertEqual(datetime.datetime(2023, 11, 14, 22, 13, 20), when)
        self.assertEqual(1700000000, learning.to_seconds(when))


class AccuracyTest(db_base.DBTestCase):

    def test_scored_when_actuals_arrive(self):
        tracker = learning.AccuracyTracker('ds')
        history = np.array([[1.0, 2.0, np.nan], [5.0, 5.0, 4.0]])
        start = 3 * STEP
        fc = _forecast([[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]],
                       [[1.5] * 3, [3.0] * 3], [[2.5] * 3, [5.0] * 3],
                       start)
        tracker.record(fc, history, model_version=7, model_name='naive')
        actual = np.array([[1.0, 2.0, np.nan, 2.0, 3.0, np.nan],
                           [5.0, 5.0, 4.0, 4.0, 6.0, 4.5]])
        # Not all steps observed yet: kept.
        self.assertEqual([], tracker.observe(['a', 'b'], actual[:, :5], 0,
                                             STEP))
        rows = tracker.observe(['b', 'a', 'x'], actual[::-1], 0, STEP)
        self.assertEqual(1, len(rows))
        row = rows[0]
        # a: errors 0, 1 (3rd missing); b: 0, 2, 0.5.
        self.assertEqual(5, row['n_points'])
        self.assertAlmostEqual(3.5, row['abs_error_sum'])
        # naive: a -> 2.0 (last finite), b -> 4.0: the same here.
        self.assertAlmostEqual(3.5, row['naive_abs_error_sum'])
        # inside: a 2.0 yes, 3.0 no; b 4.0 yes, 6.0 no, 4.5 yes.
        self.assertEqual(3, row['n_inside'])
        self.assertAlmostEqual(2 * 1.0 + 3 * 2.0, row['width_sum'])
        self.assertEqual('7', row['model_version'])
        self.assertEqual(learning.to_datetime(start), row['window_start'])
        self.assertEqual(learning.to_datetime(start + 2 * STEP),
                         row['window_end'])
        self.assertEqual([], tracker.pending)
        fig = forecast_api.accuracy_rolling('naive', 'ds')
        self.assertEqual(1, fig['n_evaluations'])
        self.assertAlmostEqual(0.7, fig['mae'])
        self.assertAlmostEqual(1.0, fig['rel_mae'])
        self.assertAlmostEqual(0.6, fig['coverage'])

    def test_rolling_window_sums(self):
        t0 = datetime.datetime(2024, 1, 1)
        for day, (n, err, naive, inside) in enumerate(
                [(100, 50.0, 100.0, 90), (300, 300.0, 150.0, 200)]):
            when = t0 + datetime.timedelta(days=day)
            forecast_api.accuracy_add({
                'model_name': 'auto', 'data_set': 'ds', 'level': 0.9,
                'window_start': when, 'window_end': when,
                'n_points': n, 'abs_error_sum': err,
                'naive_abs_error_sum': naive, 'n_inside': inside,
                'width_sum': float(n)})
        fig = forecast_api.accuracy_rolling('auto', 'ds')
        self.assertEqual(400, fig['n_points'])
        self.assertAlmostEqual(350 / 400, fig['mae'])
        self.assertAlmostEqual(350 / 250, fig['rel_mae'])
        self.assertAlmostEqual(290 / 400, fig['coverage'])
        fig = forecast_api.accuracy_rolling(
            'auto', 'ds', since=t0 + datetime.timedelta(hours=1))
        self.assertEqual(300, fig['n_points'])
        self.assertAlmostEqual(2.0, fig['rel_mae'])
        empty = forecast_api.accuracy_rolling('auto', 'other')
        self.assertEqual(0, empty['n_points'])
        self.assertIsNone(empty['mae'])
        self.assertEqual(2, len(forecast_api.accuracy_list('auto', 'ds')))
        self.assertEqual(1, forecast_api.accuracy_purge(
            t0 + datetime.timedelta(hours=1)))


def _series(rng, n, length, regime_change):
    """Seasonal series that turn into random walks at ``regime_change``."""
    t = np.arange(length)
    seasonal = 10 + 3 * np.sin(2 * np.pi * t / SEASON)
    y = seasonal + 0.1 * rng.standard_normal((n, length))
    walk = np.cumsum(2.0 * rng.standard_normal((n, length)), axis=1)
    if regime_change < length:
        after = t >= regime_change
        y[:, after] = 10 + walk[:, after] - walk[:, [regime_change]]
    return y


class LearnerTest(db_base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.model_dir = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'models')
        self.flags(group='forecast_learning', model_dir=self.model_dir,
                   fallback_chain=['seasonal_naive', 'naive'],
                   retrain_interval=100 * STEP,
                   accuracy_window=20 * H * STEP, min_points=200,
                   max_rel_mae=1.1, coverage_margin=0.05)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='irra_openstack.forecast.learning'))

    def _make(self, name):
        if name == 'broken':
            raise ValueError('no such model')
        cls = {'seasonal_naive': baselines.SeasonalNaiveForecaster,
               'naive': baselines.NaiveForecaster}[name]
        return cls(step=STEP, horizon=H, season=SEASON,
                   calibration_window=0)

    def _learner(self):
        return learning.ContinuousLearner(self.conf, 'r1/cpu',
                                          make_forecaster=self._make)

    def test_retrain_schedule_and_restore(self):
        learner = self._learner()
        y = _series(np.random.default_rng(0), 5, 400, 10**6)
        self.assertEqual(['seasonal_naive'],
                         learner.maybe_retrain(0, y[:, :300], 0))
        self.assertEqual([], learner.maybe_retrain(99 * STEP, y, 0))
        self.assertEqual(['seasonal_naive'],
                         learner.maybe_retrain(100 * STEP, y, 0))
        rows = forecast_api.model_version_list('seasonal_naive', 'r1/cpu')
        self.assertEqual([1, 2], [r['version'] for r in rows])
        self.assertEqual(learning.to_datetime(399 * STEP),
                         rows[1]['training_end'])
        reg = registry.ModelRegistry(self.model_dir)
        self.assertEqual(rows[1]['content_hash'],
                         reg.metadata('seasonal_naive',
                                      'r1/cpu')['content_hash'])
        # A new engine picks up where this one stopped.
        again = self._learner()
        self.assertEqual(['seasonal_naive'], again.restore())
        self.assertEqual(2, again.versions['seasonal_naive'])
        self.assertFalse(again.needs_retrain('seasonal_naive',
                                             150 * STEP))
        self.assertTrue(again.needs_retrain('seasonal_naive', 200 * STEP))

    def test_falls_back_and_recovers(self):
        rng = np.random.default_rng(1)
        change = 40 * SEASON
        y = _series(rng, 20, change + 60 * H, change)
        learner = self._learner()
        series = ['vm%d' % i for i in range(20)]
        used = []
        for t in range(change - 25 * H, change + 60 * H, H):
            now = t * STEP
            fc = learner.forecast(now, y[:, :t], 0, series=series,
                                  metric='cpu')
            self.assertTrue(np.isfinite(fc.upper).all())
            used.append(learner.active)
            learner.observe(series, y[:, :t + H], 0, STEP)
        # Good before the change, naive some time after it.
        self.assertEqual('seasonal_naive', used[20])
        self.assertEqual('naive', used[-1])
        switch = used.index('naive')
        self.assertGreater(switch, 25)
        self.assertLess(switch, 25 + 20)
        warning = [line for line in self.log.output.splitlines()
                   if 'using naive' in line]
        self.assertEqual(1, len(warning), self.log.output)
        # One line with the numbers (coverage or relMAE, whichever
        # crossed first).
        self.assertRegex(warning[0], r'seasonal_naive degraded: '
                         r'(relMAE|coverage) [0-9.]+ [<>] [0-9.]+ over '
                         r'[0-9]+ values; using naive')
        # The seasonal model is still scored while naive is used.
        fig = forecast_api.accuracy_rolling('seasonal_naive', 'r1/cpu')
        self.assertGreater(fig['rel_mae'], 1.1)
        naive = forecast_api.accuracy_rolling('naive', 'r1/cpu')
        self.assertAlmostEqual(1.0, naive['rel_mae'])

    def test_recovers_when_good_again(self):
        learner = self._learner()
        learner.active = 'naive'
        self.assertEqual('seasonal_naive', learner.select(0))
        self.assertIn('seasonal_naive is good again', self.log.output)

    def test_broken_model_skipped(self):
        self.flags(group='forecast_learning',
                   fallback_chain=['broken', 'seasonal_naive', 'naive'])
        learner = self._learner()
        y = _series(np.random.default_rng(2), 3, 200, 10**6)
        fc = learner.forecast(0, y, 0)
        self.assertEqual('seasonal_naive', fc.model)
        self.assertIn('broken', self.log.output)
        self.assertIn('no such model', self.log.output)
        self.assertEqual('seasonal_naive', learner.select(0))

    def test_new_series_retrains(self):
        learner = self._learner()
        y = _series(np.random.default_rng(3), 4, 200, 10**6)
        learner.forecast(0, y[:3], 0)
        fc = learner.forecast(STEP, y, 0)
        self.assertEqual(4, fc.n_series)
        self.assertEqual(2, learner.versions['seasonal_naive'])

    def test_unwritable_registry_still_forecasts(self):
        with open(self.model_dir, 'w') as stream:
            stream.write('not a directory')
        learner = self._learner()
        y = _series(np.random.default_rng(4), 2, 100, 10**6)
        fc = learner.forecast(0, y, 0)
        self.assertEqual('seasonal_naive', fc.model)
        self.assertIn('trained but not saved', self.log.output)
        self.assertEqual([], forecast_api.model_version_list())

    def test_empty_chain_refused(self):
        self.flags(group='forecast_learning', fallback_chain=[])
        self.assertRaises(fbase.ForecastError, self._learner)
