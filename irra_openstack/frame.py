"""The MetricFrame: irra's in-memory form of metric time series.

A :class:`MetricFrame` holds, for a set of resources (VMs, hosts,
applications or regions) and a set of metrics, one value per resource, metric
and step of a regular time grid. A missing value is NaN. Every datasource,
trace format and forecaster speaks in MetricFrames, so that numerical work is
always one numpy operation over all series at once.

Time is in whole seconds. When ``epoch_known`` is true, ``start`` is POSIX
time (UTC); when it is false (the Azure V1 trace, for example, counts from
its own start) the calendar date and weekday are unknown and ``start`` counts
seconds from the start of the trace.
"""

import dataclasses
import types

import numpy as np

from irra_openstack import exception

#: What the resources of a frame may be.
RESOURCE_KINDS = ('vm', 'host', 'app', 'region')


def _frozen(mapping):
    return types.MappingProxyType(dict(mapping or {}))


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MetricFrame:
    """Values of ``metrics`` for ``resources`` on a regular time grid.

    :param start: time of the first step, in seconds (see module doc).
    :param step: seconds between steps, a positive integer.
    :param resources: resource identifiers, unique.
    :param metrics: metric names, unique.
    :param values: float array of shape (resources, metrics, steps); NaN
        marks a missing value.
    :param kind: what the resources are, one of :data:`RESOURCE_KINDS`.
    :param units: unit of each metric, for example ``{'cpu': '%'}``.
    :param attributes: per resource, static facts such as the flavor, the
        number of vCPUs or the application label.
    :param epoch_known: whether ``start`` is POSIX time.
    """

    start: int
    step: int
    resources: tuple
    metrics: tuple
    values: np.ndarray
    kind: str = 'vm'
    units: types.MappingProxyType = dataclasses.field(default=None)
    attributes: types.MappingProxyType = dataclasses.field(default=None)
    epoch_known: bool = True

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, 'resources', tuple(str(r) for r in self.resources))
        set_(self, 'metrics', tuple(str(m) for m in self.metrics))
        set_(self, 'units', _frozen(self.units))
        set_(self, 'attributes', _frozen(
            {k: _frozen(v) for k, v in (self.attributes or {}).items()}))
        try:
            step = int(self.step)
            start = int(self.start)
        except (TypeError, ValueError):
            raise exception.InvalidFrame(
                reason="start and step must be whole seconds, got %r and %r"
                % (self.start, self.step))
        if step <= 0 or step != self.step:
            raise exception.InvalidFrame(
                reason="step must be a positive whole number of seconds, "
                       "got %r" % (self.step,))
        set_(self, 'step', step)
        set_(self, 'start', start)
        values = np.asarray(self.values)
        if values.dtype.kind != 'f':
            values = values.astype(np.float64)
        if values.ndim != 3:
            raise exception.InvalidFrame(
                reason="values must have 3 dimensions (resources, metrics, "
                       "steps), got shape %s" % (values.shape,))
        expected = (len(self.resources), len(self.metrics))
        if values.shape[:2] != expected:
            raise exception.InvalidFrame(
                reason="values have shape %s but there are %d resources and "
                       "%d metrics" % ((values.shape,) + expected))
        set_(self, 'values', values)
        for label, names in (('resource', self.resources),
                             ('metric', self.metrics)):
            if len(set(names)) != len(names):
                seen, dups = set(), []
                for n in names:
                    if n in seen:
                        dups.append(n)
                    seen.add(n)
                raise exception.InvalidFrame(
                    reason="duplicate %s names: %s"
                    % (label, ', '.join(sorted(set(dups))[:5])))
        if self.kind not in RESOURCE_KINDS:
            raise exception.InvalidFrame(
                reason="kind must be one of %s, got %r"
                % (', '.join(RESOURCE_KINDS), self.kind))

    # -- shape and time -------------------------------------------------

    @property
    def n_resources(self):
        return self.values.shape[0]

    @property
    def n_metrics(self):
        return self.values.shape[1]

    @property
    def n_steps(self):
        return self.values.shape[2]

    @property
    def end(self):
        """Time just after the last step (exclusive)."""
        return self.start + self.n_steps * self.step

    @property
    def times(self):
        """Start time of every step, an int64 array of length n_steps."""
        return self.start + self.step * np.arange(self.n_steps,
                                                  dtype=np.int64)

    def __repr__(self):
        # Never the data: this may be logged, and a frame may be large.
        return ('<MetricFrame %d %s x %d metrics x %d steps of %ds from %d>'
                % (self.n_resources, self.kind, self.n_metrics,
                   self.n_steps, self.step, self.start))

    def missing_fraction(self):
        """Share of values that are missing (NaN); 1.0 for an empty frame."""
        if self.values.size == 0:
            return 1.0
        return float(np.isnan(self.values).mean())

    # -- selection ------------------------------------------------------

    def _index(self, names, have, label):
        lookup = {n: i for i, n in enumerate(have)}
        missing = [n for n in names if n not in lookup]
        if missing:
            raise exception.InvalidFrame(
                reason="unknown %s %s; the frame has %s"
                % (label, ', '.join(map(repr, missing[:5])),
                   ', '.join(have[:10]) + (' ...' if len(have) > 10
                                           else '')))
        return [lookup[n] for n in names]

    def metric(self, name):
        """Values of one metric for every resource: (resources, steps)."""
        return self.values[:, self._index([name], self.metrics,
                                          'metric')[0], :]

    def series(self, resource, metric):
        """One series: (steps,)."""
        r = self._index([resource], self.resources, 'resource')[0]
        m = self._index([metric], self.metrics, 'metric')[0]
        return self.values[r, m, :]

    def select(self, resources=None, metrics=None):
        """A frame with only the named resources and/or metrics."""
        ri = (slice(None) if resources is None
              else self._index(list(resources), self.resources, 'resource'))
        mi = (slice(None) if metrics is None
              else self._index(list(metrics), self.metrics, 'metric'))
        values = self.values[ri][:, mi]
        res = self.resources if resources is None else tuple(resources)
        mets = self.metrics if metrics is None else tuple(metrics)
        return self.replace(
            resources=res, metrics=mets, values=values,
            units={m: u for m, u in self.units.items() if m in mets},
            attributes={r: a for r, a in self.attributes.items()
                        if r in res})

    def window(self, start=None, end=None):
        """Steps with ``start <= time < end``; times must be on the grid."""
        start = self.start if start is None else int(start)
        end = self.end if end is None else int(end)
        for t in (start, end):
            if (t - self.start) % self.step:
                raise exception.InvalidFrame(
                    reason="time %d is not on the grid (start %d, step %d)"
                    % (t, self.start, self.step))
        return self.reindex(start, max(0, (end - start) // self.step))

    def reindex(self, start, n_steps):
        """The same series on another stretch of the same grid.

        Steps outside this frame are missing (NaN).
        """
        start = int(start)
        if (start - self.start) % self.step:
            raise exception.InvalidFrame(
                reason="start %d is not on the grid (start %d, step %d)"
                % (start, self.start, self.step))
        offset = (start - self.start) // self.step
        out = np.full(self.values.shape[:2] + (int(n_steps),), np.nan,
                      dtype=self.values.dtype)
        lo, hi = max(0, offset), min(self.n_steps, offset + n_steps)
        if hi > lo:
            out[:, :, lo - offset:hi - offset] = self.values[:, :, lo:hi]
        return self.replace(start=start, values=out)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @classmethod
    def concat_resources(cls, frames):
        """Stack frames of different resources on their common grid.

        The frames must have the same step, metrics, kind and calendar; the
        result spans all of them, with NaN where a frame has no data.
        """
        frames = list(frames)
        if not frames:
            raise exception.InvalidFrame(reason="nothing to concatenate")
        first = frames[0]
        for f in frames[1:]:
            if (f.step, f.metrics, f.kind, f.epoch_known) != (
                    first.step, first.metrics, first.kind,
                    first.epoch_known):
                raise exception.InvalidFrame(
                    reason="frames differ in step, metrics, kind or "
                           "calendar and cannot be stacked")
            if (f.start - first.start) % first.step:
                raise exception.InvalidFrame(
                    reason="frames are on shifted grids (starts %d and %d, "
                           "step %d)" % (first.start, f.start, first.step))
        start = min(f.start for f in frames)
        end = max(f.end for f in frames)
        n = (end - start) // first.step
        values = np.concatenate(
            [f.reindex(start, n).values for f in frames], axis=0)
        units, attrs = {}, {}
        for f in frames:
            units.update(f.units)
            attrs.update(f.attributes)
        return first.replace(
            start=start, values=values, units=units, attributes=attrs,
            resources=sum((f.resources for f in frames), ()))


@dataclasses.dataclass
class GridStats:
    """What :func:`regularise` did to fit samples to the grid."""

    #: samples given
    samples: int = 0
    #: samples dropped because their time was not finite
    bad_times: int = 0
    #: slots that received more than one sample of a sampled series
    #: (duplicate timestamps, or jitter); their values were averaged
    merged_slots: int = 0
    #: whether the input was not sorted by resource and time
    unsorted: bool = False
    #: slots between a series' first and last sample that got no sample
    gap_slots: int = 0


def regularise(resource_index, timestamps, values, n_resources, step,
               start=None, n_steps=None, dtype=np.float64):
    """Put timestamped samples onto a regular grid, for all series at once.

    :param resource_index: int array (N,), the resource of each sample.
    :param timestamps: array (N,) of sample times in seconds.
    :param values: float array (N, M) of sample values, NaN for missing.
    :param n_resources: number of resources.
    :param step: grid step in seconds.
    :param start: grid start; by default the first slot of the earliest
        sample, on a grid aligned to multiples of ``step``.
    :param n_steps: grid length; by default up to the latest sample.
    :param dtype: float type of the grid (float32 halves the memory of a
        large import; the averaging itself is done in float64).
    :returns: ``(start, grid, stats)``; ``grid`` has shape
        (n_resources, M, n_steps).

    A series sampled about once per step (the median gap between its
    samples is at least 90 % of the step) is *snapped*: its constant phase
    (its median offset from the step) is removed, so that a sample with some
    jitter still lands in its own slot. A series sampled faster is *binned*:
    each slot is the mean of the samples that fall into it. Either way, a
    slot that gets several samples holds their mean, and for snapped series
    this is counted in ``stats.merged_slots``.
    """
    step = int(step)
    ridx = np.asarray(resource_index, dtype=np.int64)
    ts = np.asarray(timestamps, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64)
    if vals.ndim == 1:
        vals = vals[:, None]
    stats = GridStats(samples=len(ts))
    n_metrics = vals.shape[1]
    finite = np.isfinite(ts)
    if not finite.all():
        stats.bad_times = int((~finite).sum())
        ridx, ts, vals = ridx[finite], ts[finite], vals[finite]
    if len(ts) == 0:
        start = 0 if start is None else int(start)
        n = 0 if n_steps is None else int(n_steps)
        return start, np.full((n_resources, n_metrics, n), np.nan,
                              dtype=dtype), stats

    order = np.lexsort((ts, ridx))
    if np.any(order != np.arange(len(order))):
        stats.unsorted = bool(np.any(np.diff(ridx) < 0) or np.any(
            (np.diff(ts) < 0) & (np.diff(ridx) == 0)))
        ridx, ts, vals = ridx[order], ts[order], vals[order]

    # Per-resource median sampling interval and phase, vectorised: group
    # boundaries come from the sorted resource index.
    bounds = np.flatnonzero(np.diff(ridx)) + 1
    starts = np.concatenate(([0], bounds))
    counts = np.diff(np.concatenate((starts, [len(ridx)])))
    diffs = np.diff(ts)
    same = np.diff(ridx) == 0
    gap = np.where(same, diffs, np.nan)
    group_of = np.repeat(np.arange(len(starts)), counts)
    med_gap = _group_nanmedian(group_of[:-1], gap, len(starts))
    # The phase is measured around each series' first sample, so that
    # jitter across a multiple of the step does not split it in two.
    ref = np.mod(ts[starts], step)[group_of]
    offset = np.mod(ts - ref + step / 2.0, step) - step / 2.0
    phase = np.mod(ts[starts], step) + _group_nanmedian(
        group_of, offset, len(starts))
    snapped_group = np.nan_to_num(med_gap, nan=step) >= 0.9 * step
    snap = snapped_group[group_of]
    shift = np.where(snap, phase[group_of], 0.0)
    # Snapped: nearest grid point after removing the phase. Binned: floor.
    slot_time = np.where(
        snap, np.round((ts - shift) / step), np.floor(ts / step)) * step
    if start is None:
        start = int(slot_time.min())
    start = int(start)
    slot = ((slot_time - start) // step).astype(np.int64)
    if n_steps is None:
        n_steps = int(slot.max()) + 1 if len(slot) else 0
    n_steps = int(n_steps)
    inside = (slot >= 0) & (slot < n_steps)
    flat = ridx[inside] * n_steps + slot[inside]
    size = n_resources * n_steps
    hits = np.bincount(flat, minlength=size)
    stats.merged_slots = int(np.count_nonzero(
        np.bincount(flat[snap[inside]], minlength=size) > 1))
    grid = np.full((n_resources, n_metrics, n_steps), np.nan, dtype=dtype)
    v = vals[inside]
    for m in range(n_metrics):   # a loop over metrics, not over series
        ok = ~np.isnan(v[:, m])
        s = np.bincount(flat[ok], weights=v[ok, m], minlength=size)
        c = np.bincount(flat[ok], minlength=size)
        with np.errstate(invalid='ignore', divide='ignore'):
            grid[:, m, :] = np.where(c > 0, s / np.maximum(c, 1),
                                     np.nan).reshape(n_resources, n_steps)
    # Gaps: empty slots between each series' first and last sample.
    occupied = (hits > 0).reshape(n_resources, n_steps)
    any_ = occupied.any(axis=1)
    first = np.argmax(occupied, axis=1)
    last = n_steps - 1 - np.argmax(occupied[:, ::-1], axis=1)
    span = np.where(any_, last - first + 1, 0)
    stats.gap_slots = int(span.sum() - occupied.sum())
    return start, grid, stats


def _group_nanmedian(group, x, n_groups):
    """Median of ``x`` per group (groups are contiguous and sorted)."""
    out = np.full(n_groups, np.nan)
    if len(x) == 0:
        return out
    ok = ~np.isnan(x)
    g, xv = group[ok], x[ok]
    if len(xv) == 0:
        return out
    order = np.lexsort((xv, g))
    g, xv = g[order], xv[order]
    bounds = np.flatnonzero(np.diff(g)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(g)]))
    lo = xv[starts + (ends - starts - 1) // 2]
    hi = xv[starts + (ends - starts) // 2]
    out[g[starts]] = (lo + hi) / 2.0
    return out
