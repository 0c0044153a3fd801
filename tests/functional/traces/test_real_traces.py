"""Import the real public traces (opt-in: set IRRA_TRACES_DIR).

``IRRA_TRACES_DIR`` names a folder with the shared archives
(``bitbrains_rnd_vm1-200.tar.xz``, ``azure_v1_100vms.tar.xz``,
``planetlab_3days.tar.xz``, ``alibaba2018_16hosts.tar.xz``) or with their
unpacked contents (``2013-7/``, ``microsoft_avg_100.csv``, ``20110303/``,
``machine_usage_sample.csv`` ...). For example::

    IRRA_TRACES_DIR=../shared/traces stestr --test-path=./tests/functional \\
        run traces
"""

import os

import fixtures
import numpy as np

from irra_openstack.traces import api
from tests import base

ENV = 'IRRA_TRACES_DIR'


class TestRealTraces(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.environ.get(ENV)
        if not self.dir:
            self.skipTest('set %s to a folder with the shared trace archives '
                          '(../shared/traces) or their unpacked contents to '
                          'run the real-trace import tests' % ENV)
        if not os.path.isdir(self.dir):
            self.fail('%s=%s is not a folder' % (ENV, self.dir))
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _find(self, archive, unpacked):
        """The archive, or a folder/file of unpacked contents, or skip."""
        p = os.path.join(self.dir, archive)
        if os.path.exists(p):
            return p
        for u in unpacked:
            p = os.path.join(self.dir, u)
            if os.path.exists(p):
                return p
        self.skipTest('neither %s nor %s in %s' % (archive, unpacked,
                                                   self.dir))

    def _import(self, path, fmt):
        self.assertEqual(fmt, api.sniff_format(path))
        out = os.path.join(self.tmp, 'out.irra')
        report = api.import_trace(path, out, fmt=fmt)
        trace = api.open_trace(out)
        self.addCleanup(trace.close)
        return report, trace

    def test_bitbrains(self):
        path = os.path.join(self.dir, 'bitbrains_rnd_vm1-200.tar.xz')
        if not os.path.exists(path):
            if not os.path.isdir(os.path.join(self.dir, '2013-7')):
                self.skipTest('no Bitbrains trace in %s' % self.dir)
            # only the month folders, not the other traces beside them
            path = os.path.join(self.tmp, 'bitbrains')
            os.mkdir(path)
            for m in ('2013-7', '2013-8', '2013-9'):
                if os.path.isdir(os.path.join(self.dir, m)):
                    os.symlink(os.path.join(self.dir, m),
                               os.path.join(path, m))
        report, trace = self._import(path, 'gwa-t-12')
        self.assertEqual(200, len(trace.resources))
        self.assertEqual(600, report.files)
        self.assertEqual(11, len(trace.metrics))
        self.assertTrue(trace.epoch_known)
        self.assertAlmostEqual(91, trace.n_steps * 300 / 86400.0, delta=1)
        # about 4 % of the slots inside each series have no sample
        gaps = report.notes['gap']['count'] / float(200 * trace.n_steps)
        self.assertGreater(gaps, 0.02)
        self.assertLess(gaps, 0.06)
        cpu = trace.read(resources=['1'], metrics=['cpu_util']).values
        self.assertLess(float(np.nanmax(cpu)), 100.5)
        # A few corrupt memory samples (use above what the VM was given)
        # are dropped, and no utilisation above 100 % is left.
        self.assertGreater(report.repairs['over_capacity']['count'], 0)
        mem = trace.read(metrics=['mem_util']).values
        self.assertLessEqual(float(np.nanmax(mem)), 100.0)

    def test_azure(self):
        path = self._find('azure_v1_100vms.tar.xz',
                          ['microsoft_avg_100.csv'])
        report, trace = self._import(path, 'azure-wide')
        self.assertEqual(100, len(trace.resources))
        self.assertEqual(8004, trace.n_steps)
        self.assertEqual(('cpu_util', 'cpu_util_max'), trace.metrics)
        f = trace.read()
        avg, mx = f.metric('cpu_util'), f.metric('cpu_util_max')
        self.assertTrue(np.all(avg <= mx + 1e-3))
        self.assertFalse(trace.epoch_known)

    def test_planetlab(self):
        path = self._find('planetlab_3days.tar.xz',
                          ['20110303', 'planetlab'])
        report, trace = self._import(path, 'planetlab')
        per_day = report.files / (trace.n_steps * 300 / 86400.0)
        self.assertTrue(trace.epoch_known)
        if os.path.basename(path) == '20110303':
            self.assertEqual(288, trace.n_steps)
        self.assertGreater(len(trace.resources), 800)
        self.assertGreater(report.files, 800)
        self.assertGreater(per_day, 100)

    def test_alibaba(self):
        path = self._find('alibaba2018_16hosts.tar.xz',
                          ['machine_usage_sample.csv'])
        report, trace = self._import(path, 'alibaba-machine')
        self.assertEqual(16, len(trace.resources))
        self.assertEqual('host', trace.kind)
        self.assertAlmostEqual(8, trace.n_steps * 300 / 86400.0, delta=0.5)
        self.assertIn('cpu_num', trace.attributes[trace.resources[0]])
