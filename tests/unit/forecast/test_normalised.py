"""Band-normalised conformal intervals (CQR-style) and the gbm band."""

import numpy as np

from irra_openstack.forecast import conformal
from irra_openstack.forecast import gbm
from tests import base

STEP = 3600
DAY = 24


def heteroscedastic(n_series, n_rows, horizon, rng):
    """Residuals with a known per-row spread ``sd`` (lognormal)."""
    sd = np.exp(rng.normal(0.0, 0.8, (n_series, n_rows, horizon)))
    return rng.normal(size=sd.shape) * sd, sd


def coverage_width(lower, upper, actual):
    return (float(np.mean((lower <= actual) & (actual <= upper))),
            float(np.mean(upper - lower)))


class NormalisedCalibratorTest(base.TestCase):

    def test_covers_and_is_narrower_than_static(self):
        rng = np.random.default_rng(0)
        res, sd = heteroscedastic(50, 60, 3, rng)
        new, new_sd = heteroscedastic(50, 60, 3, rng)
        point = np.zeros_like(new)
        cal = conformal.NormalisedCalibrator(0.9).calibrate(res, sd, sd)
        cov_n, width_n = coverage_width(
            *cal.interval(point, new_sd, new_sd), actual=new)
        static = conformal.ConformalCalibrator(0.9).calibrate(
            res, np.ones(50))
        cov_s, width_s = coverage_width(
            point + static.q_lo[:, None, :], point + static.q_hi[:, None, :],
            new)
        self.assertAlmostEqual(0.9, cov_n, delta=0.015)
        self.assertAlmostEqual(0.9, cov_s, delta=0.02)
        # Same coverage, much narrower: the band follows the spread.
        self.assertLess(width_n, 0.85 * width_s)

    def test_exact_band_gives_factor_near_the_normal_quantile(self):
        rng = np.random.default_rng(1)
        res, sd = heteroscedastic(20, 500, 1, rng)
        cal = conformal.NormalisedCalibrator(0.9).calibrate(res, sd, sd)
        # Scores are standard normal: the 95 % quantile is 1.645.
        self.assertAlmostEqual(1.645, float(cal.e_hi.mean()), delta=0.06)
        self.assertAlmostEqual(1.645, float(cal.e_lo.mean()), delta=0.06)

    def test_skewed_errors_shift_the_misses_to_the_long_tail(self):
        rng = np.random.default_rng(2)
        # Bursts: a long upper tail (lognormal), a short lower one.
        res = rng.lognormal(0.0, 1.0, (40, 100, 2)) - 1.0
        ones = np.ones_like(res)
        point = np.full_like(res, 10.0)
        even = conformal.NormalisedCalibrator(0.9).calibrate(
            res, ones, ones)
        best = conformal.NormalisedCalibrator(0.9).calibrate(
            res, ones, ones, point=point)
        self.assertTrue((best.split < 0.5).all(), best.split)
        new = rng.lognormal(0.0, 1.0, (40, 100, 2)) - 1.0
        p = np.full((40, 2), 10.0)
        covs, widths = [], []
        for cal in (even, best):
            lower, upper = cal.interval(p, np.ones((40, 2)),
                                        np.ones((40, 2)))
            c, w = coverage_width(lower[:, None, :], upper[:, None, :],
                                  10.0 + new)
            covs.append(c)
            widths.append(w)
        self.assertAlmostEqual(0.9, covs[1], delta=0.02)
        self.assertLess(widths[1], 0.9 * widths[0])

    def test_pooled_aci_restores_coverage_after_a_shift(self):
        rng = np.random.default_rng(3)
        res, sd = heteroscedastic(30, 40, 2, rng)
        cal = conformal.NormalisedCalibrator(0.9).calibrate(res, sd, sd)
        cal.gamma = 0.05
        inside = []
        for _ in range(300):
            spread = np.exp(rng.normal(0.0, 0.8, (30, 2)))
            actual = 1.4 * spread * rng.normal(size=(30, 2))  # noisier
            lower, upper = cal.interval(np.zeros((30, 2)), spread, spread)
            inside.append(np.mean((lower <= actual) & (actual <= upper)))
            cal.update(actual, np.zeros((30, 2)), lower, upper)
        self.assertLess(np.mean(inside[:20]), 0.86)
        self.assertAlmostEqual(0.9, np.mean(inside[150:]), delta=0.025)

    def test_needs_the_band(self):
        rng = np.random.default_rng(4)
        res, sd = heteroscedastic(2, 30, 1, rng)
        cal = conformal.NormalisedCalibrator(0.9).calibrate(res, sd, sd)
        self.assertRaises(ValueError, cal.interval, np.zeros((2, 1)))

    def test_band_halfwidths_are_positive(self):
        point = np.array([1.0, 1.0, 1.0])
        w_lo, w_hi = conformal.band_halfwidths(
            point, np.array([1.0, 0.0, 1.0]), np.array([1.0, 1.0, 5.0]),
            0.01)
        self.assertTrue((w_lo > 0).all() and (w_hi > 0).all())
        self.assertAlmostEqual(0.4, w_lo[2])     # MIN_SIDE x the other


class GBMBandTest(base.TestCase):

    def test_band_follows_the_noise_and_covers(self):
        # Noise 5x larger at night: a constant half-width over-covers the
        # day and under-covers the night; the gbm band does neither.
        rng = np.random.default_rng(5)
        t = np.arange(45 * DAY)
        night = (t % DAY) < 8
        sd = np.where(night, 5.0, 1.0)
        values = 50 + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(
            0, 1, (12, t.size)) * sd
        test_start = 35 * DAY
        f = gbm.GBMForecaster(STEP, 3, season=DAY, max_rows=6000,
                              max_iter=40, quantile_rows=6000,
                              calibration_window=12 * DAY)
        f.fit(values[:, :test_start], 0)
        self.assertIsInstance(f.calibrator, conformal.NormalisedCalibrator)
        origins = np.arange(test_start, t.size - 3 + 1, 3)
        point, lower, upper = f.intervals(values, origins)
        actual = values[:, origins[:, None] + np.arange(3)[None, :]]
        inside = (lower <= actual) & (actual <= upper)
        self.assertAlmostEqual(0.9, float(inside.mean()), delta=0.04)
        tn = night[origins[:, None] + np.arange(3)[None, :]]
        width = upper - lower
        self.assertGreater(width[:, tn].mean(), 1.8 * width[:, ~tn].mean())
        self.assertGreater(inside[:, tn].mean(), 0.78)
        self.assertGreater(inside[:, ~tn].mean(), 0.78)
