"""The wave runner on a migrated sqlite database, with a recording executor.

The executor here is a real ``Executor`` for the runner: it records every
call, counts how many actions run at once (overall and per host), and
answers what each test tells it to. No service is mocked: there is none.
"""

import collections
import threading

from oslo_utils import uuidutils

from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack.executor import base
from irra_openstack.optimizer import actions as planned
from irra_openstack.rrm import waves
from tests.unit.db import base as db_base

State = constants.ActionState


class RecordingExecutor(base.Executor):
    """Records calls; outcomes by resource id; tracks concurrency."""

    name = 'recording'
    action_types = ('live_migrate', 'cold_migrate')

    def __init__(self, outcomes=None, gate=None):
        self.outcomes = dict(outcomes or {})
        self.gate = gate
        self.calls = []
        self.reconciled = []
        self.cancelled = []
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.hosts_now = collections.Counter()
        self.hosts_peak = collections.Counter()
        self.order = []

    def execute(self, action):
        hosts = waves.action_hosts(action)
        with self.lock:
            self.calls.append(action['idempotency_key'])
            self.order.append((action['resource_id'],
                               waves.action_wave(action)))
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.hosts_now.update(hosts)
            for h in hosts:
                self.hosts_peak[h] = max(self.hosts_peak[h],
                                         self.hosts_now[h])
        try:
            if self.gate is not None:
                self.gate.wait(30)
            result = self.outcomes.get(action['resource_id'], 'SUCCEEDED')
            if isinstance(result, Exception):
                raise result
            return base.Outcome(state=result, destination='dest-of-%s'
                                % action['resource_id'])
        finally:
            with self.lock:
                self.now -= 1
                self.hosts_now.subtract(hosts)

    def reconcile(self, action):
        self.reconciled.append(action['idempotency_key'])
        return base.Outcome(state=self.outcomes.get(
            'reconcile:' + action['resource_id'], State.SUCCEEDED))

    def cancel(self, action):
        self.cancelled.append(action['idempotency_key'])
        return base.Outcome(state=State.CANCELLED)


class WaveRunnerTest(db_base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.plan = uuidutils.generate_uuid()
        self.executor = RecordingExecutor()

    def runner(self, **kwargs):
        kwargs.setdefault('poll_interval', 0.01)
        return waves.WaveRunner('R1', lambda t: self.executor, **kwargs)

    def action(self, vm, wave=0, source='h1', destination='h2',
               depends_on=(), region='R1', action_type='live_migrate'):
        act = planned.PlannedAction(
            action_type, vm, source=source, destination=destination,
            wave=wave, depends_on=tuple(depends_on)).with_key(self.plan)
        record = act.as_record()
        record['reason']['region'] = region
        return record

    def store(self, records):
        return plan_api.actions_ensure(self.plan, records)

    def states(self):
        _plan, actions = plan_api.plan_actions(self.plan)
        return {a['resource_id']: a['state'] for a in actions}

    def test_waves_in_order_and_plan_succeeds(self):
        records = [self.action('vm%d' % i, wave=2 - i % 3,
                               source='h%d' % i, destination='d%d' % i)
                   for i in range(9)]
        self.store(records)
        counts = self.runner(max_parallel=3).run_plan(self.plan)
        self.assertEqual({State.SUCCEEDED: 9}, counts)
        waves_seen = [w for _vm, w in self.executor.order]
        self.assertEqual(sorted(waves_seen), waves_seen)
        plan = plan_api.plan_get(self.plan)
        self.assertEqual(constants.PlanState.SUCCEEDED, plan['state'])
        _p, actions = plan_api.plan_actions(self.plan)
        self.assertEqual({'dest-of-%s' % a['resource_id'] for a in actions},
                         {a['destination'] for a in actions})

    def test_one_failure_fails_the_plan_and_skips_dependents(self):
        self.executor.outcomes['vm1'] = base.ExecutionError(
            key='k', reason='no host')
        first = self.action('vm1', wave=0)
        records = [first, self.action('vm2', wave=0, source='h3',
                                      destination='h4'),
                   self.action('vm3', wave=1,
                               depends_on=[first['idempotency_key']])]
        self.store(records)
        self.runner().run_plan(self.plan)
        self.assertEqual({'vm1': State.FAILED, 'vm2': State.SUCCEEDED,
                          'vm3': State.SKIPPED}, self.states())
        self.assertEqual(constants.PlanState.FAILED,
                         plan_api.plan_get(self.plan)['state'])
        failed = plan_api.action_get_by_key(first['idempotency_key'])
        self.assertIn('no host', failed['error'])
        skipped = plan_api.action_get_by_key(records[2]['idempotency_key'])
        self.assertIn(first['idempotency_key'], skipped['error'])
        # vm3 never ran.
        self.assertEqual(2, len(self.executor.calls))

    def test_an_unexpected_exception_is_a_failure_with_its_message(self):
        self.executor.outcomes['vm1'] = RuntimeError('driver exploded')
        self.store([self.action('vm1')])
        self.runner().run_plan(self.plan)
        action = plan_api.plan_actions(self.plan)[1][0]
        self.assertEqual(State.FAILED, action['state'])
        self.assertEqual('RuntimeError: driver exploded', action['error'])

    def test_concurrency_limits(self):
        # 12 actions, all through host "hot": at most 2 at once on it;
        # 12 on other hosts: at most 4 at once in all.
        records = [self.action('hot%d' % i, source='hot',
                               destination='c%d' % i) for i in range(12)]
        records += [self.action('vm%d' % i, source='a%d' % i,
                                destination='b%d' % i) for i in range(12)]
        self.store(records)
        self.runner(max_parallel=4, max_per_host=2).run_plan(self.plan)
        self.assertEqual(24, len(self.executor.calls))
        self.assertLessEqual(self.executor.peak, 4)
        self.assertLessEqual(self.executor.hosts_peak['hot'], 2)
        self.assertEqual({State.SUCCEEDED}, set(self.states().values()))

    def test_a_claimed_action_is_never_run_twice(self):
        records = [self.action('vm%d' % i, source='s%d' % i,
                               destination='t%d' % i) for i in range(6)]
        self.store(records)
        # Two runners of the same region (a repeated message, a second
        # process) race on the same plan.
        gate = threading.Event()
        self.executor.gate = gate
        one, two = self.runner(max_parallel=6), self.runner(max_parallel=6)
        threads = [threading.Thread(target=r.run_plan, args=(self.plan,))
                   for r in (one, two)]
        for t in threads:
            t.start()
        gate.set()
        for t in threads:
            t.join(30)
        self.assertEqual(6, len(self.executor.calls))
        self.assertEqual(6, len(set(self.executor.calls)))
        self.assertEqual(6, sum(one.executed.values()) +
                         sum(two.executed.values()))
        # Storing and running the plan again changes nothing.
        _plan, created = self.store(records)
        self.assertEqual(0, created)
        self.runner().run_plan(self.plan)
        self.assertEqual(6, len(self.executor.calls))

    def test_an_action_of_no_known_region_is_nobodys(self):
        record = self.action('vm1')
        del record['reason']['region']
        self.store([record])
        self.assertEqual({}, self.runner().run_plan(self.plan))
        self.assertEqual([], self.runner().plans_to_resume())
        self.assertEqual({'vm1': State.PENDING}, self.states())
        self.assertEqual([], self.executor.calls)

    def test_other_regions_actions_are_left_alone(self):
        mine = self.action('vm1')
        theirs = self.action('vm2', region='R2')
        self.store([mine, theirs])
        self.runner().run_plan(self.plan)
        self.assertEqual({'vm1': State.SUCCEEDED, 'vm2': State.PENDING},
                         self.states())
        self.assertEqual(constants.PlanState.ONGOING,
                         plan_api.plan_get(self.plan)['state'])

    def test_waits_for_a_dependency_in_another_region(self):
        theirs = self.action('vm2', region='R2')
        mine = self.action('vm1', depends_on=[theirs['idempotency_key']])
        self.store([theirs, mine])
        runner = self.runner()
        thread = threading.Thread(target=runner.run_plan, args=(self.plan,))
        thread.start()
        # The other region runs its action.
        other = waves.WaveRunner('R2', lambda t: self.executor,
                                 poll_interval=0.01)
        other.run_plan(self.plan)
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(['vm2', 'vm1'],
                         [vm for vm, _w in self.executor.order])
        self.assertEqual(constants.PlanState.SUCCEEDED,
                         plan_api.plan_get(self.plan)['state'])

    def test_unknown_dependency_is_skipped_with_the_reason(self):
        self.store([self.action('vm1', depends_on=['live_migrate:nope'])])
        self.runner().run_plan(self.plan)
        action = plan_api.plan_actions(self.plan)[1][0]
        self.assertEqual(State.SKIPPED, action['state'])
        self.assertIn('live_migrate:nope', action['error'])
        self.assertEqual([], self.executor.calls)

    def test_reconcile_settles_actions_left_ongoing(self):
        records = [self.action('vm1'), self.action('vm2', source='x',
                                                   destination='y')]
        self.store(records)
        # A process claimed both, then died.
        for record in records:
            plan_api.action_claim(record['idempotency_key'])
        self.executor.outcomes['reconcile:vm2'] = State.FAILED
        report = self.runner().reconcile()
        self.assertEqual({'checked': 2, 'failed': 0,
                          'settled': {State.SUCCEEDED: 1, State.FAILED: 1}},
                         report)
        self.assertEqual([], self.executor.calls)
        self.assertEqual({'vm1': State.SUCCEEDED, 'vm2': State.FAILED},
                         self.states())
        self.assertEqual(constants.PlanState.FAILED,
                         plan_api.plan_get(self.plan)['state'])

    def test_reconcile_leaves_still_ongoing_actions(self):
        record = self.action('vm1')
        self.store([record])
        plan_api.action_claim(record['idempotency_key'])
        self.executor.outcomes['reconcile:vm1'] = State.ONGOING
        report = self.runner().reconcile()
        self.assertEqual(1, report['checked'])
        self.assertEqual({}, report['settled'])
        self.assertEqual({'vm1': State.ONGOING}, self.states())

    def test_reconcile_runs_a_claimed_action_that_never_started(self):
        record = self.action('vm1')
        self.store([record])
        # Claimed, then the process died before the executor began.
        plan_api.action_claim(record['idempotency_key'])
        self.executor.outcomes['reconcile:vm1'] = State.PENDING
        report = self.runner().reconcile()
        self.assertEqual({State.SUCCEEDED: 1}, report['settled'])
        self.assertEqual([record['idempotency_key']], self.executor.calls)
        self.assertEqual({'vm1': State.SUCCEEDED}, self.states())

    def test_ongoing_outcome_is_polled_until_final(self):
        self.executor.outcomes['vm1'] = State.ONGOING
        self.store([self.action('vm1')])
        self.runner().run_plan(self.plan)
        self.assertEqual(1, len(self.executor.reconciled))
        self.assertEqual({'vm1': State.SUCCEEDED}, self.states())

    def test_ongoing_beyond_the_timeout_is_cancelled_and_failed(self):
        self.executor.outcomes['vm1'] = State.ONGOING
        self.executor.outcomes['reconcile:vm1'] = State.ONGOING
        self.store([self.action('vm1')])
        clock = iter(range(0, 10 ** 6, 10))
        runner = self.runner(action_timeout=25, clock=lambda: next(clock))
        runner.run_plan(self.plan)
        action = plan_api.plan_actions(self.plan)[1][0]
        self.assertEqual(State.FAILED, action['state'])
        self.assertIn('cancelled', action['error'])
        self.assertEqual(1, len(self.executor.cancelled))

    def test_cancel_pending_actions(self):
        self.store([self.action('vm1'), self.action('vm2', wave=1)])
        result = self.runner().cancel(self.plan)
        self.assertEqual({State.CANCELLED}, set(result.values()))
        self.assertEqual(constants.PlanState.CANCELLED,
                         plan_api.plan_get(self.plan)['state'])
        self.runner().run_plan(self.plan)
        self.assertEqual([], self.executor.calls)

    def test_resumable_plans(self):
        self.store([self.action('vm1'), self.action('vm2', region='R2')])
        self.assertEqual([self.plan], self.runner().plans_to_resume())
        self.runner().run_plan(self.plan)
        self.assertEqual([], self.runner().plans_to_resume())


class ExecutorRegistryTest(db_base.DBTestCase):

    def test_class_path_and_factory(self):
        built = []

        def factory(cls, conf, region):
            built.append((cls, region))
            return cls()

        registry = waves.ExecutorRegistry(
            {'live_migrate': '%s.RecordingExecutor' % __name__}, factory,
            region='R1')
        executor = registry('live_migrate')
        self.assertIsInstance(executor, RecordingExecutor)
        self.assertIs(executor, registry('live_migrate'))
        self.assertEqual([(RecordingExecutor, 'R1')], built)

    def test_errors_are_clear(self):
        registry = waves.ExecutorRegistry(
            {'live_migrate': 'tests.nowhere.Nothing',
             'cold_migrate': 'collections.OrderedDict'}, region='R1')
        self.assertRaisesRegex(waves.ExecutorNotConfigured,
                               'no executor for actions of type relocate',
                               registry, 'relocate')
        self.assertRaisesRegex(waves.ExecutorLoadError,
                               'cannot import tests.nowhere', registry,
                               'live_migrate')
        self.assertRaisesRegex(waves.ExecutorLoadError,
                               'not a subclass', registry, 'cold_migrate')

    def test_missing_executor_fails_the_action(self):
        plan = uuidutils.generate_uuid()
        record = planned.PlannedAction('relocate', 'vm1').with_key(
            plan).as_record()
        # No region on the action: the plan's scope says which.
        plan_api.actions_ensure(plan, [record], scope={'region': 'R1'})
        registry = waves.ExecutorRegistry({}, region='R1')
        waves.WaveRunner('R1', registry, poll_interval=0.01).run_plan(plan)
        action = plan_api.plan_actions(plan)[1][0]
        self.assertEqual(State.FAILED, action['state'])
        self.assertIn('[rrm] executors', action['error'])

    def test_fault_injecting_executor(self):
        inner = RecordingExecutor()
        faulty = waves.FaultInjectingExecutor(inner)
        faulty.fail_next('k1')
        action = {'idempotency_key': 'k1', 'resource_id': 'vm1'}
        self.assertRaises(base.ExecutionError, faulty.execute, action)
        self.assertEqual(State.SUCCEEDED, faulty.execute(action).state)
        self.assertEqual({'fail': 1}, dict(faulty.injected))
        self.assertEqual(['k1'], inner.calls)


class PlanStateGuardTest(db_base.DBTestCase):

    def record(self, plan, vm):
        return planned.PlannedAction('live_migrate', vm).with_key(
            plan).as_record()

    def test_a_plan_waiting_for_approval_is_not_run(self):
        plan = plan_api.plan_create({}, 'manual', 'p1')
        self.assertRaisesRegex(
            plan_api.StateConflict, 'is PENDING; running actions needs it '
            'to be APPROVED or ONGOING', plan_api.actions_ensure,
            plan['uuid'], [self.record(plan['uuid'], 'vm1')])

    def test_no_claim_once_the_plan_is_cancelled(self):
        plan = uuidutils.generate_uuid()
        record = self.record(plan, 'vm1')
        plan_api.actions_ensure(plan, [record])
        plan_api.plan_transition(plan, (constants.PlanState.APPROVED,),
                                 constants.PlanState.CANCELLED, 'cancel')
        self.assertIsNone(plan_api.action_claim(record['idempotency_key']))
        self.assertEqual(State.CANCELLED, plan_api.action_get_by_key(
            record['idempotency_key'])['state'])

    def test_a_key_of_another_plan_is_refused(self):
        one, two = uuidutils.generate_uuid(), uuidutils.generate_uuid()
        record = self.record(one, 'vm1')
        plan_api.actions_ensure(one, [record])
        self.assertRaisesRegex(plan_api.ActionKeyConflict,
                               'belongs to an action of plan %s' % one,
                               plan_api.actions_ensure, two, [record])

    def test_a_repeated_message_for_an_ended_plan_changes_nothing(self):
        plan = uuidutils.generate_uuid()
        record = self.record(plan, 'vm1')
        plan_api.actions_ensure(plan, [record])
        plan_api.action_claim(record['idempotency_key'])
        plan_api.action_finish(record['idempotency_key'], State.SUCCEEDED)
        after, created = plan_api.actions_ensure(plan, [record])
        self.assertEqual((constants.PlanState.SUCCEEDED, 0),
                         (after['state'], created))
