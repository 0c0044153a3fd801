"""The ``placement_reservation`` executor: RESERVE and RELEASE actions.

A RESERVE action's parameters::

    {"resources": {"VCPU": 8, "MEMORY_MB": 16384},   # on each provider
     "providers": ["<rp uuid>", ...],      # or "host": "compute-3",
                                            # or "hosts": [...]
     "expires_at": "2026-11-22T12:00:00Z"}  # or "ttl": seconds

A RELEASE action names the reservation by ``parameters.reservation`` (its
UUID), by ``parameters.reserve_key`` (the idempotency key of the RESERVE
action that made it), or by its ``resource_id`` (the reservation UUID).

The reservation consumer's UUID is derived from the RESERVE action's
idempotency key, so running the same action twice, or after a crash, finds
the same reservation and never makes a second one.
"""

import datetime

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack.db import reservation_api
from irra_openstack import exception
from irra_openstack.executor import base
from irra_openstack import plugins
from irra_openstack.rrm import reservations

LOG = logging.getLogger(__name__)

ActionState = constants.ActionState
State = constants.ReservationState


class ReservationExecutor(base.Executor):
    """Reserves and releases capacity in the region's Placement.

    :param manager: the region's
        :class:`~irra_openstack.rrm.reservations.ReservationManager`.
    :param options: the plugin's options (a mapping or its oslo.config
        group); defaults otherwise.
    """

    name = 'placement_reservation'
    description = ('Reserve capacity in Placement ahead of a predicted '
                   'surge, and release it')
    action_types = (constants.ActionType.RESERVE,
                    constants.ActionType.RELEASE)

    def __init__(self, manager, options=None):
        self.manager = manager
        self.options = base.resolve_options(type(self), options)

    @classmethod
    def from_config(cls, conf, region):
        """Build it for irra-rrm: the manager from [rrm] reservation_factory.

        :raises ConfigError: no reservation factory is configured.
        """
        from irra_openstack.rrm import waves

        path = conf.rrm.reservation_factory
        if not path:
            raise exception.ConfigError(
                reason='the placement_reservation executor needs a '
                       'reservation manager: set [rrm] reservation_factory, '
                       'e.g. to irra_openstack.rrm.reservations.'
                       'manager_from_config')
        manager = waves.import_object(path)(conf, region)
        group = plugins.register_plugin_opts(conf, 'irra.executors',
                                             cls.name)
        return cls(manager, group)

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.IntOpt('default_ttl', default=3600, min=60,
                       help='Seconds a reservation is held when its RESERVE '
                            'action gives neither expires_at nor ttl. The '
                            'reconciler releases it at its expiry.'),
        ]

    def execute(self, action):
        act = self.check_type(action)
        try:
            if act.action_type == constants.ActionType.RESERVE:
                return self._reserve(act)
            return self._release(act)
        except exception.IrraError as exc:
            LOG.warning('Action %s failed: %s', act.key, exc)
            return base.Outcome(state=ActionState.FAILED, error=str(exc))

    def _reserve(self, act):
        if not act.key:
            raise base.ExecutionError(key=act.resource_id,
                                      reason='a RESERVE action needs an '
                                      'idempotency key')
        params = act.parameters
        providers = params.get('providers')
        if not providers:
            hosts = params.get('hosts') or (
                [params['host']] if params.get('host') else [])
            if not hosts:
                raise base.ExecutionError(
                    key=act.key, reason='a RESERVE action needs providers, '
                    'host or hosts in its parameters')
            found = self.manager.providers_for_hosts(hosts)
            providers = [found[h] for h in hosts]
        expires_at = params.get('expires_at')
        if expires_at is None:
            ttl = params.get('ttl', self.options['default_ttl'])
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) \
                    or ttl <= 0:
                raise base.ExecutionError(
                    key=act.key, reason='ttl must be a positive number of '
                    'seconds, not %r' % (ttl,))
            expires_at = self.manager.now() + datetime.timedelta(
                seconds=ttl)
        row = self.manager.reserve(params.get('resources'), providers,
                                   expires_at, key=act.key)
        details = {'reservation': row['uuid'],
                   'consumer_uuid': row['consumer_uuid'],
                   'providers': list(row['provider_uuids']),
                   'reservation_state': row['state']}
        if row['state'] == State.FAILED:
            return base.Outcome(state=ActionState.FAILED, details=details,
                                error='reservation %s failed earlier; '
                                'Placement refused it' % row['uuid'])
        return base.Outcome(state=ActionState.SUCCEEDED, details=details)

    def _target(self, act):
        params = act.parameters
        if params.get('reservation'):
            return reservation_api.reservation_get(params['reservation'])
        if params.get('reserve_key'):
            return reservation_api.reservation_get_by_consumer(
                reservations.consumer_for_key(self.manager.region,
                                              params['reserve_key']))
        return reservation_api.reservation_get(act.resource_id)

    def _release(self, act):
        row = self._target(act)
        details = {'reservation': row['uuid']}
        try:
            row = self.manager.release(row['uuid'])
        except reservation_api.ReservationEnded:
            row = reservation_api.reservation_get(row['uuid'])
            details['already'] = True
        details['reservation_state'] = row['state']
        if row['state'] in (State.RELEASED, State.EXPIRED):
            return base.Outcome(state=ActionState.SUCCEEDED,
                                details=details)
        return base.Outcome(
            state=ActionState.SKIPPED, details=details,
            error='reservation %s is %s: there is nothing to release'
                  % (row['uuid'], row['state']))

    def reconcile(self, action):
        act = self.check_type(action)
        try:
            if act.action_type == constants.ActionType.RESERVE:
                row = reservation_api.reservation_get_by_consumer(
                    reservations.consumer_for_key(self.manager.region,
                                                  act.key))
            else:
                row = self._target(act)
        except reservation_api.ReservationNotFound:
            if act.action_type == constants.ActionType.RESERVE:
                return base.Outcome(state=ActionState.PENDING,
                                    details={'started': False})
            return base.Outcome(state=ActionState.FAILED,
                                error='the reservation to release does not '
                                'exist')
        details = {'reservation': row['uuid'],
                   'reservation_state': row['state']}
        held = self.manager.consumer_allocations(
            row['consumer_uuid']).get('allocations')
        details['held_in_placement'] = bool(held)
        if act.action_type == constants.ActionType.RELEASE:
            if row['state'] in (State.PENDING, State.ACTIVE):
                return base.Outcome(state=ActionState.PENDING,
                                    details=details)
            return base.Outcome(state=ActionState.SUCCEEDED,
                                details=details)
        if row['state'] == State.FAILED:
            return base.Outcome(state=ActionState.FAILED, details=details,
                                error='Placement refused reservation %s'
                                % row['uuid'])
        if row['state'] == State.PENDING:
            if held and reservation_api.reservation_transition(
                    row['uuid'], (State.PENDING,), State.ACTIVE):
                details['reservation_state'] = State.ACTIVE
                return base.Outcome(state=ActionState.SUCCEEDED,
                                    details=details)
            # Not written to Placement: running it again is safe.
            return base.Outcome(state=ActionState.PENDING, details=details)
        if row['state'] == State.ACTIVE and not held:
            return base.Outcome(state=ActionState.FAILED, details=details,
                                error='reservation %s is ACTIVE but holds '
                                'nothing in Placement' % row['uuid'])
        return base.Outcome(state=ActionState.SUCCEEDED, details=details)
