"""Point forecasts of the naive and seasonal naive forecasters."""

import numpy as np

from irra_openstack.forecast import baselines
from tests import base

NAN = np.nan


def naive(**kw):
    kw.setdefault('step', 300)
    kw.setdefault('horizon', 4)
    return baselines.NaiveForecaster(**kw)


def seasonal(**kw):
    kw.setdefault('step', 300)
    kw.setdefault('horizon', 4)
    kw.setdefault('season', 3)
    return baselines.SeasonalNaiveForecaster(**kw)


class NaiveTest(base.TestCase):

    def test_last_value(self):
        history = np.array([[1.0, 2.0, 3.0], [7.0, -2.0, 5.5]])
        fc = naive().predict(history, 0)
        np.testing.assert_array_equal(
            fc.point, [[3.0] * 4, [5.5] * 4])
        self.assertTrue(fc.valid.all())
        # Three steps cannot calibrate a 90 % interval.
        self.assertEqual(('too little history to calibrate the interval '
                          'at the nominal level',) * 2, fc.reason)

    def test_last_finite_value_skips_gaps(self):
        history = np.array([[1.0, 4.0, NAN, NAN],
                            [2.0, np.inf, 3.0, -np.inf]])
        fc = naive().predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[4.0] * 4, [3.0] * 4])

    def test_paths_use_only_the_past(self):
        history = np.array([[10.0, 11.0, NAN, 13.0, 14.0]])
        paths = naive(horizon=2)._paths(history, np.array([1, 3, 5]))
        np.testing.assert_array_equal(
            paths[0], [[10.0, 10.0], [11.0, 11.0], [14.0, 14.0]])

    def test_name(self):
        self.assertEqual('naive', baselines.NaiveForecaster.name)
        self.assertEqual('seasonal_naive',
                         baselines.SeasonalNaiveForecaster.name)


class SeasonalNaiveTest(base.TestCase):

    def test_value_one_season_ago(self):
        history = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
        # Season 3: the steps after 7 are one season after 5, 6, 7, then
        # 5 again (two seasons back).
        fc = seasonal().predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[5.0, 6.0, 7.0, 5.0]])

    def test_long_horizon_repeats_last_season(self):
        history = np.tile([1.0, 2.0, 3.0], 4)[None, :]
        fc = seasonal(horizon=7).predict(history, 0)
        np.testing.assert_array_equal(
            fc.point, [[1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]])

    def test_missing_phase_value_uses_earlier_season(self):
        history = np.array([[1.0, 2.0, 3.0, 10.0, NAN, 30.0]])
        fc = seasonal(horizon=3).predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[10.0, 2.0, 30.0]])

    def test_phase_never_seen_uses_naive(self):
        history = np.array([[1.0, NAN, 3.0, 10.0, NAN, 30.0]])
        fc = seasonal(horizon=3).predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[10.0, 30.0, 30.0]])

    def test_history_shorter_than_season_is_naive(self):
        history = np.array([[1.0, 2.0, 3.0, 4.0],
                            [NAN, NAN, NAN, 5.0],
                            [1.0, 2.0, 3.0, 4.0]])
        fc = seasonal(season=5).predict(history[:2], 0)
        np.testing.assert_array_equal(fc.point, [[4.0] * 4, [5.0] * 4])
        self.assertIn('less than one season', fc.reason[0])
        self.assertIn('less than one season', fc.reason[1])

    def test_series_that_starts_late_is_naive_until_a_season(self):
        history = np.array([[1.0, 2.0, 3.0, 4.0, 5.0],
                            [NAN, NAN, NAN, 4.0, 5.0]])
        fc = seasonal(horizon=2).predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[3.0, 4.0], [5.0, 5.0]])
        self.assertNotIn('season', fc.reason[0])
        self.assertIn('less than one season', fc.reason[1])

    def test_season_zero_is_naive(self):
        history = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
        fc = seasonal(season=0).predict(history, 0)
        np.testing.assert_array_equal(fc.point, [[7.0] * 4])

    def test_paths_use_only_the_past(self):
        rng = np.random.default_rng(1)
        history = rng.normal(size=(3, 40))
        f = seasonal(horizon=5, season=4)
        origins = np.array([4, 9, 17, 40])
        full = f._paths(history, origins)
        for i, o in enumerate(origins):
            cut = history.copy()
            cut[:, o:] = 99.0
            np.testing.assert_array_equal(
                full[:, i], f._paths(cut, origins)[:, i])

    def test_options(self):
        for cls in (baselines.NaiveForecaster,
                    baselines.SeasonalNaiveForecaster):
            names = [o.name for o in cls.get_config_opts()]
            self.assertEqual(['calibration_window', 'min_residuals'], names)


class LastFiniteAtTest(base.TestCase):
    """The per-column search agrees with the scan of the whole history."""

    def _expected(self, history, cols, stride):
        length = history.shape[1]
        out = np.full((history.shape[0], len(cols)), -1)
        for s in range(history.shape[0]):
            for j, c in enumerate(cols):
                t = c
                while t >= 0 and t < length:
                    if np.isfinite(history[s, t]):
                        out[s, j] = t
                        break
                    t -= stride
        return out

    def test_random_gaps(self):
        rng = np.random.default_rng(3)
        for trial in range(60):
            n_series, length = rng.integers(1, 5), rng.integers(1, 70)
            history = rng.normal(size=(n_series, length))
            # Short and long gaps: beyond the walk, the scan answers.
            history[rng.random(history.shape) < rng.random()] = NAN
            cols = rng.integers(-3, length, size=rng.integers(1, 8))
            for stride in (1, 2, 5):
                np.testing.assert_array_equal(
                    self._expected(history, cols, stride),
                    baselines.last_finite_at(history, cols, stride),
                    err_msg='trial %d stride %d' % (trial, stride))

    def test_long_gap_and_empty_series(self):
        history = np.full((2, 40), NAN)
        history[0, 3] = 1.0
        got = baselines.last_finite_at(history, [0, 3, 39])
        np.testing.assert_array_equal([[-1, 3, 3], [-1, -1, -1]], got)
