"""irra-manage bench forecast end to end on a small generated trace."""

import io
import json
import os

import fixtures
import numpy as np

from irra_openstack.cmd import bench_commands
from irra_openstack.forecast import bench
from irra_openstack import frame as mframe
from irra_openstack.traces import api
from tests import base

KEYS = {'mae', 'rel_mae', 'mase', 'coverage', 'width', 'interval_score',
        'fit_s', 'predict_s', 'peak_rss_mb'}


def write_small_trace(path, n_series=6, days=12, step=3600):
    rng = np.random.default_rng(0)
    day = 86400 // step
    t = np.arange(days * day)
    cpu = (30 + 10 * np.sin(2 * np.pi * t / day) +
           rng.normal(0, 2, (n_series, t.size)))
    mem = 50 + np.cumsum(rng.normal(0, 0.2, (n_series, t.size)), axis=1)
    cpu[0, 5:9] = np.nan
    values = np.stack([cpu, mem], axis=1)
    frame = mframe.MetricFrame(
        start=1372636800, step=step,
        resources=['vm%d' % i for i in range(n_series)],
        metrics=['cpu_util', 'mem_util'], values=values)
    api.write_trace(frame, path)


class BenchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.trace = os.path.join(self.dir, 'small.irra')
        write_small_trace(self.trace)
        # A small global model keeps the test fast.
        self.flags(group='forecast', forecaster='ridge')

    def test_end_to_end(self):
        out = os.path.join(self.dir, 'out.json')
        stdout = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        bench_commands.BenchCommands(self.conf).forecast(
            trace=self.trace, fmt='irra', metric='cpu', horizon=3,
            level=0.9, test_frac=0.3, series=5, seed=1, json_out=out)
        with open(out) as f:
            result = json.load(f)
        self.assertEqual(result, json.loads(stdout.getvalue()))
        self.assertEqual((3, 0.9, 5), (result['horizon'], result['level'],
                                       result['series']))
        self.assertEqual({'irra', 'naive', 'seasonal_naive', 'ets',
                          'gbm_uncalibrated'}, set(result['methods']))
        for name, scores in result['methods'].items():
            self.assertLessEqual(KEYS, set(scores), name)
        self.assertEqual(1.0, result['methods']['naive']['rel_mae'])
        # A daily sine: the models beat naive, and the intervals cover.
        self.assertLess(result['methods']['irra']['rel_mae'], 0.9)
        self.assertGreater(result['methods']['irra']['coverage'], 0.8)
        self.assertIn('ratio_ets_over_irra', result['speed'])
        # 4 whole test days of 24 hourly steps, an origin every 3 steps.
        self.assertEqual(4, result['test_days'])
        self.assertEqual(32, result['origins'])

    def test_memory_takes_the_cpu_as_the_service_does(self):
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        results = []
        for inputs in (True, False):
            out = os.path.join(self.dir, 'mem%s.json' % inputs)
            bench_commands.BenchCommands(self.conf).forecast(
                trace=self.trace, fmt='irra', metric='memory', horizon=3,
                series=5, seed=1, methods='irra,naive', inputs=inputs,
                json_out=out)
            with open(out) as f:
                results.append(json.load(f))
        self.assertEqual(['cpu_util'], results[0]['inputs'])
        self.assertEqual([], results[1]['inputs'])
        # The input changes irra's forecasts, and only irra's.
        self.assertNotEqual(results[0]['methods']['irra']['mae'],
                            results[1]['methods']['irra']['mae'])
        self.assertEqual(results[0]['methods']['naive'],
                         dict(results[1]['methods']['naive'],
                              **{k: results[0]['methods']['naive'][k]
                                 for k in ('fit_s', 'predict_s',
                                           'forecast_s', 'peak_rss_mb')}))
        # Turned off in the configuration, as in the service.
        self.flags(group='planning', cpu_as_memory_input=False)
        out = os.path.join(self.dir, 'off.json')
        bench_commands.BenchCommands(self.conf).forecast(
            trace=self.trace, fmt='irra', metric='memory', horizon=3,
            series=5, seed=1, methods='naive', json_out=out)
        with open(out) as f:
            self.assertEqual([], json.load(f)['inputs'])

    def test_tile_and_memory_metric(self):
        values, start, step, epoch, names = bench.load_series(
            self.trace, 'irra', 'memory', tile=14)
        self.assertEqual((14, 12 * 24), values.shape)
        self.assertEqual(14, len(set(names)))
        np.testing.assert_array_equal(values[0], values[6])

    def test_split_whole_days(self):
        test_start, origins = bench.split(10 * 288 + 5, 300, 12, 0.3)
        self.assertEqual(10 * 288 + 5 - 3 * 288, test_start)
        self.assertEqual(test_start, origins[0])
        self.assertRaises(bench.BenchError, bench.split, 288, 300, 12, 0.3)

    def test_unknown_metric(self):
        self.assertRaises(bench.BenchError, bench.load_series, self.trace,
                          'irra', 'disk')
