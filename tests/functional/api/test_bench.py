"""``irra-manage bench api``, run small: every server, client and database.

Each run is real (a database, a server on loopback, clients) but tiny, to
check that the benchmark works and reports honestly, not to measure.
"""

import shutil

import fixtures

from irra_openstack.api import bench
from tests import base


class TestBenchAPI(base.TestCase):

    def setUp(self):
        super().setUp()
        # The gabbi fixture's 200 kB variable, left in the environment of
        # a test run, is more than one exec() takes.
        self.useFixture(fixtures.EnvironmentVariable('IRRA_HUGE_BODY'))

    def _run(self, **choices):
        return bench.run(resources=300, clients=4, workers=2, duration=1.0,
                         warmup=1.0, page=20, **choices)

    def _check(self, result):
        self.assertGreater(result['requests'], 0)
        self.assertEqual(result['requests'], result['ok'])
        self.assertEqual(0, result['errors'])
        latency = result['latency_ms']
        self.assertLessEqual(latency['p50'], latency['p90'])
        self.assertLessEqual(latency['p90'], latency['p99'])
        self.assertLessEqual(latency['p99'], latency['max'])
        self.assertEqual(result['target_met'],
                         latency['p99'] <= bench.TARGET_P99_MS)
        self.assertGreater(result['cpu_ms_per_request']['server'], 0)
        self.assertEqual(2, result['workers'])
        self.assertEqual(4, result['clients'])

    def test_dev_server_python_clients_sqlite(self):
        result = self._run(database='sqlite', server='irra-api',
                           client='python')
        self._check(result)
        self.assertIn('irra-api development server', result['server'])
        self.assertIn('asyncio', result['client'])
        self.assertIn('sqlite', result['database'])
        self.assertIsNone(result['cpu_ms_per_request']['database'])

    def test_uwsgi_wrk_postgresql(self):
        if bench.find_uwsgi() is None or shutil.which('wrk') is None:
            self.skipTest('uwsgi (pyuwsgi) or wrk is not installed')
        if not bench._postgresql_reachable():
            self.skipTest('PostgreSQL does not answer on 127.0.0.1:5432')
        result = self._run(database='postgresql', server='uwsgi',
                           client='wrk')
        self._check(result)
        self.assertIn('uWSGI', result['server'])
        self.assertIn('wrk', result['client'])
        self.assertIn('PostgreSQL', result['database'])
        self.assertIsNotNone(result['cpu_ms_per_request']['database'])

    def test_unknown_choice(self):
        self.assertRaises(ValueError, bench.run, server='gunicorn')
