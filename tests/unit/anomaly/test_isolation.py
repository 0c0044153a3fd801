"""The isolation forest detector."""

import numpy as np

from irra_openstack.anomaly import base
from irra_openstack.anomaly import isolation
from tests import base as test_base
from tests.unit.anomaly import data


class IsolationForestTest(test_base.TestCase):

    def _detector(self, **kwargs):
        kwargs.setdefault('k', 1)
        kwargs.setdefault('n', 1)
        return isolation.IsolationForestDetector(**kwargs)

    def test_relation_break_flagged_and_explained(self):
        fr, res, step = data.multivariate()
        found = self._detector().detect(fr)
        self.assertTrue(found)
        top = found[0]
        self.assertEqual('vm%d' % res, top.resource_id)
        start = fr.start + (fr.n_steps - 12 + step) * fr.step
        self.assertEqual((start, start + fr.step), (top.start, top.end))
        self.assertEqual('memory', top.metric)
        contributions = top.details['contributions']
        self.assertEqual('memory', contributions[0]['metric'])
        self.assertGreater(contributions[0]['share'], 0.5)
        self.assertAlmostEqual(1.0, sum(c['share'] for c in contributions))
        self.assertEqual(5, len(top.metrics))
        # Memory was well below what was expected of it.
        self.assertLess(top.observed['memory'], top.expected['memory'])
        # Few false alarms: contamination 0.002 of 240 points.
        self.assertLessEqual(len(found), 3)

    def test_without_the_break_nothing_severe(self):
        fr, res, _ = data.multivariate(break_relation=False)
        found = self._detector().detect(fr)
        self.assertNotIn('vm%d' % res,
                         [a.resource_id for a in found
                          if a.severity > base.SEVERITY_MEDIUM])
        self.assertLessEqual(len(found), 3)

    def test_marginal_spike_named(self):
        fr, _, _ = data.multivariate(break_relation=False)
        values = fr.values.copy()
        values[3, 2, -4] += 40 * np.nanstd(values[3, 2])
        found = self._detector().detect(fr.replace(values=values))
        self.assertEqual(('vm3', 'disk'), (found[0].resource_id,
                                           found[0].metric))

    def test_k_of_n_applies(self):
        fr, _, _ = data.multivariate()
        self.assertEqual([], self._detector(k=2, n=3,
                                            contamination=1e-4).detect(fr))

    def test_fit_then_score_other_frame(self):
        fr, res, step = data.multivariate()
        det = self._detector()
        hist = fr.window(end=fr.start + (fr.n_steps - 12) * fr.step)
        self.assertTrue(det.fit(hist))
        recent = fr.window(start=hist.end)
        # Resources in another order: the answer follows the names.
        order = list(reversed(recent.resources))
        found = det.detect_fitted(recent.select(resources=order))
        self.assertEqual('vm%d' % res, found[0].resource_id)

    def test_bad_arguments(self):
        for kwargs in ({'contamination': 0}, {'contamination': 0.6},
                       {'max_missing': 1.0}, {'window': 0}):
            self.assertRaises(base.AnomalyError,
                              isolation.IsolationForestDetector, **kwargs)
