"""The wave runner: a plan's actions of one region, run wave by wave.

A plan's actions carry a wave number and the idempotency keys they depend
on (:class:`~irra_openstack.optimizer.actions.PlannedAction`; both are kept
in the action's ``reason`` in the database, with the region that runs it).
:class:`WaveRunner` runs the actions of its region:

- **wave by wave**: no action of wave *n + 1* starts before every action of
  this region in waves up to *n* has ended (an action without a wave runs
  in wave 0);
- **in dependency order**: an action starts once every action it depends
  on, of any region, has SUCCEEDED or been SKIPPED; when one of them
  FAILED or was CANCELLED, the action is SKIPPED with the reason;
- **under limits**: at most ``max_parallel`` actions at once in the region
  and ``max_per_host`` at once on any host (as source or destination);
- **once**: before running an action the runner claims it in the database
  with a compare-and-set PENDING -> ONGOING
  (:func:`~irra_openstack.db.plan_api.action_claim`). A repeated message,
  a second runner or a restart finds it claimed and leaves it alone;
- **durably**: the action ends with a compare-and-set ONGOING -> SUCCEEDED
  / FAILED / CANCELLED that also settles the plan
  (:func:`~irra_openstack.db.plan_api.action_finish`): a plan is never
  SUCCEEDED when one of its actions FAILED.

A process that dies between the claim and the end leaves the action
ONGOING. :meth:`WaveRunner.reconcile`, run at start-up and periodically by
irra-rrm, asks the action's executor what became of it
(:meth:`Executor.reconcile`, which reads Nova's migration records or
Placement's allocations and never starts the action again) and records the
answer.

Fault injection: ``hooks`` ({point: callable}) are called at
``before_execute`` and ``after_execute`` (with ``action``, and
``outcome`` after), and :class:`FaultInjectingExecutor` wraps an executor to
fail or hang chosen actions on command.
"""

import collections
from concurrent import futures
import importlib
import threading
import time

from oslo_db import exception as db_exception
from oslo_log import log as logging
from sqlalchemy import exc as sa_exc

from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack import exception
from irra_openstack.executor import base
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

State = constants.ActionState

#: Dependency states that let an action start, and that stop it.
_DEPS_DONE = frozenset((State.SUCCEEDED, State.SKIPPED))
_DEPS_BROKEN = frozenset((State.FAILED, State.CANCELLED))


#: Database errors worth trying again (a lock, a lost connection).
_DB_TRANSIENT = (db_exception.DBDeadlock, db_exception.DBConnectionError,
                 sa_exc.OperationalError)


class ExecutorNotConfigured(exception.IrraError):
    msg_fmt = ("Region %(region)s has no executor for actions of type "
               "%(action_type)s; name one in [rrm] executors.")


class LoadError(exception.IrraError):
    msg_fmt = "Cannot load %(name)s: %(reason)s"


class ExecutorLoadError(LoadError):
    msg_fmt = "Cannot build the executor %(name)s: %(reason)s"


def import_object(path):
    """The object named by ``path``: "pkg.module.name" or "pkg.module:name".

    :raises LoadError: it cannot be imported.
    """
    if ':' in path:
        module_name, _sep, attr = path.partition(':')
    else:
        module_name, _sep, attr = path.rpartition('.')
    if not module_name or not attr:
        raise LoadError(name=path,
                        reason='not a "package.module.name" path')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LoadError(name=path, reason='cannot import %s (%s)'
                        % (module_name, exc))
    try:
        return getattr(module, attr)
    except AttributeError:
        raise LoadError(name=path, reason='%s has no %s'
                        % (module_name, attr))


def executor_class(name):
    """The Executor class that ``name`` (plugin name or path) designates."""
    if '.' in name or ':' in name:
        try:
            cls = import_object(name)
        except LoadError as exc:
            raise ExecutorLoadError(name=name, reason=exc.kwargs['reason'])
        if not (isinstance(cls, type) and issubclass(cls, base.Executor)):
            raise ExecutorLoadError(
                name=name, reason='%r is not a subclass of '
                'irra_openstack.executor.base.Executor' % (cls,))
        return cls
    return plugins.load_class('irra.executors', name, base=base.Executor)


def default_factory(cls, conf, region):
    """Build ``cls`` with its ``from_config`` class method, or no argument."""
    from_config = getattr(cls, 'from_config', None)
    if callable(from_config):
        return from_config(conf, region)
    return cls()


class ExecutorRegistry:
    """The executor of each action type of one region, built on first use.

    :param names: {action_type: plugin name or class path}.
    :param factory: factory(cls, conf, region) -> Executor.
    """

    def __init__(self, names, factory=default_factory, conf=None,
                 region=None):
        self.names = dict(names)
        self.factory = factory
        self.conf = conf
        self.region = region
        self._built = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, conf):
        """The registry that [rrm] executors and executor_factory say."""
        factory = default_factory
        if conf.rrm.executor_factory:
            factory = import_object(conf.rrm.executor_factory)
        return cls(conf.rrm.executors, factory, conf, conf.rrm.region_name)

    def __call__(self, action_type):
        """The executor of ``action_type``.

        :raises ExecutorNotConfigured, ExecutorLoadError, PluginError.
        """
        name = self.names.get(action_type)
        if not name:
            raise ExecutorNotConfigured(region=self.region,
                                        action_type=action_type)
        with self._lock:
            if name not in self._built:
                cls = executor_class(name)
                try:
                    executor = self.factory(cls, self.conf, self.region)
                except exception.IrraError:
                    raise
                except Exception as exc:
                    raise ExecutorLoadError(
                        name=name, reason='%s: %s' % (type(exc).__name__,
                                                      exc))
                if not isinstance(executor, base.Executor):
                    raise ExecutorLoadError(
                        name=name, reason='the factory returned %r, not an '
                        'Executor' % (executor,))
                self._built[name] = executor
            return self._built[name]


def action_wave(action):
    """The wave of an action dict (0 when it has none)."""
    wave = (action.get('reason') or {}).get('wave')
    return 0 if wave is None else int(wave)


def action_depends_on(action):
    """The idempotency keys an action dict depends on."""
    return tuple((action.get('reason') or {}).get('depends_on') or ())


def action_region(action, plan=None):
    """The region that runs an action dict, or None.

    An action names its region in ``reason['region']``; one that does not
    (a plan of one region, stored by the engine) is run by the region of
    its plan's scope, when ``plan`` (its plan dict) is given.
    """
    region = (action.get('reason') or {}).get('region')
    if region is None and plan is not None:
        region = (plan.get('scope') or {}).get('region')
    return region


def action_hosts(action):
    """The hosts an action dict involves (source and destination)."""
    if action.get('resource_kind') == constants.ResourceKind.REGION:
        return ()
    return tuple(h for h in (action.get('source'),
                             action.get('destination')) if h)


class FaultInjectingExecutor(base.Executor):
    """An executor wrapper that fails or hangs chosen actions, on command.

    For fault-injection tests and benchmarks. Faults are armed by
    idempotency key, or by ``'*'`` for any action, and are used up one per
    execution:

    - :meth:`fail_next` makes the next executions raise
      :class:`~irra_openstack.executor.base.ExecutionError`;
    - :meth:`hang_next` makes them wait until :meth:`release` (or the
      hang's timeout) before running the wrapped executor.

    Everything else goes to the wrapped executor.
    """

    name = 'fault_injecting'
    description = 'Wraps an executor and fails or hangs actions on command.'

    def __init__(self, inner):
        self.inner = inner
        self.action_types = inner.action_types
        self._lock = threading.Lock()
        self._fail = collections.Counter()
        self._hang = collections.Counter()
        self._released = threading.Event()
        self.hang_timeout = 3600.0
        #: Faults used, by kind ("fail", "hang").
        self.injected = collections.Counter()

    def fail_next(self, key='*', times=1):
        with self._lock:
            self._fail[key] += times

    def hang_next(self, key='*', times=1, timeout=3600.0):
        with self._lock:
            self._released.clear()
            self._hang[key] += times
            self.hang_timeout = timeout

    def release(self):
        """Let the hung executions go on."""
        self._released.set()

    def _take(self, armed, key):
        with self._lock:
            for k in (key, '*'):
                if armed[k] > 0:
                    armed[k] -= 1
                    return True
        return False

    def execute(self, action):
        key = action['idempotency_key']
        if self._take(self._hang, key):
            self.injected['hang'] += 1
            self._released.wait(self.hang_timeout)
        if self._take(self._fail, key):
            self.injected['fail'] += 1
            raise base.ExecutionError(key=key, reason='injected failure')
        return self.inner.execute(action)

    def reconcile(self, action):
        return self.inner.reconcile(action)

    def cancel(self, action):
        return self.inner.cancel(action)


class WaveRunner:
    """Runs the actions of one region's plans.

    :param region: the region whose actions this runner runs.
    :param executors: callable(action_type) -> Executor (an
        :class:`ExecutorRegistry`).
    :param notifier: an :class:`irra_openstack.rrm.notifications.
        RRMNotifier` or None.
    :param max_parallel: actions at once in the region.
    :param max_per_host: actions at once on a host.
    :param poll_interval: seconds between looks at the database when
        waiting for another region, and between reconcile() calls on an
        action left ONGOING by its executor.
    :param action_timeout: seconds after which an action still ONGOING is
        cancelled and FAILED.
    :param hooks: {point: callable(**details)}, for fault injection.
    :param sleep: how to wait (injectable).
    """

    def __init__(self, region, executors, notifier=None, max_parallel=4,
                 max_per_host=2, poll_interval=1.0, action_timeout=3600,
                 hooks=None, sleep=time.sleep, clock=time.monotonic):
        if max_parallel < 1 or max_per_host < 1:
            raise exception.ConfigError(
                reason='the concurrency limits must be at least 1, not '
                       '%r and %r' % (max_parallel, max_per_host))
        self.region = region
        self.executors = executors
        self.notifier = notifier
        self.max_parallel = max_parallel
        self.max_per_host = max_per_host
        self.poll_interval = poll_interval
        self.action_timeout = action_timeout
        self.hooks = dict(hooks or {})
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        #: Keys of the actions that a thread of this runner is running.
        self._running = set()
        self._stopping = threading.Event()
        #: Executions started by this runner, by key (for tests and
        #: benchmarks: a key should never appear twice).
        self.executed = collections.Counter()

    @classmethod
    def from_config(cls, conf, notifier=None, executors=None, hooks=None):
        group = conf.rrm
        if executors is None:
            executors = ExecutorRegistry.from_config(conf)
        return cls(group.region_name, executors, notifier=notifier,
                   max_parallel=group.max_parallel_actions,
                   max_per_host=group.max_parallel_per_host,
                   poll_interval=group.poll_interval,
                   action_timeout=group.action_timeout, hooks=hooks)

    def stop(self):
        """Start no new action; running ones end by themselves."""
        self._stopping.set()

    def _hook(self, point, **details):
        hook = self.hooks.get(point)
        if hook is not None:
            hook(**details)

    def db_retry(self, func, *args, **kwargs):
        """``func(*args, **kwargs)``, tried again on transient DB errors.

        The state of an action that has run must be recorded: ending one
        is tried for up to about a minute before giving up (the action
        then stays ONGOING, and the reconciler settles it).
        """
        delay = 0.02
        for attempt in range(12):
            try:
                return func(*args, **kwargs)
            except _DB_TRANSIENT as exc:
                if attempt == 11:
                    raise
                LOG.debug('%s: %s; trying again', func.__name__, exc)
                self.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _notify(self, phase, before, after, error=None, plans=None):
        if self.notifier is not None:
            self.notifier.action(phase, before, after, error=error)
            if plans is not None:
                self.notifier.plan(*plans)

    def mine(self, action, plan=None):
        """Whether this runner's region runs ``action`` (of ``plan``).

        An action whose region is unknown is nobody's: it stays PENDING
        (and shows with no region in ``status``) rather than be run by
        every region that looks at it.
        """
        return action_region(action, plan) == self.region

    # Running a plan.

    def run_plan(self, plan_uuid):
        """Run this region's PENDING actions of the plan until none is left.

        Returns when every action of this region in the plan has ended, or
        is ONGOING in another thread or process (the reconciler's), or
        when :meth:`stop` was called.

        :returns: {state: count} of this region's actions of the plan.
        """
        running = {}
        with futures.ThreadPoolExecutor(
                self.max_parallel,
                thread_name_prefix='rrm-%s' % self.region) as pool:
            while True:
                plan, actions = plan_api.plan_actions(plan_uuid)
                mine = [a for a in actions if self.mine(a, plan)]
                states = {a['idempotency_key']: a['state'] for a in actions}
                self._collect(running)
                if not self._stopping.is_set():
                    self._start_ready(pool, running, mine, states)
                pending = [a for a in mine if a['state'] == State.PENDING]
                if not running and (not pending or
                                    self._stopping.is_set()):
                    break
                if running:
                    futures.wait(list(running), timeout=self.poll_interval,
                                 return_when=futures.FIRST_COMPLETED)
                else:
                    self.sleep(self.poll_interval)
        # A safety net: the last action to end settles the plan already.
        self.db_retry(plan_api.plan_settle, plan_uuid)
        plan, actions = plan_api.plan_actions(plan_uuid)
        return dict(collections.Counter(a['state'] for a in actions
                                        if self.mine(a, plan)))

    def _collect(self, running):
        for future in [f for f in running if f.done()]:
            action = running.pop(future)
            exc = future.exception()
            if exc is not None:
                LOG.error('Running action %(key)s failed: %(exc)s',
                          {'key': action['idempotency_key'], 'exc': exc})

    def _start_ready(self, pool, running, mine, states):
        open_actions = [a for a in mine if a['state'] not in State.FINAL]
        if not open_actions:
            return
        wave = min(action_wave(a) for a in open_actions)
        busy = collections.Counter()
        for action in running.values():
            busy.update(action_hosts(action))
        # In id order: the order the planner gave them.
        candidates = [a for a in open_actions if a['state'] == State.PENDING
                      and action_wave(a) == wave]
        for action in candidates:
            key = action['idempotency_key']
            if key in self._running:
                continue
            verdict = self._dependencies(action, states)
            if verdict is not None:
                if verdict:
                    self._end_unrun(action, State.SKIPPED, verdict)
                continue
            if len(running) >= self.max_parallel:
                break
            hosts = action_hosts(action)
            if any(busy[h] >= self.max_per_host for h in hosts):
                continue
            busy.update(hosts)
            with self._lock:
                self._running.add(key)
            running[pool.submit(self._run_one, action)] = action

    def _dependencies(self, action, states):
        """None when ``action`` may start; '' to wait; else why to skip."""
        for dep in action_depends_on(action):
            state = states.get(dep)
            if state is None:
                state = plan_api.action_states_by_keys([dep]).get(dep)
            if state is None:
                return ('depends on %s, which is not an action of any '
                        'stored plan' % dep)
            if state in _DEPS_BROKEN:
                return 'depends on %s, which is %s' % (dep, state)
            if state not in _DEPS_DONE:
                return ''
        return None

    def _end_unrun(self, action, state, why):
        result = self.db_retry(
            plan_api.action_finish, action['idempotency_key'], state,
            error=why, expected=(State.PENDING,))
        if result is not None:
            before, after, plan_before, plan_after = result
            LOG.info('Action %(key)s %(state)s: %(why)s',
                     {'key': action['idempotency_key'], 'state': state,
                      'why': why})
            self._notify('end', before, after,
                         plans=(plan_before, plan_after))

    def _run_one(self, action):
        key = action['idempotency_key']
        try:
            claimed = self.db_retry(plan_api.action_claim, key)
            if claimed is None:
                LOG.debug('Action %s was claimed already', key)
                return
            before, after, plan_before, plan_after = claimed
            self.executed[key] += 1
            self._notify('start', before, after,
                         plans=(plan_before, plan_after))
            self._hook('before_execute', action=after)
            outcome = self._execute(after)
            self._hook('after_execute', action=after, outcome=outcome)
            self._finish(after, outcome)
        finally:
            with self._lock:
                self._running.discard(key)

    def _execute(self, action):
        """The final outcome of ``action``, waiting while it is ONGOING."""
        try:
            executor = self.executors(action['action_type'])
            outcome = executor.execute(action)
            deadline = self.clock() + self.action_timeout
            while outcome.state in (State.ONGOING, State.PENDING):
                if self.clock() >= deadline:
                    executor.cancel(action)
                    return base.Outcome(
                        state=State.FAILED, attempts=outcome.attempts,
                        error='still ONGOING after %d s; cancelled'
                              % self.action_timeout)
                self.sleep(self.poll_interval)
                if outcome.state == State.PENDING:
                    # The executor found that the work never started (its
                    # reconcile() says so only when starting is safe).
                    outcome = executor.execute(action)
                else:
                    outcome = executor.reconcile(action)
            return outcome
        except exception.IrraError as exc:
            return base.Outcome(state=State.FAILED, error=str(exc))
        except Exception as exc:
            LOG.exception('Executor of %s raised', action['idempotency_key'])
            return base.Outcome(state=State.FAILED, error='%s: %s' % (
                type(exc).__name__, exc))

    def _finish(self, action, outcome, reconciling=False):
        result = self.db_retry(
            plan_api.action_finish, action['idempotency_key'], outcome.state,
            destination=outcome.destination, error=outcome.error,
            details=outcome.details,
            extra_attempts=max(0, outcome.attempts - 1))
        if result is None:
            # A reconciliation that raced with the end of the run is
            # expected; anything else changing a running action is not.
            log = LOG.debug if reconciling else LOG.warning
            log('Action %s was no longer ONGOING when it ended (%s); its '
                'state was changed by someone else',
                action['idempotency_key'], outcome.state)
            return
        before, after, plan_before, plan_after = result
        LOG.info('Action %(key)s %(state)s%(err)s',
                 {'key': after['idempotency_key'], 'state': after['state'],
                  'err': ': %s' % after['error'] if after['error'] else ''})
        self._notify('error' if after['state'] == State.FAILED else 'end',
                     before, after, error=after['error'],
                     plans=(plan_before, plan_after))

    # Cancelling.

    def cancel(self, plan_uuid, keys=None):
        """Cancel this region's actions of a plan (all, or ``keys``).

        PENDING actions become CANCELLED at once. ONGOING ones are asked
        to stop through their executor's cancel(); they end when the
        executor says so.

        :returns: {key: state} after the change.
        """
        plan, actions = plan_api.plan_actions(plan_uuid)
        wanted = None if keys is None else set(keys)
        result = {}
        for action in actions:
            key = action['idempotency_key']
            if not self.mine(action, plan) or (
                    wanted is not None and key not in wanted):
                continue
            if action['state'] == State.PENDING:
                done = self.db_retry(
                    plan_api.action_finish, key, State.CANCELLED,
                    error='cancelled', expected=(State.PENDING,))
                if done is not None:
                    self._notify('end', done[0], done[1],
                                 plans=(done[2], done[3]))
            elif action['state'] == State.ONGOING:
                try:
                    executor = self.executors(action['action_type'])
                    outcome = executor.cancel(action)
                except exception.IrraError as exc:
                    LOG.warning('Cannot cancel %s: %s', key, exc)
                    outcome = None
                if outcome is not None and \
                        outcome.state in State.FINAL and \
                        key not in self._running:
                    self._finish(action, outcome)
            result[key] = plan_api.action_get_by_key(key)['state']
        return result

    # Reconciling.

    def reconcile(self):
        """Settle this region's ONGOING actions that no thread here runs.

        Each one's executor reads the real state; a final answer is
        recorded, an ONGOING one is left for the next round.

        :returns: {"checked": n, "settled": {state: count}, "failed": n}.
        """
        checked, failed = 0, 0
        settled = collections.Counter()
        plans = {}
        for action in plan_api.actions_by_state(State.ONGOING):
            key = action['idempotency_key']
            if action['plan_uuid'] not in plans:
                plans[action['plan_uuid']] = plan_api.plan_get(
                    action['plan_uuid'])
            # An action this process ran is settled by the thread that ran
            # it, even if it ended after the list above was read.
            if not self.mine(action, plans[action['plan_uuid']]) or \
                    key in self._running or key in self.executed:
                continue
            checked += 1
            try:
                executor = self.executors(action['action_type'])
                outcome = executor.reconcile(action)
            except Exception as exc:
                # Left ONGOING: the next round tries again.
                failed += 1
                LOG.warning('Cannot reconcile action %(key)s: %(exc)s',
                            {'key': key, 'exc': exc})
                continue
            if outcome.state == State.PENDING:
                # Claimed, then the process died before the executor
                # started anything: run it now, under the same claim.
                with self._lock:
                    if key in self._running:
                        continue
                    self._running.add(key)
                try:
                    outcome = self._execute(action)
                    self._finish(action, outcome, reconciling=True)
                finally:
                    with self._lock:
                        self._running.discard(key)
                settled[outcome.state] += 1
            elif outcome.state in State.FINAL:
                if key in self._running:
                    continue
                self._finish(action, outcome, reconciling=True)
                settled[outcome.state] += 1
        if checked:
            LOG.info('Reconciled %(n)d ONGOING action(s) of %(region)s: '
                     '%(settled)s',
                     {'n': checked, 'region': self.region,
                      'settled': dict(settled)})
        return {'checked': checked, 'settled': dict(settled),
                'failed': failed}

    def plans_to_resume(self):
        """Plans with PENDING actions of this region."""
        result = []
        for plan_uuid in plan_api.plans_with_actions_in(State.PENDING):
            plan, actions = plan_api.plan_actions(plan_uuid)
            if any(a['state'] == State.PENDING and self.mine(a, plan)
                   for a in actions):
                result.append(plan_uuid)
        return result
