"""Reservations in a real Placement over HTTP, with irra's database.

Placement is openstack-placement under uWSGI on loopback (sqlite,
noauth2), started once for the class; irra's database is a fresh
PostgreSQL database per test (the machine's server). Nothing is mocked:
the reservation manager talks HTTP through a keystoneauth Adapter, and
every assertion reads Placement back over HTTP.
"""

import datetime
import threading
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_utils import timeutils

from irra_openstack.datasources import servers
from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.db import reservation_api
from irra_openstack.executor import reservation as reservation_executor
from irra_openstack.optimizer import actions
from irra_openstack.rrm import reservations
from tests.functional.db import base as db_base

State = constants.ReservationState
PROJECT = str(uuid.uuid4())
USER = str(uuid.uuid4())


class PlacementReservationTestBase(db_base.BackendTestCase):
    BACKEND = 'postgresql'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placement = servers.PlacementServer()
        cls.addClassCleanup(cls.placement.stop)
        cls.placement.start()

    def setUp(self):
        super().setUp()
        migration.upgrade()
        self.now = timeutils.utcnow()
        self.adapter = self._adapter()
        self.region = 'region-%s' % uuid.uuid4().hex[:8]
        self.manager = self._manager()
        self.rps = {}
        for name, vcpu in (('cmp1', 8), ('cmp2', 8)):
            self.rps[name] = self._provider(name, vcpu)

    def _adapter(self):
        sess = ks_session.Session(auth=token_endpoint.Token(
            self.placement.url, 'admin'))
        return ks_adapter.Adapter(sess, service_type='placement',
                                  endpoint_override=self.placement.url)

    def _manager(self, **kwargs):
        kwargs.setdefault('sleep', lambda s: None)
        kwargs.setdefault('now', lambda: self.now)
        return reservations.ReservationManager(
            self.adapter, self.region, PROJECT, USER, **kwargs)

    def _call(self, method, path, body=None, version='1.38'):
        r = self.adapter.request(path, method, json=body,
                                 microversion=version, raise_exc=False)
        self.assertLess(r.status_code, 300, r.text)
        return r.json() if r.content else None

    def _provider(self, name, vcpu):
        rp = str(uuid.uuid4())
        self._call('POST', '/resource_providers',
                   {'name': '%s-%s' % (name, rp[:8]), 'uuid': rp})
        self._call('PUT', '/resource_providers/%s/inventories' % rp, {
            'resource_provider_generation': 0,
            'inventories': {
                'VCPU': {'total': vcpu, 'allocation_ratio': 1.0},
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

    def usages(self, rp):
        return self._call('GET', '/resource_providers/%s/usages'
                          % rp)['usages']

    def allocations(self, consumer):
        return self._call('GET', '/allocations/%s' % consumer)

    def later(self, **kw):
        return self.now + datetime.timedelta(**kw)

    def assertHeld(self, consumer, expected):
        """``consumer`` holds exactly ``expected`` ({rp: resources})."""
        got = self.allocations(consumer)['allocations']
        self.assertEqual(expected,
                         {rp: a['resources'] for rp, a in got.items()})


class ReservationLifecycleTest(PlacementReservationTestBase):

    def test_create_convert_expire_release(self):
        m = self.manager
        cmp1, cmp2 = self.rps['cmp1'], self.rps['cmp2']
        # Create: the allocation is in Placement, typed, and the row ACTIVE.
        a = m.reserve({'VCPU': 4, 'MEMORY_MB': 1024}, [cmp1],
                      self.later(hours=1), key='k-a')
        self.assertEqual(State.ACTIVE, a['state'])
        body = self.allocations(a['consumer_uuid'])
        self.assertEqual(reservations.CONSUMER_TYPE, body['consumer_type'])
        self.assertEqual(PROJECT, body['project_id'])
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 1024},
                         self.usages(cmp1))
        # The same key again is the same reservation, not a second one.
        again = m.reserve({'VCPU': 4, 'MEMORY_MB': 1024}, [cmp1],
                          self.later(hours=1), key='k-a')
        self.assertEqual(a['uuid'], again['uuid'])
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 1024},
                         self.usages(cmp1))

        # Convert: an instance that already holds 1 VCPU on cmp2 gets the
        # reserved capacity on cmp1 in the same Placement transaction.
        vm = str(uuid.uuid4())
        self._call('PUT', '/allocations/%s' % vm, {
            'allocations': {cmp2: {'resources': {'VCPU': 1}}},
            'consumer_generation': None, 'consumer_type': 'INSTANCE',
            'project_id': PROJECT, 'user_id': USER})
        done = m.convert(a['uuid'], vm, PROJECT, USER)
        self.assertEqual(State.CONVERTED, done['state'])
        self.assertHeld(a['consumer_uuid'], {})
        self.assertHeld(vm, {cmp1: {'VCPU': 4, 'MEMORY_MB': 1024},
                             cmp2: {'VCPU': 1}})
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 1024}, self.usages(cmp1))
        # Exactly once: neither a second conversion nor a release.
        self.assertRaises(reservation_api.ReservationEnded, m.convert,
                          a['uuid'], vm, PROJECT, USER)
        self.assertRaises(reservation_api.ReservationEnded, m.release,
                          a['uuid'])
        self.assertHeld(vm, {cmp1: {'VCPU': 4, 'MEMORY_MB': 1024},
                             cmp2: {'VCPU': 1}})

        # Expire: b expires in 10 minutes, c in 2 hours.
        b = m.reserve({'VCPU': 2}, [cmp2], self.later(minutes=10), key='b')
        c = m.reserve({'VCPU': 1}, [cmp1, cmp2], self.later(hours=2),
                      key='c')
        self.assertEqual({'VCPU': 4}, {'VCPU': self.usages(cmp2)['VCPU']})
        self.now = self.later(minutes=11)
        self.assertEqual([b['uuid']], m.expire())
        self.assertEqual(State.EXPIRED,
                         reservation_api.reservation_get(b['uuid'])['state'])
        self.assertHeld(b['consumer_uuid'], {})
        self.assertEqual(2, self.usages(cmp2)['VCPU'])  # vm 1 + c 1

        # Release: c frees both providers, once.
        released = m.release(c['uuid'])
        self.assertEqual(State.RELEASED, released['state'])
        self.assertHeld(c['consumer_uuid'], {})
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 1024}, self.usages(cmp1))
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 0}, self.usages(cmp2))
        self.assertRaises(reservation_api.ReservationEnded, m.release,
                          c['uuid'])
        # Nothing left for the reconciler.
        report = m.reconcile(list(self.rps.values()))
        self.assertEqual(0, report.released)
        self.assertEqual([], report.lost)

    def test_over_capacity_is_a_clear_failure(self):
        m = self.manager
        cmp1 = self.rps['cmp1']
        m.reserve({'VCPU': 6}, [cmp1], self.later(hours=1), key='first')
        # irra's own usage check refuses it before Placement is asked.
        exc = self.assertRaises(reservations.InsufficientCapacity,
                                m.reserve, {'VCPU': 3}, [cmp1],
                                self.later(hours=1), key='second')
        self.assertIn('only 2 free of 8 usable (6 used)', str(exc))
        self.assertIn(cmp1, str(exc))
        row = reservation_api.reservation_get_by_consumer(
            reservations.consumer_for_key(self.region, 'second'))
        self.assertEqual(State.FAILED, row['state'])
        self.assertEqual(6, self.usages(cmp1)['VCPU'])

    def test_placement_409_for_capacity_is_a_clear_failure(self):
        # Between irra's check and its write another consumer takes the
        # capacity: Placement's own 409 becomes the action's failure.
        cmp1 = self.rps['cmp1']
        thief = str(uuid.uuid4())

        def take_it(operation, consumer, attempt):
            self._call('PUT', '/allocations/%s' % thief, {
                'allocations': {cmp1: {'resources': {'VCPU': 5}}},
                'consumer_generation': None, 'consumer_type': 'INSTANCE',
                'project_id': PROJECT, 'user_id': USER})

        m = self._manager(hooks={'before_write': take_it})
        executor = reservation_executor.ReservationExecutor(m)
        action = actions.PlannedAction(
            constants.ActionType.RESERVE, 'surge-1',
            resource_kind=constants.ResourceKind.HOST,
            parameters={'resources': {'VCPU': 4}, 'providers': [cmp1],
                        'expires_at': self.later(hours=1).isoformat()},
        ).with_key('plan-1')
        outcome = executor.execute(action)
        self.assertEqual(constants.ActionState.FAILED, outcome.state)
        self.assertIn('Placement refused reservation', outcome.error)
        self.assertIn('VCPU', outcome.error)
        self.assertEqual(5, self.usages(cmp1)['VCPU'])
        row = reservation_api.reservation_get_by_consumer(
            reservations.consumer_for_key(self.region, action.key))
        self.assertEqual(State.FAILED, row['state'])

    def test_bad_requests_are_refused_before_placement(self):
        m = self.manager
        cmp1 = self.rps['cmp1']
        for args, text in (
                (({'VCPU': 0}, [cmp1], self.later(hours=1)),
                 'positive integer'),
                (({'vcpu': 1}, [cmp1], self.later(hours=1)),
                 'not a resource class'),
                (({'VCPU': 1}, [], self.later(hours=1)), 'no resource'),
                (({'VCPU': 1}, ['cmp1'], self.later(hours=1)), 'UUID'),
                (({'VCPU': 1}, [cmp1], self.now), 'not in the future'),
                (({'VCPU': 1}, [cmp1], 'tomorrow'), 'ISO 8601')):
            exc = self.assertRaises(reservations.InvalidReservation,
                                    m.reserve, *args)
            self.assertIn(text, str(exc))
        self.assertEqual({}, m.requests)
        exc = self.assertRaises(reservations.InsufficientCapacity,
                                m.reserve, {'DISK_GB': 1}, [cmp1],
                                self.later(hours=1))
        self.assertIn('has no DISK_GB inventory', str(exc))


class ReservationExecutorReconcileTest(PlacementReservationTestBase):

    def test_reconcile_after_a_restart(self):
        cmp1 = self.rps['cmp1']
        executor = reservation_executor.ReservationExecutor(self.manager)

        def reserve(key):
            return actions.PlannedAction(
                constants.ActionType.RESERVE, 'surge',
                resource_kind=constants.ResourceKind.HOST,
                parameters={'resources': {'VCPU': 2}, 'providers': [cmp1],
                            'ttl': 600}).with_key(key)

        # Never started: nothing in irra's database or in Placement.
        outcome = executor.reconcile(reserve('never'))
        self.assertEqual(constants.ActionState.PENDING, outcome.state)
        self.assertFalse(outcome.details['started'])
        # Stopped after Placement's write, before the row became ACTIVE.
        action = reserve('crashed')
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.execute(action).state)
        row = reservation_api.reservation_get_by_consumer(
            reservations.consumer_for_key(self.region, action.key))
        with reservation_api.transition_guard(row['uuid'], (State.ACTIVE,),
                                              State.PENDING):
            pass
        outcome = executor.reconcile(action)
        self.assertEqual(constants.ActionState.SUCCEEDED, outcome.state)
        self.assertEqual(State.ACTIVE, outcome.details['reservation_state'])
        # Running it again is the same reservation, not a second one.
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.execute(action).state)
        self.assertEqual(2, self.usages(cmp1)['VCPU'])
        # Its allocation deleted behind irra's back: reported, not hidden.
        self.adapter.delete('/allocations/%s' % row['consumer_uuid'])
        outcome = executor.reconcile(action)
        self.assertEqual(constants.ActionState.FAILED, outcome.state)
        self.assertIn('holds nothing in Placement', outcome.error)
        # RELEASE: PENDING until done, SUCCEEDED after.
        release = actions.PlannedAction(
            constants.ActionType.RELEASE, row['uuid']).with_key('rel')
        self.assertEqual(constants.ActionState.PENDING,
                         executor.reconcile(release).state)
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.execute(release).state)
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.reconcile(release).state)
        again = executor.execute(release)
        self.assertEqual(constants.ActionState.SUCCEEDED, again.state)
        self.assertTrue(again.details['already'])


class ReservationConcurrencyTest(PlacementReservationTestBase):

    def _race(self, jobs):
        """Run ``jobs`` (callables) in threads started together."""
        barrier = threading.Barrier(len(jobs))
        results = [None] * len(jobs)

        def run(i, job):
            barrier.wait()
            try:
                results[i] = job()
            except Exception as exc:  # noqa: B902 - collected for asserts
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i, job))
                   for i, job in enumerate(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return results

    def test_two_managers_on_one_provider_never_over_allocate(self):
        cmp1 = self.rps['cmp1']
        managers = [self._manager(), self._manager()]
        # 5 + 5 > 8: exactly one of them may hold its reservation.
        results = self._race([
            (lambda m=m, i=i: m.reserve({'VCPU': 5}, [cmp1],
                                        self.later(hours=1), key='r%d' % i))
            for i, m in enumerate(managers)])
        ok = [r for r in results if isinstance(r, dict)]
        failed = [r for r in results if isinstance(r, Exception)]
        self.assertEqual(1, len(ok), results)
        self.assertEqual(State.ACTIVE, ok[0]['state'])
        self.assertEqual(1, len(failed), results)
        self.assertIsInstance(failed[0], (reservations.InsufficientCapacity,
                                          reservations.ReservationRefused))
        self.assertEqual(5, self.usages(cmp1)['VCPU'])
        states = sorted(reservation_api.reservation_get_by_consumer(
            reservations.consumer_for_key(self.region, k))['state']
            for k in ('r0', 'r1'))
        self.assertEqual([State.ACTIVE, State.FAILED], states)

        # 2 + 1 fit in the 3 left: both succeed, and the provider is full.
        results = self._race([
            (lambda m=m, i=i, n=n: m.reserve(
                {'VCPU': n}, [cmp1], self.later(hours=1), key='s%d' % i))
            for i, (m, n) in enumerate(zip(managers, (2, 1)))])
        self.assertTrue(all(isinstance(r, dict) for r in results), results)
        self.assertEqual(8, self.usages(cmp1)['VCPU'])

    def test_same_key_from_two_processes_is_one_reservation(self):
        cmp1 = self.rps['cmp1']
        managers = [self._manager(), self._manager()]
        results = self._race([
            (lambda m=m: m.reserve({'VCPU': 3}, [cmp1],
                                   self.later(hours=1), key='same'))
            for m in managers])
        self.assertTrue(all(isinstance(r, dict) for r in results), results)
        self.assertEqual(results[0]['uuid'], results[1]['uuid'])
        self.assertEqual(3, self.usages(cmp1)['VCPU'])
        self.assertEqual(1, len(reservation_api.reservation_list(
            region=self.region)))

    def test_generation_conflict_is_retried_on_fresh_state(self):
        # The instance's consumer changes between irra's read and its
        # write: Placement answers 409 placement.concurrent_update, and the
        # manager reads again and keeps what the other writer added.
        cmp1, cmp2 = self.rps['cmp1'], self.rps['cmp2']
        vm = str(uuid.uuid4())
        self._call('PUT', '/allocations/%s' % vm, {
            'allocations': {cmp2: {'resources': {'VCPU': 1}}},
            'consumer_generation': None, 'consumer_type': 'INSTANCE',
            'project_id': PROJECT, 'user_id': USER})
        writes = []

        def meddle(operation, consumer, attempt):
            writes.append((operation, attempt))
            if operation == 'convert' and attempt == 1:
                gen = self.allocations(vm)['consumer_generation']
                self._call('PUT', '/allocations/%s' % vm, {
                    'allocations': {cmp2: {'resources': {'VCPU': 2}}},
                    'consumer_generation': gen, 'consumer_type': 'INSTANCE',
                    'project_id': PROJECT, 'user_id': USER})

        m = self._manager(hooks={'before_write': meddle})
        r = m.reserve({'VCPU': 3}, [cmp1], self.later(hours=1))
        m.convert(r['uuid'], vm, PROJECT, USER)
        self.assertEqual([('reserve', 1), ('convert', 1), ('convert', 2)],
                         writes)
        self.assertHeld(vm, {cmp1: {'VCPU': 3}, cmp2: {'VCPU': 2}})
        self.assertHeld(r['consumer_uuid'], {})

    def test_conflicts_that_never_stop_fail_clearly(self):
        cmp1 = self.rps['cmp1']
        vm = str(uuid.uuid4())

        def meddle(operation, consumer, attempt):
            if operation == 'convert':
                # Someone rewrites the instance before every write.
                body = self.allocations(vm)
                self._call('PUT', '/allocations/%s' % vm, {
                    'allocations': {cmp1: {'resources': {'VCPU': 1}}},
                    'consumer_generation': body.get('consumer_generation'),
                    'consumer_type': 'INSTANCE',
                    'project_id': PROJECT, 'user_id': USER})

        m = self._manager(hooks={'before_write': meddle}, max_attempts=3)
        r = m.reserve({'VCPU': 2}, [cmp1], self.later(hours=1))
        exc = self.assertRaises(reservations.TooManyConflicts, m.convert,
                                r['uuid'], vm, PROJECT, USER)
        self.assertIn('after 3 attempts', str(exc))
        # Rolled back: still ACTIVE, still holding its capacity.
        self.assertEqual(State.ACTIVE,
                         reservation_api.reservation_get(r['uuid'])['state'])
        self.assertHeld(r['consumer_uuid'], {cmp1: {'VCPU': 2}})


class LeakReconcilerTest(PlacementReservationTestBase):

    def test_orphans_leaks_and_pending_are_reconciled(self):
        m = self.manager
        cmp1, cmp2 = self.rps['cmp1'], self.rps['cmp2']
        kept = m.reserve({'VCPU': 2}, [cmp1], self.later(hours=1), key='k')
        # An instance, which the reconciler must leave alone.
        vm = str(uuid.uuid4())
        self._call('PUT', '/allocations/%s' % vm, {
            'allocations': {cmp1: {'resources': {'VCPU': 1}}},
            'consumer_generation': None, 'consumer_type': 'INSTANCE',
            'project_id': PROJECT, 'user_id': USER})
        # An orphan made behind irra's back: a reservation consumer that
        # irra's database does not know.
        orphan = str(uuid.uuid4())
        self._call('PUT', '/allocations/%s' % orphan, {
            'allocations': {cmp2: {'resources': {'VCPU': 3}}},
            'consumer_generation': None,
            'consumer_type': reservations.CONSUMER_TYPE,
            'project_id': PROJECT, 'user_id': USER})
        # A reservation released through irra-api (database only), whose
        # allocation is still in Placement.
        leaked = m.reserve({'VCPU': 1}, [cmp2], self.later(hours=1), key='l')
        reservation_api.reservation_release(leaked['uuid'])
        # An expired one.
        old = m.reserve({'VCPU': 1}, [cmp1], self.later(minutes=5), key='o')
        self.assertEqual({'VCPU': 4}, {'VCPU': self.usages(cmp1)['VCPU']})
        self.assertEqual(4, self.usages(cmp2)['VCPU'])
        self.now = self.later(minutes=6)

        report = m.reconcile()  # every provider of the region
        self.assertEqual([old['uuid']], report.expired)
        self.assertEqual([orphan], report.orphans)
        self.assertEqual([leaked['consumer_uuid']], report.leaked)
        self.assertEqual([], report.lost)
        self.assertHeld(orphan, {})
        self.assertHeld(leaked['consumer_uuid'], {})
        self.assertHeld(old['consumer_uuid'], {})
        self.assertHeld(kept['consumer_uuid'], {cmp1: {'VCPU': 2}})
        self.assertHeld(vm, {cmp1: {'VCPU': 1}})
        self.assertEqual(3, self.usages(cmp1)['VCPU'])
        self.assertEqual(0, self.usages(cmp2)['VCPU'])
        # The instance's type was read once and remembered.
        checked = report.consumers_checked
        self.assertEqual(2, checked)  # the instance and the orphan
        again = m.reconcile(list(self.rps.values()))
        self.assertEqual(0, again.released)
        self.assertEqual(0, again.consumers_checked)

    def test_pending_with_allocation_becomes_active_and_lost_reported(self):
        m = self.manager
        cmp1 = self.rps['cmp1']
        # A crash between Placement's write and the database's ACTIVE:
        # the row is PENDING while the allocation exists.
        r = m.reserve({'VCPU': 2}, [cmp1], self.later(hours=1), key='p')
        with reservation_api.transition_guard(r['uuid'], (State.ACTIVE,),
                                              State.PENDING):
            pass
        # And an ACTIVE reservation whose allocation someone deleted.
        gone = m.reserve({'VCPU': 1}, [cmp1], self.later(hours=1), key='g')
        self.adapter.delete('/allocations/%s' % gone['consumer_uuid'])
        report = m.reconcile([cmp1])
        self.assertEqual([r['uuid']], report.promoted)
        self.assertEqual([gone['uuid']], report.lost)
        self.assertEqual(State.ACTIVE,
                         reservation_api.reservation_get(r['uuid'])['state'])

    def test_a_failed_release_does_not_stop_the_pass(self):
        cmp1, cmp2 = self.rps['cmp1'], self.rps['cmp2']
        orphans = sorted(str(uuid.uuid4()) for _ in range(2))
        for orphan, rp in zip(orphans, (cmp1, cmp2)):
            self._call('PUT', '/allocations/%s' % orphan, {
                'allocations': {rp: {'resources': {'VCPU': 1}}},
                'consumer_generation': None,
                'consumer_type': reservations.CONSUMER_TYPE,
                'project_id': PROJECT, 'user_id': USER})
        old = self.manager.reserve({'VCPU': 1}, [cmp2],
                                   self.later(minutes=5), key='old')
        self.now = self.later(minutes=6)
        broken = {orphans[0], old['consumer_uuid']}

        def placement_fails(operation, consumer, attempt):
            if consumer in broken:
                raise reservations.PlacementError(
                    method='PUT', path='/allocations/%s' % consumer,
                    detail='HTTP 503: injected')

        m = self._manager(hooks={'before_write': placement_fails})
        report = m.reconcile()
        self.assertEqual([orphans[1]], report.orphans)
        self.assertEqual([], report.expired)
        self.assertEqual(2, len(report.errors))
        self.assertIn('injected', report.errors[0])
        # The expired one is still ACTIVE and still held; the next pass,
        # with Placement well again, finishes the job.
        self.assertEqual(State.ACTIVE,
                         reservation_api.reservation_get(old['uuid'])['state'])
        self.assertHeld(old['consumer_uuid'], {cmp2: {'VCPU': 1}})
        broken.clear()
        report = m.reconcile()
        self.assertEqual([old['uuid']], report.expired)
        self.assertEqual([orphans[0]], report.orphans)
        self.assertEqual([], report.errors)
        self.assertEqual(0, self.usages(cmp1)['VCPU'])
        self.assertEqual(0, self.usages(cmp2)['VCPU'])

    def test_periodic_reconciler_runs_at_start(self):
        cmp2 = self.rps['cmp2']
        orphan = str(uuid.uuid4())
        self._call('PUT', '/allocations/%s' % orphan, {
            'allocations': {cmp2: {'resources': {'VCPU': 3}}},
            'consumer_generation': None,
            'consumer_type': reservations.CONSUMER_TYPE,
            'project_id': PROJECT, 'user_id': USER})
        loop = reservations.PeriodicReconciler(self.manager, interval=3600)
        loop.start()
        # The first pass runs at start; stop() waits for it to finish.
        loop.stop(timeout=60)
        self.assertEqual(1, loop.passes)
        self.assertEqual([orphan], loop.last_report.orphans)
        self.assertHeld(orphan, {})


class ReservationLifecycleMySQLTest(ReservationLifecycleTest):
    """The same on MariaDB: the row lock of a transition is InnoDB's."""

    BACKEND = 'mysql'


class ReservationConcurrencyMySQLTest(ReservationConcurrencyTest):
    BACKEND = 'mysql'
