"""Cross-region scaling of a stateless application tier.

An application group is the set of servers whose metadata key
``app_label`` (``irra_app`` by default) has the same value, in every
region. A ``scale_out`` action grows the group in the region with capacity
(the action's ``destination``), a ``scale_in`` action shrinks it in the
region that is short (the action's ``source``).

Both actions carry the group's desired size in that region,
``parameters={"size": N}``, not a difference: running the same action
twice, or again after a crash, converges on the same group instead of
adding or removing servers a second time.

New servers are built from the group's *template*: the flavor, image,
networks, security groups, key pair and metadata of one existing member
(preferably one in the target region), mapped to the target region with a
:class:`~irra_openstack.executor.relocation.ResourceMapping`. Each carries
the tag of the action (:func:`~irra_openstack.executor.relocation.
action_tag`), so that a retry counts what it already created. Scale-in
removes servers this action's group created most recently first. Only
stateless tiers qualify: a group whose members have volumes attached, or
the metadata ``irra_stateful=true``, is refused.
"""

import time

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack.executor import base
from irra_openstack.executor import relocation

LOG = logging.getLogger(__name__)

#: Server metadata that marks a group as stateful (never scaled).
STATEFUL_METADATA = 'irra_stateful'

_OPTS = [
    cfg.StrOpt('app_label', default='irra_app',
               help='Server metadata key whose value names the '
                    'application group a server belongs to.'),
    cfg.IntOpt('max_step', default=20, min=1,
               help='Most servers one scale action may create or delete; '
                    'a larger change fails before doing anything.'),
    cfg.FloatOpt('boot_timeout', default=900.0, min=1.0,
                 help='Seconds to wait for new servers to become ACTIVE '
                      'before the scale-out fails and removes them.'),
    cfg.FloatOpt('delete_timeout', default=300.0, min=1.0,
                 help='Seconds to wait for deleted servers to disappear.'),
    cfg.FloatOpt('poll_interval', default=2.0, min=0.0,
                 help='Seconds between two reads of server status while '
                      'waiting.'),
]

_LIVE = ('ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE',
         'MIGRATING', 'HARD_REBOOT', 'REBOOT', 'PASSWORD')


class CrossRegionScaleExecutor(base.Executor):
    """Scales an application group out in one region or in in another.

    :param connections: {region name: openstacksdk ``Connection``}.
    :param mapping: a :class:`~irra_openstack.executor.relocation.
        ResourceMapping` or {region: ResourceMapping}, used to build new
        servers in a region from a template found in another one (the
        image is mapped by ID through ``images``).
    :param health_check: ``health_check(conn, server)``; a new server that
        fails it makes the scale-out fail and its new servers removed.
    :param sleep: ``sleep(seconds)``, injectable.
    :param clock: a monotonic clock, injectable.
    """

    name = 'cross_region_scale'
    description = ('Scales a stateless application group out in the region '
                   'with capacity and in where it is short, to a desired '
                   'size.')
    action_types = (constants.ActionType.SCALE_OUT,
                    constants.ActionType.SCALE_IN)

    @classmethod
    def get_config_opts(cls):
        return list(_OPTS)

    def __init__(self, connections, mapping=None, health_check=None,
                 sleep=time.sleep, clock=time.monotonic, app_label='irra_app',
                 max_step=20, boot_timeout=900.0, delete_timeout=300.0,
                 poll_interval=2.0):
        if not connections:
            raise ValueError('the scale executor needs at least one region '
                             'connection')
        self.connections = dict(connections)
        self.mapping = mapping
        self.health_check = health_check
        self.app_label = app_label
        self.max_step = max_step
        self.boot_timeout = boot_timeout
        self.delete_timeout = delete_timeout
        self.waiter = relocation.Waiter(sleep=sleep, clock=clock,
                                        interval=poll_interval)

    # -- reading the group ------------------------------------------------

    def members(self, region, app):
        """Live servers of group ``app`` in ``region``, oldest first."""
        conn = self.connections[region]
        servers = [s for s in conn.compute.servers(details=True,
                                                   all_projects=True)
                   if (relocation.field(s, 'metadata') or {}).get(
                       self.app_label) == app and
                   relocation.field(s, 'status') in _LIVE + ('ERROR',)]
        return sorted(servers, key=lambda s: (
            str(relocation.field(s, 'created_at') or ''),
            relocation.field(s, 'id')))

    def _template(self, app, region, key):
        """(template server, its region): the target region's first."""
        order = [region] + sorted(r for r in self.connections if r != region)
        for name in order:
            for server in self.members(name, app):
                if relocation.field(server, 'status') == 'ACTIVE':
                    return server, name
        raise base.ExecutionError(
            key=key, reason='application group %r has no ACTIVE server in '
                            'any region (%s) to use as a template'
                            % (app, ', '.join(order)))

    def _check_stateless(self, members, app, key):
        for server in members:
            meta = relocation.field(server, 'metadata') or {}
            volumes = (relocation.field(server, 'attached_volumes') or
                       relocation.field(
                           server, 'os-extended-volumes:volumes_attached') or
                       [])
            if str(meta.get(STATEFUL_METADATA, '')).lower() in (
                    'true', '1', 'yes') or volumes:
                raise base.ExecutionError(
                    key=key, reason='application group %r is stateful '
                                    '(server %s has volumes or %s=true); '
                                    'only stateless tiers are scaled'
                                    % (app, relocation.field(server, 'id'),
                                       STATEFUL_METADATA))

    def _mapping(self, region, same_region):
        if same_region:
            return relocation.ResourceMapping(passthrough=True)
        if isinstance(self.mapping, dict):
            return self.mapping.get(region) or relocation.ResourceMapping()
        return self.mapping or relocation.ResourceMapping()

    def _parse(self, action):
        key, app, source, destination, params = \
            relocation.action_fields(action)
        action_type = relocation.field(action, 'action_type')
        if action_type not in self.action_types:
            raise base.ExecutionError(
                key=key, reason='%s runs %s actions, not %r'
                                % (self.name, ' and '.join(self.action_types),
                                   action_type))
        region = (destination if action_type ==
                  constants.ActionType.SCALE_OUT else source)
        if region not in self.connections:
            raise base.ExecutionError(
                key=key, reason='no connection to region %r (known regions: '
                                '%s)' % (region,
                                         ', '.join(sorted(self.connections))))
        if not app:
            raise base.ExecutionError(
                key=key, reason='the action names no application group')
        size = params.get('size')
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise base.ExecutionError(
                key=key, reason='parameters.size must be the desired number '
                                '(an integer >= 0) of servers of group %r in '
                                'region %s, not %r' % (app, region, size))
        return key, app, region, action_type, size

    # -- the plugin interface -------------------------------------------

    def execute(self, action):
        """Bring the group to ``parameters.size`` servers in the region."""
        key, app, region, action_type, size = self._parse(action)
        conn = self.connections[region]
        members = self.members(region, app)
        self._check_stateless(members, app, key)
        out = action_type == constants.ActionType.SCALE_OUT
        if out:
            # A server in ERROR does not serve: it is not counted, and a
            # scale-in removes it first.
            members = [s for s in members
                       if relocation.field(s, 'status') != 'ERROR']
        current = len(members)
        details = {'region': region, 'app': app, 'before': current,
                   'size': size}
        if (out and size <= current) or (not out and size >= current):
            LOG.info('Scale %s: group %s already has %d servers in %s '
                     '(desired %d)', key, app, current, region, size)
            return base.Outcome(state=constants.ActionState.SUCCEEDED,
                                destination=region,
                                details=dict(details, changed=0))
        if abs(size - current) > self.max_step:
            return base.Outcome(
                state=constants.ActionState.FAILED,
                error='scaling group %r in %s from %d to %d servers exceeds '
                      'max_step %d' % (app, region, current, size,
                                       self.max_step), details=details)
        if out:
            return self._scale_out(conn, key, app, region, members, size,
                                   details)
        return self._scale_in(conn, key, region, members, size, details)

    def _scale_out(self, conn, key, app, region, members, size, details):
        tag = relocation.action_tag(key)
        created = []
        try:
            template, where = self._template(app, region, key)
            self._check_stateless([template], app, key)
            mapping = self._mapping(region, where == region)
            image = relocation.field(template, 'image') or {}
            image_id = relocation.field(image, 'id')
            if where != region:
                image_id = mapping.map('images', image_id, key)
            kwargs = relocation.boot_arguments(
                template, mapping, key, image_id=image_id,
                extra_metadata={self.app_label: app}, tags=[tag])
            relocation.resolve_flavor(conn, kwargs)
            base_name = '%s-%s' % (app, key.rsplit(':', 1)[-1][:8])
            for index in range(size - len(members)):
                kwargs['name'] = '%s-%d' % (base_name, index)
                created.append(relocation.field(
                    conn.compute.create_server(**kwargs), 'id'))
            for server_id in created:
                server = self.waiter.until(
                    lambda sid=server_id: conn.compute.find_server(
                        sid, ignore_missing=True),
                    relocation.server_status(key, what='new server'),
                    self.boot_timeout,
                    'new server %s to become ACTIVE' % server_id, key)
                if self.health_check is not None and \
                        not self.health_check(conn, server):
                    raise base.ExecutionError(
                        key=key, reason='new server %s failed its health '
                                        'check' % server_id)
        except Exception as exc:
            LOG.warning('Scale-out %s of %s in %s failed, removing its %d '
                        'new servers: %s', key, app, region, len(created),
                        exc)
            removed = self._delete(conn, key, created)
            return base.Outcome(
                state=constants.ActionState.FAILED, error=str(exc),
                details=dict(details, created=created, removed=removed))
        LOG.info('Scale-out %s: %d servers of %s added in %s', key,
                 len(created), app, region)
        return base.Outcome(state=constants.ActionState.SUCCEEDED,
                            destination=region,
                            details=dict(details, created=created,
                                         changed=len(created)))

    def _scale_in(self, conn, key, region, members, size, details):
        # Unhealthy members go first, then the newest (sorts are stable).
        ranked = sorted(members, key=lambda s: str(
            relocation.field(s, 'created_at') or ''), reverse=True)
        ranked.sort(key=lambda s: relocation.field(s, 'status') == 'ACTIVE')
        victims = [relocation.field(s, 'id')
                   for s in ranked[:len(members) - size]]
        errors = self._delete(conn, key, victims, collect_errors=True)
        if errors:
            return base.Outcome(
                state=constants.ActionState.FAILED,
                error='could not delete %d of %d servers: %s'
                      % (len(errors), len(victims), '; '.join(errors)),
                details=dict(details, victims=victims))
        return base.Outcome(state=constants.ActionState.SUCCEEDED,
                            destination=region,
                            details=dict(details, removed=victims,
                                         changed=len(victims)))

    def _delete(self, conn, key, server_ids, collect_errors=False):
        done, errors = [], []
        for server_id in server_ids:
            conn.compute.delete_server(server_id, ignore_missing=True)
        for server_id in server_ids:
            try:
                self.waiter.until(
                    lambda sid=server_id: relocation.is_gone(conn, sid),
                    bool, self.delete_timeout,
                    'server %s to be deleted' % server_id, key)
                done.append(server_id)
            except base.ExecutionError as exc:
                errors.append(str(exc))
        return errors if collect_errors else done

    def reconcile(self, action):
        """SUCCEEDED when the group has its desired size, else FAILED."""
        key, app, region, action_type, size = self._parse(action)
        members = self.members(region, app)
        active = sum(relocation.field(s, 'status') == 'ACTIVE'
                     for s in members)
        out = action_type == constants.ActionType.SCALE_OUT
        if (out and active >= size) or (not out and len(members) <= size):
            return base.Outcome(state=constants.ActionState.SUCCEEDED,
                                destination=region,
                                details={'members': len(members)})
        return base.Outcome(
            state=constants.ActionState.FAILED,
            error='group %r has %d servers (%d ACTIVE) in %s, not the %d '
                  'desired; executing the action again converges'
                  % (app, len(members), active, region, size),
            details={'members': len(members)})
