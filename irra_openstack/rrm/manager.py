"""Server side of the irra-rrm RPC API: one region's manager.

:class:`RRMManager` is the endpoint of the RPC server (see
:mod:`irra_openstack.rrm.rpcapi` for the versions). It stores the actions
it is sent, runs its region's actions with the
:class:`~irra_openstack.rrm.waves.WaveRunner` in threads of its own, and
answers for reservations through the region's reservation manager
(:class:`irra_openstack.rrm.reservations.ReservationManager`).

Errors meant for the caller are :class:`~irra_openstack.exception.
IrraError` subclasses listed in the RPC server's allowed remote exmods, so
the engine gets the same exception class with the same message.
"""

import threading

from oslo_log import log as logging
import oslo_messaging

from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack import exception
from irra_openstack.rrm import rpcapi
from irra_openstack.rrm import waves

LOG = logging.getLogger(__name__)

_STATUS_FIELDS = ('state', 'attempts', 'error', 'destination', 'source',
                  'action_type', 'resource_id', 'started_at', 'finished_at')


class NoReservationManager(exception.IrraError):
    msg_fmt = ("Region %(region)s has no reservation manager; set [rrm] "
               "reservation_factory.")


class InvalidActions(exception.IrraError):
    msg_fmt = "Invalid actions for region %(region)s: %(reason)s"


def _text(value):
    if value is None:
        return None
    if hasattr(value, 'isoformat'):
        return value.replace(tzinfo=None).isoformat() + 'Z'
    return value


def _public(record):
    """A dict that travels over RPC: dates as ISO 8601 text."""
    return {k: _text(v) for k, v in record.items()}


def placement_capacity(adapter, providers):
    """Inventories, usage and capacity of ``providers``, by resource class.

    :returns: {"providers": n, "resources": {rc: {"total", "reserved",
        "capacity", "used", "free"}}}, where capacity is (total - reserved)
        * allocation_ratio summed over providers.
    """
    totals = {}
    for provider in providers:
        inv = adapter.get('/resource_providers/%s/inventories' % provider,
                          microversion='1.38').json()['inventories']
        use = adapter.get('/resource_providers/%s/usages' % provider,
                          microversion='1.38').json()['usages']
        for rc, record in inv.items():
            entry = totals.setdefault(rc, dict.fromkeys(
                ('total', 'reserved', 'capacity', 'used'), 0))
            entry['total'] += record['total']
            entry['reserved'] += record['reserved']
            entry['capacity'] += int((record['total'] - record['reserved'])
                                     * record['allocation_ratio'])
            entry['used'] += use.get(rc, 0)
    for entry in totals.values():
        entry['free'] = entry['capacity'] - entry['used']
    return {'providers': len(providers), 'resources': totals}


class RRMManager:
    """The RPC endpoint of one region's irra-rrm.

    :param region: the region name.
    :param runner: the region's :class:`~irra_openstack.rrm.waves.
        WaveRunner`.
    :param reservations: the region's reservation manager, or None.
    :param notifier: an :class:`~irra_openstack.rrm.notifications.
        RRMNotifier`, or None.
    """

    target = oslo_messaging.Target(version=rpcapi.LATEST)
    RPC_API_VERSION = rpcapi.LATEST

    def __init__(self, region, runner, reservations=None, notifier=None):
        self.region = region
        self.runner = runner
        self.reservations = reservations
        self.notifier = notifier
        self._lock = threading.Lock()
        #: Plan UUID -> the thread running it here.
        self._plans = {}
        #: Set by the service once it stops: no new plan is started.
        self.stopping = False

    # Running plans in threads.

    def start_plan(self, plan_uuid):
        """Run the plan in a thread, unless one here runs it already."""
        with self._lock:
            thread = self._plans.get(plan_uuid)
            if self.stopping or (thread is not None and thread.is_alive()):
                return False
            thread = threading.Thread(
                target=self._run_plan, args=(plan_uuid,),
                name='rrm-plan-%s' % plan_uuid[:8], daemon=True)
            self._plans[plan_uuid] = thread
            thread.start()
            return True

    def _run_plan(self, plan_uuid):
        try:
            counts = self.runner.run_plan(plan_uuid)
            LOG.info('Plan %(plan)s in %(region)s: %(counts)s',
                     {'plan': plan_uuid, 'region': self.region,
                      'counts': counts})
        except Exception:
            LOG.exception('Running plan %s failed', plan_uuid)
        finally:
            with self._lock:
                if self._plans.get(plan_uuid) is threading.current_thread():
                    del self._plans[plan_uuid]
            # Actions may have been added while this thread was ending.
            if not self.stopping and self._has_pending(plan_uuid):
                self.start_plan(plan_uuid)

    def _has_pending(self, plan_uuid):
        try:
            plan, actions = plan_api.plan_actions(plan_uuid)
        except Exception:
            LOG.exception('Cannot read plan %s', plan_uuid)
            return False
        return any(a['state'] == constants.ActionState.PENDING and
                   self.runner.mine(a, plan) for a in actions)

    def running_plans(self):
        with self._lock:
            return [p for p, t in self._plans.items() if t.is_alive()]

    def stop(self, timeout=None):
        """Start nothing new, and wait for the running plans to stop."""
        self.stopping = True
        self.runner.stop()
        self.wait(timeout)

    def wait(self, timeout=None):
        """Wait for the threads running plans to end."""
        with self._lock:
            threads = list(self._plans.values())
        for thread in threads:
            thread.join(timeout)

    def reconcile_and_resume(self):
        """Reconcile ONGOING actions, then resume plans with PENDING ones.

        :returns: the reconciliation report plus ``resumed``: plan UUIDs.
        """
        report = self.runner.reconcile()
        resumed = [p for p in self.runner.plans_to_resume()
                   if self.start_plan(p)]
        report['resumed'] = resumed
        return report

    # The RPC API.

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def get_capacity(self, ctxt):
        """Capacity of the region's resource providers, by class."""
        if self.reservations is None:
            raise NoReservationManager(region=self.region)
        try:
            providers = self.reservations.region_providers()
            result = placement_capacity(self.reservations.adapter,
                                        providers)
        except exception.IrraError:
            raise
        except Exception as exc:
            LOG.warning('Cannot read the capacity of %(region)s: %(exc)s',
                        {'region': self.region, 'exc': exc})
            raise exception.IrraError(
                'Cannot read the capacity of region %s from Placement: '
                '%s: %s' % (self.region, type(exc).__name__, exc))
        result['region'] = self.region
        return result

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def reserve(self, ctxt, resources, expires_at, providers=None,
                hosts=None, key=None, project_id=None):
        """Reserve capacity in this region's Placement."""
        if self.reservations is None:
            raise NoReservationManager(region=self.region)
        known = {'region': self.region, 'resources': resources,
                 'project_id': project_id, 'expires_at': expires_at}
        self._notify_reservation('create', 'start', known)
        try:
            providers = list(providers or ())
            if hosts:
                providers.extend(
                    self.reservations.providers_for_hosts(hosts).values())
            row = self.reservations.reserve(
                resources, providers, expires_at, key=key,
                project_id=project_id)
        except Exception as exc:
            self._notify_reservation('create', 'error', known)
            if isinstance(exc, exception.IrraError):
                raise
            LOG.exception('Reservation in %s failed', self.region)
            raise exception.IrraError(
                'The reservation in region %s failed: %s: %s'
                % (self.region, type(exc).__name__, exc))
        self._notify_reservation('create', 'end', row)
        return _public(row)

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def release(self, ctxt, reservation_id):
        """Release a reservation of this region."""
        if self.reservations is None:
            raise NoReservationManager(region=self.region)
        known = {'uuid': reservation_id, 'region': self.region}
        self._notify_reservation('release', 'start', known)
        try:
            row = self.reservations.release(reservation_id)
        except Exception as exc:
            self._notify_reservation('release', 'error', known)
            if isinstance(exc, exception.IrraError):
                raise
            LOG.exception('Release of %s failed', reservation_id)
            raise exception.IrraError(
                'The release of reservation %s failed: %s: %s'
                % (reservation_id, type(exc).__name__, exc))
        self._notify_reservation('release', 'end', row)
        return _public(row)

    def _notify_reservation(self, operation, phase, row, old_state=None):
        if self.notifier is not None:
            self.notifier.reservation(operation, phase, row, old_state)

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def execute_actions(self, ctxt, plan_id, actions, scope=None):
        """Store the plan's actions and start running this region's.

        Idempotent: actions whose key is stored already are left as they
        are; a plan already running here is not started twice.
        """
        records = self._validate(actions)
        scope = dict(scope or {}, submitted_to=self.region)
        plan, created = self.runner.db_retry(
            plan_api.actions_ensure, plan_id, records, scope=scope)
        mine = sum(1 for r in records if self.runner.mine(r, plan))
        started = self.start_plan(plan_id) if mine else False
        LOG.info('Plan %(plan)s: %(n)d action(s) received by %(region)s, '
                 '%(new)d new, %(mine)d of this region',
                 {'plan': plan_id, 'n': len(records), 'region': self.region,
                  'new': created, 'mine': mine})
        return {'plan': _public(plan), 'accepted': len(records),
                'created': created, 'mine': mine, 'started': started}

    def _validate(self, actions):
        if not isinstance(actions, list):
            raise InvalidActions(region=self.region,
                                 reason='actions must be a list')
        allowed = {'idempotency_key', 'action_type', 'resource_id',
                   'resource_kind', 'source', 'destination', 'reason'}
        records = []
        seen = set()
        for index, action in enumerate(actions):
            if not isinstance(action, dict):
                raise InvalidActions(region=self.region,
                                     reason='action %d is not an object'
                                     % index)
            unknown = sorted(set(action) - allowed)
            if unknown:
                raise InvalidActions(
                    region=self.region, reason='action %d has unknown '
                    'fields %s' % (index, ', '.join(unknown)))
            for field in ('idempotency_key', 'action_type', 'resource_id'):
                if not action.get(field):
                    raise InvalidActions(
                        region=self.region,
                        reason='action %d has no %s' % (index, field))
            key = action['idempotency_key']
            if key in seen:
                raise InvalidActions(region=self.region,
                                     reason='the key %s is given twice'
                                     % key)
            seen.add(key)
            kind = action.get('resource_kind') or constants.ResourceKind.VM
            if kind not in constants.ResourceKind.ALL:
                raise InvalidActions(
                    region=self.region, reason='action %s has the unknown '
                    'resource kind %r' % (key, kind))
            reason = action.get('reason') or {}
            if not isinstance(reason, dict):
                raise InvalidActions(region=self.region, reason='the '
                                     'reason of %s is not an object' % key)
            wave = reason.get('wave')
            if wave is not None and (not isinstance(wave, int) or wave < 0):
                raise InvalidActions(
                    region=self.region, reason='the wave of %s must be an '
                    'integer of 0 or more, not %r' % (key, wave))
            depends_on = reason.get('depends_on') or []
            if not isinstance(depends_on, list) or not all(
                    isinstance(d, str) and d for d in depends_on):
                raise InvalidActions(
                    region=self.region, reason='depends_on of %s must be a '
                    'list of idempotency keys, not %r' % (key, depends_on))
            if key in depends_on:
                raise InvalidActions(region=self.region,
                                     reason='%s depends on itself' % key)
            region = reason.get('region')
            if region is not None and (not isinstance(region, str) or
                                       not region):
                raise InvalidActions(
                    region=self.region, reason='the region of %s must be a '
                    'region name, not %r' % (key, region))
            # An action that names no region is run by the region it was
            # sent to.
            reason = dict(reason)
            reason.setdefault('region', self.region)
            records.append(dict(action, resource_kind=kind, reason=reason))
        return records

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def cancel(self, ctxt, plan_id, keys=None):
        """Cancel this region's actions of a plan (all, or ``keys``)."""
        return self.runner.cancel(plan_id, keys)

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def status(self, ctxt, plan_id, keys=None):
        """The plan and the states of its actions (all regions')."""
        plan, actions = plan_api.plan_actions(plan_id)
        wanted = None if keys is None else set(keys)
        states = {}
        for action in actions:
            key = action['idempotency_key']
            if wanted is not None and key not in wanted:
                continue
            entry = {f: _text(action[f]) for f in _STATUS_FIELDS}
            entry['region'] = waves.action_region(action, plan)
            states[key] = entry
        return {'plan': _public(plan), 'actions': states,
                'region': self.region,
                'running_here': plan_id in self.running_plans()}

    @oslo_messaging.expected_exceptions(exception.IrraError)
    def reconcile(self, ctxt):
        """Reconcile now (API 1.1); returns the report."""
        return self.reconcile_and_resume()
