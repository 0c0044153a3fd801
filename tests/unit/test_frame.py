"""Tests of the MetricFrame and of putting samples on its grid."""

import numpy as np

from irra_openstack import exception
from irra_openstack import frame
from tests import base


def _frame(r=2, m=2, t=6, start=600, step=300):
    values = np.arange(r * m * t, dtype=float).reshape(r, m, t)
    return frame.MetricFrame(
        start=start, step=step, resources=['vm%d' % i for i in range(r)],
        metrics=['cpu_util', 'mem_util'][:m], values=values,
        units={'cpu_util': '%', 'mem_util': '%'},
        attributes={'vm0': {'vcpus': 2}})


class MetricFrameTest(base.TestCase):

    def test_shape_and_times(self):
        f = _frame()
        self.assertEqual((2, 2, 6), (f.n_resources, f.n_metrics, f.n_steps))
        self.assertEqual([600, 900, 1200, 1500, 1800, 2100],
                         f.times.tolist())
        self.assertEqual(2400, f.end)
        self.assertEqual(0.0, f.missing_fraction())

    def test_repr_does_not_dump_values(self):
        text = repr(_frame(r=50, t=1000))
        self.assertIn('50 vm x 2 metrics x 1000 steps', text)
        self.assertLess(len(text), 100)

    def test_integer_values_become_float(self):
        f = frame.MetricFrame(0, 60, ['a'], ['x'],
                              np.ones((1, 1, 3), dtype=int))
        self.assertEqual('f', f.values.dtype.kind)

    def test_rejects_bad_shapes_and_names(self):
        cases = [
            (dict(values=np.zeros((2, 2))), '3 dimensions'),
            (dict(values=np.zeros((3, 2, 4))),
             'shape (3, 2, 4) but there are 2 '),
            (dict(resources=['a', 'a']), 'duplicate resource names: a'),
            (dict(metrics=['x', 'x']), 'duplicate metric names: x'),
            (dict(step=0), 'positive'),
            (dict(step=1.5), 'positive'),
            (dict(step='abc'), 'whole seconds'),
            (dict(kind='rack'), 'kind must be one of'),
        ]
        for change, message in cases:
            kw = dict(start=0, step=60, resources=['a', 'b'],
                      metrics=['x', 'y'], values=np.zeros((2, 2, 4)))
            kw.update(change)
            exc = self.assertRaises(exception.InvalidFrame,
                                    frame.MetricFrame, **kw)
            self.assertIn(message, str(exc), change)

    def test_select_and_series(self):
        f = _frame()
        s = f.select(resources=['vm1'], metrics=['mem_util'])
        self.assertEqual(('vm1',), s.resources)
        np.testing.assert_array_equal(f.values[1, 1], s.values[0, 0])
        np.testing.assert_array_equal(f.values[0, 1],
                                      f.series('vm0', 'mem_util'))
        np.testing.assert_array_equal(f.values[:, 0], f.metric('cpu_util'))
        self.assertEqual({}, dict(s.attributes))
        self.assertEqual({'mem_util': '%'}, dict(s.units))

    def test_unknown_names_are_clear(self):
        exc = self.assertRaises(exception.InvalidFrame,
                                _frame().metric, 'disk')
        self.assertIn("unknown metric 'disk'", str(exc))
        self.assertIn('cpu_util', str(exc))

    def test_window_and_reindex_pad_with_nan(self):
        f = _frame()
        w = f.window(900, 1500)
        self.assertEqual(900, w.start)
        np.testing.assert_array_equal(f.values[:, :, 1:3], w.values)
        r = f.reindex(0, 4)
        self.assertTrue(np.isnan(r.values[:, :, :2]).all())
        np.testing.assert_array_equal(f.values[:, :, :2], r.values[:, :, 2:])
        self.assertRaises(exception.InvalidFrame, f.window, 950, 1500)

    def test_concat_resources_on_union_grid(self):
        a = _frame(r=1, t=3, start=0)
        b = _frame(r=1, t=3, start=600).replace(resources=('other',))
        c = frame.MetricFrame.concat_resources([a, b])
        self.assertEqual(('vm0', 'other'), c.resources)
        self.assertEqual((0, 5), (c.start, c.n_steps))
        self.assertTrue(np.isnan(c.values[0, :, 3:]).all())
        self.assertTrue(np.isnan(c.values[1, :, :2]).all())
        shifted = b.replace(start=650)
        self.assertRaises(exception.InvalidFrame,
                          frame.MetricFrame.concat_resources, [a, shifted])


class RegulariseTest(base.TestCase):

    def test_jittered_samples_snap_to_their_own_slots(self):
        base_t = 1372629600
        # One sample per 5 minutes with a phase of about 204 s and jitter
        # of a few seconds either way: each lands in its own slot.
        t = base_t + 204 + 300 * np.arange(10) + np.array(
            [0, 3, -4, 6, -2, 0, 5, -6, 1, 0])
        start, grid, stats = frame.regularise(
            np.zeros(10, int), t, np.arange(10.0), 1, 300)
        self.assertEqual(base_t, start)
        np.testing.assert_array_equal(np.arange(10.0), grid[0, 0])
        self.assertEqual(0, stats.merged_slots)
        self.assertEqual(0, stats.gap_slots)

    def test_phase_near_a_multiple_of_the_step(self):
        # Jitter across the slot boundary must not split the series.
        t = 3000 + 300 * np.arange(6) + np.array([2, -3, 1, -1, 4, -2])
        _, grid, stats = frame.regularise(
            np.zeros(6, int), t, np.arange(6.0), 1, 300)
        self.assertEqual(6, grid.shape[2])
        self.assertFalse(np.isnan(grid).any())
        self.assertEqual(0, stats.merged_slots)

    def test_fast_samples_are_averaged(self):
        t = np.arange(0, 600, 10)
        v = np.where(t < 300, 10.0, 30.0)
        start, grid, stats = frame.regularise(
            np.zeros(len(t), int), t, v, 1, 300)
        np.testing.assert_allclose([10.0, 30.0], grid[0, 0])
        self.assertEqual(0, stats.merged_slots)

    def test_duplicates_gaps_unsorted_and_nan(self):
        r = np.array([1, 0, 0, 0, 0, 1])
        t = np.array([0, 900, 0, 300, 300, 300])
        v = np.array([[1.0], [4.0], [1.0], [2.0], [np.nan], [5.0]])
        start, grid, stats = frame.regularise(r, t, v, 2, 300)
        self.assertTrue(stats.unsorted)
        self.assertEqual(0, start)
        # vm0: 0->1, 300->2 (the NaN duplicate does not count), 600 gap,
        # 900->4.
        np.testing.assert_array_equal([1.0, 2.0, np.nan, 4.0], grid[0, 0])
        np.testing.assert_array_equal([1.0, 5.0, np.nan, np.nan],
                                      grid[1, 0])
        self.assertEqual(1, stats.merged_slots)
        self.assertEqual(1, stats.gap_slots)

    def test_bad_times_dropped_and_counted(self):
        t = np.array([0.0, np.nan, 600.0])
        _, grid, stats = frame.regularise(np.zeros(3, int), t,
                                          np.ones(3), 1, 300)
        self.assertEqual(1, stats.bad_times)
        self.assertEqual(3, grid.shape[2])

    def test_no_samples(self):
        start, grid, stats = frame.regularise([], [], np.zeros((0, 2)), 3,
                                              300)
        self.assertEqual((3, 2, 0), grid.shape)

    def test_float32_grid(self):
        _, grid, _ = frame.regularise(np.zeros(3, int), [0, 300, 600],
                                      [1.5, 2.5, 3.5], 1, 300,
                                      dtype=np.float32)
        self.assertEqual(np.float32, grid.dtype)
        np.testing.assert_array_equal([1.5, 2.5, 3.5], grid[0, 0])
