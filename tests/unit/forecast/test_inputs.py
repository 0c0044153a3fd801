"""Other metrics of the same VM as exogenous inputs of a forecast."""

import numpy as np

from irra_openstack.forecast import auto
from irra_openstack.forecast import bench
from irra_openstack.forecast import ridge
from irra_openstack import frame as mframe
from tests import base

STEP = 300
DAY = 288
HORIZON = 4
LAG = 6


def lagged(n_series=30, days=6, seed=0):
    """CPU an AR(1) around 50 %; memory follows it ``LAG`` steps later.

    Memory's own past says little of its next steps, the CPU's last
    ``LAG`` steps say them all.
    """
    from scipy import signal

    rng = np.random.default_rng(seed)
    length = days * DAY
    shocks = rng.normal(0, 2.0, (n_series, length + LAG))
    cpu = 50 + signal.lfilter([1.0], [1.0, -0.97], shocks, axis=1)
    mem = 2000 + 10 * cpu[:, :length] + rng.normal(0, 1.0,
                                                   (n_series, length))
    return cpu[:, LAG:], mem


def frame(cpu, mem, end):
    values = np.stack([mem[:, :end], cpu[:, :end]], axis=1)
    return mframe.MetricFrame(
        start=0, step=STEP, resources=['vm%d' % i for i in
                                       range(cpu.shape[0])],
        metrics=['mem', 'cpu'], values=values)


class InputsTest(base.TestCase):

    def _error(self, inputs, missing=()):
        cpu, mem = lagged()
        errors = []
        for end in range(5 * DAY, 6 * DAY - HORIZON, 37):
            fc = ridge.RidgeForecaster(STEP, HORIZON, season=DAY,
                                       floor=0.0)
            f = frame(cpu, mem, end)
            out = fc.predict_frame(f, 'mem', inputs=list(inputs) +
                                   list(missing))
            self.assertTrue(np.isfinite(out.point).all())
            self.assertTrue((out.lower <= out.upper).all())
            errors.append(np.abs(out.point - mem[:, end:end + HORIZON]))
        return float(np.mean(errors))

    def test_the_input_that_leads_is_used(self):
        alone = self._error(())
        with_cpu = self._error(('cpu',))
        self.assertLess(with_cpu, 0.5 * alone, (with_cpu, alone))

    def test_gaps_in_the_input(self):
        cpu, mem = lagged(n_series=10)
        cpu[:, 100:400] = np.nan        # a gap in every VM's input
        cpu[3] = np.nan                 # a VM whose input never came
        cpu[4, -50:] = np.inf           # a broken sample
        for fc in (ridge.RidgeForecaster(STEP, HORIZON, season=DAY,
                                         floor=0.0),
                   auto.AutoForecaster(STEP, HORIZON, season=DAY,
                                       floor=0.0, candidate_kwargs={
                                           'gbm': {'max_iter': 10}})):
            out = fc.predict_frame(frame(cpu, mem, 6 * DAY - 10), 'mem',
                                   inputs=['cpu'])
            self.assertTrue(np.isfinite(out.point).all(), fc.name)
            self.assertTrue(np.isfinite(out.lower).all(), fc.name)
            self.assertTrue((out.lower <= out.upper).all(), fc.name)

    def test_an_input_not_collected_is_left_out(self):
        with self.assertLogs('irra_openstack.forecast.base', 'INFO') as log:
            self.assertEqual(self._error(()), self._error((), ('disk',)))
        self.assertIn('without the input metrics disk', log.output[0])


class BenchInputsTest(base.TestCase):

    def test_the_service_inputs(self):
        self.assertEqual(['cpu_util'], bench.service_inputs('memory'))
        self.assertEqual([], bench.service_inputs('memory', False))
        self.assertEqual([], bench.service_inputs('cpu'))

    def test_irra_uses_the_inputs(self):
        cpu, mem = lagged(n_series=20, days=10)
        exog = cpu[:, None, :]

        def make():
            return ridge.RidgeForecaster(STEP, HORIZON, season=DAY,
                                         floor=0.0)

        def run(inputs):
            return bench.run(mem, 0, STEP, True, HORIZON, make,
                             methods=['irra', 'naive'], inputs=inputs)

        alone = run(None)
        with_cpu = run((['cpu'], exog))
        self.assertEqual([], alone['inputs'])
        self.assertEqual(['cpu'], with_cpu['inputs'])
        self.assertLess(with_cpu['methods']['irra']['rel_mae'],
                        0.5 * alone['methods']['irra']['rel_mae'])
        # Inputs that do not match the series are refused.
        self.assertRaises(bench.BenchError, bench.run, mem, 0, STEP, True,
                          HORIZON, make, methods=['irra'],
                          inputs=(['cpu'], exog[:, :, :-1]))

    def test_broken_input_samples_in_the_bench(self):
        cpu, mem = lagged(n_series=12, days=10)
        exog = cpu[:, None, :].copy()
        exog[2, 0, -300:] = np.inf      # broken samples in the test part
        exog[5, 0, 100:200] = -np.inf   # and in the training part
        exog[7] = np.nan                # an input that never came
        before = exog.copy()
        result = bench.run(
            mem, 0, STEP, True, HORIZON,
            lambda: ridge.RidgeForecaster(STEP, HORIZON, season=DAY,
                                          floor=0.0),
            methods=['irra', 'naive'], inputs=(['cpu'], exog))
        irra = result['methods']['irra']
        self.assertTrue(np.isfinite(irra['rel_mae']))
        self.assertTrue(0.0 < irra['coverage'] <= 1.0)
        np.testing.assert_array_equal(before, exog)
