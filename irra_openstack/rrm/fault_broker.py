"""The ``broker_restart`` and ``rrm_crash`` kinds of the fault benchmark.

These two faults hit irra-rrm itself, so they run real ``irra-rrm``
processes (:mod:`irra_openstack.rrm.testing`): a private RabbitMQ node
(started once per campaign, on loopback ports of its own), and for each
round a fresh PostgreSQL database for the action store and two irra-rrm
processes, ``region-one`` and ``region-two``. The engine side is this
process, through :class:`~irra_openstack.rrm.client.RRMClient`.

The actions are live migrations run by
:class:`~irra_openstack.rrm.testing.JournalExecutor`: the "VMs" are
journal-executor stand-ins, not Nova servers, because an irra-rrm in its
own process cannot reach the campaign's in-process Nova. Every execution
writes ``start KEY`` to a durable per-region journal first, so the
journals count executions.

A round submits a plan of several waves of actions in both regions,
injects the fault in the middle of a wave, and waits for the plan to
settle with :meth:`RRMClient.wait_plan`:

``broker_restart``
    once some actions have succeeded and others are still pending, the
    broker is stopped; the engine sends the plan again while it is down
    (as it would after an RPC timeout), and the broker is started again;
``rrm_crash``
    once every ONGOING action of one region (chosen by the seed) has
    started its work, that region's irra-rrm is SIGKILLed (its master and
    worker) and started again; it reconciles what was running.

Then, per round: ``recovered`` when the plan SUCCEEDED with every action
SUCCEEDED and started; ``vms_lost`` counts actions that never reached
their end state (not SUCCEEDED, or never started in the journal);
``duplicate_actions`` counts keys with more than one ``start`` line;
``allocations_leaked`` does not apply (the journal executor makes no
Placement allocation) and is 0.

There is no baseline side for these two kinds: irra-rrm has no switch
that turns its reconciliation at start or its idempotent re-delivery off,
and building a second service without them only to lose would not be a
fair peer.
"""

import collections
import random
import tempfile
import threading
import time
import uuid

from oslo_config import cfg
from oslo_log import log as logging
import sqlalchemy as sa

from irra_openstack.db import api as db_api
from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack import exception
from irra_openstack.optimizer import actions as planned
from irra_openstack.rrm import testing

LOG = logging.getLogger(__name__)

KINDS = ('broker_restart', 'rrm_crash')
REGIONS = ('region-one', 'region-two')
EXECUTORS = 'live_migrate:irra_openstack.rrm.testing.JournalExecutor'
#: The PostgreSQL server that gets a fresh database per round.
POSTGRESQL_URL = 'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'
POSTGRESQL_START = ('pg_ctlcluster --skip-systemctl-redirect '
                    '$(ls /etc/postgresql) main start')

S = constants.ActionState


class BrokerFaultError(exception.IrraError):
    msg_fmt = 'Cannot run the %(kind)s faults: %(reason)s'


def check_usable(admin_url=POSTGRESQL_URL):
    """Why these kinds cannot run here, or None."""
    why = testing.rabbit_missing()
    if why:
        return why
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return ('psycopg2 is missing (pip install psycopg2-binary, from '
                'test-requirements.txt)')
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        engine.connect().close()
    except sa.exc.OperationalError as exc:
        return ('PostgreSQL is not reachable at %s (%s); start it with: %s'
                % (engine.url.render_as_string(hide_password=True),
                   ' '.join(str(exc.orig).split()), POSTGRESQL_START))
    finally:
        engine.dispose()
    return None


def _tally():
    return {'injected': 0, 'recovered': 0, 'vms_lost': 0,
            'allocations_leaked': 0, 'duplicate_actions': 0}


class BrokerCampaign:
    """Rounds of ``broker_restart`` and ``rrm_crash`` (see the module).

    :param rounds: faults of each kind to inject.
    :param seed: seed of the choice of the region to crash.
    :param progress: ``progress(done, total)`` or None.
    :param action_seconds: how long each journal action works.
    :param settle_timeout: seconds to wait for a plan to settle.
    """

    def __init__(self, rounds=3, seed=0, progress=None, kinds=KINDS,
                 admin_url=POSTGRESQL_URL, action_seconds=1.0,
                 settle_timeout=300.0):
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown or rounds < 1:
            raise BrokerFaultError(
                kind='/'.join(KINDS),
                reason='rounds must be at least 1 (not %r) and the kinds '
                       'among %s (not %s)' % (
                           rounds, ', '.join(KINDS),
                           ', '.join(unknown) or '-'))
        self.rounds = rounds
        self.rng = random.Random(seed)
        self.progress = progress
        self.kinds = tuple(kinds)
        self.admin_url = admin_url
        self.action_seconds = action_seconds
        self.settle_timeout = settle_timeout
        self.rounds_detail = []

    # -- one round ------------------------------------------------------------

    def _database(self, stack):
        from irra_openstack.rrm import faults

        admin = sa.engine.make_url(self.admin_url)
        engine = sa.create_engine(admin, isolation_level='AUTOCOMMIT',
                                  poolclass=sa.pool.NullPool)
        name = 'irra_faults_%s' % uuid.uuid4().hex[:12]
        quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % quote(name)))

        def drop():
            db_api.dispose()
            with engine.connect() as conn:
                conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH '
                                     '(FORCE)' % quote(name)))
            engine.dispose()
        stack.append(drop)
        url = admin.set(database=name).render_as_string(hide_password=False)
        faults.configure_database(url)
        return url

    def _plan(self, plan_id, waves=3, per_wave=3):
        records = []
        for region in REGIONS:
            for wave in range(waves):
                for i in range(per_wave):
                    action = planned.PlannedAction(
                        constants.ActionType.LIVE_MIGRATE,
                        'vm-%s-%d-%d' % (region, wave, i),
                        source='%s-src%d' % (region, i),
                        destination='%s-dst%d' % (region, i), wave=wave,
                        reason={'constraint': 'fault-bench'}
                    ).with_key(plan_id)
                    record = action.as_record()
                    record['reason']['region'] = region
                    records.append(record)
        return records

    def _states(self, plan_id):
        _plan, rows = plan_api.plan_actions(plan_id)
        return {a['idempotency_key']: a['state'] for a in rows}

    def _wait_ready(self, api_cls, transport, process):
        import oslo_messaging

        def answers():
            if not process.alive():
                raise BrokerFaultError(
                    kind='/'.join(KINDS),
                    reason='irra-rrm %s exited: %s' % (process.region,
                                                       process.output()))
            try:
                api_cls(transport, timeout=3).reconcile(None,
                                                        process.region)
                return True
            except oslo_messaging.MessagingTimeout:
                return False

        testing.wait_for(answers, 120, 'irra-rrm %s to answer'
                         % process.region)

    def _round(self, kind, round_, rabbit, transport, workdir):
        from irra_openstack.rrm import client as rrm_client
        from irra_openstack.rrm import rpcapi

        stack = []
        detail = {'kind': kind, 'round': round_}
        try:
            url = self._database(stack)
            directory = tempfile.mkdtemp(prefix='%s-%d-' % (kind, round_),
                                         dir=workdir)
            env = {'IRRA_RRM_TEST_DIR': directory,
                   'IRRA_RRM_TEST_ACTION_SECONDS': str(self.action_seconds)}
            rrm = {}
            for region in REGIONS:
                config = testing.write_config(
                    '%s/%s.conf' % (directory, region), region, rabbit.url,
                    url, EXECUTORS)
                rrm[region] = testing.RRMProcess(region, config, env=env)
                rrm[region].start()
                stack.append(rrm[region].stop)
            for region in REGIONS:
                self._wait_ready(rpcapi.RRMAPI, transport, rrm[region])
            client = rrm_client.RRMClient(rpcapi.RRMAPI(transport, timeout=10),
                                          list(REGIONS), retries=30)
            plan_id = str(uuid.uuid4())
            records = self._plan(plan_id)
            keys = [r['idempotency_key'] for r in records]
            fan = client.execute_plan(plan_id, records)
            if not fan.complete:
                raise BrokerFaultError(kind=kind, reason='the plan did not '
                                       'reach every region: %s' % fan.errors)
            started = time.monotonic()
            if kind == 'broker_restart':
                detail.update(self._restart_broker(client, rabbit, plan_id,
                                                   records))
            else:
                region = self.rng.choice(REGIONS)
                detail.update(self._crash(rrm[region], directory, plan_id,
                                          records, rpcapi.RRMAPI,
                                          transport))
            done, _fan, view = client.wait_plan(plan_id, self.settle_timeout,
                                                interval=1.0)
            detail['settled_s'] = round(time.monotonic() - started, 1)
            detail.update(self._measure(done, view, plan_id, keys,
                                        directory))
        finally:
            for undo in reversed(stack):
                try:
                    undo()
                except Exception as exc:
                    LOG.warning('Clean-up after the %s round failed: %s',
                                kind, exc)
        self.rounds_detail.append(detail)
        return detail

    def _restart_broker(self, client, rabbit, plan_id, records):
        testing.wait_for(
            lambda: list(self._states(plan_id).values()).count(
                S.SUCCEEDED) >= 2, 120, 'two actions to succeed')
        at_stop = collections.Counter(self._states(plan_id).values())
        rabbit.stop()
        # The engine sends the plan again while the broker is down; it
        # gets through once the broker is back.
        again = []
        resend = threading.Thread(target=lambda: again.append(
            client.execute_plan(plan_id, records)))
        resend.start()
        rabbit.start()
        resend.join(300)
        created = (sum(a['created'] for a in again[0].answers.values())
                   if again else None)
        return {'mid_wave': at_stop[S.PENDING] > 0,
                'pending_at_fault': at_stop[S.PENDING],
                'resent_complete': bool(again and again[0].complete),
                'resent_created': created}

    def _crash(self, process, directory, plan_id, records, api_cls,
               transport):
        mine = {r['idempotency_key'] for r in records
                if r['reason']['region'] == process.region}

        def running_in_journal():
            # Kill when every ONGOING action of the region has started its
            # work: then the store and the "hypervisor" agree.
            journal = testing.read_journal(directory, process.region)
            started = {k for e, k in journal if e == 'start'}
            done = {k for e, k in journal if e == 'done'}
            ongoing = {k for k, s in self._states(plan_id).items()
                       if s == S.ONGOING and k in mine}
            return ongoing if ongoing and ongoing == started - done \
                else None

        ongoing = testing.wait_for(running_in_journal, 120,
                                   '%s to be mid-wave' % process.region,
                                   interval=0.05)
        process.kill()
        pending = [k for k, s in self._states(plan_id).items()
                   if s == S.PENDING and k in mine]
        process.start()
        self._wait_ready(api_cls, transport, process)
        return {'mid_wave': bool(ongoing), 'crashed_region': process.region,
                'ongoing_at_kill': len(ongoing),
                'pending_at_kill': len(pending)}

    def _measure(self, done, view, plan_id, keys, directory):
        starts = collections.Counter()
        for region in REGIONS:
            starts.update(k for e, k in testing.read_journal(directory,
                                                             region)
                          if e == 'start')
        states = self._states(plan_id)
        plan_state = plan_api.plan_get(plan_id)['state']
        lost = [k for k in keys
                if states.get(k) != S.SUCCEEDED or not starts.get(k)]
        duplicates = [k for k in keys if starts.get(k, 0) > 1]
        recovered = (done and plan_state == constants.PlanState.SUCCEEDED
                     and not lost and
                     all(view.get(k, {}).get('state') == S.SUCCEEDED
                         for k in keys))
        return {'actions': len(keys), 'plan_state': plan_state,
                'recovered': bool(recovered), 'vms_lost': len(lost),
                'duplicate_actions': len(duplicates),
                'executions': sum(starts[k] for k in keys)}

    # -- the campaign ---------------------------------------------------------

    def _transport(self, url):
        import oslo_messaging

        from irra_openstack.rrm import service

        conf = cfg.ConfigOpts()
        service.register_messaging_opts(conf)
        conf([], project='irra', default_config_files=[])
        conf.set_override('transport_url', url)
        for name, value in (('rabbit_retry_interval', 1),
                            ('rabbit_retry_backoff', 1),
                            ('rabbit_interval_max', 2)):
            conf.set_override(name, value, group='oslo_messaging_rabbit')
        return oslo_messaging.get_rpc_transport(
            conf, allowed_remote_exmods=service.ALLOWED_EXMODS)

    def run(self):
        """Run every round; return ({kind: tally}, details)."""
        why = check_usable(self.admin_url)
        if why:
            raise BrokerFaultError(kind='/'.join(self.kinds), reason=why)
        tallies = {kind: _tally() for kind in self.kinds}
        total = self.rounds * len(self.kinds)
        done = 0
        with tempfile.TemporaryDirectory(prefix='irra-faults-rrm-') as work:
            rabbit = testing.PrivateRabbit(
                tempfile.mkdtemp(prefix='rabbit-', dir=work))
            rabbit.start()
            transport = None
            try:
                transport = self._transport(rabbit.url)
                for round_ in range(self.rounds):
                    for kind in self.kinds:
                        detail = self._round(kind, round_, rabbit, transport,
                                             work)
                        tally = tallies[kind]
                        tally['injected'] += 1
                        tally['recovered'] += int(detail['recovered'])
                        tally['vms_lost'] += detail['vms_lost']
                        tally['duplicate_actions'] += detail[
                            'duplicate_actions']
                        done += 1
                        if self.progress is not None:
                            self.progress(done, total)
            finally:
                if transport is not None:
                    transport.cleanup()
                rabbit.stop()
        return tallies, list(self.rounds_detail)
