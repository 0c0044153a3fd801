"""Notifications of irra-api, received from the machine's RabbitMQ.

The test sends through oslo.messaging's messagingv2 driver to a topic of
its own, and listens on it with an oslo.messaging notification listener.
RabbitMQ must be running on 127.0.0.1:5672 (guest/guest); if it is not,
the test fails and says how to start it.
"""

import json
import os
import queue
import socket
import uuid

import fixtures
import oslo_messaging
from oslo_messaging import conffixture
import webob

from irra_openstack.db import api as db_api
from irra_openstack.db import market_api
from irra_openstack.db import readonly_api
from irra_openstack import notifications
from tests import base
from tests.unit.api import seed

RABBIT_URL = os.environ.get('IRRA_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


class _Endpoint:
    def __init__(self):
        self.received = queue.Queue()

    def _record(self, priority, publisher_id, event_type, payload):
        self.received.put((priority, publisher_id, event_type, payload))

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('INFO', publisher_id, event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('WARN', publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('ERROR', publisher_id, event_type, payload)


class TestNotifications(base.TestCase):

    def setUp(self):
        super().setUp()
        try:
            socket.create_connection(('127.0.0.1', 5672), timeout=5).close()
        except OSError as exc:
            self.fail('RabbitMQ is not reachable at 127.0.0.1:5672 (%s). '
                      'Start it with: rabbitmq-server -detached' % exc)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.topic = 'irra_test_%s' % uuid.uuid4().hex[:8]
        conf = seed.make_conf('sqlite:///%s/irra.sqlite' % tmp)
        messaging = self.useFixture(conffixture.ConfFixture(conf))
        messaging.transport_url = RABBIT_URL
        conf.set_override('driver', ['messagingv2'],
                          group='oslo_messaging_notifications')
        conf.set_override('topics', [self.topic],
                          group='oslo_messaging_notifications')
        conf.set_override('retry', 3, group='oslo_messaging_notifications')
        transport = oslo_messaging.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        self.endpoint = _Endpoint()
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=self.topic)],
            [self.endpoint], executor='threading', allow_requeue=False)
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        self.notifier = notifications.Notifier(conf, host='test-host',
                                               transport=transport)
        _conf, self.app = seed.make_app(conf.database.connection,
                                        notifier=self.notifier)
        self.addCleanup(db_api.dispose)

    def call(self, method, path, body=None, token='m1:p1:member'):
        req = webob.Request.blank(path, method=method)
        req.headers['X-Auth-Token'] = token
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        response = req.get_response(self.app)
        self.assertLess(response.status_int, 300, response.text)
        return response

    def next(self):
        try:
            return self.endpoint.received.get(timeout=30)
        except queue.Empty:
            self.fail('No notification arrived within 30 s on topic %s' %
                      self.topic)

    def assertEnvelope(self, payload, name):
        self.assertEqual(name, payload['irra_object.name'])
        self.assertEqual('irra', payload['irra_object.namespace'])
        self.assertEqual('1.0', payload['irra_object.version'])
        fields = notifications.PAYLOADS[name][1]
        self.assertEqual(sorted(fields),
                         sorted(payload['irra_object.data']))
        return payload['irra_object.data']

    def test_plan_and_action_state_changes(self):
        plan = self.call('POST', '/v1/plans',
                         {'scope': {'region': 'R1'}}).json
        priority, publisher, event, payload = self.next()
        self.assertEqual(('INFO', 'irra-api:test-host', 'irra.plan.create'),
                         (priority, publisher, event))
        data = self.assertEnvelope(payload, 'PlanPayload')
        self.assertEqual((plan['id'], 'PENDING', None, 'p1'),
                         (data['id'], data['state'], data['old_state'],
                          data['project_id']))

        self.call('POST', '/v1/plans/%s/approve' % plan['id'])
        _p, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'PlanPayload')
        self.assertEqual(('irra.plan.update', 'PENDING', 'APPROVED'),
                         (event, data['old_state'], data['state']))

        # Skipping the last pending action ends the plan: two notifications.
        self.call('POST', '/v1/plans/%s/actions/%s/skip' % (
            seed.IDS['PLAN_ONGOING'], seed.IDS['ACTION_PENDING']),
            {'reason': 'maintenance'})
        _p, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'ActionPayload')
        self.assertEqual(
            ('irra.action.update', 'PENDING', 'SKIPPED', 'maintenance'),
            (event, data['old_state'], data['state'],
             data['operator_reason']))
        _p, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'PlanPayload')
        self.assertEqual(('irra.plan.update', 'ONGOING', 'SUCCEEDED'),
                         (event, data['old_state'], data['state']))
        self.assertEqual({'SKIPPED': 1, 'SUCCEEDED': 1},
                         data['action_counts'])

        self.call('DELETE', '/v1/reservations/%s' % seed.IDS['RES_ACTIVE'])
        _p, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'ReservationPayload')
        self.assertEqual(('irra.reservation.release', 'ACTIVE', 'RELEASED',
                          {'VCPU': 8, 'MEMORY_MB': 16384}),
                         (event, data['old_state'], data['state'],
                          data['resources']))

    def test_anomaly_and_trade(self):
        anomaly = readonly_api.anomaly_get(seed.IDS['ANOMALY_P1'])
        self.notifier.anomaly(None, anomaly)
        priority, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'AnomalyPayload')
        self.assertEqual(('WARN', 'irra.anomaly.create'), (priority, event))
        self.assertEqual(seed.IDS['ANOMALY_P1'], data['id'])
        self.assertEqual('2026-01-01T00:00:00Z', data['started_at'])
        self.assertEqual(['vm-1'], data['root_cause']['report']['vms'])

        trade = market_api.trade_list(limit=1)[0]
        self.notifier.trade(None, trade)
        priority, _pub, event, payload = self.next()
        data = self.assertEnvelope(payload, 'TradePayload')
        self.assertEqual(('INFO', 'irra.market.trade'), (priority, event))
        self.assertEqual((seed.IDS['TRADE_1'], seed.IDS['PLAN_ONGOING'],
                          10.0, 2.0),
                         (data['id'], data['plan_id'], data['quantity'],
                          data['price']))

    def test_a_failed_action_is_an_error(self):
        before = {'state': 'ONGOING'}
        after = {'uuid': 'a', 'plan_uuid': 'p', 'action_type': 'reserve',
                 'state': 'FAILED', 'resource_kind': 'vm',
                 'resource_id': 'vm-1', 'source': None, 'destination': None,
                 'attempts': 3, 'error': 'Placement refused'}
        self.notifier.action_state(None, before, after)
        priority, _pub, event, payload = self.next()
        self.assertEqual(('ERROR', 'irra.action.update'), (priority, event))
        self.assertEqual('Placement refused',
                         payload['irra_object.data']['error'])
