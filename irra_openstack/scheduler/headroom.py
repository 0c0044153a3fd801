"""The arithmetic that the filter and the weigher share.

For a host ``h`` of the snapshot and each resource class ``r``:

* ``capacity[r] = (total - reserved) x allocation_ratio``, from the
  snapshot;
* ``need[r] = predicted_peak[r] + held[r] - own[r] + new[r] + request[r]``,
  where ``predicted_peak`` is the predicted upper bound of the host's usage
  over the horizon, ``held`` what irra reservations hold on the host and
  ``own`` the part of it that the reservation named by the request's
  ``irra_reservation`` hint holds (only that reservation, and only on this
  host); ``new`` is what Nova placed on the host since the snapshot (its
  usage now minus the usage the forecast started from, when the snapshot
  has it, times the default expected utilisation: this includes the
  earlier instances of the same multi-create request); and ``request`` is
  the request's flavor times its expected utilisation (the cold-start prior
  of its flavor, project or application);
* ``limit[r]`` is [irra_scheduler] max_predicted_utilisation (or its per
  class value, or the aggregate metadata ``irra_max_predicted_utilisation``
  of the host's aggregates, the smallest when several).

The *margin* of the host is ``min over r of (limit[r] - need[r] /
capacity[r])``: the share of capacity that would stay free below the limit
on the tightest resource class. A resource class with no capacity counts
only when the request needs it (margin minus infinity). The filter passes a
host whose margin is 0 or more; the weigher's weight is the margin, at least
-1. Everything per request is computed once, in :class:`RequestHeadroom`;
per host it is a few dictionary look-ups and a loop over the snapshot's
resource classes: O(1), no I/O.
"""

import importlib.util
import logging as std_logging
import math
import os
import sys

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_OPTS_MODULE = 'irra_openstack.conf.scheduler'


def _options_module():
    """:mod:`irra_openstack.conf.scheduler`, without irra's other options.

    Importing it the usual way runs ``irra_openstack/conf/__init__.py``,
    which registers every irra option group on the global ``cfg.CONF``:
    inside nova-scheduler that is Nova's configuration, where irra's groups
    have no business and where some clash with Nova's own (irra's [api]
    max_limit and Nova's, for example, raise DuplicateOptError). So, unless
    it is already imported, the module (which imports only oslo.config) is
    loaded from its file on its own. Its options are equal to those of the
    regular module, so both may be registered on the same object.
    """
    module = sys.modules.get(_OPTS_MODULE)
    if module is not None:
        return module
    path = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'conf', 'scheduler.py')
    spec = importlib.util.spec_from_file_location(
        'irra_openstack.scheduler._conf_scheduler', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The [irra_scheduler] options module (see :func:`_options_module`).
scheduler_conf = _options_module()

#: Scheduler hint naming the irra reservation whose capacity the request may
#: use.
RESERVATION_HINT = 'irra_reservation'
#: Scheduler hint naming the request's application (for its expected
#: utilisation).
APP_HINT = 'irra_app'

_INF = float('inf')
_parsed = {}

#: Margins the filter computed, for the weigher that follows it on the same
#: request: {id(spec_obj): (spec_obj, generation, {id(host_state): margin})}.
#: Nova weighs the hosts right after filtering them, before consuming the
#: chosen one, so the margins are still right; the weigher takes its entry
#: out, and the filter replaces it for each instance of a request.
_shared = {}
_SHARED_MAX = 64


def share_margins(spec_obj, generation, host_states, margins):
    """Keep the filter's margins for the weigher of the same request."""
    if len(_shared) >= _SHARED_MAX:
        _shared.clear()
    _shared[id(spec_obj)] = (spec_obj, generation, {
        id(h): m for h, m in zip(host_states, margins)})


def forget_margins(spec_obj):
    _shared.pop(id(spec_obj), None)


def shared_margins(spec_obj, generation):
    """The margins the filter left for this request, or None."""
    entry = _shared.pop(id(spec_obj), None)
    if entry is None or entry[0] is not spec_obj or entry[1] != generation:
        return None
    return entry[2]


def parse_number(raw, key):
    """``raw`` aggregate metadata as a float, or None (warned once)."""
    try:
        return _parsed[raw]
    except KeyError:
        pass
    try:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError('not a finite number')
    except (TypeError, ValueError):
        LOG.warning('Ignoring aggregate metadata %(key)s=%(raw)r: not a '
                    'number', {'key': key, 'raw': raw})
        value = None
    if len(_parsed) < 1000:
        _parsed[raw] = value
    return value


def aggregate_value(host_state, key):
    """The smallest valid value of metadata ``key`` of the host's aggregates.

    Like Nova's Aggregate* filters (nova.scheduler.filters.utils), from
    ``host_state.aggregates``, but without their INFO line per host when
    several aggregates set the key.
    """
    value = None
    for aggregate in host_state.aggregates:
        raw = aggregate.metadata.get(key)
        if raw is not None:
            number = parse_number(raw, key)
            if number is not None and (value is None or number < value):
                value = number
    return value


def _hint(spec_obj, name):
    hints = getattr(spec_obj, 'scheduler_hints', None) \
        if spec_obj.obj_attr_is_set('scheduler_hints') else None
    if not hints:
        return None
    value = hints.get(name)
    if isinstance(value, (list, tuple)):
        return str(value[0]) if len(value) == 1 else None
    return None if value is None else str(value)


def flavor_amounts(spec_obj):
    """What the request's flavor allocates, {resource class: amount}.

    VCPU, MEMORY_MB and DISK_GB from the flavor (no root disk when booted
    from volume), then the flavor's ``resources:<RC>`` extra specs, which
    override them, and its ``resourcesN:<RC>`` groups, which add.
    """
    flavor = spec_obj.flavor
    bfv = spec_obj.obj_attr_is_set('is_bfv') and spec_obj.is_bfv
    disk = (0 if bfv else flavor.root_gb) + flavor.ephemeral_gb
    if flavor.swap:
        disk += int(math.ceil(flavor.swap / 1024.0))
    amounts = {'VCPU': float(flavor.vcpus),
               'MEMORY_MB': float(flavor.memory_mb),
               'DISK_GB': float(disk)}
    extra = flavor.extra_specs if flavor.obj_attr_is_set('extra_specs') \
        else None
    if extra:
        groups = {}
        for key, raw in extra.items():
            if not key.startswith('resources') or ':' not in key:
                continue
            prefix, rc = key.split(':', 1)
            try:
                amount = float(raw)
            except (TypeError, ValueError):
                continue
            if prefix == 'resources':
                amounts[rc] = amount
            elif prefix[len('resources'):]:
                groups[rc] = groups.get(rc, 0.0) + amount
        for rc, amount in groups.items():
            amounts[rc] = amounts.get(rc, 0.0) + amount
    return amounts


class RequestHeadroom:
    """One request against one snapshot: what it needs and the limits.

    Built once per request (per instance of a multi-create request), so
    that the per-host work is :meth:`margin`, O(1).
    """

    def __init__(self, snapshot, spec_obj, group):
        self.snapshot = snapshot
        rcs = snapshot.resource_classes
        self.n = len(rcs)
        flavor = spec_obj.flavor
        self.project = spec_obj.project_id \
            if spec_obj.obj_attr_is_set('project_id') else None
        self.app = _hint(spec_obj, APP_HINT)
        self.reservation = _hint(spec_obj, RESERVATION_HINT)
        default = group.default_expected_utilisation
        self.shares, self.sources = snapshot.expected_shares(
            flavor=flavor.name, project=self.project, app=self.app,
            default=default)
        self.new_shares, _ = snapshot.expected_shares(default=default)
        amounts = flavor_amounts(spec_obj)
        self.amounts = tuple(amounts.get(rc, 0.0) for rc in rcs)
        self.request = tuple(a * s for a, s in zip(self.amounts, self.shares))
        per_class = group.max_predicted_utilisation_per_class or {}
        limits = []
        for rc in rcs:
            value = group.max_predicted_utilisation
            raw = per_class.get(rc)
            if raw is not None:
                number = parse_number(raw, 'max_predicted_utilisation_per_'
                                           'class:%s' % rc)
                if number is not None:
                    value = number
            limits.append(float(value))
        self.limits = tuple(limits)
        index = snapshot.index
        self.vcpu_i = index.get('VCPU', -1)
        self.mem_i = index.get('MEMORY_MB', -1)
        self.disk_i = index.get('DISK_GB', -1)
        self.debug = LOG.isEnabledFor(std_logging.DEBUG)
        if self.debug:
            LOG.debug('irra headroom request: %(amounts)s x expected '
                      'utilisation %(shares)s (%(sources)s) = %(req)s, '
                      'reservation %(res)s, snapshot %(gen)d',
                      {'amounts': dict(zip(rcs, self.amounts)),
                       'shares': self.shares, 'sources': self.sources,
                       'req': dict(zip(rcs, self.request)),
                       'res': self.reservation,
                       'gen': snapshot.generation})

    def margins(self, host_states):
        """The margin of each host, or None for a host the snapshot lacks.

        The same as :meth:`margin` host by host, in one loop with the
        per-request values held in local variables: this is the per-host
        cost that nova-scheduler pays.
        """
        by_uuid = self.snapshot.by_uuid
        by_name = self.snapshot.by_name
        request = self.request
        default_limits = self.limits
        n = self.n
        vi, mi, di = self.vcpu_i, self.mem_i, self.disk_i
        shares = self.new_shares
        reservation = self.reservation
        limit_key = scheduler_conf.AGGREGATE_LIMIT_KEY
        by_aggregate = {}
        inf = _INF
        out = []
        append = out.append
        for host_state in host_states:
            host = by_uuid.get(host_state.uuid)
            if host is None:
                host = by_name.get(host_state.nodename)
                if host is None:
                    append(None)
                    continue
            limits = default_limits
            aggregates = host_state.aggregates
            if aggregates:
                value = None
                for aggregate in aggregates:
                    key = id(aggregate)
                    try:
                        number = by_aggregate[key]
                    except KeyError:
                        raw = aggregate.metadata.get(limit_key)
                        number = by_aggregate[key] = (
                            None if raw is None
                            else parse_number(raw, limit_key))
                    if number is not None and (value is None or
                                               number < value):
                        value = number
                if value is not None:
                    limits = (value,) * n
            need = host.load
            base = host.base
            if base is not None:
                need = list(need)
                if vi >= 0:
                    delta = host_state.vcpus_used - base[vi]
                    if delta > 0:
                        need[vi] += delta * shares[vi]
                if mi >= 0:
                    delta = (host_state.total_usable_ram_mb -
                             host_state.free_ram_mb - base[mi])
                    if delta > 0:
                        need[mi] += delta * shares[mi]
                if di >= 0:
                    delta = host_state.disk_mb_used / 1024.0 - base[di]
                    if delta > 0:
                        need[di] += delta * shares[di]
            if reservation is not None and host.reservations is not None:
                own = host.reservations.get(reservation)
                if own is not None:
                    need = [a - b for a, b in zip(need, own)]
            worst = inf
            for cap, used, req, limit in zip(host.capacity, need, request,
                                             limits):
                if cap > 0.0:
                    value = limit - (used + req) / cap
                elif req > 0.0:
                    value = -inf
                else:
                    continue
                if value < worst:
                    worst = value
            append(0.0 if worst == inf else worst)
        return out

    def host(self, host_state):
        """The snapshot's entry of ``host_state``, or None."""
        return self.snapshot.lookup(host_state.uuid, host_state.nodename)

    def limits_for(self, host_state):
        """The utilisation limits of the host, per resource class."""
        if host_state.aggregates:
            value = aggregate_value(host_state,
                                    scheduler_conf.AGGREGATE_LIMIT_KEY)
            if value is not None:
                return (value,) * self.n
        return self.limits

    def new_since_snapshot(self, host, host_state):
        """Usage Nova added to the host since the snapshot, or None.

        From Nova's HostState (the compute node record, plus what the
        scheduler consumed for earlier instances of this request) minus the
        usage the snapshot started from, times the default expected
        utilisation; never negative.
        """
        base = host.base
        if base is None:
            return None
        new = [0.0] * self.n
        shares = self.new_shares
        i = self.vcpu_i
        if i >= 0:
            delta = host_state.vcpus_used - base[i]
            if delta > 0:
                new[i] = delta * shares[i]
        i = self.mem_i
        if i >= 0:
            delta = (host_state.total_usable_ram_mb - host_state.free_ram_mb -
                     base[i])
            if delta > 0:
                new[i] = delta * shares[i]
        i = self.disk_i
        if i >= 0:
            delta = host_state.disk_mb_used / 1024.0 - base[i]
            if delta > 0:
                new[i] = delta * shares[i]
        return new

    def margin(self, host, host_state):
        """(margin, index of the tightest resource class) of a known host.

        See the module's documentation. The index is -1 when no resource
        class counts.
        """
        limits = self.limits_for(host_state)
        capacity = host.capacity
        load = host.load
        request = self.request
        new = self.new_since_snapshot(host, host_state)
        own = None
        if self.reservation is not None and host.reservations is not None:
            own = host.reservations.get(self.reservation)
        worst = _INF
        worst_i = -1
        for i in range(self.n):
            need = load[i] + request[i]
            if new is not None:
                need += new[i]
            if own is not None:
                need -= own[i]
            cap = capacity[i]
            if cap > 0.0:
                value = limits[i] - need / cap
            elif request[i] > 0.0:
                value = -_INF
            else:
                continue
            if value < worst:
                worst = value
                worst_i = i
        if worst_i < 0:
            return 0.0, -1
        return worst, worst_i

    def explain(self, host, host_state, i):
        """Why the host fails on resource class ``i``, for a debug log."""
        limits = self.limits_for(host_state)
        new = self.new_since_snapshot(host, host_state)
        own = 0.0
        if self.reservation is not None and host.reservations is not None:
            own = host.reservations.get(self.reservation, (0.0,) * self.n)[i]
        new_i = new[i] if new is not None else 0.0
        need = host.load[i] + self.request[i] + new_i - own
        return ('%(rc)s predicted peak %(pred).1f + held by other '
                'reservations %(held).1f + placed since snapshot %(new).1f '
                '+ request %(req).1f = %(need).1f > limit %(lim).1f '
                '(capacity %(cap).1f x %(util).2f)' % {
                    'rc': self.snapshot.resource_classes[i],
                    'pred': host.predicted[i],
                    'held': host.held[i] - own,
                    'new': new_i, 'req': self.request[i], 'need': need,
                    'lim': host.capacity[i] * limits[i],
                    'cap': host.capacity[i], 'util': limits[i]})
