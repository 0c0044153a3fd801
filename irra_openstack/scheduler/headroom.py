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
per host it is one dictionary look-up (by provider UUID; by name when the
UUID is unknown) and the reading of a few HostState attributes, and the
arithmetic runs on all the hosts of the request at once, as numpy arrays:
O(1) per host, no I/O, no Python loop per host and resource class.
"""

import importlib.util
import itertools
import logging as std_logging
import math
import os
import sys

import numpy as np
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
_NAN = float('nan')
_parsed = {}

#: What the filter computed for a request, for the weigher that follows it:
#: {id(spec_obj): (spec_obj, RequestHeadroom, hosts passed, their margins,
#: their weight multipliers)}. Nova weighs the hosts right after filtering
#: them, before consuming the chosen one, so the margins are still right;
#: the weigher takes its entry out, and the filter replaces it for each
#: instance of a request.
_shared = {}
_SHARED_MAX = 64


def share_margins(spec_obj, request, host_states, margins,
                  multipliers=None):
    """Keep the filter's request and margins for the weigher."""
    if len(_shared) >= _SHARED_MAX:
        _shared.clear()
    _shared[id(spec_obj)] = (spec_obj, request, host_states, margins,
                             multipliers)


def forget_margins(spec_obj):
    _shared.pop(id(spec_obj), None)


def shared_margins(spec_obj, snapshot):
    """What the filter left for this request, or None.

    (request, hosts, margins, multipliers), or None unless the filter
    evaluated this very request against this very snapshot: ``hosts`` is
    the list of hosts that passed, ``margins`` and ``multipliers`` theirs
    (see :meth:`RequestHeadroom.evaluate`), in the same order.
    """
    entry = _shared.pop(id(spec_obj), None)
    if entry is None or entry[0] is not spec_obj or \
            entry[1].snapshot is not snapshot:
        return None
    return entry[1:]


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


def aggregate_values(aggregate_lists, keys):
    """Per host, the smallest valid value of each metadata key.

    The same as :func:`aggregate_value` for many hosts and keys at once:
    each distinct aggregate is read once, and the per-host minimum is taken
    with numpy.

    :param aggregate_lists: per host, its ``HostState.aggregates``.
    :param keys: the metadata keys.
    :returns: a tuple, per key a float array with NaN for the hosts without
        a value, or None when no aggregate of these hosts has a valid value.
    """
    flat = list(itertools.chain.from_iterable(aggregate_lists))
    if not flat:
        return (None,) * len(keys)
    ids = [id(a) for a in flat]
    distinct = dict(zip(ids, flat))
    out = []
    counts = None
    for key in keys:
        numbers = {}
        for ident, aggregate in distinct.items():
            raw = aggregate.metadata.get(key)
            if raw is not None:
                number = parse_number(raw, key)
                if number is not None:
                    numbers[ident] = number
        if not numbers:
            out.append(None)
            continue
        get = numbers.get
        values = np.array([get(i, _NAN) for i in ids], dtype=float)
        n = len(aggregate_lists)
        if counts is None:
            counts = np.array([len(a) for a in aggregate_lists],
                              dtype=np.intp)
            one_each = len(ids) == n and bool((counts == 1).all())
        if one_each:
            out.append(values)
            continue
        per_host = np.full(n, _NAN)
        some = counts > 0
        starts = np.cumsum(counts) - counts
        # fmin ignores NaN: the smallest of the values that exist.
        per_host[some] = np.fmin.reduceat(values, starts[some])
        out.append(per_host)
    return tuple(out)


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
        self._limits = np.array(limits, dtype=float)
        self._request = np.array(self.request, dtype=float)
        # A resource class without capacity: -inf when the request needs
        # it, +inf (it does not count) otherwise.
        self._zero_value = np.where(self._request > 0.0, -_INF, _INF)
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

    def _values(self, host_states):
        """Per host and resource class, ``limit - need / capacity``.

        All hosts at once, with numpy: per host, only the attributes of its
        HostState are read (with ``map``, at C speed) and its row found in
        the snapshot with one dictionary look-up by UUID (and one by name
        when the UUID is unknown); the arithmetic runs on (hosts, resource
        classes) arrays. A resource class with no capacity gives -inf when
        the request needs it, +inf (it does not count) otherwise.

        :returns: (known, values, multipliers): ``known`` is None when
            every host is in the snapshot, else a boolean array; ``values``
            an array of shape (hosts, resource classes) whose rows of
            unknown hosts are NaN; ``multipliers`` the weigher's multiplier
            of each host from its aggregates, NaN where none, or None when
            no aggregate sets one (read in the same pass as the limits).
        """
        snapshot = self.snapshot
        n = len(host_states)
        shape = (n, self.n)
        if not len(snapshot) or not n:
            return np.zeros(n, dtype=bool), np.full(shape, _NAN), None
        # List comprehensions: the quickest way to read an attribute of
        # many Python objects.
        get = snapshot.rows.get
        rows = np.array([get(h.uuid, -1) for h in host_states],
                        dtype=np.intp)
        known = None
        missing = np.flatnonzero(rows < 0)
        if missing.size:
            by_name = snapshot.rows_by_name.get
            for j in missing.tolist():
                rows[j] = by_name(host_states[j].nodename, -1)
            known = rows >= 0
        # An unknown host (row -1) reads the last row; its values are
        # replaced by NaN at the end.
        used = snapshot.load[rows]
        if snapshot.any_base:
            base = snapshot.base[rows]
            shares = self.new_shares
            i = self.vcpu_i
            if i >= 0:
                now = np.array([h.vcpus_used for h in host_states],
                               dtype=float)
                self._add_new(used, base, now, i, shares[i])
            i = self.mem_i
            if i >= 0:
                now = np.array([h.total_usable_ram_mb - h.free_ram_mb
                                for h in host_states], dtype=float)
                self._add_new(used, base, now, i, shares[i])
            i = self.disk_i
            if i >= 0:
                now = np.array([h.disk_mb_used for h in host_states],
                               dtype=float)
                now /= 1024.0
                self._add_new(used, base, now, i, shares[i])
        if self.reservation is not None:
            entry = snapshot.reservation_rows.get(self.reservation)
            if entry is not None:
                res_rows, amounts = entry
                pos = np.searchsorted(res_rows, rows)
                np.minimum(pos, len(res_rows) - 1, out=pos)
                hit = res_rows[pos] == rows
                if known is not None:
                    hit &= known
                if hit.any():
                    used[hit] -= amounts[pos[hit]]
        limits = self._limits
        override, multipliers = aggregate_values(
            [h.aggregates for h in host_states],
            (scheduler_conf.AGGREGATE_LIMIT_KEY,
             scheduler_conf.AGGREGATE_MULTIPLIER_KEY))
        if override is not None:
            has = ~np.isnan(override)
            limits = np.where(has[:, None], override[:, None],
                              limits[None, :])
        used += self._request
        capacity = snapshot.capacity[rows]
        if snapshot.zero_capacity:
            with np.errstate(divide='ignore', invalid='ignore'):
                values = limits - used / capacity
            zero = capacity <= 0.0
            if zero.any():
                values[zero] = np.broadcast_to(self._zero_value,
                                               shape)[zero]
        else:
            values = limits - used / capacity
        if known is not None:
            values[~known] = _NAN
        return known, values, multipliers

    @staticmethod
    def _add_new(used, base, now, i, share):
        """Add to ``used[:, i]`` what Nova placed since the snapshot."""
        now -= base[:, i]
        # Never negative; NaN (no base known) counts as nothing.
        np.fmax(now, 0.0, out=now)
        now *= share
        used[:, i] += now

    def evaluate(self, host_states):
        """(margins, multipliers) of the hosts.

        ``margins``: per host, its margin, NaN for a host the snapshot
        lacks. ``multipliers``: per host, the weight multiplier that its
        aggregates set, NaN where none, or None when no aggregate sets one.
        This is the per-host cost that nova-scheduler pays; see
        :meth:`_values`.
        """
        known, values, multipliers = self._values(host_states)
        if not self.n:
            margins = np.zeros(len(host_states))
        else:
            margins = values.min(axis=1)
            margins[margins == _INF] = 0.0
        if known is not None:
            margins[~known] = _NAN
        return margins, multipliers

    def margins(self, host_states):
        """The margin of each host (a float array), NaN when unknown."""
        return self.evaluate(host_states)[0]

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

        See the module's documentation; the same arithmetic as
        :meth:`margins`. The index is -1 when no resource class counts.
        ``host`` is the snapshot's entry of ``host_state``.
        """
        known, values, _ = self._values([host_state])
        if not self.n or (known is not None and not known[0]):
            return 0.0, -1
        row = values[0]
        i = int(np.argmin(row))
        worst = float(row[i])
        if worst == _INF:
            return 0.0, -1
        return worst, i

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
