"""The fault campaign of ``irra-manage bench faults``.

A scripted campaign over the functional environment
(:mod:`irra_openstack.rrm.fault_env`: Nova's in-process harness with the
fake virt driver, and Placement): each round injects one fault of each
kind into one action, delivers the action to the executor, delivers it a
second time (a repeated message), and moves on. After the campaign the
cloud is read back and three things are counted, per fault kind:

``vms_lost``
    servers that existed before and are now missing, in ERROR, without
    an allocation, or allocated on a host that is not theirs;
``allocations_leaked``
    Placement consumers that are neither a live server nor a live irra
    reservation (a migration record's leftover, a reservation nobody
    knows), plus allocations of a server on a provider other than its
    host's;
``duplicate_actions``
    actions executed more than once: live migrations that the driver
    completed more than once for one action key, or a reservation key
    holding more than it asked for.

The same script (same seed, same servers, same faults) runs twice in one
environment: once with irra's executors (B's ``nova_live_migration`` with
its timeout, abort and retry on another host; the reservation manager
with its conflict retries and leak reconciler) and once with a baseline
that never retries and never rolls back, the way Watcher's migrate action
behaves (start the migration, wait, report). The result compares the
recovered faults of both as a ratio.

Fault kinds run here: ``migration_error`` (the driver fails the
migration job, as libvirt does), ``timeout`` (the job hangs until
aborted), ``target_host_down`` (the destination's nova-compute is forced
down), ``placement_conflict`` (a twin worker writes the same reservation
consumer between the read and the write: a consumer-generation 409).
``broker_restart`` and ``rrm_crash`` run in
:mod:`irra_openstack.rrm.fault_broker` (real irra-rrm processes, a private
RabbitMQ node, journal-executor stand-ins for the VMs, no baseline side)
and are merged into the same result.
"""

import datetime
import random
import tempfile
import time
import uuid

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
from oslo_utils import timeutils

from irra_openstack.db import api as db_api
from irra_openstack.db import constants
from irra_openstack.db import migration as db_migration
from irra_openstack.db import plan_api
from irra_openstack.db import reservation_api
from irra_openstack import exception
from irra_openstack.executor import base
from irra_openstack.optimizer import actions

LOG = logging.getLogger(__name__)

KINDS = ('migration_error', 'timeout', 'target_host_down',
         'placement_conflict')

#: The kinds of :mod:`irra_openstack.rrm.fault_broker`.
BROKER_KINDS = ('broker_restart', 'rrm_crash')

#: Fault kinds of the issue that this campaign does not inject, and why.
NOT_RUN = {}

#: Why the broker kinds have no baseline side.
BASELINE_NOT_RUN = {
    kind: 'no baseline: irra-rrm has no switch that turns off its '
          'reconciliation at start or its idempotent re-delivery, and a '
          'second service built without them only to lose would not be a '
          'fair peer' for kind in BROKER_KINDS}

S = constants.ActionState


class NoRetryLiveMigration(base.Executor):
    """The baseline: one live migration, waited for, never retried.

    As Watcher's ``migrate`` action does: ask Nova, poll until the
    migration ends or ``timeout`` passes, report. No abort on timeout, no
    second host, no check of what an earlier delivery did.
    """

    name = 'baseline_no_retry'
    action_types = (constants.ActionType.LIVE_MIGRATE,)

    def __init__(self, connection, timeout=8.0, poll_interval=0.2,
                 sleep=time.sleep, clock=time.monotonic):
        self.conn = connection
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.clock = clock

    def execute(self, action):
        act = base.view(action)
        try:
            self.conn.compute.live_migrate_server(
                act.resource_id, host=act.destination, force=False,
                block_migration='auto')
        except Exception as exc:
            return base.Outcome(state=S.FAILED, error=str(exc))
        deadline = self.clock() + self.timeout
        while self.clock() < deadline:
            self.sleep(self.poll_interval)
            server = self.conn.compute.get_server(act.resource_id)
            if server.status == 'ACTIVE' and not server.task_state:
                if server.compute_host == act.destination:
                    return base.Outcome(state=S.SUCCEEDED,
                                        destination=server.compute_host)
                return base.Outcome(state=S.FAILED,
                                    error='the migration failed')
        return base.Outcome(state=S.FAILED, error='timed out')

    def reconcile(self, action):
        return base.Outcome(state=S.FAILED, error='the baseline does not '
                                                  'reconcile')


def _tally():
    return {'injected': 0, 'recovered': 0, 'vms_lost': 0,
            'allocations_leaked': 0, 'duplicate_actions': 0}


def configure_database(url=None):
    """Point irra's database layer at ``url`` and create the schema.

    ``url`` defaults to a new sqlite file. Returns the URL.
    """
    if url is None:
        url = 'sqlite:///%s' % tempfile.NamedTemporaryFile(
            prefix='irra-faults-', suffix='.sqlite', delete=False).name
    conf = cfg.ConfigOpts()
    db_options.set_defaults(conf)
    conf([], project='irra', default_config_files=[])
    conf.set_override('connection', url, group='database')
    db_api.configure(conf)
    db_migration.upgrade()
    return url


class Campaign:
    """One run of the fault script against one environment.

    :param env: a started :class:`~irra_openstack.rrm.fault_env.
        FaultEnvironment`.
    :param rounds: faults of each kind to inject.
    :param seed: seed of the choice of servers and destinations.
    :param servers: how many servers to boot for the campaign.
    :param timeout: seconds before a live migration counts as hung.
    :param progress: ``progress(done, total)`` or None.
    """

    def __init__(self, env, rounds=13, seed=0, servers=8, timeout=8.0,
                 progress=None, kinds=KINDS):
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError('unknown fault kinds %s; the kinds are %s'
                             % (', '.join(unknown), ', '.join(KINDS)))
        if rounds < 1:
            raise ValueError('rounds must be at least 1, not %r' % rounds)
        self.env = env
        self.rounds = rounds
        self.seed = seed
        self.n_servers = servers
        self.timeout = timeout
        self.progress = progress
        self.kinds = tuple(kinds)
        self.conn = env.sdk()
        # A hang the baseline does not abort ends on its own after this.
        env.faults.hang_limit = 2 * timeout
        self.server_ids = None
        #: Executions per idempotency key.
        self.executions = {}

    # -- the executors of each side ----------------------------------------

    def _executors(self, mode):
        from irra_openstack.executor import nova as nova_executor
        from irra_openstack.rrm import reservations

        adapter = self.env.placement_adapter()
        project = self.env.admin_api.project_id
        if mode == 'irra':
            live = nova_executor.LiveMigrationExecutor(
                self.conn, options={
                    'poll_interval': 0.2, 'timeout': self.timeout,
                    'abort_timeout': 60.0, 'max_attempts': 3,
                    'backoff_initial': 0.2, 'backoff_max': 1.0,
                    'fallback_to_cold': False})
            attempts = 5
        else:
            live = NoRetryLiveMigration(self.conn, timeout=self.timeout)
            attempts = 1

        def manager(hooks=None):
            return reservations.ReservationManager(
                adapter, 'faults-%s' % mode, project, 'admin',
                max_attempts=attempts, retry_delay=0.01, hooks=hooks)
        return live, manager

    # -- delivery through the action store ----------------------------------

    def _deliver(self, executor, action):
        """Run ``action`` once per key, as irra-rrm's wave runner does.

        The action is stored under its idempotency key (once, however
        often it is delivered), claimed by compare-and-set PENDING to
        ONGOING, executed, and finished. A delivery that finds the key
        already claimed or ended does nothing.

        :returns: the outcome, or None when the delivery did nothing.
        """
        plan_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, action.key))
        plan_api.actions_ensure(plan_uuid, [action.as_record()],
                                scope={'fault_campaign': True},
                                project_id='irra-faults')
        if plan_api.action_claim(action.key) is None:
            return None
        self.executions[action.key] = self.executions.get(action.key, 0) + 1
        outcome = executor.execute(action)
        if outcome.state in S.FINAL:
            plan_api.action_finish(action.key, outcome.state,
                                   destination=outcome.destination,
                                   error=outcome.error)
        return outcome

    # -- one fault of each kind --------------------------------------------

    def _settle(self, server_id, limit=90.0):
        """Wait until the server is no longer moving (bounded)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            server = self.conn.compute.get_server(server_id)
            if not server.task_state and server.status != 'MIGRATING':
                return server
            time.sleep(0.2)
        return self.conn.compute.get_server(server_id)

    def _migration_fault(self, kind, mode, live, key, server_id, rng):
        env = self.env
        source = env.host_of(server_id)
        others = [h for h in env.hosts if h != source]
        dest = rng.choice(others)
        if kind == 'migration_error':
            env.faults.plan(server_id, 'error')
        elif kind == 'timeout':
            env.faults.plan(server_id, 'hang')
        elif kind == 'target_host_down':
            env.set_host_down(dest, True)
        before = len([r for r in env.faults.runs.get(server_id, ())
                      if r[1].startswith('completed')])
        action = actions.PlannedAction(
            constants.ActionType.LIVE_MIGRATE, server_id, source=source,
            destination=dest).with_key(key)
        try:
            outcome = self._deliver(live, action)
        finally:
            if kind == 'target_host_down':
                env.set_host_down(dest, False)
        env.faults.clear()
        self._settle(server_id)
        # The same message again, as after a lost acknowledgement.
        self._deliver(live, action)
        server = self._settle(server_id)
        completed = len([r for r in env.faults.runs.get(server_id, ())
                         if r[1].startswith('completed')]) - before
        allocs = env.allocations().get(server_id, {})
        recovered = (outcome.state == S.SUCCEEDED and
                     server.status == 'ACTIVE' and
                     server.compute_host != source and
                     set(allocs) == {env.rps[server.compute_host]})
        duplicate = int(completed > 1 or
                        self.executions.get(action.key, 0) > 1)
        return recovered, duplicate

    def _placement_fault(self, mode, make_manager, key, rng, reservations):
        from irra_openstack.rrm import reservations as rmod

        env = self.env
        host = rng.choice(env.hosts)
        provider = env.rps[host]
        twin = make_manager()
        expires = timeutils.utcnow() + datetime.timedelta(hours=1)
        wanted = {'VCPU': 1, 'MEMORY_MB': 128}

        def twin_write(operation, consumer, attempt):
            # Another worker handles the same (repeated) message and
            # writes the same consumer between our read and our write.
            if operation == 'reserve' and attempt == 1:
                twin._allocate({'uuid': key, 'consumer_uuid': consumer,
                                'project_id': None}, {
                    provider: {'resources': dict(wanted)}}, 'admin')

        manager = make_manager(hooks={'before_write': twin_write})
        consumer = rmod.consumer_for_key(manager.region, key)
        reservations[consumer] = 'placement_conflict'
        recovered = False
        try:
            row = manager.reserve(wanted, [provider], expires, key=key)
            # The repeated message: the same key gives the same one.
            again = manager.reserve(wanted, [provider], expires, key=key)
            held = env.allocations().get(consumer, {})
            recovered = (row['state'] == constants.ReservationState.ACTIVE
                         and again['uuid'] == row['uuid'] and
                         held == {provider: wanted})
            manager.release(row['uuid'])
        except Exception as exc:
            LOG.info('Reservation %s failed under the conflict: %s', key,
                     exc)
        held = env.allocations().get(consumer, {})
        duplicate = int(any(
            amount > wanted.get(rc, 0)
            for res in held.values() for rc, amount in res.items()))
        return recovered, duplicate

    # -- the campaign --------------------------------------------------------

    def _prepare(self):
        if self.server_ids is None:
            servers = self.env.boot(self.n_servers)
            self.server_ids = [s['id'] for s in servers]

    def run_mode(self, mode):
        """Run the script with ``mode`` ('irra' or 'baseline')."""
        self._prepare()
        env = self.env
        rng = random.Random(self.seed)
        live, make_manager = self._executors(mode)
        tallies = {kind: _tally() for kind in self.kinds}
        touched = {}
        reservations = {}
        total = self.rounds * len(self.kinds)
        done = 0
        for round_ in range(self.rounds):
            for index, kind in enumerate(self.kinds):
                key = '%s-%d-%s' % (mode, round_, kind)
                tally = tallies[kind]
                tally['injected'] += 1
                if kind == 'placement_conflict':
                    recovered, duplicate = self._placement_fault(
                        mode, make_manager, key, rng, reservations)
                else:
                    server_id = self.server_ids[
                        (round_ * len(self.kinds) + index) %
                        len(self.server_ids)]
                    touched[server_id] = kind
                    recovered, duplicate = self._migration_fault(
                        kind, mode, live, key, server_id, rng)
                tally['recovered'] += int(recovered)
                tally['duplicate_actions'] += duplicate
                done += 1
                if self.progress is not None:
                    self.progress(done, total)
        if mode == 'irra':
            # irra's leak reconciler, as irra-rrm runs it periodically.
            make_manager().reconcile(providers=list(env.rps.values()))
        unattributed = self._measure(tallies, touched, reservations)
        return tallies, unattributed

    def _measure(self, tallies, touched, reservations):
        env = self.env
        for server_id in self.server_ids:
            self._settle(server_id)
        servers = env.servers()
        allocs = env.allocations()
        live_reservations = {
            r['consumer_uuid'] for region in ('faults-irra', 'faults-baseline')
            for r in reservation_api.reservation_list_live(region)
            if r['state'] == constants.ReservationState.ACTIVE}
        unattributed = 0
        for server_id in self.server_ids:
            server = servers.get(server_id)
            held = allocs.get(server_id, {})
            host = server and server['OS-EXT-SRV-ATTR:host']
            lost = (server is None or server['status'] != 'ACTIVE' or
                    not held or env.rps.get(host) not in held)
            kind = touched.get(server_id)
            if lost:
                if kind in tallies:
                    tallies[kind]['vms_lost'] += 1
                else:
                    unattributed += 1
            elif set(held) - {env.rps[host]}:
                tallies[kind]['allocations_leaked'] += 1
        migrations = {m.id: m for m in self.conn.compute.migrations()}
        by_uuid = {getattr(m, 'uuid', None): m
                   for m in migrations.values()}
        for consumer in allocs:
            if consumer in servers or consumer in live_reservations:
                continue
            kind = reservations.get(consumer)
            if kind is None and consumer in by_uuid:
                kind = touched.get(getattr(by_uuid[consumer], 'server_id',
                                           None))
            if kind in tallies:
                tallies[kind]['allocations_leaked'] += 1
            else:
                unattributed += 1
        return unattributed


def summarise(tallies, unattributed=0):
    """The per-kind tallies plus their totals."""
    totals = _tally()
    for tally in tallies.values():
        for name, value in tally.items():
            totals[name] += value
    totals['unattributed_losses_or_leaks'] = unattributed
    return {'faults': tallies, 'totals': totals}


def run(rounds=13, seed=0, servers=8, timeout=8.0, progress=None,
        kinds=KINDS, baseline=True, broker_rounds=3):
    """Start the environment, run both sides, stop; return the result.

    ``broker_rounds`` rounds of each of :data:`BROKER_KINDS` run first
    (:mod:`irra_openstack.rrm.fault_broker`); 0 leaves them out.
    """
    if rounds < 1 or servers < 2 or timeout <= 0:
        raise FaultBenchError(reason='rounds must be at least 1, servers at '
                                     'least 2 and the timeout positive, not '
                                     '%r, %r and %r' % (rounds, servers,
                                                        timeout))
    if broker_rounds < 0:
        raise FaultBenchError(reason='broker rounds must be 0 or more, not '
                                     '%r' % broker_rounds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise FaultBenchError(reason='unknown fault kinds %s; the kinds are '
                                     '%s' % (', '.join(unknown),
                                             ', '.join(KINDS)))
    from irra_openstack.rrm import fault_env

    why = fault_env.check_usable()
    if why:
        raise FaultBenchError(reason=why)
    started = time.monotonic()
    broker_tallies, broker_rounds_detail = {}, []
    not_run = dict(NOT_RUN)
    if broker_rounds:
        from irra_openstack.rrm import fault_broker

        broker_tallies, broker_rounds_detail = fault_broker.BrokerCampaign(
            rounds=broker_rounds, seed=seed, progress=progress).run()
    else:
        not_run.update({kind: 'left out (broker rounds 0)'
                        for kind in BROKER_KINDS})
    db_url = configure_database()
    env, stop = fault_env.start()
    try:
        campaign = Campaign(env, rounds=rounds, seed=seed, servers=servers,
                            timeout=timeout, progress=progress, kinds=kinds)
        ours, ours_un = campaign.run_mode('irra')
        ours.update(broker_tallies)
        result = summarise(ours, ours_un)
        if baseline:
            theirs, theirs_un = campaign.run_mode('baseline')
            base_result = summarise(theirs, theirs_un)
            result['baseline'] = base_result
            # The ratio compares the kinds both sides ran.
            mine = sum(ours[kind]['recovered'] for kind in theirs)
            other = base_result['totals']['recovered']
            result['recovered_ratio_kinds'] = sorted(theirs)
            # None when the baseline recovered nothing (no finite ratio).
            result['recovered_ratio'] = (round(mine / other, 3) if other
                                         else None)
            injected = result['totals']['injected']
            result['recovered_rate'] = {
                'irra': round(result['totals']['recovered'] / injected, 3),
                'baseline': round(other / base_result['totals'][
                    'injected'], 3)}
            result['per_kind_recovered'] = {
                kind: {'irra': ours[kind]['recovered'],
                       'baseline': (theirs[kind]['recovered']
                                    if kind in theirs else None)}
                for kind in ours}
            result['baseline_not_run'] = {
                kind: BASELINE_NOT_RUN[kind] for kind in broker_tallies}
    finally:
        stop()
    result.update({
        'rounds': rounds, 'seed': seed, 'servers': servers,
        'hosts': list(env.hosts), 'migration_timeout_s': timeout,
        'not_run': not_run, 'database': db_url,
        'broker_rounds': broker_rounds,
        'broker_fault_rounds': broker_rounds_detail,
        'broker_environment': 'broker_restart and rrm_crash: a private '
                              'RabbitMQ node, a fresh PostgreSQL database '
                              'and two irra-rrm processes (region-one, '
                              'region-two) per round; the VMs are journal-'
                              'executor stand-ins, not Nova servers; '
                              'allocations_leaked does not apply (no '
                              'Placement allocation) and is 0',
        'elapsed_s': round(time.monotonic() - started, 1),
        'environment': 'Nova %s in-process harness (fake virt driver, '
                       'CAST_AS_CALL off), in-process Placement; executors '
                       'through openstacksdk and keystoneauth'
                       % _nova_version(),
        'baseline_description': 'no retry, no abort, no reconciler '
                                '(Watcher-like migrate action; reservation '
                                'manager with one attempt)',
    })
    return result


def _nova_version():
    try:
        from importlib import metadata
        return metadata.version('nova')
    except Exception:
        return '(unknown)'


class FaultBenchError(exception.IrraError):
    msg_fmt = 'Cannot run the fault benchmark: %(reason)s'
