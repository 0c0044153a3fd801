"""Root-cause reports of host anomalies."""

import numpy as np

from irra_openstack.anomaly import base
from irra_openstack.anomaly import residual
from irra_openstack.anomaly import rootcause
from tests import base as test_base
from tests.unit.anomaly import data


class RootCauseTest(test_base.TestCase):

    def _explain(self, shift, scale=None, **kwargs):
        d = data.hierarchy(shift=shift, **kwargs)
        found = residual.ResidualDetector().detect(d['host_frame'],
                                                   d['host_forecasts'])
        window = d['vm_frame'].window(d['window_start'],
                                      d['window_start'] +
                                      data.HORIZON * data.STEP)
        rca = rootcause.RootCauseAnalyzer(d['matrix'], d['hosts'], d['vms'])
        return rca.explain(found, window, d['vm_expected'], scale=scale), d

    def _check(self, report, vm, metric):
        children = report['children']
        self.assertEqual(vm, children[0]['id'])
        self.assertGreater(children[0]['share'], 0.6)
        self.assertAlmostEqual(1.0, sum(c['share'] for c in children))
        self.assertEqual(metric, report['metrics'][0]['metric'])
        self.assertEqual((vm, metric), (report['culprits'][0]['id'],
                                        report['culprits'][0]['metric']))
        self.assertGreater(report['culprits'][0]['share'], 0.5)
        shares = [c['share'] for c in report['culprits']]
        self.assertEqual(sorted(shares, reverse=True), shares)

    def test_culprit_vm_and_metric_ranked_first(self):
        out, _ = self._explain((2, 'cpu', 4, 8, 20.0))
        self.assertEqual(1, len(out))
        report = out[0].root_cause
        self.assertEqual('host0', report['parent'])
        self.assertEqual(3, report['children_total'])
        self._check(report, 'vm2', 'cpu')

    def test_drop_in_memory_of_another_vm(self):
        out, _ = self._explain((4, 'memory', 3, 9, -25.0))
        self.assertEqual(['host1'], [a.resource_id for a in out])
        report = out[0].root_cause
        self.assertEqual('below', report['direction'])
        self._check(report, 'vm4', 'memory')

    def test_given_scale(self):
        # A huge cpu scale makes the memory deviation (noise) rank first
        # among the metrics: the scale is used.
        scale = np.array([[1e6, 1.0], [1e6, 1.0]])
        out, _ = self._explain((2, 'cpu', 4, 8, 20.0), scale=scale)
        self.assertEqual('memory', out[0].root_cause['metrics'][0]['metric'])

    def test_other_kinds_untouched(self):
        rca = rootcause.RootCauseAnalyzer(np.ones((1, 2)), ['h'],
                                          ['a', 'b'])
        vm = base.Anomaly('a', 'vm', 'residual', 'interval', ('cpu',), 1.0,
                          0, 300)
        fr = data.hierarchy()['vm_frame']
        out = rca.explain([vm], fr, np.zeros(fr.values.shape))
        self.assertIsNone(out[0].root_cause)

    def test_aggregation_matrix(self):
        matrix, parents = rootcause.aggregation_matrix(
            ['a', 'b', 'c'], {'a': 'x', 'c': 'y', 'b': 'x'})
        self.assertEqual(('x', 'y'), parents)
        np.testing.assert_array_equal([[1, 1, 0], [0, 0, 1]],
                                      matrix.toarray())
