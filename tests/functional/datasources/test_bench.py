"""``irra-manage bench datasource``, run small against the real servers.

It checks that the benchmark works and reports honestly (requests, wall
and CPU seconds, load, failed attempts, accuracy, for both ways), not
what it measures.
"""

from irra_openstack.datasources import bench
from tests import base as test_base


class DatasourceBenchTest(test_base.TestCase):

    def test_small_run_reports_both_ways(self):
        out = bench.run(n_vms=24, hours=2, which=('gnocchi', 'prometheus'),
                        gnocchi_chunks=2, gnocchi_processes=2,
                        parallel=2, progress=lambda msg: None)
        self.assertEqual(24, out['vms'])
        self.assertGreaterEqual(out['machine']['cpus'], 1)
        self.assertEqual(3, len(out['machine']['loadavg_at_start']))
        self.assertEqual((2, 1, 1), (out['gnocchi_api_processes'],
                                     out['gnocchi_api_threads'],
                                     out['gnocchi_parallel_operations']))
        for name, batched_requests in (('gnocchi', 2 * 2),
                                       ('prometheus', 2)):
            r = out[name]
            b, v = r['batched'], r['per_vm']
            self.assertEqual(batched_requests, b['requests'], name)
            self.assertEqual(2 * 24, v['requests'], name)
            self.assertEqual(round(v['requests'] / b['requests'], 1),
                             r['request_ratio'])
            for way in (b, v):
                self.assertTrue(way['complete'], (name, way['missing']))
                self.assertEqual(0, way['failed_attempts'])
                self.assertEqual({}, way['failure_reasons'])
                self.assertEqual(0, way['accuracy']['missing_mismatch'])
                self.assertLess(way['accuracy']['max_rel_error'], 1e-6)
                cost = way['cost']
                # the fetch's own time, within the measured wall time
                self.assertLessEqual(way['seconds'],
                                     cost['wall_seconds'] + 0.002)
                self.assertGreater(way['seconds'],
                                   cost['wall_seconds'] * 0.5 - 0.01)
                self.assertGreater(cost['client_cpu_seconds'], 0)
                self.assertGreaterEqual(cost['server_cpu_seconds'], 0)
                self.assertEqual(2, len(cost['loadavg_1min']))
            self.assertEqual(2, v['in_flight'])
            if name == 'gnocchi':
                # its API and indexer are Python and PostgreSQL processes
                # whose CPU time is measured
                self.assertGreater(v['cost']['server_cpu_seconds'], 0)
            cpu = {k: w['cost']['client_cpu_seconds']
                   + w['cost']['server_cpu_seconds'] for k, w in
                   (('b', b), ('v', v))}
            self.assertAlmostEqual(cpu['v'] / cpu['b'], r['cpu_ratio'],
                                   delta=0.06 + 0.01 * r['cpu_ratio'])
