"""Opt-in: coverage of irra's intervals on the real traces.

Runs only when ``IRRA_TRACES_DIR`` names the folder of the real traces
(``../shared/traces``), for example::

    IRRA_TRACES_DIR=../shared/traces stestr --test-path=./tests/functional \\
        run forecast.test_real_traces

It runs the benchmark protocol of ``irra-manage bench forecast`` (1 h
horizon, last 30 % of whole days as the test part, the configured
forecaster ``auto``) on a sample of series, and checks that the nominal
90 % interval covers between 0.88 and 0.92.
"""

import os

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import bench
from tests import base

SAMPLE = int(os.environ.get('IRRA_TRACES_SAMPLE', '40'))


class RealTraceCoverageTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.environ.get('IRRA_TRACES_DIR')
        if not self.dir:
            self.skipTest('set IRRA_TRACES_DIR to the folder of the real '
                          'traces (../shared/traces) to run this test')

    def _coverage(self, name, fmt, metric):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            self.fail('%s is missing from IRRA_TRACES_DIR=%s'
                      % (name, self.dir))
        # With the inputs the service gives the forecaster (for memory,
        # the VM's CPU use).
        values, start, step, epoch, _, inputs = bench.load(
            path, fmt, metric, inputs=bench.service_inputs(metric),
            series=SAMPLE, seed=0)

        def make():
            self.flags(group='forecast', step=step, horizon=12 * step)
            return fbase.from_conf(self.conf, floor=0.0)

        result = bench.run(values, start, step, epoch, 12, make,
                           methods=['irra'], inputs=inputs)
        coverage = result['methods']['irra']['coverage']
        self.assertGreaterEqual(coverage, 0.88, result)
        self.assertLessEqual(coverage, 0.92, result)

    def test_azure_cpu(self):
        self._coverage('azure_v1_100vms.tar.xz', 'azure-wide', 'cpu')

    def test_bitbrains_cpu(self):
        self._coverage('bitbrains_rnd_vm1-200.tar.xz', 'gwa-t-12', 'cpu')

    def test_bitbrains_memory(self):
        self._coverage('bitbrains_rnd_vm1-200.tar.xz', 'gwa-t-12',
                       'memory')
