"""The adaptive (ACI) update of the conformal intervals."""

import numpy as np

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import conformal
from tests import base


class AciUpdateTest(base.TestCase):

    def _cal(self):
        rng = np.random.default_rng(0)
        res = rng.normal(0, 1, (2, 100, 3))
        return conformal.ConformalCalibrator(0.9).calibrate(res,
                                                            np.ones(2))

    def test_misses_widen_the_missed_side(self):
        cal = self._cal()
        q_hi, q_lo = cal.q_hi.copy(), cal.q_lo.copy()
        point = np.zeros((2, 3))
        lower, upper = cal.interval(point)
        actual = upper + 1.0                     # above: upper side missed
        actual[1] = 0.0                          # series 1 covered
        for _ in range(20):
            cal.update(actual, point, lower, upper)
        self.assertTrue((cal.q_hi[0] > q_hi[0]).all())
        self.assertTrue((cal.q_lo[0] >= q_lo[0] - 1e-12).all())
        # A covered series slowly narrows (or stays), never widens.
        self.assertTrue((cal.q_hi[1] <= q_hi[1] + 1e-12).all())

    def test_unknown_actuals_change_nothing(self):
        cal = self._cal()
        before = (cal.q_lo.copy(), cal.q_hi.copy())
        point = np.zeros((2, 3))
        lower, upper = cal.interval(point)
        cal.update(np.full((2, 3), np.nan), point, lower, upper)
        np.testing.assert_array_equal(before[0], cal.q_lo)
        np.testing.assert_array_equal(before[1], cal.q_hi)

    def test_forecaster_update_checks_shapes(self):
        f = baselines.NaiveForecaster(300, 3)
        self.assertRaises(fbase.ForecastError, f.update, np.zeros((2, 3)),
                          (np.zeros((2, 3)),) * 3)
        values = np.random.default_rng(1).normal(size=(2, 200))
        fc = f.fit(values, 0).predict(values, 0)
        self.assertRaises(fbase.ForecastError, f.update, np.zeros((2, 4)), fc)
        f.update(values[:, -3:], fc)
