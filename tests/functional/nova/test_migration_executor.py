"""The live and cold migration executors against Nova's own harness.

What is real: Nova's API (its WSGI application), conductor, scheduler and
three nova-compute services with Nova's fake virt driver (the hypervisor),
and Placement, all in this process; the executors reach the API through a
real openstacksdk Connection over keystoneauth and requests, which Nova's
OSAPIFixture routes in process with wsgi-intercept (no socket). Only
Nova's Keystone middleware is stubbed (by Nova's fixture: the caller is
named by X-Auth-* headers). Faults are injected in the fake driver, the
way a hypervisor fails: a live migration that rolls back (the driver calls
Nova's recover method) and one that never ends until it is aborted.

Time: the executors wait through an injected ``sleep`` and read an injected
clock; here each wait sleeps a tenth of a second for real (so Nova's
threads progress) and advances a virtual clock by the interval asked for.
Timeouts are therefore counted in polls, and nothing asserts on durations.
"""

import datetime
import os
import sys
import threading
import time

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from nova.tests.functional import integrated_helpers
import openstack
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_utils import timeutils

from irra_openstack.db import api as db_api
from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.executor import nova as nova_executor
from irra_openstack.executor import reservation as reservation_executor
from irra_openstack.optimizer import actions
from irra_openstack.rrm import reservations

HOSTS = ('host1', 'host2', 'host3')
State = constants.ActionState


class VirtualTime:
    """An injected clock and sleep: virtual seconds, short real sleeps."""

    def __init__(self, advancing=None, real_budget=180.0):
        self.now = 0.0
        self.sleeps = []
        self.advancing = advancing or (lambda: True)
        self.real = 0.0
        self.real_budget = real_budget

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        if self.real >= self.real_budget:
            # A guard against a test that would otherwise never end.
            raise AssertionError('the executor waited more than %d polls'
                                 % len(self.sleeps))
        time.sleep(0.1)
        self.real += 0.1
        if self.advancing():
            self.now += seconds


class MigrationExecutorTest(integrated_helpers.ProviderUsageBaseTestCase):

    compute_driver = 'fake.MediumFakeDriver'

    def setUp(self):
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        super().setUp()
        self.computes = {h: self._start_compute(h) for h in HOSTS}
        self.rps = {h: self._get_provider_uuid_by_host(h) for h in HOSTS}
        self.flavor = self.api.get_flavors()[0]
        self.conn = self._connection()

    def _clear_attrs(self):
        # Nova's TestCase deletes the test's attributes, the test method
        # included, which pytest still needs.
        pass

    def _connection(self):
        base = self.api_fixture.base_url
        sess = ks_session.Session(
            auth=token_endpoint.Token(base, 'unused'),
            additional_headers={
                'X-Auth-User': 'admin', 'X-User-Id': 'admin',
                'X-Auth-Project-Id': self.api_fixture.project_id,
                'X-Roles': 'reader,member,admin'})
        return openstack.connection.Connection(
            session=sess, compute_endpoint_override=base)

    def _executors(self, time_, live=None, cold=None, hooks=None):
        cold_exec = nova_executor.ColdMigrationExecutor(
            self.conn, dict({'poll_interval': 1.0, 'timeout': 600.0},
                            **(cold or {})),
            sleep=time_.sleep, clock=time_.clock, hooks=hooks)
        live_exec = nova_executor.LiveMigrationExecutor(
            self.conn, dict({'poll_interval': 1.0, 'timeout': 600.0,
                             'backoff_initial': 2.0}, **(live or {})),
            sleep=time_.sleep, clock=time_.clock, hooks=hooks,
            cold=cold_exec)
        return live_exec, cold_exec

    def _boot(self, host):
        return self._create_server(flavor_id=self.flavor['id'],
                                   networks='none', host=host)

    def _action(self, server, source, destination, kind=None):
        return actions.PlannedAction(
            kind or constants.ActionType.LIVE_MIGRATE, server['id'],
            source=source, destination=destination).with_key('plan-1')

    def assertOnHost(self, server_id, host):
        server = self.api.get_server(server_id)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual({self.rps[host]},
                         set(self._get_allocations_by_server_uuid(
                             server_id)))
        self.assertFlavorMatchesAllocation(self.flavor, server_id,
                                           self.rps[host])

    def _statuses(self, server_id, kind='live-migration'):
        return [m.status for m in sorted(
            self.conn.compute.migrations(instance_uuid=server_id,
                                         migration_type=kind),
            key=lambda m: m.id)]

    def _fail_live_migrations_to(self, source, hosts):
        """The source's fake driver rolls back migrations to ``hosts``."""
        driver = self.computes[source].manager.driver
        real = driver.live_migration
        calls = []

        def live_migration(context, instance, dest, post_method,
                           recover_method, block_migration=False,
                           migrate_data=None):
            calls.append(dest)
            if dest in hosts:
                recover_method(context, instance, dest, migrate_data)
                return
            real(context, instance, dest, post_method, recover_method,
                 block_migration, migrate_data)
        driver.live_migration = live_migration
        return calls

    def test_wave_of_live_migrations_moves_allocations(self):
        servers = [self._boot('host1') for _ in range(3)]
        plan = list(zip(servers, ('host2', 'host3', 'host2')))
        time_ = VirtualTime()
        live, _cold = self._executors(time_)
        outcomes = {}

        def run(server, dest):
            outcomes[server['id']] = live.execute(
                self._action(server, 'host1', dest))

        threads = [threading.Thread(target=run, args=pair) for pair in plan]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        for server, dest in plan:
            outcome = outcomes[server['id']]
            self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
            self.assertEqual(dest, outcome.destination)
            self.assertEqual(1, outcome.attempts)
            self.assertOnHost(server['id'], dest)
            self.assertEqual(['completed'], self._statuses(server['id']))
        self.assertEqual({'VCPU': 0}, {'VCPU': self._get_provider_usages(
            self.rps['host1'])['VCPU']})
        # Idempotent: the same action again finds the work done and starts
        # no second migration; reconcile agrees.
        server, dest = plan[0]
        again = live.execute(self._action(server, 'host1', dest))
        self.assertEqual(State.SUCCEEDED, again.state)
        self.assertEqual(0, again.attempts)
        self.assertTrue(again.details['already_done'])
        self.assertEqual(['completed'], self._statuses(server['id']))
        self.assertEqual(State.SUCCEEDED, live.reconcile(
            self._action(server, 'host1', dest)).state)

    def test_failed_migration_is_retried_on_another_host(self):
        server = self._boot('host1')
        calls = self._fail_live_migrations_to('host1', {'host2'})
        time_ = VirtualTime()
        live, _cold = self._executors(time_)
        outcome = live.execute(self._action(server, 'host1', 'host2'))
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual('host3', outcome.destination)
        self.assertEqual(2, outcome.attempts)
        self.assertEqual(['host2', 'host3'], outcome.details['hosts_tried'])
        self.assertIn('attempt 1 to host2: failed', outcome.error)
        self.assertEqual(['host2', 'host3'], calls)
        # One backoff of backoff_initial between the two attempts.
        self.assertEqual([2.0], [s for s in time_.sleeps if s != 1.0])
        self.assertEqual(['failed', 'completed'],
                         self._statuses(server['id']))
        self.assertOnHost(server['id'], 'host3')
        self.assertEqual(0, self._get_provider_usages(
            self.rps['host2'])['VCPU'])

    def test_hung_migration_is_aborted_or_force_completed(self):
        a = self._boot('host1')
        b = self._boot('host1')
        driver = self.computes['host1'].manager.driver
        real = driver.live_migration
        hung = threading.Event()
        released = threading.Event()
        ends = []

        def live_migration(context, instance, dest, post_method,
                           recover_method, block_migration=False,
                           migrate_data=None):
            if dest != 'host2':
                return real(context, instance, dest, post_method,
                            recover_method, block_migration, migrate_data)
            # A migration that makes no progress until Nova aborts or
            # force-completes it, as a hypervisor's job does; the guard
            # only ends a broken test.
            released.clear()
            hung.set()
            released.wait(120)
            hung.clear()
            if ends and ends[-1] == ('force', instance.uuid):
                post_method(context, instance, dest, block_migration,
                            migrate_data)
            else:
                recover_method(context, instance, dest, migrate_data,
                               migration_status='cancelled')

        def live_migration_abort(instance):
            ends.append(('abort', instance.uuid))
            released.set()

        def live_migration_force_complete(instance):
            ends.append(('force', instance.uuid))
            released.set()

        driver.live_migration = live_migration
        driver.live_migration_abort = live_migration_abort
        driver.live_migration_force_complete = live_migration_force_complete
        # Virtual time runs only while a migration hangs: the timeout
        # counts polls of the hung migration and nothing else.
        time_ = VirtualTime(advancing=hung.is_set)

        # Policy "never": the hung attempt is aborted, and the retry goes
        # to another host.
        live, _cold = self._executors(time_, live={'timeout': 10.0})
        outcome = live.execute(self._action(a, 'host1', 'host2'))
        self.assertEqual([('abort', a['id'])], ends)
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertIn('attempt 1 to host2: timed out, aborted (cancelled)',
                      outcome.error)
        self.assertEqual(['host2', 'host3'], outcome.details['hosts_tried'])
        self.assertEqual(['cancelled', 'completed'], self._statuses(a['id']))
        self.assertOnHost(a['id'], 'host3')

        # Policy "on_timeout": the hung migration is force-completed and
        # ends where it was going, in one attempt.
        live, _cold = self._executors(
            time_, live={'timeout': 10.0, 'force_complete': 'on_timeout'})
        outcome = live.execute(self._action(b, 'host1', 'host2'))
        self.assertEqual(('force', b['id']), ends[-1])
        self.assertEqual(2, len(ends))
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(1, outcome.attempts)
        self.assertEqual(['completed'], self._statuses(b['id']))
        self.assertOnHost(b['id'], 'host2')

    def test_cold_fallback_confirms_and_reverts(self):
        a = self._boot('host1')
        b = self._boot('host1')
        # Live migration from host1 fails whatever the destination.
        self._fail_live_migrations_to('host1', set(HOSTS))
        refused = set()
        hooks = {'verify': lambda server: server.id not in refused}
        time_ = VirtualTime()
        live, _cold = self._executors(time_, live={'max_attempts': 1},
                                      hooks=hooks)
        outcome = live.execute(self._action(a, 'host1', 'host2'))
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual('cold', outcome.details['fallback'])
        self.assertEqual('host2', outcome.destination)
        self.assertEqual(['failed'], self._statuses(a['id']))
        self.assertEqual(['confirmed'],
                         self._statuses(a['id'], 'migration'))
        self.assertOnHost(a['id'], 'host2')

        # When the check before confirmation refuses, the resize is
        # reverted: the server and its allocation are back on host1.
        refused.add(b['id'])
        outcome = live.execute(self._action(b, 'host1', 'host3'))
        self.assertEqual(State.FAILED, outcome.state)
        self.assertIn('reverted: the verify hook refused the server on '
                      'host3', outcome.error)
        self.assertEqual(['reverted'], self._statuses(b['id'], 'migration'))
        self.assertOnHost(b['id'], 'host1')
        self.assertEqual(0, self._get_provider_usages(
            self.rps['host3'])['VCPU'])

        # A cold migration found waiting in VERIFY_RESIZE (irra-rrm stopped
        # after starting it) is confirmed, not started a second time.
        c = self._boot('host1')
        self._migrate_server(c, host='host3')
        self.assertEqual('VERIFY_RESIZE',
                         self.api.get_server(c['id'])['status'])
        cold_action = self._action(c, 'host1', 'host3',
                                   constants.ActionType.COLD_MIGRATE)
        self.assertEqual(State.ONGOING, _cold.reconcile(cold_action).state)
        outcome = _cold.execute(cold_action)
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(['confirmed'], self._statuses(c['id'], 'migration'))
        self.assertOnHost(c['id'], 'host3')

    def _reservation_manager(self):
        """A reservation manager on this Placement and a sqlite irra DB."""
        conf = cfg.ConfigOpts()
        db_options.set_defaults(conf)
        conf([], project='irra', default_config_files=[])
        tmp = self.useFixture(fixtures.TempDir()).path
        conf.set_override('connection', 'sqlite:///%s/irra.sqlite' % tmp,
                          group='database')
        db_api.configure(conf)
        self.addCleanup(db_api.dispose)
        migration.upgrade()
        endpoint = self.placement.fixture.endpoint
        adapter = ks_adapter.Adapter(
            ks_session.Session(auth=token_endpoint.Token(endpoint,
                                                         'admin')),
            service_type='placement', endpoint_override=endpoint)
        return reservations.ReservationManager(
            adapter, 'RegionOne', self.api_fixture.project_id, 'irra',
            sleep=lambda s: None)

    def test_reservation_holds_capacity_against_nova(self):
        manager = self._reservation_manager()
        reserve_exec = reservation_executor.ReservationExecutor(manager)
        server = self._boot('host1')
        inventory = self.placement.get(
            '/resource_providers/%s/inventories' % self.rps['host2']).body[
                'inventories']['MEMORY_MB']
        free = int((inventory['total'] - inventory['reserved']) *
                   inventory['allocation_ratio'])
        # All of host2's memory, until an hour from now.
        reserve = actions.PlannedAction(
            constants.ActionType.RESERVE, 'surge',
            resource_kind=constants.ResourceKind.HOST,
            parameters={'resources': {'MEMORY_MB': free}, 'host': 'host2',
                        'expires_at': (timeutils.utcnow() +
                                       datetime.timedelta(hours=1))
                        .isoformat()}).with_key('plan-1')
        outcome = reserve_exec.execute(reserve)
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(free, self._get_provider_usages(
            self.rps['host2'])['MEMORY_MB'])

        # Nova's scheduler sees the reservation: host2 cannot take the
        # server while it is held.
        time_ = VirtualTime()
        live, _cold = self._executors(
            time_, live={'max_attempts': 1, 'fallback_to_cold': False})
        move = self._action(server, 'host1', 'host2')
        failed = live.execute(move)
        self.assertEqual(State.FAILED, failed.state)
        self.assertEqual(['error'], self._statuses(server['id']))
        self.assertOnHost(server['id'], 'host1')

        # The reconciler, over providers full of Nova's consumers, leaves
        # instances alone and finds nothing to release.
        report = manager.reconcile()
        self.assertEqual(0, report.released)
        self.assertEqual([], report.lost)
        self.assertEqual(3, report.providers)

        # Released (the RELEASE action the migration depends on), the
        # capacity is Nova's again and the migration lands on host2.
        release = actions.PlannedAction(
            constants.ActionType.RELEASE, outcome.details['reservation'],
            resource_kind=constants.ResourceKind.HOST,
            parameters={'reserve_key': reserve.key}).with_key('plan-1')
        released = reserve_exec.execute(release)
        self.assertEqual(State.SUCCEEDED, released.state, released.error)
        outcome = live.execute(move)
        self.assertEqual(State.SUCCEEDED, outcome.state, outcome.error)
        self.assertOnHost(server['id'], 'host2')
