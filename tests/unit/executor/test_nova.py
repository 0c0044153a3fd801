"""Unit tests of the migration executors' decisions.

Nova itself runs in tests/functional/nova/test_migration_executor.py; here
a small stand-in for openstacksdk's compute proxy lets each branch of the
retry, backoff, fallback and reconcile logic be reached in milliseconds.
Each live migration it is asked for ends as the test scripts it:
``completed``, ``failed``, ``hang`` (running until aborted or forced) or
``refuse`` (the API answers 400).
"""

import types

import openstack.exceptions

from irra_openstack.db import constants
from irra_openstack.executor import base
from irra_openstack.executor import nova
from irra_openstack.optimizer import actions
from tests import base as test_base

State = constants.ActionState


class FakeCompute:
    def __init__(self, hosts, script):
        self.server = types.SimpleNamespace(id='vm-1', status='ACTIVE',
                                            task_state=None,
                                            compute_host='host1')
        self.records = []
        self.hosts = hosts
        self.script = list(script)
        self.calls = []

    def get_server(self, server_id):
        return self.server

    def migrations(self, instance_uuid, migration_type):
        return [r for r in self.records
                if r.migration_type == migration_type]

    def services(self, binary):
        return [types.SimpleNamespace(host=h, status='enabled', state=st)
                for h, st in self.hosts]

    def live_migrate_server(self, server_id, host, force, block_migration):
        self.calls.append(('live', host, block_migration))
        end = self.script.pop(0)
        if end == 'refuse':
            raise openstack.exceptions.BadRequestException(
                message='No valid host was found.')
        dest = host or 'host9'
        record = types.SimpleNamespace(
            id=len(self.records) + 1, migration_type='live-migration',
            source_compute=self.server.compute_host, dest_compute=dest,
            status='running' if end == 'hang' else end)
        self.records.append(record)
        if end == 'completed':
            self.server.compute_host = dest

    def _running(self, record_id):
        return self.records[record_id - 1]

    def abort_server_migration(self, record_id, server_id,
                               ignore_missing=True):
        self.calls.append(('abort', record_id))
        self._running(record_id).status = 'cancelled'

    def force_complete_server_migration(self, record_id, server_id):
        self.calls.append(('force', record_id))
        record = self._running(record_id)
        record.status = 'completed'
        self.server.compute_host = record.dest_compute


class FakeCold(base.Executor):
    action_types = (constants.ActionType.COLD_MIGRATE,)

    def __init__(self):
        self.actions = []

    def execute(self, action):
        self.actions.append(action)
        return base.Outcome(state=State.SUCCEEDED,
                            destination=action.destination or 'host5')

    def reconcile(self, action):
        raise AssertionError('not used')


class LiveMigrationLogicTest(test_base.TestCase):

    HOSTS = (('host1', 'up'), ('host2', 'up'), ('host3', 'up'),
             ('host4', 'down'))

    def _executor(self, script, cold=None, **options):
        self.compute = FakeCompute(self.HOSTS, script)
        self.sleeps = []
        self.now = [0.0]

        def sleep(seconds):
            self.sleeps.append(seconds)
            self.now[0] += seconds

        options = dict({'poll_interval': 1.0, 'timeout': 5.0,
                        'abort_timeout': 5.0, 'force_complete_grace': 3.0,
                        'backoff_initial': 10.0}, **options)
        return nova.LiveMigrationExecutor(
            types.SimpleNamespace(compute=self.compute), options,
            sleep=sleep, clock=lambda: self.now[0], cold=cold)

    def _action(self, destination='host2', **params):
        return actions.PlannedAction(
            constants.ActionType.LIVE_MIGRATE, 'vm-1', source='host1',
            destination=destination, parameters=params).with_key('p')

    def backoffs(self):
        return [s for s in self.sleeps if s != 1.0]

    def test_retries_with_doubling_capped_backoff_then_fails(self):
        ex = self._executor(['failed'] * 3, backoff_max=15.0,
                            fallback_to_cold=False)
        outcome = ex.execute(self._action())
        self.assertEqual(State.FAILED, outcome.state)
        # host2 as asked, then the other hosts that are up, by name; host4
        # is down, so there is no third attempt.
        self.assertEqual(['host2', 'host3'],
                         [c[1] for c in self.compute.calls])
        self.assertEqual(2, outcome.attempts)
        self.assertEqual([10.0, 15.0], self.backoffs())
        self.assertIn('attempt 1 to host2: failed; attempt 2 to host3: '
                      'failed; no other host to try', outcome.error)

    def test_alternates_come_first_and_block_migration_is_auto(self):
        ex = self._executor(['failed', 'completed'])
        outcome = ex.execute(self._action(alternates=['host3', 'host1']))
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertEqual('host3', outcome.destination)
        self.assertEqual([('live', 'host2', 'auto'),
                          ('live', 'host3', 'auto')], self.compute.calls)

    def test_no_destination_lets_the_scheduler_choose(self):
        ex = self._executor(['completed'])
        outcome = ex.execute(self._action(destination=None))
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertEqual([('live', None, 'auto')], self.compute.calls)
        self.assertEqual('host9', outcome.destination)

    def test_refused_outright_falls_back_to_cold(self):
        cold = FakeCold()
        ex = self._executor(['refuse'], cold=cold)
        outcome = ex.execute(self._action(destination=None))
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertEqual('cold', outcome.details['fallback'])
        self.assertEqual(1, len(cold.actions))
        self.assertEqual(constants.ActionType.COLD_MIGRATE,
                         cold.actions[0].action_type)
        self.assertIn('No valid host', outcome.details['live_errors'][0])

    def test_hang_is_aborted_after_the_timeout_polls(self):
        ex = self._executor(['hang', 'completed'])
        outcome = ex.execute(self._action())
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertIn(('abort', 1), self.compute.calls)
        self.assertEqual(5, self.sleeps.count(1.0))  # timeout / interval
        self.assertIn('timed out, aborted (cancelled)', outcome.error)

    def test_force_complete_policy(self):
        ex = self._executor(['hang'], force_complete='on_timeout')
        outcome = ex.execute(self._action())
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertEqual([('live', 'host2', 'auto'), ('force', 1)],
                         self.compute.calls)
        self.assertEqual('host2', outcome.destination)

    def test_already_done_and_reconcile(self):
        ex = self._executor([])
        self.compute.server.compute_host = 'host2'
        outcome = ex.execute(self._action())
        self.assertEqual(State.SUCCEEDED, outcome.state)
        self.assertEqual(0, outcome.attempts)
        self.assertEqual([], self.compute.calls)
        self.assertEqual(State.SUCCEEDED,
                         ex.reconcile(self._action()).state)
        self.compute.server.compute_host = 'host1'
        pending = ex.reconcile(self._action())
        self.assertEqual(State.PENDING, pending.state)
        self.assertFalse(pending.details['started'])

    def test_second_delivery_after_a_retry_elsewhere_does_nothing(self):
        # The first delivery failed on host2 and succeeded on host3; the
        # same action delivered again must not move the server again.
        ex = self._executor(['failed', 'completed'])
        first = ex.execute(self._action())
        self.assertEqual(State.SUCCEEDED, first.state)
        self.assertNotEqual('host2', first.destination)
        calls = list(self.compute.calls)
        again = ex.execute(self._action())
        self.assertEqual(State.SUCCEEDED, again.state)
        self.assertEqual(0, again.attempts)
        self.assertEqual(calls, self.compute.calls)

    def test_in_progress_migration_is_adopted_not_repeated(self):
        ex = self._executor(['hang'])
        self.compute.live_migrate_server('vm-1', 'host3', False, 'auto')
        self.assertEqual(State.ONGOING, ex.reconcile(self._action()).state)
        self.compute.calls.clear()
        ex.options['max_attempts'] = 1
        ex.options['fallback_to_cold'] = False
        outcome = ex.execute(self._action())
        # It followed the running migration (and aborted it at the
        # timeout) instead of starting another one.
        self.assertEqual([('abort', 1)], self.compute.calls)
        self.assertEqual(State.FAILED, outcome.state)

    def test_cancel_aborts_the_running_migration(self):
        ex = self._executor(['hang'])
        self.compute.live_migrate_server('vm-1', 'host2', False, 'auto')
        outcome = ex.cancel(self._action())
        self.assertEqual(State.CANCELLED, outcome.state)
        self.assertEqual('cancelled', self.compute.records[0].status)
        self.assertEqual(State.CANCELLED, ex.cancel(self._action()).state)
