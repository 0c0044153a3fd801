"""Rolling-origin back-test figures on cases with known answers."""

import numpy as np

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import evaluate
from tests import base


class BacktestTest(base.TestCase):

    def test_pure_seasonal_series(self):
        t = np.arange(600)
        pattern = np.random.default_rng(3).normal(size=24)
        history = np.vstack([np.tile(pattern, 25), 3.0 * (t % 24 == 5)])
        f = baselines.SeasonalNaiveForecaster(step=300, horizon=12,
                                              season=24)
        result = evaluate.backtest(f, history, 0, test_steps=100)
        self.assertEqual(['seasonal_naive', 'naive'], list(result))
        sn, naive = result['seasonal_naive'], result['naive']
        self.assertEqual(0.0, sn.mae)
        self.assertEqual(0.0, sn.rel_mae)
        self.assertEqual(0.0, sn.mase)
        self.assertEqual(1.0, sn.coverage)
        self.assertEqual(0.0, sn.mean_width)
        self.assertEqual(0.0, sn.winkler)
        np.testing.assert_array_equal(np.zeros(12), sn.rel_mae_by_h)
        self.assertGreater(naive.mae, 0.1)
        self.assertEqual(1.0, naive.rel_mae)
        np.testing.assert_array_equal(np.ones(12), naive.rel_mae_by_h)
        self.assertIn('seasonal_naive: MAE 0, relMAE 0.00, MASE 0.00, '
                      '90% interval covers 1.00', sn.summary())

    def test_straight_line(self):
        # y = 2t: the naive error at horizon step h (0-based) is 2(h+1),
        # the same at every origin, so the calibrated interval is exactly
        # [point, point + 2(h+1)]: it covers, with that width.
        history = 2.0 * np.arange(300)[None, :]
        f = baselines.NaiveForecaster(step=60, horizon=4, level=0.8)
        scores = evaluate.backtest(f, history, 0, test_steps=40,
                                   stride=1)['naive']
        self.assertEqual(37, scores.n_origins)
        self.assertEqual(37 * 4, scores.n_points)
        np.testing.assert_array_equal([2.0, 4.0, 6.0, 8.0], scores.mae_by_h)
        self.assertEqual(5.0, scores.mae)
        self.assertEqual(2.5, scores.mase)      # one-step change is 2
        self.assertEqual(1.0, scores.coverage)
        self.assertEqual(5.0, scores.mean_width)
        self.assertEqual(5.0, scores.winkler)

    def test_winkler_penalises_misses(self):
        actual = np.array([[[0.0, 10.0, 2.5]]])
        one = np.ones_like(actual)
        scores = evaluate._score(
            'x', 0.8, 3, actual, np.isfinite(actual), 2 * one, one,
            3 * one, np.abs(actual - 2), np.array([1.0]), 1)
        # alpha 0.2: width 2 plus 10 x the miss (1 below, 7 above, 0).
        self.assertAlmostEqual((12.0 + 72.0 + 2.0) / 3, scores.winkler)
        self.assertAlmostEqual(1.0 / 3, scores.coverage)
        self.assertEqual(2.0, scores.mean_width)

    def test_missing_actuals_are_left_out(self):
        pattern = np.random.default_rng(4).normal(size=24)
        history = np.tile(pattern, (2, 17))[:, :400]
        history[1, -60:] = np.nan
        f = baselines.SeasonalNaiveForecaster(step=300, horizon=6,
                                              season=24)
        scores = evaluate.backtest(f, history, 0, test_steps=60,
                                   stride=1)['seasonal_naive']
        self.assertEqual(55 * 6, scores.n_points)
        self.assertEqual(0.0, scores.mae)

    def test_coverage_near_nominal(self):
        rng = np.random.default_rng(7)
        t = np.arange(1500)
        history = (10 * np.sin(2 * np.pi * t / 48) +
                   rng.normal(0, 1, (60, 1500)))
        f = baselines.SeasonalNaiveForecaster(step=300, horizon=12,
                                              season=48, level=0.9)
        result = evaluate.backtest(f, history, 0, test_steps=300)
        self.assertAlmostEqual(0.9, result['seasonal_naive'].coverage,
                               delta=0.03)
        self.assertAlmostEqual(0.9, result['naive'].coverage, delta=0.03)
        self.assertLess(result['seasonal_naive'].rel_mae, 0.5)

    def test_forecaster_not_changed(self):
        f = baselines.NaiveForecaster(step=300, horizon=3)
        evaluate.backtest([f], np.random.default_rng(0).normal(
            size=(2, 100)), 0)
        self.assertIsNone(f.calibrator)

    def test_several_forecasters_with_one_name(self):
        history = np.random.default_rng(0).normal(size=(2, 200))
        fs = [baselines.SeasonalNaiveForecaster(step=300, horizon=3,
                                                season=s) for s in (4, 8)]
        result = evaluate.backtest(fs, history, 0)
        self.assertEqual(['seasonal_naive', 'seasonal_naive#2', 'naive'],
                         list(result))

    def test_arguments(self):
        f = baselines.NaiveForecaster(step=300, horizon=12)
        history = np.zeros((2, 100))
        for kw in ({'test_steps': 11}, {'test_steps': 100},
                   {'test_frac': 0.0}, {'test_frac': 1.0},
                   {'test_steps': 20, 'stride': 0}):
            self.assertRaises(fbase.ForecastError, evaluate.backtest, f,
                              history, 0, **kw)
        other = baselines.NaiveForecaster(step=300, horizon=6)
        self.assertRaises(fbase.ForecastError, evaluate.backtest,
                          [f, other], history, 0)
        self.assertRaises(fbase.ForecastError, evaluate.backtest, [],
                          history, 0)
