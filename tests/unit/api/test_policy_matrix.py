"""Every endpoint of irra-api against every persona, allowed or denied.

The personas are an administrator, a member of the project that owns the
resource (p1), a member of another project (p2), a reader of the owning
project and a system-scoped reader. Each case runs one request on its own
copy of the seeded database: an allowed request must succeed with the
endpoint's success status, a denied one must be a 403 in irra's error
format. The matrix is the one documented in doc/source/api/index.rst.
"""

import atexit
import json
import os
import shutil
import tempfile

import fixtures
import testscenarios
import webob

from irra_openstack.api import deploy
from irra_openstack.db import api as db_api
from tests import base
from tests.unit.api import seed

load_tests = testscenarios.load_tests_apply_scenarios

IDS = seed.IDS

PERSONAS = {
    'admin': 'admin',
    'owner_member': 'm1:p1:member',
    'other_member': 'm2:p2:member',
    'owner_reader': 'r1:p1:reader',
    'system_reader': 'sr:*:reader',
}

ALL = frozenset(PERSONAS)
OPERATORS = frozenset(('admin', 'system_reader'))
OWNER_READERS = frozenset(('admin', 'owner_member', 'owner_reader',
                           'system_reader'))
OWNER_WRITERS = frozenset(('admin', 'owner_member'))
MEMBERS = frozenset(('admin', 'owner_member', 'other_member'))
ADMIN = frozenset(('admin',))

_plan = '/v1/plans/%s' % IDS['PLAN_PENDING']
_ongoing = '/v1/plans/%s/actions/%s' % (IDS['PLAN_ONGOING'],
                                        IDS['ACTION_PENDING'])
_failed = '/v1/plans/%s/actions/%s' % (IDS['PLAN_FAILED'],
                                       IDS['ACTION_FAILED'])
_sla = '/v1/slas/%s' % IDS['SLA_P1']
_cost = '/v1/cost-models/%s' % IDS['COST_MODEL']

#: (name, method, path, body, success status, personas allowed)
ENDPOINTS = [
    ('forecast_list', 'GET', '/v1/forecasts', None, 200, OPERATORS),
    ('forecast_show', 'GET', '/v1/forecasts/1', None, 200, OPERATORS),
    ('region_list', 'GET', '/v1/regions', None, 200, ALL),
    ('region_show', 'GET', '/v1/regions/R1', None, 200, ALL),
    ('anomaly_list', 'GET', '/v1/anomalies', None, 200, ALL),
    ('anomaly_show', 'GET', '/v1/anomalies/%s' % IDS['ANOMALY_P1'], None,
     200, OWNER_READERS),
    ('plan_list', 'GET', '/v1/plans', None, 200, ALL),
    ('plan_show', 'GET', _plan, None, 200, OWNER_READERS),
    ('plan_create', 'POST', '/v1/plans', {'scope': {'region': 'R1'}}, 201,
     MEMBERS),
    ('plan_approve', 'POST', _plan + '/approve', None, 200, OWNER_WRITERS),
    ('plan_cancel', 'POST', _plan + '/cancel', None, 200, OWNER_WRITERS),
    ('action_list', 'GET', '/v1/plans/%s/actions' % IDS['PLAN_ONGOING'],
     None, 200, OWNER_READERS),
    ('action_show', 'GET', _ongoing, None, 200, OWNER_READERS),
    ('action_skip', 'POST', _ongoing + '/skip', {'reason': 'r'}, 200,
     OWNER_WRITERS),
    ('action_retry', 'POST', _failed + '/retry', {'reason': 'r'}, 200,
     OWNER_WRITERS),
    ('reservation_list', 'GET', '/v1/reservations', None, 200, ALL),
    ('reservation_show', 'GET', '/v1/reservations/%s' % IDS['RES_ACTIVE'],
     None, 200, OWNER_READERS),
    ('reservation_delete', 'DELETE',
     '/v1/reservations/%s' % IDS['RES_ACTIVE'], None, 204, OWNER_WRITERS),
    ('market_offers', 'GET', '/v1/market/offers', None, 200, ALL),
    ('market_bids', 'GET', '/v1/market/bids', None, 200, ALL),
    ('market_trades', 'GET', '/v1/market/trades', None, 200, ALL),
    ('market_prices', 'GET', '/v1/market/prices', None, 200, ALL),
    ('sla_list', 'GET', '/v1/slas', None, 200, ALL),
    ('sla_show', 'GET', _sla, None, 200, OWNER_READERS),
    ('sla_create', 'POST', '/v1/slas',
     {'name': 'new', 'tier': 't', 'confidence_level': 0.9}, 201, MEMBERS),
    ('sla_update', 'PATCH', _sla, {'penalty': 1}, 200, OWNER_WRITERS),
    ('sla_delete', 'DELETE', _sla, None, 204, OWNER_WRITERS),
    ('cost_model_list', 'GET', '/v1/cost-models', None, 200, ALL),
    ('cost_model_show', 'GET', _cost, None, 200, ALL),
    ('cost_model_create', 'POST', '/v1/cost-models',
     {'name': 'new', 'plugin': 'flat'}, 201, ADMIN),
    ('cost_model_update', 'PATCH', _cost, {'parameters': {}}, 200, ADMIN),
    ('cost_model_delete', 'DELETE', _cost, None, 204, ADMIN),
    ('headroom_show', 'GET', '/v1/headroom', None, 200, OPERATORS),
]

_TEMPLATE = {}
#: oslotest gives each test a temporary directory removed after it: the
#: template, shared by the tests of a process, lives outside them.
_BASE_TMP = tempfile.gettempdir()


def _template_db():
    """A migrated, seeded sqlite file, made once per test process."""
    if 'path' not in _TEMPLATE:
        tmp = tempfile.mkdtemp(prefix='irra-policy-matrix-', dir=_BASE_TMP)
        atexit.register(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, 'template.sqlite')
        seed.make_app('sqlite:///%s' % path)
        db_api.dispose()
        _TEMPLATE['path'] = path
    return _TEMPLATE['path']


class TestPolicyMatrix(base.TestCase):

    scenarios = [
        ('%s-%s' % (name, persona),
         dict(method=method, path=path, body=body, success=success,
              token=PERSONAS[persona], allowed=persona in allowed))
        for name, method, path, body, success, allowed in ENDPOINTS
        for persona in sorted(PERSONAS)
    ]

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'irra.sqlite')
        shutil.copy(_template_db(), path)
        conf = seed.make_conf('sqlite:///%s' % path)
        db_api.configure(conf)
        self.addCleanup(db_api.dispose)
        self.app = deploy.loadapp(conf)

    def test_endpoint(self):
        req = webob.Request.blank(self.path, method=self.method)
        req.headers['X-Auth-Token'] = self.token
        req.headers['OpenStack-API-Version'] = 'irra latest'
        if self.body is not None:
            req.body = json.dumps(self.body).encode()
            req.content_type = 'application/json'
        response = req.get_response(self.app)
        if self.allowed:
            self.assertEqual(self.success, response.status_int,
                             response.text)
        else:
            self.assertEqual(403, response.status_int, response.text)
            error = response.json['errors'][0]
            self.assertEqual('irra.policy_denied', error['code'])
            self.assertIn('Policy does not allow', error['detail'])


class TestMatrixCoversEveryRoute(base.TestCase):

    def test_every_route_and_method_is_in_the_matrix(self):
        from irra_openstack.api import router

        covered = set()
        for _name, method, path, _body, _success, _allowed in ENDPOINTS:
            for template, methods in router.ROUTES.items():
                regex = router._compile(template)
                if regex.match(path) and method in methods:
                    covered.add((template, method))
        wanted = {(template, method)
                  for template, methods in router.ROUTES.items()
                  for method in methods
                  if template not in router.PUBLIC_PATHS}
        self.assertEqual(set(), wanted - covered)
