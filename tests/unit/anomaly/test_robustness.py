"""Bad data: a defined result and a logged reason, never a crash."""

import fixtures
import numpy as np

from irra_openstack.anomaly import isolation
from irra_openstack.anomaly import residual
from irra_openstack.anomaly import rootcause
from irra_openstack import frame
from tests import base as test_base
from tests.unit.anomaly import data


class ResidualRobustnessTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))

    def _arrays(self, actual):
        actual = np.asarray(actual, dtype=float)
        zeros = np.zeros_like(actual)
        return actual, zeros, zeros - 1, zeros + 1

    def test_nan_gaps_are_not_flagged(self):
        det = residual.ResidualDetector(k=3, n=3)
        actual = np.array([[5, 5, np.nan, 5, np.inf, 5, 5, 5, 0, 0]])
        found = det.detect_arrays(*self._arrays(actual), start=0, step=1)
        # Only 5 5 5 at steps 5-7 is three flagged steps in a row.
        self.assertEqual([(5, 8)], [(a.start, a.end) for a in found])

    def test_all_missing_and_invalid_series(self):
        det = residual.ResidualDetector(k=1, n=1)
        actual = np.array([[np.nan] * 4, [9.0] * 4, [9.0] * 4])
        found = det.detect_arrays(*self._arrays(actual), start=0, step=1,
                                  series=['empty', 'bad', 'good'],
                                  valid=[True, False, True])
        self.assertEqual(['good'], [a.resource_id for a in found])
        self.assertIn('no actual value', self.log.output)
        self.assertIn('no valid forecast', self.log.output)

    def test_constant_series_zero_width(self):
        det = residual.ResidualDetector(k=1, n=1)
        actual = np.full((1, 5), 7.0)
        point = np.full((1, 5), 7.0)
        self.assertEqual([], det.detect_arrays(actual, point, point, point,
                                               0, 1))
        actual[0, 2] = 7.5
        found = det.detect_arrays(actual, point, point, point, 0, 1)
        self.assertEqual(1, len(found))
        self.assertTrue(np.isfinite(found[0].severity))

    def test_series_missing_from_frame(self):
        d = data.hierarchy()
        host_frame = d['host_frame'].select(resources=['host1'])
        found = residual.ResidualDetector().detect(host_frame,
                                                   d['host_forecasts'])
        self.assertEqual([], found)
        self.assertIn('not in the frame', self.log.output)

    def test_empty_frame(self):
        empty = frame.MetricFrame(start=0, step=300, resources=(),
                                  metrics=('cpu',), values=np.zeros((0, 1,
                                                                     0)))
        self.assertEqual([], residual.ResidualDetector().detect(empty, {}))


class IsolationRobustnessTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))

    def test_gaps_constant_and_late_series(self):
        fr, _, _ = data.multivariate(n_res=8)
        values = fr.values.copy()
        values[0, :, 100:200] = np.nan            # a gap
        values[1, 2] = 3.0                        # a constant metric
        values[2, :, :300] = np.nan               # starts mid-window
        values[3, :, -20:] = np.nan               # stops reporting
        values[4] = np.nan                        # never reported
        det = isolation.IsolationForestDetector(k=1, n=1)
        found = det.detect(fr.replace(values=values))
        names = [a.resource_id for a in found]
        self.assertNotIn('vm3', names)
        self.assertNotIn('vm4', names)
        for a in found:
            self.assertTrue(np.isfinite(a.severity))
        self.assertIn('constant', self.log.output)
        self.assertIn('too many missing', self.log.output)

    def test_too_short(self):
        fr, _, _ = data.multivariate(n_res=2, days=0, window=12)
        det = isolation.IsolationForestDetector()
        self.assertEqual([], det.detect(fr))
        self.assertIn('history', self.log.output)
        fr2 = fr.window(end=fr.start + 20 * fr.step)
        self.assertEqual([], det.detect(fr2))
        self.assertIn('usable training points', self.log.output)

    def test_nothing_at_all(self):
        fr, _, _ = data.multivariate(n_res=3)
        nan = fr.replace(values=np.full(fr.values.shape, np.nan))
        self.assertEqual([], isolation.IsolationForestDetector().detect(nan))


class RootCauseRobustnessTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))

    def test_region_with_no_data(self):
        d = data.hierarchy(shift=(2, 'cpu', 4, 8, 20.0))
        found = residual.ResidualDetector().detect(d['host_frame'],
                                                   d['host_forecasts'])
        window = d['vm_frame'].window(d['window_start'],
                                      d['window_start'] +
                                      data.HORIZON * data.STEP)
        blank = window.replace(values=np.full(window.values.shape, np.nan))
        rca = rootcause.RootCauseAnalyzer(d['matrix'], d['hosts'], d['vms'])
        out = rca.explain(found, blank, d['vm_expected'])
        report = out[0].root_cause
        self.assertEqual([], report['children'])
        self.assertEqual(3, report['children_missing'])
        self.assertIn('no vm data', report['note'])
        self.assertIn('no vm data', self.log.output)

    def test_parent_without_children(self):
        d = data.hierarchy(shift=(2, 'cpu', 4, 8, 20.0))
        found = residual.ResidualDetector().detect(d['host_frame'],
                                                   d['host_forecasts'])
        matrix = d['matrix'].toarray()
        matrix[0] = 0
        window = d['vm_frame'].window(d['window_start'])
        rca = rootcause.RootCauseAnalyzer(matrix, d['hosts'], d['vms'])
        report = rca.explain(found, window, np.zeros(
            window.values.shape))[0].root_cause
        self.assertEqual(0, report['children_total'])
        self.assertIn('no vm known', report['note'])
