"""Short cycles of a series: their detection and the features they give."""

from unittest import mock

import numpy as np

from irra_openstack.forecast import auto
from irra_openstack.forecast import baselines
from irra_openstack.forecast import features
from irra_openstack.forecast import gbm
from tests import base

STEP = 300           # 5 minutes: a day is 288 steps
DAY = 288


def spikes(n_series, length, every, height=10.0, noise=1.0, seed=0):
    """A spike of ``height`` every ``every`` steps, random phase, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    phase = rng.integers(0, every, (n_series, 1))
    signal = np.where((t[None, :] + phase) % every == 0, height, 0.0)
    return 20.0 + signal + rng.normal(0, noise, (n_series, length))


class DetectCyclesTest(base.TestCase):

    def test_finds_the_period_of_spikes(self):
        for every in (5, 12, 37):
            cycle, strength = features.detect_cycles(
                spikes(4, 7 * DAY, every, seed=every), DAY)
            self.assertEqual([every] * 4, cycle[:, 0].tolist())
            self.assertTrue((strength[:, 0] > 0.5).all(), strength)

    def test_two_cycles_are_both_found(self):
        length = 7 * DAY
        values = (spikes(3, length, 10, seed=1) +
                  spikes(3, length, 27, seed=2) - 20.0)
        cycle, _ = features.detect_cycles(values, DAY)
        for row in cycle:
            self.assertEqual({10, 27}, set(row[:2].tolist()), str(cycle))

    def test_multiples_are_not_other_cycles(self):
        cycle, _ = features.detect_cycles(spikes(2, 7 * DAY, 12), DAY)
        for row in cycle:
            others = [c for c in row[1:] if c]
            for c in others:
                self.assertNotIn(min(c % 12, 12 - c % 12), (0, 1), row)

    def test_noise_has_no_strong_cycle(self):
        noise = np.random.default_rng(3).normal(0, 1, (5, 7 * DAY))
        _, strength = features.detect_cycles(noise, DAY)
        self.assertTrue((strength < 0.15).all(), strength)

    def test_too_little_data_or_missing_values(self):
        short = spikes(2, 200, 12)              # < 4 x 72 steps
        cycle, strength = features.detect_cycles(short, DAY)
        self.assertFalse(cycle.any())
        self.assertFalse(strength.any())
        values = spikes(3, 7 * DAY, 12)
        values[0] = np.nan                      # no data at all
        values[1, ::2] = np.nan                 # more than half missing
        values[1, 1] = np.nan
        cycle, strength = features.detect_cycles(values, DAY)
        self.assertEqual([0, 0, 12], cycle[:, 0].tolist())
        self.assertEqual(0.0, strength[0, 0])
        self.assertTrue(np.isfinite(strength).all())
        empty = features.detect_cycles(np.zeros((0, 7 * DAY)), DAY)
        self.assertEqual((0, features.CYCLES), empty[0].shape)
        # A 3-hour step: a quarter of a day is too short to search.
        self.assertFalse(features.detect_cycles(
            spikes(2, 8 * 14, 3), 8)[0].any())

    def test_strength_is_the_direct_autocorrelation(self):
        # The FFT is padded to fewer than twice the window's length: the
        # lags read must still be the plain (not wrapped) autocorrelation.
        rng = np.random.default_rng(4)
        for length in (7 * DAY, 7 * DAY - 5, 4 * 72 + 3):
            values = spikes(6, length, 17, seed=length) + rng.normal(
                0, 3, (6, length)).cumsum(axis=1) * 0.1
            values[2, rng.random(length) < 0.3] = np.nan
            cycle, strength = features.detect_cycles(values, DAY)
            for s in range(6):
                x = values[s]
                x = np.where(np.isfinite(x), x - np.nanmean(x), 0.0)
                for m in range(features.CYCLES):
                    lag = cycle[s, m]
                    if not lag:
                        continue
                    direct = np.dot(x[:-lag], x[lag:]) / np.dot(x, x)
                    self.assertAlmostEqual(direct, strength[s, m],
                                           places=9)
            self.assertTrue((cycle[:, 0] == 17).any(), cycle)

    def test_rows_do_not_see_after_the_earliest_origin(self):
        # Period 12 before step 4 days, period 19 after: the rows of
        # origins at 4 days use the cycle measured before them only.
        before = spikes(2, 4 * DAY, 12)
        after = spikes(2, 3 * DAY, 19, seed=5)
        values = np.concatenate([before, after], axis=1)
        design = features.Design(STEP, 0, epoch_known=False)
        o = np.full(2, 4 * DAY)
        X, _, _ = design.rows(values, np.arange(2), o, np.zeros(2, int))
        X_past, _, _ = design.rows(values[:, :4 * DAY], np.arange(2), o,
                                   np.zeros(2, int))
        np.testing.assert_array_equal(X, X_past)
        col = design.names.index('cyc0_strength')
        self.assertTrue((X[:, col] > 0.5).all())


class CycleForecastTest(base.TestCase):

    def test_gbm_forecasts_a_short_cycle(self):
        # A spike every 13 steps (not a divisor of the day, so the daily
        # seasonal features do not see it; longer than the lags).
        values = spikes(6, 8 * DAY, 13, seed=7)
        test_start = 6 * DAY
        horizon = 12
        f = gbm.GBMForecaster(STEP, horizon, quantiles=False,
                              max_rows=20000, max_iter=60,
                              small_series=0)
        f.epoch_known = False
        f.fit(values[:, :test_start], 0)
        origins = np.arange(test_start, values.shape[1] - horizon + 1,
                            horizon)
        target = origins[:, None] + np.arange(horizon)[None, :]
        actual = values[:, target]
        point = f._paths(values, origins)
        naive = baselines.NaiveForecaster(STEP, horizon)._paths(
            values, origins)
        mae = np.abs(actual - point).mean()
        naive_mae = np.abs(actual - naive).mean()
        # The spikes are 10 high with noise 1: knowing where they fall
        # leaves about the noise.
        self.assertLess(mae, 0.5 * naive_mae, (mae, naive_mae))


class RollingStatsTest(base.TestCase):
    """The rolling statistics the feature rows are built from."""

    def test_last_value_before_each_origin(self):
        rng = np.random.default_rng(5)
        hist = rng.normal(size=(4, 60))
        hist[rng.random(hist.shape) < 0.3] = np.nan
        hist[1, 5:50] = np.nan      # a gap longer than the walk back
        hist[2] = np.nan            # nothing at all
        row = np.repeat(np.arange(4), 60)
        o = np.tile(np.arange(1, 61), 4)
        got = features._Stats(hist).last(row, o)
        for r, origin, value in zip(row, o, got):
            seen = hist[r, :origin][np.isfinite(hist[r, :origin])]
            if seen.size:
                self.assertEqual(seen[-1], value)
            else:
                self.assertTrue(np.isnan(value))

    def test_window_mean_std_and_scale(self):
        hist = np.array([[1.0, np.nan, 3.0, 6.0, 10.0, np.nan, 4.0]])
        stats = features._Stats(hist)
        row, o = np.array([0]), np.array([7])
        window = hist[0, 2:7]
        self.assertAlmostEqual(np.nanmean(window),
                               stats.mean(row, o, 5)[0])
        self.assertAlmostEqual(np.nanstd(window), stats.std(row, o, 5)[0])
        # Mean absolute change between neighbours that are both there:
        # |6 - 3| and |10 - 6|.
        last = stats.last(row, o)
        self.assertEqual(4.0, last[0])
        self.assertAlmostEqual(3.5, stats.scale(row, o, 5, last)[0])


class CyclesOncePerFitTest(base.TestCase):
    """The cycles before the back-test are measured once per fit."""

    def _ends(self, call, history):
        """Ends of the histories whose cycles ``call`` measured.

        Only the last days before the end are measured: the end is found
        by the last column of what was measured.
        """
        ends = []
        real = features.detect_cycles

        def counting(hist, period, **kw):
            self.assertLessEqual(hist.shape[1],
                                 features.CYCLE_DAYS * period)
            ends.extend(t + 1 for t in range(history.shape[1])
                        if np.array_equal(history[:, t], hist[:, -1]))
            return real(hist, period, **kw)

        with mock.patch.object(features, 'detect_cycles', counting):
            call(history, 0)
        return ends

    def test_auto_shares_the_cycles_of_its_fit(self):
        history = spikes(6, 10 * DAY, 12, seed=3)
        kwargs = {'gbm': {'max_iter': 10, 'refit': 'never'},
                  'ridge': {'refit': 'never'}}
        fc = auto.AutoForecaster(STEP, 12, candidate_kwargs=kwargs)
        ends = self._ends(fc.fit, history)
        # The training rows and the back-test start at the same step.
        self.assertEqual(1, len(ends), ends)
        self.assertLess(ends[0], history.shape[1])
        for c in fc.candidates:
            self.assertIsNone(getattr(c, '_cycle_box', None))

    def test_nothing_is_kept_after_the_fit(self):
        history = spikes(4, 10 * DAY, 12, seed=4)
        fc = gbm.GBMForecaster(STEP, 12, max_iter=10, refit='always')
        ends = self._ends(fc.fit, history)
        # Training part, back-test (same end) and the refit on it all.
        self.assertEqual(2, len(ends), ends)
        self.assertEqual(history.shape[1], ends[-1])
        self.assertIsNone(fc._cycle_box)
        # Every forecast measures the cycles of the array it is given,
        # the same array again included (it may have changed in place).
        for _ in range(2):
            self.assertEqual([history.shape[1]],
                             self._ends(fc.predict, history))


class CyclesOfSomeSeriesTest(base.TestCase):
    """In a fit, the cycles are measured only for the series asked."""

    def test_measured_once_each_as_asked(self):
        history = spikes(6, 10 * DAY, 12, seed=5)
        fc = gbm.GBMForecaster(STEP, 12)
        fc._cycle_box = {}
        measured = []
        real = features.detect_cycles

        def counting(hist, period, **kw):
            measured.append(hist.shape[0])
            return real(hist, period, **kw)

        end = 9 * DAY
        want = real(history[:, :end], DAY)
        with mock.patch.object(features, 'detect_cycles', counting):
            cycle, strength = fc._cycles(history, end, DAY, series=[1, 4])
            # The others have none yet.
            self.assertTrue((cycle[[0, 2, 3, 5]] == 0).all())
            np.testing.assert_array_equal(want[0][[1, 4]], cycle[[1, 4]])
            # Asked again with more: only the new ones are measured.
            cycle, strength = fc._cycles(history, end, DAY,
                                         series=[0, 1, 4])
            cycle, strength = fc._cycles(history, end, DAY)
        self.assertEqual([2, 1, 3], measured)
        np.testing.assert_array_equal(want[0], cycle)
        np.testing.assert_allclose(want[1], strength)
        self.assertTrue((cycle[:, 0] == 12).all(), cycle)


class BlockThreadsTest(base.TestCase):
    """Blocks of series built on several threads give the same result."""

    def _values(self, n_series=37):
        values = spikes(n_series, 8 * DAY, 12) + spikes(
            n_series, 8 * DAY, 31, seed=4)
        rng = np.random.default_rng(9)
        values[rng.random(values.shape) < 0.05] = np.nan
        values[3, -DAY:] = np.nan             # stops before the end
        return values

    def test_map_blocks_keeps_the_order(self):
        for threads in (1, 2, 3):
            self.assertEqual([k * k for k in range(11)],
                             features.map_blocks(lambda k: k * k, range(11),
                                                 threads))
        self.assertEqual([], features.map_blocks(abs, [], 2))

    def test_cycles_on_two_threads(self):
        values = self._values()
        with mock.patch.object(features, '_CYCLE_BLOCK', 5):
            one = features.detect_cycles(values, DAY, threads=1)
            two = features.detect_cycles(values, DAY, threads=2)
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])
        self.assertTrue((one[0][:, 0] > 0).any())

    def test_rows_on_two_threads(self):
        values = self._values()
        n = values.shape[0]
        rng = np.random.default_rng(2)
        s = rng.integers(0, n, 500)
        h = rng.integers(0, 12, 500)
        o = rng.integers(7 * DAY, 8 * DAY - 12, 500)
        built = []
        # Blocks of four series: ten blocks for 37 series.
        with mock.patch.object(features, '_BLOCK_ELEMENTS', 4 * 8 * DAY):
            for threads in (1, 2):
                design = features.Design(STEP, 0, epoch_known=False,
                                         threads=threads)
                built.append(design.rows(values, s, o, h))
        for a, b in zip(*built):
            np.testing.assert_array_equal(a, b)
        self.assertTrue(np.isfinite(built[0][0]).any(axis=1).all())

    def test_forecaster_threads_reach_the_design(self):
        fc = gbm.GBMForecaster(STEP, 12, threads=3)
        self.assertEqual(3, fc._new_design(0, 0).threads)
        fc = gbm.GBMForecaster(STEP, 12, threads=0)
        self.assertGreaterEqual(fc._new_design(0, 0).threads, 1)
