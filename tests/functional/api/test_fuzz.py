"""Fuzzing irra-api with schemathesis from its OpenAPI document.

Every operation of ``irra_openstack/api/openapi.yaml`` gets a bounded
number of generated requests (IRRA_TEST_FUZZ_EXAMPLES, 25 by default),
valid and invalid, sent in process to the real app on a seeded sqlite
database, as an administrator at the latest microversion. No answer may be
a server error (5xx), and every answer must be JSON in irra's format or
empty.
"""

import os

import fixtures
import hypothesis
import schemathesis
from schemathesis import openapi as st_openapi

from irra_openstack.api import openapi
from irra_openstack.db import api as db_api
from tests import base
from tests.unit.api import seed

EXAMPLES = int(os.environ.get('IRRA_TEST_FUZZ_EXAMPLES', '25'))
HEADERS = {'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'irra latest'}


class TestFuzz(base.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        _conf, self.app = seed.make_app('sqlite:///%s/irra.sqlite' % tmp)
        self.addCleanup(db_api.dispose)

    def test_no_server_error(self):
        schema = st_openapi.from_dict(openapi.build())
        schema.app = self.app
        problems = []
        counts = {'requests': 0}
        settings = hypothesis.settings(
            max_examples=EXAMPLES, deadline=None, database=None,
            derandomize=True, suppress_health_check=list(
                hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        for result in schema.get_all_operations():
            operation = result.ok()

            strategy = hypothesis.strategies.one_of(
                operation.as_strategy(
                    generation_mode=schemathesis.GenerationMode.POSITIVE),
                operation.as_strategy(
                    generation_mode=schemathesis.GenerationMode.NEGATIVE))

            @settings
            @hypothesis.given(case=strategy)
            def check(case):
                response = case.call(headers=HEADERS)
                counts['requests'] += 1
                counts[response.status_code] = counts.get(
                    response.status_code, 0) + 1
                if response.status_code >= 500:
                    problems.append('%s %s -> %d: %s' % (
                        case.method, case.formatted_path,
                        response.status_code, response.text[:300]))
                elif response.status_code >= 400:
                    if 'errors' not in response.json():
                        problems.append('%s %s -> %d without errors' % (
                            case.method, case.formatted_path,
                            response.status_code))

            check()
        self.assertGreater(counts['requests'], len(openapi.OPERATIONS))
        self.assertEqual([], problems)
        # Both valid and invalid requests were sent.
        self.assertTrue(any(200 <= code < 300 for code in counts
                            if isinstance(code, int)), counts)
        self.assertIn(400, counts)
