"""Cross-region relocation: move a server to another region's cloud.

Two regions are two independent clouds (two Novas, two Glances), so there
is no migration between them. The executor rebuilds the server in the
target region from a snapshot, in six steps:

1. snapshot the server in the source region;
2. transfer the image: download it from the source image service and
   upload it to the target one;
3. boot in the target region, with the flavor, network, security groups
   and key pair mapped by a :class:`ResourceMapping`;
4. wait until the new server is ACTIVE and passes the health-check hook;
5. cut over through the cut-over hook (move a floating IP, update DNS);
6. delete the source server.

The source server is not changed before step 6. A failure before the
cut-over is compensated by deleting what the action created in the target
region (the server, the image) and the intermediate snapshot in the source
region. A failure after the cut-over is not rolled back: the target is
then the live server, and the operator is told that the source remains.

Every resource the action creates carries the tag :func:`action_tag` (a
server tag in Nova, an image tag in Glance) and the metadata key
``irra_action_key``. A repeated message, or a retry after a crash, looks
them up first and continues from where the first attempt stopped, so it
never creates a second copy.

The region connections are openstacksdk ``Connection`` objects, or any
object with the same ``compute`` and ``image`` proxy methods.
"""

import dataclasses
import tempfile
import time

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack.executor import base

LOG = logging.getLogger(__name__)

#: Metadata key (server metadata, image property) holding the action key.
KEY_METADATA = 'irra_action_key'
#: Metadata key of the relocated server: the source server's UUID.
FROM_METADATA = 'irra_relocated_from'

_OPTS = [
    cfg.FloatOpt('snapshot_timeout', default=1800.0, min=1.0,
                 help='Seconds to wait for the snapshot of the source '
                      'server to become active before the relocation '
                      'fails and is compensated.'),
    cfg.FloatOpt('boot_timeout', default=900.0, min=1.0,
                 help='Seconds to wait for the server booted in the target '
                      'region to become ACTIVE before the relocation fails '
                      'and is compensated.'),
    cfg.FloatOpt('delete_timeout', default=300.0, min=1.0,
                 help='Seconds to wait for a deleted server to disappear '
                      '(the source after the cut-over, or a target server '
                      'being compensated).'),
    cfg.FloatOpt('poll_interval', default=2.0, min=0.0,
                 help='Seconds between two reads of a server or image '
                      'status while waiting.'),
    cfg.BoolOpt('keep_snapshot', default=False,
                help='Keep the intermediate snapshot in the source region '
                     'after a successful relocation, instead of deleting '
                     'it.'),
]


def action_tag(key):
    """The tag that marks what action ``key`` created.

    Nova accepts tags of up to 60 characters without ``/`` or ``,``; an
    idempotency key (``type:32 hex``) fits.
    """
    tag = 'irra:%s' % key
    if len(tag) > 60 or '/' in tag or ',' in tag:
        raise base.ExecutionError(
            key=key, reason='the idempotency key cannot be a Nova tag (at '
                            'most 55 characters, no "/" or ","): %r' % key)
    return tag


def field(obj, name, default=None):
    """Attribute ``name`` of an SDK resource or key of a dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def action_fields(action):
    """(key, resource id, source, destination, parameters) of an action.

    ``action`` is a :class:`~irra_openstack.optimizer.actions.PlannedAction`
    or a dict with the same keys (or the ``key`` as ``idempotency_key``).
    """
    key = field(action, 'key') or field(action, 'idempotency_key')
    if not key:
        raise base.ExecutionError(
            key='(no key)', reason='the action has no idempotency key; '
                                   'build it with PlannedAction.with_key()')
    params = field(action, 'parameters')
    if params is None:
        params = (field(action, 'reason') or {}).get('parameters') or {}
    return (key, field(action, 'resource_id'), field(action, 'source'),
            field(action, 'destination'), dict(params))


class Waiter:
    """Polls with an injectable sleep and clock (tests count, not wait)."""

    def __init__(self, sleep=time.sleep, clock=time.monotonic,
                 interval=2.0):
        self.sleep = sleep
        self.clock = clock
        self.interval = interval
        #: How many reads all waits made, for tests and the benchmark.
        self.polls = 0

    def until(self, read, done, timeout, what, key):
        """Call ``read()`` until ``done(value)`` is true.

        ``done`` may raise :class:`base.ExecutionError` for a failure state.

        :returns: the last value read.
        :raises base.ExecutionError: on timeout.
        """
        deadline = self.clock() + timeout
        while True:
            value = read()
            self.polls += 1
            if done(value):
                return value
            if self.clock() >= deadline:
                raise base.ExecutionError(
                    key=key, reason='timed out after %.0f s waiting for %s'
                                    % (timeout, what))
            self.sleep(self.interval)


@dataclasses.dataclass
class ResourceMapping:
    """How source-region names translate to the target region.

    Each mapping is keyed by the source's flavor name (or ID), network name
    (or ID), security group name and key pair name; the value is what the
    target region calls it (a flavor ID or name, resolved to its ID in the
    target region; a network UUID; a security group name; a key pair
    name). With ``passthrough`` an unmapped name is
    used as is in the target region; without it, an unmapped name is an
    error before anything is created.
    """

    flavors: dict = dataclasses.field(default_factory=dict)
    networks: dict = dataclasses.field(default_factory=dict)
    security_groups: dict = dataclasses.field(default_factory=dict)
    key_pairs: dict = dataclasses.field(default_factory=dict)
    images: dict = dataclasses.field(default_factory=dict)
    passthrough: bool = False

    def map(self, kind, name, key):
        """The target region's name of source ``name`` of ``kind``."""
        table = getattr(self, kind)
        if name in table:
            return table[name]
        if self.passthrough:
            return name
        raise base.ExecutionError(
            key=key, reason='no %s mapping for %r in the target region; '
                            'add it to the relocation mapping (known: %s)'
                            % (kind.rstrip('s').replace('_', ' '), name,
                               ', '.join(sorted(map(str, table))) or
                               'none'))


def server_flavor_name(server):
    """The flavor a server was booted with: name (2.47+) or ID."""
    flavor = field(server, 'flavor') or {}
    return (field(flavor, 'original_name') or field(flavor, 'name') or
            field(flavor, 'id'))


def server_networks(server):
    """Network names of a server, from its addresses, sorted."""
    return sorted((field(server, 'addresses') or {}).keys())


def server_security_groups(server):
    """Security group names of a server, unique and sorted."""
    return sorted({field(sg, 'name') for sg in
                   field(server, 'security_groups') or []
                   if field(sg, 'name')})


def boot_arguments(server, mapping, key, name=None, image_id=None,
                   extra_metadata=None, tags=(), availability_zone=None):
    """``compute.create_server`` arguments for a copy of ``server``.

    Everything is mapped through ``mapping`` first, so that an unmapped
    flavor, network, security group or key pair fails before any resource
    is created.
    """
    kwargs = {
        'name': name or field(server, 'name'),
        'flavor_id': mapping.map('flavors', server_flavor_name(server), key),
        'image_id': image_id,
    }
    networks = server_networks(server)
    if networks:
        kwargs['networks'] = [{'uuid': mapping.map('networks', net, key)}
                              for net in networks]
    else:
        kwargs['networks'] = 'none'
    groups = server_security_groups(server)
    if groups:
        kwargs['security_groups'] = [
            {'name': mapping.map('security_groups', sg, key)}
            for sg in groups]
    key_name = field(server, 'key_name')
    if key_name:
        kwargs['key_name'] = mapping.map('key_pairs', key_name, key)
    metadata = {k: v for k, v in (field(server, 'metadata') or {}).items()
                if k not in (KEY_METADATA, FROM_METADATA)}
    metadata.update(extra_metadata or {})
    metadata[KEY_METADATA] = key
    kwargs['metadata'] = metadata
    if tags:
        kwargs['tags'] = list(tags)
    if availability_zone:
        kwargs['availability_zone'] = availability_zone
    return kwargs


def resolve_flavor(conn, boot_kwargs):
    """Replace a flavor name in ``boot_kwargs`` by the region's flavor ID.

    Nova's boot takes a flavor ID; a mapping (or passthrough) may give the
    name. Connections without ``compute.find_flavor`` are left as they are.
    """
    finder = getattr(conn.compute, 'find_flavor', None)
    if finder is not None:
        flavor = finder(boot_kwargs['flavor_id'], ignore_missing=True)
        if flavor is not None:
            boot_kwargs['flavor_id'] = field(flavor, 'id')
    return boot_kwargs


def find_servers(conn, tag):
    """Servers of ``conn`` tagged ``tag`` (not deleted), by ID."""
    return sorted(conn.compute.servers(details=True, all_projects=True,
                                       tags=tag),
                  key=lambda s: field(s, 'id'))


def find_images(conn, tag):
    """Images of ``conn`` tagged ``tag``, by ID."""
    return sorted(conn.image.images(tag=[tag]),
                  key=lambda i: field(i, 'id'))


def is_gone(conn, server_id):
    """True when ``server_id`` no longer exists (or is DELETED)."""
    server = conn.compute.find_server(server_id, ignore_missing=True)
    return server is None or field(server, 'status') == 'DELETED'


def server_status(key, ok=('ACTIVE',), what='server'):
    """A ``done`` predicate for :meth:`Waiter.until` on server status."""
    def done(server):
        if server is None:
            raise base.ExecutionError(key=key, reason='the %s disappeared'
                                      % what)
        status = field(server, 'status')
        if status == 'ERROR':
            fault = field(server, 'fault') or {}
            raise base.ExecutionError(
                key=key, reason='the %s %s went to ERROR: %s'
                                % (what, field(server, 'id'),
                                   field(fault, 'message') or
                                   'no fault message'))
        return status in ok
    return done


class CrossRegionRelocationExecutor(base.Executor):
    """Relocates a server to another region by snapshot, copy and boot.

    :param connections: {region name: openstacksdk ``Connection``}; the
        action's ``source`` and ``destination`` are region names.
    :param mapping: a :class:`ResourceMapping`, or {target region:
        :class:`ResourceMapping`}.
    :param health_check: ``health_check(target_conn, server)`` returns true
        when the new server serves; false or an exception fails the
        relocation (compensated). Default: ACTIVE is enough.
    :param cutover: ``cutover(source_conn, source_server, target_conn,
        target_server, key)`` moves the traffic (floating IP, DNS). It must
        be idempotent: a retry may call it again after a crash. Default:
        nothing to move.
    :param sleep: ``sleep(seconds)``, injectable.
    :param clock: a monotonic clock, injectable.
    """

    name = 'cross_region_relocation'
    description = ('Relocates a server to another region: snapshot, image '
                   'transfer, boot, health check, cut-over, delete source.')
    action_types = (constants.ActionType.RELOCATE,)

    @classmethod
    def get_config_opts(cls):
        return list(_OPTS)

    def __init__(self, connections, mapping, health_check=None,
                 cutover=None, sleep=time.sleep, clock=time.monotonic,
                 snapshot_timeout=1800.0, boot_timeout=900.0,
                 delete_timeout=300.0, poll_interval=2.0,
                 keep_snapshot=False):
        if not connections:
            raise ValueError('the relocation executor needs at least one '
                             'region connection')
        self.connections = dict(connections)
        self.mapping = mapping
        self.health_check = health_check
        self.cutover = cutover
        self.waiter = Waiter(sleep=sleep, clock=clock,
                             interval=poll_interval)
        self.snapshot_timeout = snapshot_timeout
        self.boot_timeout = boot_timeout
        self.delete_timeout = delete_timeout
        self.keep_snapshot = keep_snapshot

    # -- helpers ---------------------------------------------------------

    def _conn(self, region, key, role):
        if region not in self.connections:
            raise base.ExecutionError(
                key=key, reason='no connection to %s region %r (known '
                                'regions: %s)'
                                % (role, region,
                                   ', '.join(sorted(self.connections))))
        return self.connections[region]

    def _mapping(self, region):
        if isinstance(self.mapping, dict):
            return self.mapping.get(region) or ResourceMapping()
        return self.mapping or ResourceMapping()

    def _parse(self, action):
        key, server_id, source, target, params = action_fields(action)
        if not server_id:
            raise base.ExecutionError(key=key,
                                      reason='the action names no server')
        if source == target:
            raise base.ExecutionError(
                key=key, reason='source and target region are both %r; use '
                                'a migration within a region' % source)
        src = self._conn(source, key, 'source')
        tgt = self._conn(target, key, 'target')
        return key, server_id, source, target, params, src, tgt

    def _wait_image(self, conn, image_id, key, what):
        def read():
            return conn.image.get_image(image_id)

        def done(image):
            status = field(image, 'status')
            if status in ('killed', 'deleted', 'deactivated'):
                raise base.ExecutionError(
                    key=key, reason='the %s %s is %s' % (what, image_id,
                                                         status))
            return status == 'active'
        return self.waiter.until(read, done, self.snapshot_timeout,
                                 '%s %s to become active' % (what, image_id),
                                 key)

    def _snapshot(self, src, server, key, tag):
        found = find_images(src, tag)
        if found:
            image = found[0]
            LOG.info('Relocation %s: reusing source snapshot %s', key,
                     field(image, 'id'))
        else:
            image = src.compute.create_server_image(
                field(server, 'id'), 'irra-relocate-%s' % field(server, 'id'),
                metadata={KEY_METADATA: key})
            src.image.add_tag(image, tag)
            LOG.info('Relocation %s: snapshot %s of server %s', key,
                     field(image, 'id'), field(server, 'id'))
        return self._wait_image(src, field(image, 'id'), key,
                                'source snapshot')

    def _transfer(self, src, tgt, snapshot, key, tag):
        found = find_images(tgt, tag)
        if found:
            image = found[0]
            LOG.info('Relocation %s: reusing target image %s', key,
                     field(image, 'id'))
            return self._wait_image(tgt, field(image, 'id'), key,
                                    'target image')
        with tempfile.TemporaryFile() as data:
            src.image.download_image(snapshot, output=data)
            data.seek(0)
            properties = {KEY_METADATA: key,
                          'irra_source_image': field(snapshot, 'id')}
            image = tgt.image.create_image(
                name=field(snapshot, 'name'), data=data,
                disk_format=field(snapshot, 'disk_format') or 'raw',
                container_format=(field(snapshot, 'container_format') or
                                  'bare'),
                tags=[tag], allow_duplicates=True, **properties)
        LOG.info('Relocation %s: image %s copied to the target as %s', key,
                 field(snapshot, 'id'), field(image, 'id'))
        return self._wait_image(tgt, field(image, 'id'), key, 'target image')

    def _boot(self, tgt, server, image, mapping, key, tag, params):
        found = find_servers(tgt, tag)
        if found:
            target = found[0]
            LOG.info('Relocation %s: reusing target server %s', key,
                     field(target, 'id'))
        else:
            kwargs = boot_arguments(
                server, mapping, key, image_id=field(image, 'id'),
                extra_metadata={FROM_METADATA: field(server, 'id')},
                tags=[tag],
                availability_zone=params.get('availability_zone'))
            target = tgt.compute.create_server(
                **resolve_flavor(tgt, kwargs))
            LOG.info('Relocation %s: booting %s in the target region', key,
                     field(target, 'id'))
        target_id = field(target, 'id')
        return self.waiter.until(
            lambda: tgt.compute.find_server(target_id, ignore_missing=True),
            server_status(key, what='target server'), self.boot_timeout,
            'target server %s to become ACTIVE' % target_id, key)

    def _delete_server(self, conn, server_id, key):
        conn.compute.delete_server(server_id, ignore_missing=True)
        self.waiter.until(lambda: is_gone(conn, server_id), bool,
                          self.delete_timeout,
                          'server %s to be deleted' % server_id, key)

    def _compensate(self, src, tgt, key, tag):
        """Delete what the action created; the source server stays."""
        removed = {'servers': [], 'images': []}
        errors = []
        for server in find_servers(tgt, tag):
            try:
                self._delete_server(tgt, field(server, 'id'), key)
                removed['servers'].append(field(server, 'id'))
            except Exception as exc:
                errors.append('server %s: %s' % (field(server, 'id'), exc))
        for conn in (tgt, src):
            for image in find_images(conn, tag):
                try:
                    conn.image.delete_image(field(image, 'id'),
                                            ignore_missing=True)
                    removed['images'].append(field(image, 'id'))
                except Exception as exc:
                    errors.append('image %s: %s' % (field(image, 'id'),
                                                    exc))
        return removed, errors

    # -- the plugin interface -------------------------------------------

    def execute(self, action):
        """Relocate ``action.resource_id`` from its source region."""
        key, server_id, source, target, params, src, tgt = \
            self._parse(action)
        tag = action_tag(key)
        mapping = self._mapping(target)
        done = self._finished(src, tgt, server_id, tag)
        if done is not None:
            LOG.info('Relocation %s already done: %s is %s in %s', key,
                     server_id, field(done, 'id'), target)
            return base.Outcome(state=constants.ActionState.SUCCEEDED,
                                destination=target,
                                details={'target_server': field(done, 'id'),
                                         'already_done': True})
        server = src.compute.find_server(server_id, ignore_missing=True)
        if server is None:
            return base.Outcome(
                state=constants.ActionState.FAILED,
                error='server %s does not exist in region %s and no '
                      'relocated copy tagged %s exists in %s'
                      % (server_id, source, tag, target))
        cut_over = False
        details = {'source_server': server_id, 'source_region': source}
        try:
            # Map first: an unmapped name fails before anything exists.
            boot_arguments(server, mapping, key)
            snapshot = self._snapshot(src, server, key, tag)
            details['source_snapshot'] = field(snapshot, 'id')
            image = self._transfer(src, tgt, snapshot, key, tag)
            details['target_image'] = field(image, 'id')
            new = self._boot(tgt, server, image, mapping, key, tag, params)
            details['target_server'] = field(new, 'id')
            if self.health_check is not None and \
                    not self.health_check(tgt, new):
                raise base.ExecutionError(
                    key=key, reason='the target server %s failed its health '
                                    'check' % field(new, 'id'))
            if self.cutover is not None:
                self.cutover(src, server, tgt, new, key)
            cut_over = True
            self._delete_server(src, server_id, key)
        except Exception as exc:
            error = str(exc)
            if cut_over:
                LOG.error('Relocation %s: cut over to %s, but deleting the '
                          'source server %s failed: %s', key,
                          details.get('target_server'), server_id, error)
                return base.Outcome(
                    state=constants.ActionState.FAILED, destination=target,
                    error='traffic is cut over to %s in %s, but the source '
                          'server %s remains in %s and must be deleted: %s'
                          % (details.get('target_server'), target, server_id,
                             source, error), details=details)
            LOG.warning('Relocation %s failed, compensating: %s', key,
                        error)
            removed, errors = self._compensate(src, tgt, key, tag)
            details['compensated'] = removed
            if errors:
                details['compensation_errors'] = errors
                error += ('; compensation left resources behind: %s'
                          % '; '.join(errors))
            return base.Outcome(state=constants.ActionState.FAILED,
                                error=error, details=details)
        if not self.keep_snapshot:
            src.image.delete_image(details['source_snapshot'],
                                   ignore_missing=True)
        LOG.info('Relocation %s: %s is now %s in %s', key, server_id,
                 details['target_server'], target)
        return base.Outcome(state=constants.ActionState.SUCCEEDED,
                            destination=target, details=details)

    def _finished(self, src, tgt, server_id, tag):
        """The ACTIVE target server when the source is already gone."""
        for new in find_servers(tgt, tag):
            if field(new, 'status') == 'ACTIVE' and is_gone(src, server_id):
                return new
        return None

    def reconcile(self, action):
        """Read both regions: done, half done (ONGOING) or not started."""
        key, server_id, source, target, params, src, tgt = \
            self._parse(action)
        tag = action_tag(key)
        done = self._finished(src, tgt, server_id, tag)
        if done is not None:
            return base.Outcome(state=constants.ActionState.SUCCEEDED,
                                destination=target,
                                details={'target_server': field(done, 'id')})
        created = ([field(s, 'id') for s in find_servers(tgt, tag)] +
                   [field(i, 'id') for i in find_images(tgt, tag)] +
                   [field(i, 'id') for i in find_images(src, tag)])
        if created:
            return base.Outcome(
                state=constants.ActionState.ONGOING,
                details={'created': created},
                error='interrupted relocation: executing it again resumes '
                      'from the resources tagged %s' % tag)
        if is_gone(src, server_id):
            return base.Outcome(
                state=constants.ActionState.FAILED,
                error='server %s is gone from %s and nothing tagged %s '
                      'exists in %s' % (server_id, source, tag, target))
        return base.Outcome(
            state=constants.ActionState.FAILED,
            error='the relocation left nothing behind: the source server is '
                  'untouched and the action can run again')
