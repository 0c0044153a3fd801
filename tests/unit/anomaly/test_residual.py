"""The residual detector: k of n steps outside the calibrated interval."""

import numpy as np

from irra_openstack.anomaly import base
from irra_openstack.anomaly import residual
from irra_openstack import plugins
from tests import base as test_base
from tests.unit.anomaly import data


def _flags_to_actual(length, steps, value=2.0):
    """One series, interval [-1, 1], actual ``value`` at ``steps``."""
    actual = np.zeros((1, length))
    actual[0, list(steps)] = value
    return actual


class KOfNTest(test_base.TestCase):

    def _detect(self, steps, length=20, k=3, n=5, value=2.0, margin=0.25):
        det = residual.ResidualDetector(k=k, n=n, margin=margin)
        actual = _flags_to_actual(length, steps, value)
        zeros = np.zeros_like(actual)
        return det.detect_arrays(actual, zeros, zeros - 1, zeros + 1,
                                 start=1000, step=60, series=['s'],
                                 metric='cpu')

    def test_fires_on_k_of_n_and_merges(self):
        found = self._detect([2, 4, 6])
        self.assertEqual(1, len(found))
        self.assertEqual((1000 + 2 * 60, 1000 + 7 * 60),
                         (found[0].start, found[0].end))
        self.assertEqual(3, found[0].steps)

    def test_does_not_fire_below_k(self):
        # Never 3 flags within 5 consecutive steps.
        self.assertEqual([], self._detect([2, 6, 10, 14]))
        self.assertEqual([], self._detect([2, 3]))

    def test_separate_runs_are_separate_anomalies(self):
        found = self._detect([1, 2, 3, 12, 13, 14])
        self.assertEqual([(1, 4), (12, 15)],
                         sorted(((a.start - 1000) // 60,
                                 (a.end - 1000) // 60) for a in found))

    def test_margin(self):
        # 1.2 is 0.1 interval widths out: below the 0.25 margin.
        self.assertEqual([], self._detect([2, 3, 4], value=1.2))
        self.assertEqual(1, len(self._detect([2, 3, 4], value=1.2,
                                             margin=0.0)))

    def test_severity_grows_with_distance_and_duration(self):
        near = self._detect([2, 3, 4], value=2.0)[0].severity
        far = self._detect([2, 3, 4], value=5.0)[0].severity
        longer = self._detect(range(2, 10), value=2.0)[0].severity
        self.assertGreater(far, near)
        self.assertGreater(longer, near)
        # 2.0 is half a width (the interval is 2 wide) out: mean excess
        # 0.5 over 3 steps.
        self.assertAlmostEqual(0.5 * np.sqrt(3), near)

    def test_ongoing_and_direction(self):
        found = self._detect([17, 18, 19], value=-3.0)
        self.assertTrue(found[0].ongoing)
        self.assertEqual('below', found[0].details['direction'])

    def test_direction_option(self):
        det = residual.ResidualDetector(k=1, n=1, direction='above')
        zeros = np.zeros((1, 4))
        actual = np.array([[-5.0, 0, 0, 0]])
        self.assertEqual([], det.detect_arrays(actual, zeros, zeros - 1,
                                               zeros + 1, 0, 60))

    def test_bad_arguments(self):
        self.assertRaises(base.AnomalyError, residual.ResidualDetector,
                          k=4, n=3)
        self.assertRaises(base.AnomalyError, residual.ResidualDetector,
                          margin=-1)
        self.assertRaises(base.AnomalyError, residual.ResidualDetector,
                          direction='sideways')


class LevelShiftTest(test_base.TestCase):
    """A level shift in one VM shows on its host, with the right times."""

    def test_level_shift_detected_on_host(self):
        d = data.hierarchy(shift=(2, 'cpu', 4, 8, 20.0))
        det = plugins.load('irra.anomaly_detectors', 'residual')
        found = det.detect(d['host_frame'], d['host_forecasts'])
        self.assertEqual(1, len(found), found)
        anomaly = found[0]
        self.assertEqual(('host', 'host0', 'cpu'),
                         (anomaly.resource_kind, anomaly.resource_id,
                          anomaly.metric))
        start = d['window_start']
        self.assertEqual(start + 4 * data.STEP, anomaly.start)
        self.assertEqual(start + 9 * data.STEP, anomaly.end)
        self.assertEqual('above', anomaly.details['direction'])
        self.assertGreater(anomaly.observed['cpu'],
                           anomaly.expected['cpu'] + 15)
        self.assertGreater(anomaly.severity, base.SEVERITY_MEDIUM)

    def test_no_shift_no_anomaly(self):
        d = data.hierarchy()
        det = plugins.load('irra.anomaly_detectors', 'residual')
        self.assertEqual([], det.detect(d['host_frame'],
                                        d['host_forecasts']))
