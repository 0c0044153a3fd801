"""The irra-rrm RPC API over oslo.messaging's in-process ``fake`` driver.

Version caps, the server's target version, the fan-out client's partial
answers, input validation and notifications. The RabbitMQ tests are in
tests/functional/rrm.
"""

import threading
import time

import oslo_messaging
from oslo_messaging.notify import _impl_test
from oslo_utils import uuidutils

from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack.optimizer import actions as planned
from irra_openstack.rrm import client as rrm_client
from irra_openstack.rrm import manager as rrm_manager
from irra_openstack.rrm import notifications
from irra_openstack.rrm import rpcapi
from irra_openstack.rrm import service
from irra_openstack.rrm import waves
from tests.unit.db import base as db_base
from tests.unit.rrm import test_waves


class OldManager(rrm_manager.RRMManager):
    """A manager that speaks version 1.0 only, as an old irra-rrm does."""

    target = oslo_messaging.Target(version='1.0')


class RPCTest(db_base.DBTestCase):

    def setUp(self):
        super().setUp()
        service.register_messaging_opts(self.conf)
        self.flags(transport_url='fake:/')
        self.flags(group='rrm', rpc_timeout=5, rpc_retries=0)
        self.transport = oslo_messaging.get_rpc_transport(
            self.conf, allowed_remote_exmods=service.ALLOWED_EXMODS)
        self.addCleanup(self.transport.cleanup)
        self.executor = test_waves.RecordingExecutor()
        self.plan = uuidutils.generate_uuid()
        self.flags(group='oslo_messaging_notifications', driver=['test'])
        _impl_test.reset()
        self.addCleanup(_impl_test.reset)

    def sent(self):
        """(publisher, event type, priority) of the notifications sent."""
        return [(m['publisher_id'], m['event_type'], priority)
                for _c, m, priority, _r in _impl_test.NOTIFICATIONS]

    def start_region(self, region, manager_cls=rrm_manager.RRMManager):
        notifier = notifications.RRMNotifier(self.conf, region)
        runner = waves.WaveRunner(region, lambda t: self.executor,
                                  notifier=notifier, poll_interval=0.01)
        manager = manager_cls(region, runner, notifier=notifier)
        server = oslo_messaging.get_rpc_server(
            self.transport, oslo_messaging.Target(topic=rpcapi.TOPIC,
                                                  server=region),
            [manager], executor='threading')
        server.start()
        self.addCleanup(notifier.close)
        self.addCleanup(manager.stop, 30)
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        return manager

    def api(self, cap=None):
        return rpcapi.RRMAPI(self.transport, cap, timeout=5)

    def record(self, vm, region, wave=0, **kwargs):
        action = planned.PlannedAction(
            'live_migrate', vm, source='s-' + vm, destination='d-' + vm,
            wave=wave, **kwargs).with_key(self.plan)
        record = action.as_record()
        record['reason']['region'] = region
        return record

    def test_version_cap(self):
        self.assertEqual('1.1', self.api().version_cap)
        self.assertTrue(self.api().can_send_version('1.1'))
        old = self.api('1.0')
        self.assertTrue(old.can_send_version('1.0'))
        self.assertFalse(old.can_send_version('1.1'))
        self.assertRaisesRegex(rpcapi.RPCVersionTooOld,
                               'reconcile needs version 1.1.*cap is 1.0',
                               old.reconcile, None, 'R1')
        self.assertRaisesRegex(rpcapi.InvalidVersionCap,
                               '2.0 is not a version', self.api, '2.0')

    def test_capped_client_talks_to_an_old_server(self):
        self.start_region('R1', OldManager)
        records = [self.record('vm1', 'R1'), self.record('vm2', 'R1')]
        answer = self.api('1.0').execute_actions(None, 'R1', self.plan,
                                                 records)
        self.assertEqual((2, 2), (answer['accepted'], answer['created']))
        # status with keys falls back to 1.0 and filters here.
        key = records[0]['idempotency_key']
        status = self.api('1.0').status(None, 'R1', self.plan, keys=[key])
        self.assertEqual([key], list(status['actions']))
        # An uncapped client sends 1.1, which the old server refuses.
        self.assertRaises(oslo_messaging.UnsupportedVersion,
                          self.api().status, None, 'R1', self.plan,
                          keys=[key])

    def test_two_regions_run_their_own_actions(self):
        one, two = self.start_region('R1'), self.start_region('R2')
        first = self.record('vm1', 'R1')
        records = [first, self.record('vm2', 'R2', wave=1,
                                      depends_on=(first['idempotency_key'],)),
                   self.record('vm3', 'R1', wave=1)]
        client = rrm_client.RRMClient(self.api(), ['R1', 'R2'], retries=0)
        fan = client.execute_plan(self.plan, records)
        self.assertTrue(fan.complete, fan.errors)
        self.assertEqual(['R1', 'R2'], fan.answered)
        created = sorted(a['created'] for a in fan.answers.values())
        self.assertEqual([0, 3], created)
        # Sent again: nothing new.
        again = client.execute_plan(self.plan, records)
        self.assertEqual([0, 0], [a['created']
                                  for a in again.answers.values()])
        done, fan, view = client.wait_plan(self.plan, 60, interval=0.05)
        self.assertTrue(done)
        self.assertTrue(fan.complete)
        self.assertEqual({constants.ActionState.SUCCEEDED},
                         {v['state'] for v in view.values()})
        self.assertEqual({'R1', 'R2'}, {v['region'] for v in view.values()})
        self.assertEqual(3, len(self.executor.calls))
        self.assertEqual(3, len(set(self.executor.calls)))
        plan = plan_api.plan_get(self.plan)
        self.assertEqual(constants.PlanState.SUCCEEDED, plan['state'])
        # Notifications: start and end of each action, from its region.
        one.notifier.flush()
        two.notifier.flush()
        sent = self.sent()
        starts = [s for s in sent if s[1] == 'irra.action.execute.start']
        ends = [s for s in sent if s[1] == 'irra.action.execute.end']
        self.assertEqual(3, len(starts))
        self.assertEqual(3, len(ends))
        self.assertEqual({'irra-rrm.R1', 'irra-rrm.R2'},
                         {p for p, _t, _pr in starts})
        self.assertEqual({'INFO'}, {pr for _p, _t, pr in starts + ends})
        plan_states = [
            (m['payload']['irra_object.data']['old_state'],
             m['payload']['irra_object.data']['state'])
            for _c, m, _p, _r in _impl_test.NOTIFICATIONS
            if m['event_type'] == 'irra.plan.update']
        self.assertEqual([('APPROVED', 'ONGOING'), ('ONGOING', 'SUCCEEDED')],
                         plan_states)

    def test_a_dead_region_is_reported_missing(self):
        self.start_region('R1')
        api = rpcapi.RRMAPI(self.transport, timeout=1)
        client = rrm_client.RRMClient(api, ['R1', 'R2'], retries=1)
        plan_api.actions_ensure(self.plan, [self.record('vm1', 'R1')])
        fan = client.status(self.plan)
        self.assertFalse(fan.complete)
        self.assertEqual(['R1'], fan.answered)
        self.assertEqual(['R2'], fan.missing)
        self.assertIn('MessagingTimeout', fan.errors['R2'])
        self.assertRaisesRegex(rrm_client.RegionsMissing,
                               'No answer from region.s. R2 to status',
                               fan.check)
        # Waiting on a plan with a region missing never says it is done.
        done, fan, view = client.wait_plan(self.plan, 0)
        self.assertFalse(done)
        self.assertEqual(['R2'], fan.missing)

    def test_bad_input_is_a_clear_remote_error(self):
        self.start_region('R1')
        client = rrm_client.RRMClient(self.api(), ['R1'], retries=0)
        bad = dict(self.record('vm1', 'R1'), colour='blue')
        fan = client.execute_plan(self.plan, [bad])
        self.assertFalse(fan.complete)
        self.assertIsInstance(fan.raised['R1'], rrm_manager.InvalidActions)
        self.assertIn('unknown fields colour', fan.errors['R1'])
        for reason, message in (
                ({'depends_on': 'k2'}, 'must be a list of idempotency keys'),
                ({'wave': -1}, 'must be an integer of 0 or more'),
                ({'region': 7}, 'must be a region name')):
            bad = self.record('vm2', 'R1')
            bad['reason'].update(reason)
            exc = self.assertRaises(rrm_manager.InvalidActions,
                                    self.api().execute_actions, None, 'R1',
                                    self.plan, [bad])
            self.assertIn(message, str(exc))
        self.assertRaisesRegex(rrm_client.UnknownRegion, 'R9 is not one',
                               client.execute_plan, self.plan,
                               [self.record('vm1', 'R9')])

    def test_reservation_calls_without_a_reservation_manager(self):
        self.start_region('R1')
        self.assertRaisesRegex(
            rrm_manager.NoReservationManager, 'Region R1 has no '
            'reservation manager', self.api().get_capacity, None, 'R1')

    def test_cancel_and_reconcile_over_rpc(self):
        manager = self.start_region('R1')
        records = [self.record('vm1', 'R1'), self.record('vm2', 'R1'),
                   self.record('vm3', 'R1', wave=1)]
        k1, k2, k3 = [r['idempotency_key'] for r in records]
        plan_api.actions_ensure(self.plan, records)
        # vm1 was claimed by a process that died.
        plan_api.action_claim(k1)
        gate = threading.Event()
        self.executor.gate = gate
        self.addCleanup(gate.set)
        api = self.api()
        report = api.reconcile(None, 'R1')
        self.assertEqual(1, report['checked'])
        self.assertEqual({'SUCCEEDED': 1}, report['settled'])
        self.assertEqual([self.plan], report['resumed'])
        # vm2 runs now (held by the gate); vm3 waits for the next wave.
        for _i in range(3000):
            if k2 in self.executor.calls:
                break
            time.sleep(0.01)
        self.assertEqual([k2], self.executor.calls)
        result = api.cancel(None, 'R1', self.plan)
        self.assertEqual({k1: 'SUCCEEDED', k2: 'ONGOING', k3: 'CANCELLED'},
                         result)
        self.assertEqual([k2], self.executor.cancelled)
        gate.set()
        manager.wait(30)
        self.assertEqual({k1: 'SUCCEEDED', k2: 'SUCCEEDED',
                          k3: 'CANCELLED'},
                         plan_api.action_states_by_keys([k1, k2, k3]))
        self.assertEqual([k2], self.executor.calls)
        self.assertEqual(constants.PlanState.CANCELLED,
                         plan_api.plan_get(self.plan)['state'])
