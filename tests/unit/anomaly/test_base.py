"""The detector base: plugins, options, records and the k-of-n helper."""

import numpy as np

from irra_openstack.anomaly import base
from irra_openstack.anomaly import isolation
from irra_openstack.anomaly import residual
from irra_openstack import plugins
from tests import base as test_base


class PluginTest(test_base.TestCase):

    def test_plugins_load(self):
        for name, cls in (('residual', residual.ResidualDetector),
                          ('isolation_forest',
                           isolation.IsolationForestDetector)):
            det = plugins.load(base.NAMESPACE, name,
                               base=base.AnomalyDetector)
            self.assertIsInstance(det, cls)
            self.assertEqual(name, det.name)

    def test_abstract(self):
        self.assertRaises(TypeError, base.AnomalyDetector)

    def test_from_conf(self):
        det = base.from_conf(self.conf, 'residual')
        self.assertEqual((3, 5, 0.25), (det.k, det.n, det.margin))
        self.flags(group='anomaly_detectors.residual', k=2, margin=1.5)
        det = base.from_conf(self.conf, 'residual')
        self.assertEqual((2, 1.5), (det.k, det.margin))
        det = base.from_conf(self.conf, 'isolation_forest')
        self.assertEqual(0.002, det.contamination)

    def test_options_documented(self):
        for name in ('residual', 'isolation_forest'):
            cls = plugins.load_class(base.NAMESPACE, name)
            opts = cls.get_config_opts()
            self.assertIn('k', [o.name for o in opts])
            for opt in opts:
                self.assertGreater(len(opt.help), 20, opt.name)


class RecordTest(test_base.TestCase):

    def test_checks(self):
        ok = dict(resource_id='h', resource_kind='host', detector='d',
                  kind='interval', metrics='cpu', severity=1, start=0,
                  end=10)
        a = base.Anomaly(**ok)
        self.assertEqual(('cpu',), a.metrics)
        self.assertEqual('medium', a.band)
        for bad in ({'severity': -1}, {'severity': float('nan')},
                    {'end': -1}, {'resource_kind': 'rack'}):
            self.assertRaises(base.AnomalyError, base.Anomaly,
                              **dict(ok, **bad))

    def test_bands(self):
        self.assertEqual(['low', 'medium', 'high'],
                         [base.severity_band(s) for s in (0.5, 1, 3)])


class RunsTest(test_base.TestCase):

    def test_vectorised_over_series(self):
        flags = np.zeros((3, 10), dtype=bool)
        flags[0, [1, 2, 3]] = True
        flags[1, [0, 4]] = True
        flags[2, [7, 9]] = True
        rows, first, last = base.k_of_n_runs(flags, 2, 3)
        self.assertEqual([(0, 1, 3), (2, 7, 9)],
                         list(zip(rows.tolist(), first.tolist(),
                                  last.tolist())))

    def test_empty(self):
        rows, _, _ = base.k_of_n_runs(np.zeros((0, 5), dtype=bool), 1, 1)
        self.assertEqual(0, rows.size)
