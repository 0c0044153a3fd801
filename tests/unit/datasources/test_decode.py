"""Unit tests of how the datasources decode their servers' answers."""

import json

import fixtures
import numpy as np

from irra_openstack.datasources import base
from irra_openstack.datasources import gnocchi
from irra_openstack.datasources import prometheus
from tests import base as test_base

nan = np.nan


def _matrix(series):
    return {'status': 'success',
            'data': {'resultType': 'matrix',
                     'result': [{'metric': m, 'values': v}
                                for m, v in series]}}


class _FakeClient:
    """Answers every request with one canned JSON document."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []
        self.requests = 0

    def request(self, method, path, params=None, json_body=None,
                raw=False):
        self.calls.append((method, path, params, json_body))
        self.requests += 1
        if raw:
            # as Prometheus writes it: compact
            return json.dumps(self.answer, separators=(',', ':')).encode()
        return self.answer


class PrometheusDecodeTest(test_base.TestCase):

    def test_matrix_flat(self):
        names, lens, times, values = prometheus._decode_matrix(
            _matrix([({'resource': 'a'}, [[10, '1.5'], [20, '2']]),
                     ({'resource': 'b'}, []),
                     ({'resource': 'c'}, [[30.5, 'NaN']])]),
            'r', 'm', 'resource', 'q')
        self.assertEqual(['a', 'c'], names)
        self.assertEqual([2, 1], lens.tolist())
        np.testing.assert_array_equal([10, 20, 30.5], times)
        np.testing.assert_array_equal([1.5, 2.0, nan], values)

    def test_matrix_errors(self):
        bad = [
            ({'status': 'error', 'error': 'boom'}, base.MalformedResponse,
             'boom'),
            ({'status': 'success', 'data': {'resultType': 'vector',
                                            'result': []}},
             base.MalformedResponse, 'not a matrix'),
            (_matrix([({'other': 'a'}, [[1, '1']])]),
             base.MalformedResponse, "without the label 'resource'"),
            (_matrix([({'resource': 'a'}, [[1, '1', 3]])]),
             base.MalformedResponse, 'not [time, value]'),
            (_matrix([({'resource': 'a'}, [[1, 'x']])]),
             base.MalformedResponse, 'malformed values'),
            (_matrix([]), base.UnknownMetric, 'no series'),
            (['not', 'a', 'dict'], base.MalformedResponse,
             'not a query result'),
        ]
        for answer, exc, text in bad:
            err = self.assertRaises(exc, prometheus._decode_matrix, answer,
                                    'r', 'm', 'resource', 'q')
            self.assertIn(text, str(err))

    def test_fast_matrix_equals_json(self):
        # The answer as Prometheus writes it is read by the fast path,
        # and gives exactly what the JSON decoding gives; label values
        # that look like the answer's structure do not fool it.
        tricky = 'x{"metric":{"a":1},"values":[[1,"2"]]}]]}'
        answer = _matrix([
            ({'__name__': 'm', 'resource': 'a'},
             [[1796473807.123, '455616000000.00006'], [1796474105, '1e-3']]),
            ({'resource': tricky, 'other': ',"values":[['},
             [[10, 'NaN'], [20, '+Inf'], [30, '-Inf'], [40, '-2.5e+300']]),
            ({'resource': 'c'}, [[1.5, '0']])])
        body = json.dumps(answer, separators=(',', ':')).encode()
        fast = prometheus._fast_matrix(body, 'resource')
        self.assertIsNotNone(fast)
        slow = prometheus._decode_matrix(answer, 'r', 'm', 'resource', 'q')
        self.assertEqual(slow[0], fast[0])
        self.assertEqual(['a', tricky, 'c'], fast[0])
        for a, b in zip(slow[1:], fast[1:]):
            np.testing.assert_array_equal(a, b)
        self.assertEqual(1796473807.123, fast[2][0])
        self.assertEqual(455616000000.00006, fast[3][0])
        # another layout (spaces) is left to the JSON decoding, and the
        # result is the same
        spaced = json.dumps(answer).encode()
        self.assertIsNone(prometheus._fast_matrix(spaced, 'resource'))
        self.useFixture(fixtures.MonkeyPatch(
            'irra_openstack.datasources.prometheus.FAST_MATRIX_BYTES', 0))
        for text in (body, spaced):
            again = prometheus.decode_matrix(text, 'r', 'm', 'resource',
                                             'q')
            self.assertEqual(slow[0], again[0])
            for a, b in zip(slow[1:], again[1:]):
                np.testing.assert_array_equal(a, b)

    def test_fast_matrix_declines_what_it_cannot_read(self):
        # Each of these goes to the JSON decoding, which says what is
        # wrong (or, for an empty series, leaves it out).
        for series, text in (
                ([({'other': 'a'}, [[1, '1']])],
                 "without the label 'resource'"),
                ([({'resource': 'a'}, [[1, '1', 3]])], 'not [time, value]'),
                ([({'resource': 'a'}, [[1, 'x']])], 'malformed values'),
                ([({'resource': 'a'}, [[1, '']])], 'malformed values'),
                ([], 'no series')):
            body = json.dumps(_matrix(series),
                              separators=(',', ':')).encode()
            self.assertIsNone(prometheus._fast_matrix(body, 'resource'))
            self.useFixture(fixtures.MonkeyPatch(
                'irra_openstack.datasources.prometheus.FAST_MATRIX_BYTES',
                0))
            err = self.assertRaises(base.DatasourceError,
                                    prometheus.decode_matrix, body, 'r',
                                    'm', 'resource', 'q')
            self.assertIn(text, str(err))
        body = json.dumps(_matrix([({'resource': 'a'}, []),
                                   ({'resource': 'b'}, [[1, '2']])]),
                          separators=(',', ':')).encode()
        self.assertIsNone(prometheus._fast_matrix(body, 'resource'))
        names, lens, _t, _v = prometheus.decode_matrix(body, 'r', 'm',
                                                       'resource', 'q')
        self.assertEqual((['b'], [1]), (names, lens.tolist()))
        err = self.assertRaises(base.MalformedResponse,
                                prometheus.decode_matrix, b'<html>', 'r',
                                'm', 'resource', 'q')
        self.assertIn('not JSON', str(err))

    def test_combine(self):
        grid = np.array([[1.0, nan, 3.0],
                         [10.0, nan, nan],
                         [5.0, 6.0, 7.0]])
        group = np.array([0, 0, 1])
        np.testing.assert_array_equal(
            [[11.0, nan, 3.0], [5.0, 6.0, 7.0]],
            prometheus._combine(grid, group, 2, 'sum'))
        np.testing.assert_array_equal(
            [[5.5, nan, 3.0], [5.0, 6.0, 7.0]],
            prometheus._combine(grid, group, 2, 'mean'))

    def _ds(self, answer, **kw):
        ds = prometheus.PrometheusDatasource(
            [base.Region('r1', 'http://127.0.0.1:1')], **kw)
        client = _FakeClient(answer)
        ds._clients['http://127.0.0.1:1'] = client
        return ds, client

    def test_raw_query_one_request_and_grid(self):
        # Two interfaces of vm1 (counters, summed), one of vm2; samples at
        # 30 s into each 60 s step, counters growing by 60 per step.
        t = 1020 + 60 * np.arange(4) + 30
        series = [
            ({'resource': 'vm1-tap0', 'vm_instance': 'vm1'},
             [[float(x), str(60.0 * i)] for i, x in enumerate(t)]),
            ({'resource': 'vm1-tap1', 'vm_instance': 'vm1'},
             [[float(x), str(120.0 * i)] for i, x in enumerate(t)]),
            ({'resource': 'vm2-tap0', 'vm_instance': 'vm2'},
             [[float(x), str(30.0 * i)] for i, x in enumerate(t)][1:]),
        ]
        ds, client = self._ds(_matrix(series))
        result = ds.fetch(1080, 1260, 60, metrics=['net_in_bps'])
        self.assertTrue(result.complete, result.describe())
        (method, path, params, _body), = client.calls
        self.assertEqual('/api/v1/query', path)
        # the window starts one step early: a counter's first rate needs
        # the value before it
        self.assertEqual('ceilometer_network_incoming_bytes[240s]',
                         params['query'])
        self.assertEqual('1260.000', params['time'])
        frame = result.frames['r1'].select(resources=['vm1', 'vm2'])
        np.testing.assert_array_equal([[3.0, 3.0, 3.0], [nan, 0.5, 0.5]],
                                      frame.metric('net_in_bps'))

    def test_raw_gauge_mean_of_the_step(self):
        series = [({'resource': 'vm1'},
                   [[1025, '1'], [1055, '3'], [1085, '10']])]
        ds, client = self._ds(_matrix(series))
        result = ds.fetch(1020, 1140, 60, metrics=['mem_used'])
        np.testing.assert_array_equal(
            [[2.0, 10.0]], result.frames['r1'].metric('mem_used'))
        self.assertEqual('ceilometer_memory_usage[120s]',
                         client.calls[0][2]['query'])

    def test_range_query_without_raw_samples(self):
        series = [({'resource': 'vm1'}, [[1080, '2'], [1140, '10']])]
        ds, client = self._ds(_matrix(series), raw_samples=False)
        result = ds.fetch(1020, 1140, 60, metrics=['mem_used'])
        self.assertEqual('/api/v1/query_range', client.calls[0][1])
        np.testing.assert_array_equal(
            [[2.0, 10.0]], result.frames['r1'].metric('mem_used'))

    def test_raw_query_one_matches_the_resource(self):
        series = [({'resource': 'vm1'}, [[1005, '1']])]
        ds, client = self._ds(_matrix(series))
        ds.query_one(ds.regions['r1'], ds.metrics['mem_used'], 1000, 1060,
                     60, 'vm1')
        self.assertEqual('ceilometer_memory_usage{resource="vm1"}[60s]',
                         client.calls[0][2]['query'])


class GnocchiDecodeTest(test_base.TestCase):

    def test_series_flat(self):
        s = gnocchi._series(
            ['a', 'b', 'c'],
            [[['2026-01-01T00:00:00+00:00', 300.0, 1.5],
              ['2026-01-01T00:05:00+00:00', 300.0, 2.5]],
             [],
             [['2026-01-01T00:10:00+00:00', 300.0, 7.0]]], 'r', 'm')
        self.assertEqual(['a', 'b', 'c'], s.resources)
        self.assertEqual([0, 0, 2], s.ridx.tolist())
        t0 = 1767225600.0
        np.testing.assert_array_equal([t0, t0 + 300, t0 + 600], s.times)
        np.testing.assert_array_equal([1.5, 2.5, 7.0], s.values)

    def test_series_stamps_shared_by_resources(self):
        # Each distinct stamp is parsed once and looked up by every point
        # that has it, in any order.
        day = ['2026-01-01T00:%02d:00+00:00' % m for m in (0, 5, 10)]
        s = gnocchi._series(
            ['a', 'b'],
            [[[day[2], 300.0, 1.0], [day[0], 300.0, 2.0]],
             [[day[0], 300.0, 3.0], [day[1], 300.0, 4.0],
              [day[2], 300.0, 5.0]]], 'r', 'm')
        t0 = 1767225600.0
        np.testing.assert_array_equal(
            [t0 + 600, t0, t0, t0 + 300, t0 + 600], s.times)
        np.testing.assert_array_equal([0, 0, 1, 1, 1], s.ridx)
        np.testing.assert_array_equal([1.0, 2.0, 3.0, 4.0, 5.0], s.values)

    def test_series_errors(self):
        for parts, text in (
                ([{'not': 'a list'}], 'not a list'),
                ([[['2026-01-01T00:00:00+00:00', 300.0]]],
                 'not [time, granularity, value]'),
                ([[['yesterday', 300.0, 1.0]]], 'malformed measures'),
                ([[[1767225600, 300.0, 1.0]]], 'not a string'),
                ([[['2026-01-01T00:00:00+00:00', 300.0, 1.0]],
                  [[1767225600, 300.0, 1.0]]], 'not a string'),
                ([[['2026-01-01T00:00:00+00:00', 300.0, 'x']]],
                 'malformed measures')):
            err = self.assertRaises(base.MalformedResponse, gnocchi._series,
                                    ['a', 'b'][:len(parts)], parts, 'r',
                                    'm')
            self.assertIn(text, str(err))

    def _ds(self, answer):
        ds = gnocchi.GnocchiDatasource(
            [base.Region('r1', 'http://127.0.0.1:1')])
        client = _FakeClient(answer)
        ds._clients['http://127.0.0.1:1'] = client
        return ds, client

    def test_own_metric_asked_per_resource_without_groupby(self):
        pts = [['1970-01-01T00:16:00+00:00', 60.0, 5.0],
               ['1970-01-01T00:17:00+00:00', 60.0, 7.0]]
        ds, client = self._ds({'measures': {
            'vm1': {'memory.usage': {'mean': pts}},
            'vm2': {'memory.usage': {'mean': pts[1:]}}}})
        result = ds.fetch(960, 1080, 60, metrics=['mem_used'])
        self.assertTrue(result.complete, result.describe())
        (_m, path, params, body), = client.calls
        self.assertEqual('/v1/aggregates', path)
        self.assertNotIn('groupby', params)
        self.assertEqual('(metric memory.usage mean)', body['operations'])
        frame = result.frames['r1'].select(resources=['vm1', 'vm2'])
        np.testing.assert_array_equal([[5.0, 7.0], [nan, 7.0]],
                                      frame.metric('mem_used'))

    def test_device_metric_grouped(self):
        ds, client = self._ds([{'group': {'instance_id': 'vm1'},
                                'measures': {'measures': {'aggregated': [
                                    ['1970-01-01T00:16:40+00:00', 60.0,
                                     5.0]]}}}])
        result = ds.fetch(1000, 1120, 60, metrics=['disk_read_bps'])
        self.assertEqual('instance_id', client.calls[0][2]['groupby'])
        self.assertIn('(aggregate sum (metric disk.device.read.bytes',
                      client.calls[0][3]['operations'])
        self.assertEqual(['vm1'], list(result.frames['r1'].resources))

    def test_per_resource_answer_without_the_metric(self):
        ds, _client = self._ds({'measures': {'vm1': {'other': {}}}})
        result = ds.fetch(1000, 1120, 60, metrics=['mem_used'])
        self.assertFalse(result.complete)
        self.assertIn('without the measures of each resource',
                      result.missing[0].reason)

    def test_chunks_split_by_uuid_range(self):
        ids = ['%x0000000-0000-4000-8000-000000000000' % k
               for k in range(16)]
        pts = [['1970-01-01T00:16:00+00:00', 60.0, 5.0]]

        class Client(_FakeClient):
            def request(self, method, path, params=None, json_body=None):
                super().request(method, path, params, json_body)
                conds = json_body['search']['and'][1]['and']
                lo = hi = None
                for c in conds:
                    lo = c.get('>=', {}).get('id', lo)
                    hi = c.get('<', {}).get('id', hi)
                return {'measures': {
                    i: {'memory.usage': {'mean': pts}} for i in ids
                    if (lo is None or i >= lo) and (hi is None or i < hi)}}

        ds = gnocchi.GnocchiDatasource(
            [base.Region('r1', 'http://127.0.0.1:1')], chunks=4,
            parallel=3)
        client = Client(None)
        ds._clients['http://127.0.0.1:1'] = client
        self.assertEqual(
            [(None, '40000000-0000-0000-0000-000000000000'),
             ('40000000-0000-0000-0000-000000000000',
              '80000000-0000-0000-0000-000000000000'),
             ('80000000-0000-0000-0000-000000000000',
              'c0000000-0000-0000-0000-000000000000'),
             ('c0000000-0000-0000-0000-000000000000', None)],
            ds.query_parts(ds.regions['r1'], ds.metrics['mem_used']))
        result = ds.fetch(960, 1080, 60, metrics=['mem_used'])
        self.assertTrue(result.complete, result.describe())
        self.assertEqual(4, result.requests)
        frame = result.frames['r1']
        self.assertEqual(sorted(ids), sorted(frame.resources))
        np.testing.assert_array_equal(
            np.full(16, 5.0), frame.select(resources=ids).metric(
                'mem_used')[:, 0])


class SeriesConcatTest(test_base.TestCase):

    def test_concat(self):
        a = base.Series(['a', 'b'], np.array([0, 1, 1]),
                        np.array([1.0, 2.0, 3.0]), np.array([4., 5., 6.]))
        b = base.Series(['c'], np.array([0]), np.array([7.0]),
                        np.array([8.0]))
        s = base.Series.concat([a, base.Series.empty(), b])
        self.assertEqual(['a', 'b', 'c'], s.resources)
        self.assertEqual([0, 1, 1, 2], s.ridx.tolist())
        self.assertEqual([4., 5., 6., 8.], s.values.tolist())
        self.assertEqual([], base.Series.concat([]).resources)
