"""Two irra-rrm processes, two regions, a real RabbitMQ and PostgreSQL.

Each test starts a private RabbitMQ node (so that it can stop and start
it), a fresh PostgreSQL database, and two ``irra-rrm`` processes:
``region-one`` and ``region-two``. The engine side is this test, through
:class:`~irra_openstack.rrm.client.RRMClient`. The actions are live
migrations run by :class:`tests.functional.rrm.executors.JournalExecutor`,
whose journal on disk counts every execution: the tests check that each
action ran exactly once.

PostgreSQL must be running on 127.0.0.1:5432 (user postgres, trust), and
RabbitMQ must be installed; a test that lacks either fails with the
command that fixes it.
"""

import collections
import queue
import threading
import uuid

import fixtures
import oslo_messaging
from oslo_utils import uuidutils

from irra_openstack.db import api as db_api
from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.db import plan_api
from irra_openstack.optimizer import actions as planned
from irra_openstack.rrm import client as rrm_client
from irra_openstack.rrm import rpcapi
from irra_openstack.rrm import service
from tests import base
from tests.functional.db import base as db_base
from tests.functional.rrm import executors
from tests.functional.rrm import fixtures as rrm_fixtures

State = constants.ActionState
REGIONS = ('region-one', 'region-two')
EXECUTORS = 'live_migrate:tests.functional.rrm.executors.JournalExecutor'


class _Listener:
    """Notifications received, as (publisher, event type, payload)."""

    def __init__(self):
        self.received = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.put((publisher_id, event_type, payload))

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.put((publisher_id, event_type, payload))


class _ProcessesBase(base.TestCase):

    #: Seconds each action works for.
    ACTION_SECONDS = 1.0

    def setUp(self):
        super().setUp()
        database = self.useFixture(db_base.DatabaseFixture(
            'postgresql', db_base.POSTGRESQL_URL))
        self.flags(group='database', connection=database.url)
        db_api.configure(self.conf)
        self.addCleanup(db_api.dispose)
        migration.upgrade()
        self.rabbit = self.useFixture(rrm_fixtures.PrivateRabbit())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.topic = 'irra_test_%s' % uuid.uuid4().hex[:8]
        env = {'IRRA_RRM_TEST_DIR': self.dir,
               'IRRA_RRM_TEST_ACTION_SECONDS': str(self.ACTION_SECONDS)}
        self.rrm = {}
        for region in REGIONS:
            config = rrm_fixtures.write_config(
                '%s/%s.conf' % (self.dir, region), region, self.rabbit.url,
                database.url, EXECUTORS, extra={
                    'oslo_messaging_notifications': {
                        'driver': 'messagingv2', 'topics': self.topic}})
            self.rrm[region] = self.useFixture(rrm_fixtures.RRMProcess(
                region, config, env=env))
        service.register_messaging_opts(self.conf)
        self.flags(transport_url=self.rabbit.url)
        self.flags(group='oslo_messaging_rabbit', rabbit_retry_interval=1,
                   rabbit_retry_backoff=1, rabbit_interval_max=2)
        self.transport = oslo_messaging.get_rpc_transport(
            self.conf, allowed_remote_exmods=service.ALLOWED_EXMODS)
        self.addCleanup(self.transport.cleanup)
        self.api = rpcapi.RRMAPI(self.transport, timeout=10)
        self.client = rrm_client.RRMClient(self.api, list(REGIONS),
                                           retries=30)
        for region in REGIONS:
            self.wait_ready(region)
        self.plan = uuidutils.generate_uuid()

    def wait_ready(self, region):
        process = self.rrm[region]

        def answers():
            if not process.alive():
                raise AssertionError('irra-rrm %s exited: %s'
                                     % (region, process.output()))
            try:
                rpcapi.RRMAPI(self.transport, timeout=3).reconcile(
                    None, region)
                return True
            except oslo_messaging.MessagingTimeout:
                return False

        rrm_fixtures.wait_for(answers, 120, 'irra-rrm %s to answer' % region)

    def make_plan(self, regions, waves, per_wave):
        records = []
        for region in regions:
            for wave in range(waves):
                for i in range(per_wave):
                    vm = 'vm-%s-%d-%d' % (region, wave, i)
                    action = planned.PlannedAction(
                        constants.ActionType.LIVE_MIGRATE, vm,
                        source='%s-src%d' % (region, i),
                        destination='%s-dst%d' % (region, i), wave=wave,
                        reason={'constraint': 'test'}).with_key(self.plan)
                    record = action.as_record()
                    record['reason']['region'] = region
                    records.append(record)
        return records

    def db_states(self):
        _plan, actions = plan_api.plan_actions(self.plan)
        return {a['idempotency_key']: a['state'] for a in actions}

    def wait_settled(self, keys, timeout=300):
        """Wait, over RPC, until every action has ended; return the view."""
        def settled():
            fan, view = self.client.plan_view(self.plan)
            if not fan.complete or set(view) != set(keys):
                return None
            if all(v['state'] in State.FINAL for v in view.values()):
                return view
            return None

        return rrm_fixtures.wait_for(settled, timeout,
                                     'every action to end', interval=1)

    def starts(self):
        """Execution count of each key, from both regions' journals."""
        counts = collections.Counter()
        for region in REGIONS:
            counts.update(key for event, key in
                          executors.read_journal(self.dir, region)
                          if event == 'start')
        return counts

    def assertRanOnceEach(self, keys):
        starts = self.starts()
        twice = {k: n for k, n in starts.items() if n != 1}
        self.assertEqual({}, twice, 'actions run more than once')
        self.assertEqual(sorted(keys), sorted(starts))


class RRMProcessesTest(_ProcessesBase):

    def test_two_regions_run_a_plan_with_notifications(self):
        listener = _Listener()
        notify_transport = oslo_messaging.get_notification_transport(
            self.conf)
        self.addCleanup(notify_transport.cleanup)
        server = oslo_messaging.get_notification_listener(
            notify_transport, [oslo_messaging.Target(topic=self.topic)],
            [listener], executor='threading')
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        records = self.make_plan(REGIONS, waves=2, per_wave=2)
        keys = [r['idempotency_key'] for r in records]
        fan = self.client.execute_plan(self.plan, records)
        self.assertTrue(fan.complete, fan.errors)
        self.assertEqual(8, sum(a['created'] for a in fan.answers.values()))
        view = self.wait_settled(keys)
        self.assertEqual({State.SUCCEEDED}, {v['state']
                                             for v in view.values()})
        self.assertRanOnceEach(keys)
        self.assertEqual(constants.PlanState.SUCCEEDED,
                         plan_api.plan_get(self.plan)['state'])
        events = collections.Counter()
        plan_changes = []
        while sum(events.values()) + len(plan_changes) < 18:
            try:
                publisher, event, payload = listener.received.get(
                    timeout=60)
            except queue.Empty:
                self.fail('Notifications missing: got %s and %s'
                          % (dict(events), plan_changes))
            data = payload['irra_object.data']
            if event == 'irra.plan.update':
                self.assertEqual(self.plan, data['id'])
                plan_changes.append((data['old_state'], data['state']))
                continue
            self.assertEqual(self.plan, data['plan_id'])
            events[(publisher.split('.', 1)[1], event)] += 1
        self.assertEqual({(r, 'irra.action.execute.%s' % e): 4
                          for r in REGIONS for e in ('start', 'end')},
                         dict(events))
        self.assertEqual([('APPROVED', 'ONGOING'), ('ONGOING', 'SUCCEEDED')],
                         sorted(plan_changes))

    def test_broker_restart_in_the_middle_of_a_wave(self):
        records = self.make_plan(REGIONS, waves=3, per_wave=4)
        keys = [r['idempotency_key'] for r in records]
        fan = self.client.execute_plan(self.plan, records)
        self.assertTrue(fan.complete, fan.errors)
        rrm_fixtures.wait_for(
            lambda: list(self.db_states().values()).count(
                State.SUCCEEDED) >= 2, 120, 'two actions to succeed')
        at_stop = collections.Counter(self.db_states().values())
        self.rabbit.stop()
        self.assertGreater(at_stop[State.PENDING], 0,
                           'the plan ended before the broker stopped')
        # The engine sends the plan again while the broker is down (as it
        # would after a timeout): it gets through once the broker is back.
        again = []
        resend = threading.Thread(target=lambda: again.append(
            self.client.execute_plan(self.plan, records)))
        resend.start()
        self.rabbit.start()
        resend.join(300)
        self.assertFalse(resend.is_alive())
        self.assertTrue(again[0].complete, again[0].errors)
        self.assertEqual([0, 0], [a['created']
                                  for a in again[0].answers.values()])
        view = self.wait_settled(keys)
        self.assertEqual({State.SUCCEEDED}, {v['state']
                                             for v in view.values()})
        self.assertRanOnceEach(keys)
        self.assertEqual(constants.PlanState.SUCCEEDED,
                         plan_api.plan_get(self.plan)['state'])
        for region in REGIONS:
            self.assertTrue(self.rrm[region].alive(), region)


class RRMKillTest(_ProcessesBase):

    ACTION_SECONDS = 2.0

    def test_killed_rrm_reconciles_on_restart(self):
        records = self.make_plan(REGIONS, waves=2, per_wave=4)
        keys = [r['idempotency_key'] for r in records]
        mine = {r['idempotency_key'] for r in records
                if r['reason']['region'] == 'region-one'}
        fan = self.client.execute_plan(self.plan, records)
        self.assertTrue(fan.complete, fan.errors)

        def running_in_journal():
            # Kill when every ONGOING action of region-one has started its
            # work (its journal has "start" and no "done"): then the DB and
            # the "hypervisor" agree on what was running.
            journal = executors.read_journal(self.dir, 'region-one')
            started = {k for e, k in journal if e == 'start'}
            done = {k for e, k in journal if e == 'done'}
            ongoing = {k for k, s in self.db_states().items()
                       if s == State.ONGOING and k in mine}
            return ongoing if ongoing and ongoing == started - done \
                else None

        ongoing = rrm_fixtures.wait_for(running_in_journal, 120,
                                        'region-one to be mid-wave',
                                        interval=0.05)
        self.rrm['region-one'].kill()
        states = self.db_states()
        # The process may have claimed more between the look and the kill:
        # what was running is still ONGOING, and some work is left.
        at_kill = {k for k in mine if states[k] == State.ONGOING}
        self.assertLessEqual(ongoing, at_kill)
        journal = executors.read_journal(self.dir, 'region-one')
        started = ({k for e, k in journal if e == 'start'} -
                   {k for e, k in journal if e == 'done'})
        self.assertIn(State.PENDING, {states[k] for k in mine})
        self.rrm['region-one'].start()
        self.wait_ready('region-one')
        view = self.wait_settled(keys)
        self.assertEqual({State.SUCCEEDED}, {v['state']
                                             for v in view.values()})
        self.assertRanOnceEach(keys)
        reconciled = {k for e, k in
                      executors.read_journal(self.dir, 'region-one')
                      if e == 'reconcile'}
        # Every action left ONGOING was reconciled (reconcile only reads
        # state, so a look at one more is harmless); those whose work had
        # begun were found done, the others were started once, afterwards.
        self.assertLessEqual(at_kill, reconciled)
        for key in at_kill & started:
            action = plan_api.action_get_by_key(key)
            self.assertEqual({'reconciled': True},
                             action['reason']['outcome'])
        self.assertEqual(constants.PlanState.SUCCEEDED,
                         plan_api.plan_get(self.plan)['state'])
