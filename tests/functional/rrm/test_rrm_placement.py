"""get_capacity, reserve and release over RPC, against a real Placement.

The region's :class:`~irra_openstack.rrm.manager.RRMManager` serves the
irra-rrm RPC API on the machine's RabbitMQ (127.0.0.1:5672, guest/guest)
under a region name of its own; behind it, a
:class:`~irra_openstack.rrm.reservations.ReservationManager` talks to a
private Placement (openstack-placement under uWSGI, noauth2) on loopback.
The reservation notifications are received from the broker.
"""

import datetime
import os
import queue
import socket
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
import oslo_messaging
from oslo_utils import timeutils

from irra_openstack.datasources import servers
from irra_openstack.db import migration
from irra_openstack.rrm import manager as rrm_manager
from irra_openstack.rrm import notifications
from irra_openstack.rrm import reservations
from irra_openstack.rrm import rpcapi
from irra_openstack.rrm import service
from irra_openstack.rrm import waves
from tests.functional.db import base as db_base

RABBIT_URL = os.environ.get('IRRA_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


class _Listener:

    def __init__(self):
        self.received = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.put(('INFO', publisher_id, event_type, payload))

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.put(('ERROR', publisher_id, event_type, payload))


class RRMPlacementTest(db_base.BackendTestCase):

    BACKEND = 'postgresql'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placement = servers.PlacementServer()
        cls.addClassCleanup(cls.placement.stop)
        cls.placement.start()

    def setUp(self):
        super().setUp()
        try:
            socket.create_connection(('127.0.0.1', 5672), timeout=5).close()
        except OSError as exc:
            self.fail('RabbitMQ is not reachable at 127.0.0.1:5672 (%s). '
                      'Start it with: rabbitmq-server -detached' % exc)
        migration.upgrade()
        sess = ks_session.Session(auth=token_endpoint.Token(
            self.placement.url, 'admin'))
        self.adapter = ks_adapter.Adapter(
            sess, service_type='placement',
            endpoint_override=self.placement.url)
        self.region = 'test-region-%s' % uuid.uuid4().hex[:8]
        self.hosts = {}
        for name in ('cmp1', 'cmp2'):
            host = '%s-%s' % (name, uuid.uuid4().hex[:8])
            self.hosts[name] = (host, self._provider(host))
        self.reservations = reservations.ReservationManager(
            self.adapter, self.region, str(uuid.uuid4()), str(uuid.uuid4()),
            sleep=lambda s: None)

        service.register_messaging_opts(self.conf)
        self.topic = 'irra_test_%s' % uuid.uuid4().hex[:8]
        self.flags(transport_url=RABBIT_URL)
        self.flags(group='oslo_messaging_notifications',
                   driver=['messagingv2'], topics=[self.topic])
        transport = oslo_messaging.get_rpc_transport(
            self.conf, allowed_remote_exmods=service.ALLOWED_EXMODS)
        self.addCleanup(transport.cleanup)
        notify_transport = oslo_messaging.get_notification_transport(
            self.conf)
        self.addCleanup(notify_transport.cleanup)
        self.listener = _Listener()
        listener = oslo_messaging.get_notification_listener(
            notify_transport, [oslo_messaging.Target(topic=self.topic)],
            [self.listener], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

        notifier = notifications.RRMNotifier(self.conf, self.region)
        self.addCleanup(notifier.close)
        runner = waves.WaveRunner(self.region, waves.ExecutorRegistry({}),
                                  notifier=notifier)
        manager = rrm_manager.RRMManager(self.region, runner,
                                         reservations=self.reservations,
                                         notifier=notifier)
        server = oslo_messaging.get_rpc_server(
            transport, oslo_messaging.Target(topic=rpcapi.TOPIC,
                                             server=self.region),
            [manager], executor='threading')
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        self.api = rpcapi.RRMAPI(transport, timeout=30)

    def _call(self, method, path, body=None):
        r = self.adapter.request(path, method, json=body,
                                 microversion='1.38', raise_exc=False)
        self.assertLess(r.status_code, 300, r.text)
        return r.json() if r.content else None

    def _provider(self, name):
        rp = str(uuid.uuid4())
        self._call('POST', '/resource_providers', {'name': name,
                                                   'uuid': rp})
        self._call('PUT', '/resource_providers/%s/inventories' % rp, {
            'resource_provider_generation': 0,
            'inventories': {
                'VCPU': {'total': 8, 'allocation_ratio': 2.0},
                'MEMORY_MB': {'total': 8192, 'reserved': 512,
                              'allocation_ratio': 1.0}}})
        self.addCleanup(self._drop_provider, rp)
        return rp

    def _drop_provider(self, rp):
        allocs = self._call('GET', '/resource_providers/%s/allocations' % rp)
        for consumer in allocs['allocations']:
            self.adapter.delete('/allocations/%s' % consumer,
                                raise_exc=False)
        self.adapter.delete('/resource_providers/%s' % rp, raise_exc=False)

    def next_notification(self):
        try:
            return self.listener.received.get(timeout=30)
        except queue.Empty:
            self.fail('No notification arrived within 30 s on %s'
                      % self.topic)

    def test_capacity_reserve_release(self):
        # Only the providers of this test are in this Placement now.
        capacity = self.api.get_capacity(None, self.region)
        self.assertEqual(self.region, capacity['region'])
        self.assertEqual(2, capacity['providers'])
        self.assertEqual({'total': 16, 'reserved': 0, 'capacity': 32,
                          'used': 0, 'free': 32},
                         capacity['resources']['VCPU'])
        self.assertEqual(2 * (8192 - 512),
                         capacity['resources']['MEMORY_MB']['capacity'])

        host, rp = self.hosts['cmp1']
        expires = (timeutils.utcnow() + datetime.timedelta(hours=1))
        row = self.api.reserve(None, self.region, {'VCPU': 6},
                               expires.isoformat(), hosts=[host],
                               key='k-%s' % self.region)
        self.assertEqual('ACTIVE', row['state'])
        self.assertEqual([rp], row['provider_uuids'])
        used = self.api.get_capacity(None, self.region)['resources']['VCPU']
        self.assertEqual((6, 26), (used['used'], used['free']))

        priority, publisher, event, payload = self.next_notification()
        self.assertEqual(('INFO', 'irra-rrm.%s' % self.region,
                          'irra.reservation.create.start'),
                         (priority, publisher, event))
        priority, _p, event, payload = self.next_notification()
        self.assertEqual(('INFO', 'irra.reservation.create.end'),
                         (priority, event))
        data = payload['irra_object.data']
        self.assertEqual((row['uuid'], 'ACTIVE', {'VCPU': 6}),
                         (data['id'], data['state'], data['resources']))

        # More than is free: a clear error, and an error notification.
        exc = self.assertRaises(
            reservations.InsufficientCapacity, self.api.reserve, None,
            self.region, {'VCPU': 27}, expires.isoformat(),
            providers=[rp])
        self.assertIn('VCPU', str(exc))
        self.assertEqual('irra.reservation.create.start',
                         self.next_notification()[2])
        priority, _p, event, _payload = self.next_notification()
        self.assertEqual(('ERROR', 'irra.reservation.create.error'),
                         (priority, event))

        released = self.api.release(None, self.region, row['uuid'])
        self.assertEqual('RELEASED', released['state'])
        used = self.api.get_capacity(None, self.region)['resources']['VCPU']
        self.assertEqual(0, used['used'])
        self.assertEqual('irra.reservation.release.start',
                         self.next_notification()[2])
        _pr, _p, event, payload = self.next_notification()
        self.assertEqual('irra.reservation.release.end', event)
        self.assertEqual('RELEASED', payload['irra_object.data']['state'])
