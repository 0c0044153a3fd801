"""Live and cold migration through Nova (``irra.executors`` plugins).

Both executors talk to the region's Nova with an openstacksdk
``Connection`` given to them, and read Nova's migration records
(``GET /os-migrations?instance_uuid=...``, microversion 2.59 or later) to
follow what they started.

``nova_live_migration`` (:class:`LiveMigrationExecutor`), per attempt:

1. live-migrate with ``block_migration='auto'``, to the action's
   destination, or, when it names none, wherever the scheduler chooses;
2. poll the migration record every ``poll_interval`` seconds;
3. when ``timeout`` passes: force-complete it if the ``force_complete``
   policy is ``on_timeout`` (once, then wait ``force_complete_grace``
   more), else abort it (``DELETE /servers/{id}/migrations/{mid}``) and
   wait until Nova has rolled it back;
4. a failed, aborted or refused attempt excludes its destination, waits an
   exponential backoff (``backoff_initial`` doubled per failure, at most
   ``backoff_max``) and tries another host: the action's
   ``parameters.alternates`` first, then the other enabled and up
   nova-compute hosts, by name;
5. after ``max_attempts`` attempts, or when Nova refuses live migration
   outright, it falls back to cold migration if ``fallback_to_cold`` is set
   and a :class:`ColdMigrationExecutor` was given.

``nova_cold_migration`` (:class:`ColdMigrationExecutor`): migrate, wait for
VERIFY_RESIZE, run the ``verify`` hook if any, confirm; revert when the
hook refuses or the confirmation fails.

Both are idempotent: before they start anything they look at where the
server is and at its migration records, and they adopt a migration that is
already in progress instead of starting a second one.
"""

import time

import openstack.exceptions
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.executor import base
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

ActionState = constants.ActionState

#: Live-migration record statuses, as Nova writes them.
LIVE_IN_PROGRESS = frozenset(('accepted', 'queued', 'preparing', 'running',
                              'post-migrating'))
LIVE_FAILED = frozenset(('error', 'failed', 'cancelled'))
#: Cold-migration record statuses.
COLD_IN_PROGRESS = frozenset(('accepted', 'pre-migrating', 'migrating',
                              'post-migrating', 'confirming', 'reverting'))
COLD_FAILED = frozenset(('error', 'failed', 'reverted', 'cancelled'))


class NovaError(exception.IrraError):
    msg_fmt = 'Nova refused %(what)s for server %(server)s: %(reason)s'


def _sdk_error(exc):
    """One line from an openstacksdk exception."""
    text = getattr(exc, 'details', None) or str(exc)
    return ' '.join(str(text).split())


def _wait_opts(extra=()):
    return [
        cfg.FloatOpt('poll_interval', default=5.0, min=0.0,
                     help='Seconds between two reads of the server and its '
                          'migration record.'),
    ] + list(extra)


class _NovaExecutor(base.Executor):
    """What both executors share: Nova calls, polling and hooks.

    :param connection: an openstacksdk Connection to the region's cloud.
    :param options: the plugin's options, a mapping or its oslo.config
        group; defaults otherwise.
    :param sleep: how to wait (injectable: tests do not wait for real).
    :param clock: a monotonic clock in seconds (injectable), used for the
        timeouts.
    :param hooks: {point: callable} for fault injection and checks:
        ``before_start(server_id=, host=, attempt=)`` runs before each
        migration request; ``verify(server=)`` runs before a cold
        migration is confirmed and refuses it by returning False.
    """

    migration_type = None

    def __init__(self, connection, options=None, sleep=time.sleep,
                 clock=time.monotonic, hooks=None):
        self.conn = connection
        self.options = base.resolve_options(type(self), options)
        self.sleep = sleep
        self.clock = clock
        self.hooks = dict(hooks or {})

    @classmethod
    def _connection_from_config(cls, conf, region):
        from irra_openstack.datasources import inventory

        return inventory.connection(inventory.session_from_conf(conf),
                                    region)

    @classmethod
    def from_config(cls, conf, region):
        """Build it for irra-rrm from irra.conf.

        Nova is reached with the keystoneauth session of [datasources_auth]
        in ``region``; the options are the plugin's group (e.g.
        [executors.nova_live_migration]).
        """
        group = plugins.register_plugin_opts(conf, 'irra.executors',
                                             cls.name)
        return cls(cls._connection_from_config(conf, region), group)

    def _hook(self, point, **kwargs):
        hook = self.hooks.get(point)
        return None if hook is None else hook(**kwargs)

    def _server(self, server_id):
        try:
            return self.conn.compute.get_server(server_id)
        except openstack.exceptions.NotFoundException:
            raise NovaError(what='the action', server=server_id,
                            reason='there is no such server')

    def _migrations(self, server_id):
        """The server's migration records of this executor's type.

        Oldest first.
        """
        records = self.conn.compute.migrations(
            instance_uuid=server_id, migration_type=self.migration_type)
        return sorted(records, key=lambda m: m.id)

    def _latest_id(self, server_id):
        records = self._migrations(server_id)
        return records[-1].id if records else 0

    def _wait(self, probe, timeout):
        """Call ``probe`` until it returns something, or ``timeout`` passes.

        :returns: what ``probe`` returned, or None on timeout.
        """
        deadline = self.clock() + timeout
        while True:
            value = probe()
            if value is not None:
                return value
            if self.clock() >= deadline:
                return None
            self.sleep(self.options['poll_interval'])

    @staticmethod
    def _done(act, server):
        """Whether the server is where the action wants it, and ACTIVE.

        An action that names its source is done once the server has left
        it, wherever it went: a retry may have taken it to another host
        than the planned destination, and a second delivery of the same
        action must not move it again.
        """
        if server.status != 'ACTIVE' or server.task_state:
            return False
        if act.source:
            return server.compute_host != act.source
        return bool(act.destination) and \
            server.compute_host == act.destination

    def execute(self, action):
        """Run ``action``; an expected failure is a FAILED outcome."""
        act = self.check_type(action)
        try:
            return self._execute(act)
        except (exception.IrraError, openstack.exceptions.SDKException) as e:
            message = (str(e) if isinstance(e, exception.IrraError)
                       else _sdk_error(e))
            LOG.warning('Action %s failed: %s', act.key, message)
            return base.Outcome(state=ActionState.FAILED, error=message)


class LiveMigrationExecutor(_NovaExecutor):
    """Live-migrates servers, with timeout, abort, retry and fallback.

    :param cold: a :class:`ColdMigrationExecutor` to fall back to, or None.
    """

    name = 'nova_live_migration'
    description = ('Live-migrate a server through Nova, with timeout, '
                   'abort, retry on another host and cold fallback')
    action_types = (constants.ActionType.LIVE_MIGRATE,)
    migration_type = 'live-migration'

    def __init__(self, connection, options=None, sleep=time.sleep,
                 clock=time.monotonic, hooks=None, cold=None):
        super().__init__(connection, options, sleep, clock, hooks)
        self.cold = cold

    @classmethod
    def from_config(cls, conf, region):
        """Build it, with a cold-migration executor to fall back to."""
        group = plugins.register_plugin_opts(conf, 'irra.executors',
                                             cls.name)
        conn = cls._connection_from_config(conf, region)
        cold_group = plugins.register_plugin_opts(
            conf, 'irra.executors', ColdMigrationExecutor.name)
        return cls(conn, group,
                   cold=ColdMigrationExecutor(conn, cold_group))

    @classmethod
    def get_config_opts(cls):
        return _wait_opts([
            cfg.FloatOpt('timeout', default=600.0, min=1.0,
                         help='Seconds an attempt may run before it is '
                              'force-completed or aborted, per '
                              'force_complete.'),
            cfg.StrOpt('force_complete', default='never',
                       choices=[('never', 'abort a migration that runs '
                                          'past timeout'),
                                ('on_timeout', 'force-complete it once '
                                               '(pausing the server), then '
                                               'abort it if it still runs '
                                               'after force_complete_grace')],
                       help='What to do with a live migration that runs '
                            'past timeout.'),
            cfg.FloatOpt('force_complete_grace', default=120.0, min=0.0,
                         help='Seconds given to a force-completed migration '
                              'before it is aborted.'),
            cfg.FloatOpt('abort_timeout', default=300.0, min=1.0,
                         help='Seconds to wait for Nova to roll back an '
                              'aborted migration.'),
            cfg.IntOpt('max_attempts', default=3, min=1,
                       help='Live-migration attempts per action, the first '
                            'included; each retry goes to another host.'),
            cfg.FloatOpt('backoff_initial', default=10.0, min=0.0,
                         help='Seconds to wait after the first failed '
                              'attempt; doubled after each further '
                              'failure.'),
            cfg.FloatOpt('backoff_max', default=300.0, min=0.0,
                         help='The longest wait between two attempts.'),
            cfg.StrOpt('block_migration', default='auto',
                       choices=[('auto', 'let Nova decide from the '
                                         'storage'),
                                ('true', 'always copy the disks'),
                                ('false', 'never copy the disks')],
                       help='The block_migration argument of each live '
                            'migration.'),
            cfg.BoolOpt('fallback_to_cold', default=True,
                        help='Cold-migrate the server when live migration '
                             'failed on every attempt or is refused, if a '
                             'cold-migration executor is configured.'),
        ])

    def _block_migration(self):
        value = self.options['block_migration']
        return {'true': True, 'false': False}.get(value, 'auto')

    def _candidates(self, act, server, excluded):
        """Hosts to try next, best first, none of ``excluded``."""
        out = []
        for host in act.parameters.get('alternates') or ():
            if host not in excluded and host not in out:
                out.append(host)
        services = self.conn.compute.services(binary='nova-compute')
        for svc in sorted(services, key=lambda s: s.host):
            if svc.status == 'enabled' and svc.state == 'up' and \
                    svc.host not in excluded and svc.host not in out and \
                    svc.host != server.compute_host:
                out.append(svc.host)
        return out

    def _in_progress(self, server_id):
        for record in reversed(self._migrations(server_id)):
            if record.status in LIVE_IN_PROGRESS:
                return record
        return None

    def _execute(self, act):
        server = self._server(act.resource_id)
        if self._done(act, server):
            return base.Outcome(state=ActionState.SUCCEEDED,
                                destination=server.compute_host, attempts=0,
                                details={'already_done': True})
        source = act.source or server.compute_host
        excluded = {source}
        tried = []
        errors = []
        adopted = self._in_progress(act.resource_id)
        attempt = 0
        while attempt < self.options['max_attempts']:
            attempt += 1
            if adopted is not None:
                record, target = adopted, adopted.dest_compute
                adopted = None
            else:
                target = self._next_target(act, server, excluded, tried)
                if target is False:
                    errors.append('no other host to try')
                    attempt -= 1
                    break
                try:
                    record = self._start(act, target, attempt)
                except NovaError as exc:
                    errors.append(str(exc))
                    if target is None:
                        # Refused outright: another host will not help.
                        break
                    excluded.add(target)
                    tried.append(target)
                    self._backoff(len(errors))
                    continue
            status, record = self._follow(act, record)
            host = record.dest_compute if record is not None else target
            if status == 'completed':
                server = self._server(act.resource_id)
                return base.Outcome(
                    state=ActionState.SUCCEEDED,
                    destination=server.compute_host, attempts=attempt,
                    error='; '.join(errors) or None,
                    details={'hosts_tried': tried + [host],
                             'migration_id': record.id})
            errors.append('attempt %d to %s: %s' % (attempt, host or
                                                    'a scheduled host',
                                                    status))
            if host:
                excluded.add(host)
            tried.append(host)
            if attempt < self.options['max_attempts']:
                self._backoff(len(errors))
        return self._give_up(act, attempt, tried, errors)

    def _next_target(self, act, server, excluded, tried):
        """The host of the next attempt.

        None lets the scheduler choose; False means there is none left.
        """
        if not tried and act.destination:
            return act.destination
        if not tried and not act.parameters.get('alternates'):
            return None
        candidates = self._candidates(act, server, excluded)
        return candidates[0] if candidates else False

    def _backoff(self, failures):
        delay = min(self.options['backoff_initial'] * 2 ** (failures - 1),
                    self.options['backoff_max'])
        if delay > 0:
            self.sleep(delay)

    def _start(self, act, host, attempt):
        """Ask Nova for the live migration; return its migration record."""
        self._hook('before_start', server_id=act.resource_id, host=host,
                   attempt=attempt)
        last = self._latest_id(act.resource_id)
        try:
            self.conn.compute.live_migrate_server(
                act.resource_id, host=host, force=False,
                block_migration=self._block_migration())
        except openstack.exceptions.HttpException as exc:
            raise NovaError(what='live migration to %s' % (host or 'any '
                                                           'host'),
                            server=act.resource_id, reason=_sdk_error(exc))
        LOG.info('Live migration of %(s)s to %(h)s started (attempt %(a)d)',
                 {'s': act.resource_id, 'h': host or 'a scheduled host',
                  'a': attempt})

        def appeared():
            for record in reversed(self._migrations(act.resource_id)):
                if record.id > last:
                    return record
            return None
        record = self._wait(appeared, self.options['timeout'])
        if record is None:
            raise NovaError(what='live migration', server=act.resource_id,
                            reason='Nova accepted it but wrote no migration '
                                   'record within %.0f s'
                                   % self.options['timeout'])
        return record

    def _record(self, server_id, record_id):
        for record in self._migrations(server_id):
            if record.id == record_id:
                return record
        raise NovaError(what='live migration', server=server_id,
                        reason='migration record %s disappeared' % record_id)

    def _follow(self, act, record):
        """Poll ``record`` to its end; force-complete or abort on timeout.

        :returns: (final status, the last record read): 'completed', or
            the failed status ('error', 'failed', 'cancelled'), or
            'timed out' when even the abort did not end it.
        """
        def finished():
            current = self._record(act.resource_id, record.id)
            if current.status in LIVE_IN_PROGRESS:
                return None
            return current

        final = self._wait(finished, self.options['timeout'])
        if final is None and self.options['force_complete'] == 'on_timeout':
            LOG.warning('Live migration %s of %s ran past %.0f s: '
                        'forcing it to complete', record.id,
                        act.resource_id, self.options['timeout'])
            try:
                self.conn.compute.force_complete_server_migration(
                    record.id, act.resource_id)
            except openstack.exceptions.HttpException as exc:
                LOG.warning('Nova refused to force-complete migration %s: '
                            '%s', record.id, _sdk_error(exc))
            final = self._wait(finished,
                               self.options['force_complete_grace'])
        if final is None:
            final = self._abort(act, record, finished)
            if final is None:
                return 'timed out', record
            return ('timed out, aborted (%s)' % final.status
                    if final.status != 'completed' else 'completed'), final
        return final.status, final

    def _abort(self, act, record, finished):
        LOG.warning('Live migration %s of %s ran past its time: aborting '
                    'it', record.id, act.resource_id)
        try:
            self.conn.compute.abort_server_migration(
                record.id, act.resource_id, ignore_missing=True)
        except openstack.exceptions.HttpException as exc:
            # It may have ended between the last poll and the abort.
            LOG.warning('Nova refused to abort migration %s: %s',
                        record.id, _sdk_error(exc))
        return self._wait(finished, self.options['abort_timeout'])

    def _give_up(self, act, attempts, tried, errors):
        summary = '; '.join(errors) or 'no attempt was possible'
        if self.options['fallback_to_cold'] and self.cold is not None:
            LOG.warning('Live migration of %s failed (%s): falling back to '
                        'cold migration', act.resource_id, summary)
            cold_act = base.ActionView(
                key=act.key, action_type=constants.ActionType.COLD_MIGRATE,
                resource_id=act.resource_id, source=act.source,
                destination=act.destination,
                parameters=act.parameters)
            outcome = self.cold.execute(cold_act)
            outcome.attempts += attempts
            outcome.details['fallback'] = 'cold'
            outcome.details['live_errors'] = errors
            outcome.details['hosts_tried'] = tried
            return outcome
        return base.Outcome(state=ActionState.FAILED, attempts=attempts,
                            error='live migration of %s failed: %s'
                                  % (act.resource_id, summary),
                            details={'hosts_tried': tried})

    def reconcile(self, action):
        act = self.check_type(action)
        server = self._server(act.resource_id)
        if self._done(act, server):
            return base.Outcome(state=ActionState.SUCCEEDED,
                                destination=server.compute_host,
                                attempts=0)
        running = self._in_progress(act.resource_id)
        if running is not None:
            return base.Outcome(state=ActionState.ONGOING,
                                details={'migration_id': running.id,
                                         'status': running.status})
        records = self._migrations(act.resource_id)
        return base.Outcome(
            state=ActionState.PENDING,
            details={'started': bool(records),
                     'last_status': records[-1].status if records else None,
                     'host': server.compute_host})

    def cancel(self, action):
        act = self.check_type(action)
        running = self._in_progress(act.resource_id)
        if running is None:
            return base.Outcome(state=ActionState.CANCELLED,
                                details={'running': False})

        def finished():
            current = self._record(act.resource_id, running.id)
            return None if current.status in LIVE_IN_PROGRESS else current
        final = self._abort(act, running, finished)
        if final is None or final.status == 'completed':
            return base.Outcome(
                state=(ActionState.SUCCEEDED if final is not None
                       else ActionState.ONGOING),
                error='the migration could not be aborted in time'
                      if final is None else None)
        return base.Outcome(state=ActionState.CANCELLED,
                            details={'migration_id': running.id,
                                     'status': final.status})


class ColdMigrationExecutor(_NovaExecutor):
    """Cold-migrates servers: migrate, VERIFY_RESIZE, confirm or revert."""

    name = 'nova_cold_migration'
    description = ('Cold-migrate a server through Nova: migrate, wait for '
                   'VERIFY_RESIZE, confirm; revert on failure')
    action_types = (constants.ActionType.COLD_MIGRATE,
                    constants.ActionType.LIVE_MIGRATE)
    migration_type = 'migration'

    @classmethod
    def get_config_opts(cls):
        return _wait_opts([
            cfg.FloatOpt('timeout', default=1800.0, min=1.0,
                         help='Seconds to wait for the server to reach '
                              'VERIFY_RESIZE, and again for the '
                              'confirmation or revert to finish.'),
        ])

    def _settled(self, server_id):
        """The server once it is ACTIVE with no task, or in ERROR."""
        server = self._server(server_id)
        if server.status == 'ERROR' or (server.status == 'ACTIVE' and
                                        not server.task_state):
            return server
        return None

    def _execute(self, act):
        server = self._server(act.resource_id)
        if self._done(act, server):
            return base.Outcome(state=ActionState.SUCCEEDED,
                                destination=server.compute_host, attempts=0,
                                details={'already_done': True})
        source = server.compute_host
        if server.status != 'VERIFY_RESIZE':
            running = [r for r in self._migrations(act.resource_id)
                       if r.status in COLD_IN_PROGRESS]
            if not running:
                self._hook('before_start', server_id=act.resource_id,
                           host=act.destination, attempt=1)
                try:
                    self.conn.compute.migrate_server(
                        act.resource_id, host=act.destination)
                except openstack.exceptions.HttpException as exc:
                    raise NovaError(what='cold migration to %s'
                                    % (act.destination or 'any host'),
                                    server=act.resource_id,
                                    reason=_sdk_error(exc))
            else:
                source = running[-1].source_compute
            server = self._wait(
                lambda: self._resized(act.resource_id, source),
                self.options['timeout'])
            if server is None:
                return base.Outcome(
                    state=ActionState.FAILED,
                    error='cold migration of %s did not reach VERIFY_RESIZE '
                          'within %.0f s' % (act.resource_id,
                                             self.options['timeout']))
        if server.status != 'VERIFY_RESIZE':
            return base.Outcome(
                state=ActionState.FAILED,
                error='cold migration of %s failed: the server is %s on %s'
                      % (act.resource_id, server.status,
                         server.compute_host))
        target = server.compute_host
        if self._hook('verify', server=server) is False:
            return self._revert(act, 'the verify hook refused the server '
                                'on %s' % target)
        try:
            self.conn.compute.confirm_server_resize(act.resource_id)
        except openstack.exceptions.HttpException as exc:
            return self._revert(act, 'Nova refused the confirmation: %s'
                                % _sdk_error(exc))
        server = self._wait(lambda: self._settled(act.resource_id),
                            self.options['timeout'])
        if server is None or server.status != 'ACTIVE':
            return base.Outcome(
                state=ActionState.FAILED,
                error='the confirmed migration of %s did not end ACTIVE'
                      % act.resource_id)
        return base.Outcome(state=ActionState.SUCCEEDED,
                            destination=server.compute_host,
                            details={'source': source})

    def _resized(self, server_id, source):
        """The server once it is VERIFY_RESIZE, ERROR, or back ACTIVE."""
        server = self._server(server_id)
        if server.status in ('VERIFY_RESIZE', 'ERROR'):
            return server
        if server.status == 'ACTIVE' and not server.task_state:
            records = self._migrations(server_id)
            if records and records[-1].status in COLD_FAILED:
                return server
        return None

    def _revert(self, act, why):
        LOG.warning('Reverting the cold migration of %s: %s',
                    act.resource_id, why)
        try:
            self.conn.compute.revert_server_resize(act.resource_id)
        except openstack.exceptions.HttpException as exc:
            return base.Outcome(
                state=ActionState.FAILED,
                error='%s; the revert failed too: %s'
                      % (why, _sdk_error(exc)))
        server = self._wait(lambda: self._settled(act.resource_id),
                            self.options['timeout'])
        host = server.compute_host if server is not None else None
        return base.Outcome(
            state=ActionState.FAILED,
            error='cold migration of %s reverted: %s' % (act.resource_id,
                                                         why),
            details={'reverted': server is not None and
                     server.status == 'ACTIVE', 'host': host})

    def reconcile(self, action):
        act = self.check_type(action)
        server = self._server(act.resource_id)
        if self._done(act, server):
            return base.Outcome(state=ActionState.SUCCEEDED,
                                destination=server.compute_host,
                                attempts=0)
        records = self._migrations(act.resource_id)
        if server.status == 'VERIFY_RESIZE' or (
                records and records[-1].status in COLD_IN_PROGRESS):
            return base.Outcome(state=ActionState.ONGOING,
                                details={'status': server.status})
        return base.Outcome(
            state=ActionState.PENDING,
            details={'started': bool(records),
                     'last_status': records[-1].status if records else None,
                     'host': server.compute_host})

    def cancel(self, action):
        act = self.check_type(action)
        server = self._server(act.resource_id)
        if server.status == 'VERIFY_RESIZE':
            outcome = self._revert(act, 'cancelled')
            outcome.state = (ActionState.CANCELLED
                             if outcome.details.get('reverted')
                             else ActionState.FAILED)
            return outcome
        return super().cancel(action)
