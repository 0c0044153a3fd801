"""Tests of the demo's pipeline on a series with a known daily cycle."""

import os

import fixtures
import numpy as np

from irra_openstack import demo
from irra_openstack import exception
from irra_openstack import frame as frame_mod
from tests import base


def _region(days=10, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(days * demo.DAY)
    cpu = 50 + 20 * np.sin(2 * np.pi * t / demo.DAY) + rng.normal(
        0, 1.0, len(t))
    flat = np.full(len(t), 30.0) + rng.normal(0, 0.5, len(t))
    flat[100:110] = np.nan
    values = np.stack([cpu, flat])[None]
    return frame_mod.MetricFrame(
        start=0, step=demo.STEP, resources=['dc'],
        metrics=['cpu_util', 'mem_util'], values=values, kind='region',
        units={'cpu_util': '%', 'mem_util': '%'}, epoch_known=False)


class DemoRunTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'dc.irra')

    def test_finds_the_daily_cycle_and_forecasts_it(self):
        done = []
        result = demo.run(dataset='synthetic', source=_region(), horizon=12,
                          test_days=2, out=self.out,
                          progress=lambda d, t: done.append((d, t)))
        self.assertEqual([(1, 2), (2, 2)], done)
        self.assertTrue(os.path.exists(self.out))
        cpu, mem = result.findings
        self.assertEqual('seasonal_naive', cpu.best)
        self.assertGreater(cpu.daily_autocorrelation, 0.9)
        # sin peaks a quarter of the way into the day: 06:00.
        self.assertEqual(6, cpu.busiest_hour)
        self.assertLess(cpu.scores['seasonal_naive'].rel_mae, 0.9)
        cov = cpu.scores['seasonal_naive'].coverage
        self.assertTrue(0.8 <= cov <= 0.98, cov)
        fc = cpu.forecast
        self.assertEqual((1, 12), fc.point.shape)
        self.assertTrue(np.all(fc.lower <= fc.point))
        self.assertTrue(np.all(fc.point <= fc.upper))
        # The next hour follows the cycle: the truth is inside the band.
        t = np.arange(10 * demo.DAY, 10 * demo.DAY + 12)
        truth = 50 + 20 * np.sin(2 * np.pi * t / demo.DAY)
        self.assertLess(np.mean(np.abs(fc.point[0] - truth)), 3.0)
        text = '\n'.join(demo.report(result))
        self.assertIn('best model seasonal_naive', text)
        self.assertIn('daily cycle strong', text)
        self.assertIn('read back identical', text)

    def test_unknown_metric_is_clear(self):
        exc = self.assertRaises(exception.InvalidFrame, demo.run,
                                dataset='synthetic',
                                source=_region(), metrics=['disk'],
                                out=self.out)
        self.assertIn("unknown metric 'disk'", str(exc))

    def test_too_short_a_trace(self):
        exc = self.assertRaises(demo.DemoError, demo.run,
                                dataset='synthetic', source=_region(days=3),
                                test_days=2, out=self.out)
        self.assertIn('the trace has 3 whole days', str(exc))

    def test_unknown_dataset(self):
        exc = self.assertRaises(demo.DemoError, demo.load_dataset, 'x')
        self.assertIn("unknown data set 'x'", str(exc))

    def test_plot_is_written(self):
        result = demo.run(dataset='synthetic', source=_region(), horizon=12,
                          test_days=2, out=self.out)
        png = self.out + '.png'
        demo.plot(result, png)
        with open(png, 'rb') as f:
            self.assertEqual(b'\x89PNG', f.read(4))
