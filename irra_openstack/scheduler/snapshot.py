"""The headroom snapshot: its encoding, and its loader inside nova-scheduler.

A snapshot is what irra predicts for every compute node over the forecast
horizon, for the scheduler plugin (see the "Headroom snapshot" contract of
the design). One snapshot is one row of the ``headroom_snapshots`` table:
a generation, a creation time and a zlib-compressed JSON document::

    {"format": 1,
     "resource_classes": ["VCPU", "MEMORY_MB", "DISK_GB"],
     "hosts": [[hypervisor_hostname, provider_uuid,
                predicted, total, reserved, allocation_ratio,
                used, reservations], ...],
     "expected_utilisation": {"default": {"VCPU": 0.5},
                              "flavor": {"m1.large": {"VCPU": 0.3}},
                              "project": {...}, "app": {...}}}

where ``predicted`` (the predicted peak usage over the horizon, as an upper
bound), ``total``, ``reserved``, ``allocation_ratio`` (the provider's
inventory) and ``used`` (the usage the forecast started from, in Placement's
terms; optional, ``null`` when unknown) are lists in the order of
``resource_classes``, and ``reservations`` maps the id of each irra
reservation that holds capacity on the node to its amounts, in the same
order (``null`` when there is none). ``expected_utilisation`` is the
forecaster's cold-start prior: the share of a flavor that a new VM of that
flavor, project or application is expected to use at its peak, per
resource class. Columnar lists keep the document small and quick to parse:
10,000 nodes load in a few tens of milliseconds.

Loading, in nova-scheduler
--------------------------
:class:`SnapshotLoader` keeps the last snapshot in memory. A request never
waits for the database: :meth:`SnapshotLoader.get` returns what is loaded
and, when the refresh interval has passed, starts one background refresh
with :class:`threading.Thread`. In Nova's eventlet mode, where the
scheduler's ``threading`` is monkey-patched, that thread is a greenthread;
in the native-thread mode it is a thread. Either way the request goes on
with the snapshot it has, and the new one replaces it atomically (one
reference assignment) once read. A refresh reads the newest generation
number first and reads the snapshot itself only when it changed, like an
HTTP ETag. The first refresh starts when the filter or weigher is created,
at nova-scheduler start.
"""

import array
import calendar
import datetime
import json
import logging as std_logging
import math
import struct
import sys
import threading
import time
import zlib

import numpy as np
from oslo_log import log as logging
import sqlalchemy as sa

from irra_openstack.db import models

LOG = logging.getLogger(__name__)

#: Version of the encoding that :func:`encode` writes.
FORMAT = 1
#: Resource classes of a snapshot when the writer names none.
DEFAULT_RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
#: What the snapshot holds per host and resource class, in this order.
QUANTITIES = ('predicted', 'total', 'reserved', 'allocation_ratio', 'used')
#: Groups of the expected utilisation, in order of preference (those of
#: :mod:`irra_openstack.forecast.coldstart`).
EXPECTED_GROUPS = ('flavor', 'project', 'app')

#: Resource classes whose usage in Nova's compute node record includes the
#: inventory's reserved amount (reserved_host_memory_mb, _disk_mb), while
#: vcpus_used does not include reserved_host_cpus.
_NODE_COUNTS_RESERVED = frozenset(('MEMORY_MB', 'DISK_GB'))

_TABLE = models.HeadroomSnapshot.__table__


class SnapshotError(ValueError):
    """A snapshot that cannot be decoded."""


def _utc_seconds(moment):
    """Seconds since the epoch of a naive UTC (or aware) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def _amounts(values, rcs, what, name):
    """A list of floats in the order of ``rcs``, from a dict."""
    values = values or {}
    unknown = set(values) - set(rcs)
    if unknown:
        raise ValueError('%s of host %s names resource classes that the '
                         'snapshot does not have: %s'
                         % (what, name, ', '.join(sorted(unknown))))
    return [float(values.get(rc, 0.0)) for rc in rcs]


def _pack(values):
    packed = array.array('d', values)
    if sys.byteorder != 'little':
        packed.byteswap()
    return packed.tobytes()


def _unpack(data, start, count):
    values = array.array('d')
    values.frombytes(data[start:start + 8 * count])
    if len(values) != count:
        raise SnapshotError('the snapshot is truncated')
    if sys.byteorder != 'little':
        values.byteswap()
    return values


def encode(hosts, resource_classes=DEFAULT_RESOURCE_CLASSES,
           expected_utilisation=None):
    """Encode the snapshot of ``hosts`` as compressed bytes.

    :param hosts: an iterable of dicts, one per compute node, with keys
        ``hostname`` (hypervisor hostname), ``uuid`` (resource provider
        UUID), ``predicted`` ({rc: peak upper bound over the horizon}),
        ``capacity`` ({rc: {'total', 'reserved', 'allocation_ratio'}}),
        and optionally ``used`` ({rc: usage the forecast started from, as
        Placement counts it}) and ``reservations`` ({reservation id: {rc:
        amount}}). Resource classes missing from a dict count as 0 (an
        allocation ratio as 1).
    :param resource_classes: the resource classes of the snapshot.
    :param expected_utilisation: {'default': {rc: share}, 'flavor': {name:
        {rc: share}}, 'project': {...}, 'app': {...}}, or None.
    :returns: (bytes, number of hosts)
    """
    rcs = list(resource_classes)
    names = []
    uuids = []
    columns = {q: [[] for _ in rcs] for q in QUANTITIES}
    reservations = {}
    nan = float('nan')
    for n, host in enumerate(hosts):
        name = host['hostname']
        names.append(name)
        uuids.append(host.get('uuid'))
        capacity = host.get('capacity') or {}
        unknown = set(capacity) - set(rcs)
        if unknown:
            raise ValueError('capacity of host %s names resource classes '
                             'that the snapshot does not have: %s'
                             % (name, ', '.join(sorted(unknown))))
        predicted = _amounts(host.get('predicted'), rcs, 'predicted', name)
        used = host.get('used')
        used = ([nan] * len(rcs) if used is None
                else _amounts(used, rcs, 'used', name))
        for i, rc in enumerate(rcs):
            inv = capacity.get(rc) or {}
            columns['predicted'][i].append(predicted[i])
            columns['total'][i].append(float(inv.get('total', 0.0)))
            columns['reserved'][i].append(float(inv.get('reserved', 0.0)))
            columns['allocation_ratio'][i].append(
                float(inv.get('allocation_ratio', 1.0)))
            columns['used'][i].append(used[i])
        if host.get('reservations'):
            reservations[str(n)] = {
                str(rid): _amounts(amounts, rcs, 'reservation', name)
                for rid, amounts in host['reservations'].items()}
    header = json.dumps({
        'format': FORMAT,
        'resource_classes': rcs,
        'hostnames': names,
        'uuids': uuids,
        'quantities': list(QUANTITIES),
        'reservations': reservations,
        'expected_utilisation': expected_utilisation or {},
    }, separators=(',', ':')).encode('utf-8')
    body = [struct.pack('<I', len(header)), header]
    for q in QUANTITIES:
        for column in columns[q]:
            body.append(_pack(column))
    return zlib.compress(b''.join(body), 6), len(names)


def expected_utilisation_from_priors(priors, statistic='upper_peak'):
    """The snapshot's expected utilisation from cold-start priors.

    :param priors: {resource class: the result of
        :meth:`irra_openstack.forecast.coldstart.PriorModel.
        expected_utilisation` for the metric of that resource class}.
    :param statistic: which figure of the prior to use; the filter compares
        upper bounds, so the upper bound of the peak by default.
    :returns: the ``expected_utilisation`` argument of :func:`encode`.
    """
    table = {'default': {}}
    for rc, by_attribute in priors.items():
        for attribute, labels in by_attribute.items():
            for label, figures in labels.items():
                value = float(figures[statistic])
                if attribute == 'all':
                    table['default'][rc] = value
                else:
                    table.setdefault(attribute, {}).setdefault(
                        label, {})[rc] = value
    return table


class HostHeadroom:
    """What the snapshot says of one compute node, ready for arithmetic.

    ``capacity[i]`` is (total - reserved) x allocation ratio of resource
    class ``i``; ``load[i]`` its predicted peak plus what irra reservations
    hold; ``base[i]`` the usage the forecast started from in Nova's compute
    node terms (Placement's usage plus the inventory's reserved), or None;
    ``reservations`` {id: amounts} or None.
    """

    __slots__ = ('name', 'uuid', 'capacity', 'load', 'predicted', 'held',
                 'base', 'reservations')

    def __init__(self, name, uuid, capacity, load, predicted, held, base,
                 reservations):
        self.name = name
        self.uuid = uuid
        self.capacity = capacity
        self.load = load
        self.predicted = predicted
        self.held = held
        self.base = base
        self.reservations = reservations


def _finite(values):
    for value in values:
        if not math.isfinite(value):
            return False
    return True


class Snapshot:
    """A decoded snapshot: per host :class:`HostHeadroom`, by UUID and name.

    ``invalid`` is the set of hosts whose numbers could not be used (NaN,
    infinite or negative values): they are treated as unknown hosts.
    """

    def __init__(self, generation, created_at, horizon, resource_classes,
                 hosts, expected_utilisation, invalid=(), arrays=None):
        self.generation = generation
        self.created_at = created_at
        self.created_ts = _utc_seconds(created_at)
        self.horizon = horizon
        self.resource_classes = tuple(resource_classes)
        self.index = {rc: i for i, rc in enumerate(self.resource_classes)}
        self.by_uuid = {}
        self.by_name = {}
        #: The row of each host in the arrays below, by UUID and by name.
        self.rows = {}
        self.rows_by_name = {}
        hosts = list(hosts)
        for row, host in enumerate(hosts):
            if host.uuid:
                self.by_uuid[host.uuid] = host
                self.rows[host.uuid] = row
            self.by_name[host.name] = host
            self.rows_by_name[host.name] = row
        self.expected_utilisation = expected_utilisation or {}
        self.invalid = frozenset(invalid)
        self._arrays(hosts, arrays)

    def _arrays(self, hosts, arrays=None):
        """The hosts' numbers as (hosts, resource classes) numpy arrays.

        What the filter and the weigher read per request, gathered once per
        snapshot: ``capacity``, ``load`` and ``base`` (NaN rows for the
        hosts whose starting usage is unknown), and, per reservation id,
        the sorted rows of its hosts and its amounts on them.

        :param arrays: (capacity, load, base) already built in the order of
            ``hosts`` (by :func:`decode`), or None to build them.
        """
        shape = (len(hosts), len(self.resource_classes))
        self.any_base = any(h.base is not None for h in hosts)
        if arrays is not None:
            capacity, load, base = (
                np.ascontiguousarray(a, dtype=float).reshape(shape)
                for a in arrays)
        else:
            capacity = np.array([h.capacity for h in hosts],
                                dtype=float).reshape(shape)
            load = np.array([h.load for h in hosts],
                            dtype=float).reshape(shape)
            nan_row = (math.nan,) * shape[1]
            base = np.array(
                [nan_row if h.base is None else h.base for h in hosts],
                dtype=float).reshape(shape) if self.any_base else None
        self.capacity = capacity
        self.load = load
        self.base = base if self.any_base else None
        self.zero_capacity = bool((self.capacity <= 0.0).any())
        by_reservation = {}
        for row, host in enumerate(hosts):
            if host.reservations:
                for rid, amounts in host.reservations.items():
                    by_reservation.setdefault(rid, []).append((row, amounts))
        self.reservation_rows = {}
        for rid, entries in by_reservation.items():
            entries.sort(key=lambda entry: entry[0])
            self.reservation_rows[rid] = (
                np.array([row for row, _ in entries], dtype=np.intp),
                np.array([amounts for _, amounts in entries],
                         dtype=float).reshape((len(entries), shape[1])))

    def __len__(self):
        return len(self.by_name)

    def lookup(self, uuid, name):
        """The host of provider ``uuid``, or of hypervisor ``name``."""
        host = self.by_uuid.get(uuid)
        if host is None:
            host = self.by_name.get(name)
        return host

    def expected_shares(self, flavor=None, project=None, app=None,
                        default=1.0):
        """Expected utilisation per resource class, and where it came from.

        For each resource class, the first of the flavor's, the project's
        and the application's entries that has it, then the snapshot's
        default, then ``default``.

        :returns: (tuple of shares in the order of resource_classes, tuple
            of their sources such as 'flavor=m1.small').
        """
        table = self.expected_utilisation
        candidates = []
        for group, label in zip(EXPECTED_GROUPS, (flavor, project, app)):
            if label is not None:
                entry = table.get(group, {}).get(label)
                if entry:
                    candidates.append(('%s=%s' % (group, label), entry))
        if table.get('default'):
            candidates.append(('default', table['default']))
        shares = []
        sources = []
        for rc in self.resource_classes:
            for source, entry in candidates:
                value = entry.get(rc)
                if value is not None and math.isfinite(value) and value >= 0:
                    shares.append(float(value))
                    sources.append(source)
                    break
            else:
                shares.append(float(default))
                sources.append('configured default')
        return tuple(shares), tuple(sources)


def _bad_rows(column, allow_nan=False):
    """Indexes of the non-finite or negative values of a column."""
    total = math.fsum(column) if not allow_nan else 0.0
    if math.isfinite(total) and (not column or min(column) >= 0.0):
        return ()
    return [j for j, v in enumerate(column)
            if not (math.isfinite(v) and v >= 0.0) and
            not (allow_nan and math.isnan(v))]


def decode(data, generation, created_at, horizon=None):
    """Decode what :func:`encode` wrote.

    A host with a NaN, infinite or negative number is left out and named
    in the snapshot's ``invalid`` set.

    :raises SnapshotError: the data is not a snapshot this code can read.
    """
    try:
        raw = zlib.decompress(data)
        (size,) = struct.unpack_from('<I', raw, 0)
        document = json.loads(raw[4:4 + size])
    except (zlib.error, struct.error, ValueError, TypeError) as exc:
        raise SnapshotError('cannot decode snapshot %s: %s'
                            % (generation, exc))
    if not isinstance(document, dict) or document.get('format') != FORMAT:
        raise SnapshotError('snapshot %s has format %r, not %d'
                            % (generation, isinstance(document, dict) and
                               document.get('format'), FORMAT))
    try:
        rcs = tuple(document['resource_classes'])
        names = document['hostnames']
        uuids = document['uuids']
        count = len(names)
        if len(uuids) != count or list(
                document['quantities']) != list(QUANTITIES):
            raise SnapshotError('snapshot %s is malformed' % generation)
        offset = 4 + size
        columns = {}
        for q in QUANTITIES:
            columns[q] = []
            for _ in rcs:
                columns[q].append(_unpack(raw, offset, count))
                offset += 8 * count
        if offset != len(raw):
            raise SnapshotError('snapshot %s has %d bytes too many'
                                % (generation, len(raw) - offset))
        bad = set()
        for q in QUANTITIES:
            for column in columns[q]:
                bad.update(_bad_rows(column, allow_nan=(q == 'used')))
        for column in columns['used']:
            bad.update(j for j, v in enumerate(column) if v < 0.0)
        capacity = []
        load = []
        held_cols = []
        base = []
        n = len(rcs)
        held = {}
        reservations = {}
        for key, by_id in (document.get('reservations') or {}).items():
            j = int(key)
            amounts_by_id = {}
            sums = [0.0] * n
            for rid, amounts in by_id.items():
                amounts = tuple(float(a) for a in amounts)
                if len(amounts) != n:
                    raise SnapshotError(
                        'reservation %s of host %s has %d amounts for %d '
                        'resource classes' % (rid, names[j], len(amounts),
                                              n))
                if not _finite(amounts) or min(amounts, default=0) < 0:
                    bad.add(j)
                amounts_by_id[str(rid)] = amounts
                for i in range(n):
                    sums[i] += amounts[i]
            reservations[j] = amounts_by_id
            held[j] = sums
        for i, rc in enumerate(rcs):
            capacity.append([(t - r) * a if t > r else 0.0 for t, r, a in
                             zip(columns['total'][i], columns['reserved'][i],
                                 columns['allocation_ratio'][i])])
            held_i = [0.0] * count
            for j, sums in held.items():
                held_i[j] = sums[i]
            held_cols.append(held_i)
            load.append([p + h for p, h in
                         zip(columns['predicted'][i], held_i)])
            if rc in _NODE_COUNTS_RESERVED:
                base.append([u + r for u, r in
                             zip(columns['used'][i],
                                 columns['reserved'][i])])
            else:
                base.append(columns['used'][i])
        hosts = list(map(
            HostHeadroom, names, uuids, zip(*capacity), zip(*load),
            zip(*columns['predicted']), zip(*held_cols), zip(*base),
            (reservations.get(j) for j in range(count))))
        for host in hosts:
            if host.base[0] != host.base[0]:  # NaN: no usage known
                host.base = None
        # The same numbers as (hosts, resource classes) arrays, for
        # Snapshot; transposed from the columns, quicker than from hosts.
        arrays = [np.array(c, dtype=float).reshape((n, count)).T
                  for c in (capacity, load, base)]
        if n:
            arrays[2][np.isnan(arrays[2][:, 0])] = math.nan
        invalid = [names[j] for j in bad]
        if bad:
            hosts = [h for j, h in enumerate(hosts) if j not in bad]
            kept = np.array([j for j in range(count) if j not in bad],
                            dtype=np.intp)
            arrays = [a[kept] for a in arrays]
        expected = document.get('expected_utilisation') or {}
        if not isinstance(expected, dict):
            raise SnapshotError('expected_utilisation is not a mapping')
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SnapshotError('snapshot %s is malformed: %s: %s'
                            % (generation, type(exc).__name__, exc))
    return Snapshot(generation, created_at, horizon, rcs, hosts, expected,
                    invalid, arrays=arrays)


class SnapshotLoader:
    """The snapshot of one nova-scheduler process, refreshed in background.

    :param conf: a configuration object with the [irra_scheduler] options
        (Nova's, inside nova-scheduler).
    """

    def __init__(self, conf):
        self.conf = conf
        self._lock = threading.Lock()
        # One refresh at a time, background or called directly.
        self._refresh_lock = threading.Lock()
        self._snapshot = None
        self._problem = 'no snapshot has been read yet'
        self._engine = None
        self._connection = None
        self._refreshing = False
        self._next_refresh = 0.0
        self._last_warning = None
        self.refresh_count = 0

    # The request path: no I/O, no waiting.

    def get(self):
        """The loaded snapshot, or None; starts a refresh when one is due.

        Never blocks: the refresh runs in a background (green)thread.
        """
        group = self.conf.irra_scheduler
        if group.connection != self._connection:
            # Pointed at another database: what was loaded is not its.
            self._snapshot = None
            self._problem = 'no snapshot has been read yet'
            self._next_refresh = 0.0
        if time.monotonic() >= self._next_refresh:
            self.start_refresh()
        return self._snapshot

    def usable(self, now=None):
        """(snapshot, None) if it may be used now, else (None, reason).

        A snapshot is unusable when there is none, or when it is older than
        [irra_scheduler] max_snapshot_age or further in the future than
        max_clock_skew. The reason is logged as a warning at most once per
        refresh interval.
        """
        snapshot = self.get()
        if snapshot is None:
            reason = self._problem
        else:
            group = self.conf.irra_scheduler
            now = time.time() if now is None else now
            age = now - snapshot.created_ts
            if age > group.max_snapshot_age:
                reason = ('snapshot %d is %.0f s old, more than '
                          '[irra_scheduler] max_snapshot_age (%d s)'
                          % (snapshot.generation, age,
                             group.max_snapshot_age))
            elif -age > group.max_clock_skew:
                reason = ('snapshot %d was created %.0f s in the future, '
                          'more than [irra_scheduler] max_clock_skew '
                          '(%d s): check the clocks of the irra engine, its '
                          'database and this host'
                          % (snapshot.generation, -age,
                             group.max_clock_skew))
            else:
                return snapshot, None
        self.warn(reason)
        return None, reason

    def warn(self, reason):
        """Log that irra fails open, at most once per refresh interval."""
        now = time.monotonic()
        interval = self.conf.irra_scheduler.refresh_interval
        if self._last_warning is not None and \
                now - self._last_warning < interval:
            return
        self._last_warning = now
        LOG.warning('irra predictive headroom is not used, every host '
                    'passes and weighs 0 (fail-open): %s', reason)

    # The background refresh.

    def start_refresh(self):
        """Start a background refresh unless one is running."""
        with self._lock:
            if self._refreshing:
                return False
            self._refreshing = True
            self._next_refresh = (time.monotonic() +
                                  self.conf.irra_scheduler.refresh_interval)
        thread = threading.Thread(target=self._refresh_in_background,
                                  name='irra-headroom-snapshot',
                                  daemon=True)
        try:
            thread.start()
        except RuntimeError:
            with self._lock:
                self._refreshing = False
            raise
        return True

    def _refresh_in_background(self):
        try:
            self.refresh()
        except Exception:  # never let the thread die with a traceback
            LOG.exception('irra headroom snapshot refresh failed')
        finally:
            with self._lock:
                self._refreshing = False

    def _get_engine(self, connection):
        if connection != self._connection or self._engine is None:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
            self._connection = connection
            if not connection:
                return None
            url = sa.engine.make_url(connection)
            connect_args = {}
            backend = url.get_backend_name()
            if backend in ('mysql', 'mariadb', 'postgresql'):
                connect_args['connect_timeout'] = 10
            self._engine = sa.create_engine(
                url, pool_size=1, max_overflow=1, pool_pre_ping=True,
                pool_recycle=3600, connect_args=connect_args)
        return self._engine

    def refresh(self):
        """Read the newest snapshot now (the background thread's work).

        Reads only the generation when it is the one already loaded.

        :returns: the snapshot now loaded, or None.
        """
        with self._refresh_lock:
            return self._refresh()

    def _refresh(self):
        connection = self.conf.irra_scheduler.connection
        start = time.monotonic()
        try:
            engine = self._get_engine(connection)
        except Exception as exc:
            self._set(None, 'cannot use [irra_scheduler] connection: %s'
                      % exc)
            return None
        if engine is None:
            self._set(None, '[irra_scheduler] connection is not set')
            return None
        try:
            with engine.connect() as conn:
                newest = conn.execute(
                    sa.select(_TABLE.c.generation, _TABLE.c.created_at,
                              _TABLE.c.horizon)
                    .order_by(_TABLE.c.generation.desc()).limit(1)).first()
                if newest is None:
                    self._set(None, 'there is no snapshot in irra\'s '
                                    'database yet')
                    return None
                current = self._snapshot
                if current is not None and \
                        current.generation == newest.generation:
                    return current
                row = conn.execute(
                    sa.select(_TABLE.c.format, _TABLE.c.data)
                    .where(_TABLE.c.generation == newest.generation)).first()
        except Exception as exc:
            # Keep what was loaded: it is used until it is too old.
            self._problem = 'cannot read the snapshot: %s' % (
                ' '.join(str(exc).split())[:300])
            LOG.debug('Reading the headroom snapshot failed', exc_info=True)
            if self._snapshot is None:
                self.warn(self._problem)
            return self._snapshot
        if row is None or row.format != FORMAT:
            self._set(None, 'snapshot %d has format %s, which this '
                            'scheduler plugin cannot read'
                      % (newest.generation, row and row.format))
            return None
        try:
            snapshot = decode(row.data, newest.generation,
                              newest.created_at, newest.horizon)
        except SnapshotError as exc:
            self._set(None, str(exc))
            return None
        self._set(snapshot, None)
        if snapshot.invalid:
            LOG.warning('Headroom snapshot %(gen)d: %(n)d host(s) with '
                        'invalid numbers (NaN, infinite or negative) are '
                        'treated as unknown hosts, for example %(ex)s',
                        {'gen': snapshot.generation,
                         'n': len(snapshot.invalid),
                         'ex': ', '.join(sorted(snapshot.invalid)[:5])})
        if LOG.isEnabledFor(std_logging.DEBUG):
            LOG.debug('Loaded headroom snapshot %(gen)d (%(n)d hosts) in '
                      '%(ms).1f ms', {'gen': snapshot.generation,
                                      'n': len(snapshot),
                                      'ms': (time.monotonic() - start) * 1e3})
        return snapshot

    def _set(self, snapshot, problem):
        self._snapshot = snapshot
        self._problem = problem
        self.refresh_count += 1

    def close(self):
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._connection = None


_loaders = {}
_loaders_lock = threading.Lock()


def get_loader(conf):
    """The process-wide loader of ``conf``, shared by filter and weigher."""
    key = id(conf)
    with _loaders_lock:
        loader = _loaders.get(key)
        if loader is None or loader.conf is not conf:
            loader = _loaders[key] = SnapshotLoader(conf)
        return loader


def reset_loaders():
    """Forget every loader and close its connections (for tests)."""
    with _loaders_lock:
        for loader in _loaders.values():
            loader.close()
        _loaders.clear()
