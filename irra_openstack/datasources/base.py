"""The datasource plugin base, its result, and the helpers they share.

A datasource is built from explicit arguments: the :class:`Region` objects
it reads (each with its endpoint and keystoneauth session), the
:class:`MetricSpec` mapping from irra's metric names to the server's, and
the failure settings (timeout, retries, backoff, circuit breaker).

:meth:`Datasource.fetch` returns a :class:`FetchResult`: one
:class:`~irra_openstack.frame.MetricFrame` per region, and the list of what
is missing (which region, which metric, and why). It never raises for a
server's failure, and a result with anything missing is never
``complete``.

Time: every value of step ``k`` describes ``[start + k*step,
start + (k+1)*step)``. A gauge's value is the mean of its samples in the
step. A counter's value is its increase between the last sample of the
previous step and the last sample of the step, divided by the time between
them (nominally ``step``): the rate that *ends* in the step, as Prometheus'
``rate()`` and Gnocchi's ``rate:mean`` attribute it. A counter that went
down was reset (the VM restarted): its increase is then its new value.
"""

import abc
import collections
from concurrent import futures
import dataclasses
import json
import random
import threading
import time

import numpy as np
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

NAMESPACE = 'irra.datasources'

#: How a server's series becomes an irra metric.
GAUGE = 'gauge'              # value * scale
COUNTER = 'counter'          # rate per second * scale
CPU_NS = 'cpu_ns'            # cumulative CPU ns -> % of the VM's vCPUs
CPU_SECONDS = 'cpu_seconds'  # cumulative CPU s -> % of the VM's vCPUs
KINDS = (GAUGE, COUNTER, CPU_NS, CPU_SECONDS)
_CPU_DIVISOR = {CPU_NS: 1e9, CPU_SECONDS: 1.0}


class DatasourceError(exception.IrraError):
    msg_fmt = "Datasource error: %(reason)s"


class EndpointUnavailable(DatasourceError):
    """The endpoint could not be reached, timed out or answered 5xx."""


class CircuitOpen(EndpointUnavailable):
    """The endpoint failed too often lately; it is not being asked."""


class MalformedResponse(DatasourceError):
    """The endpoint answered something that is not what its API says."""


class UnknownMetric(DatasourceError):
    """The server does not know the metric asked for."""


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """How irra metric ``name`` is read from a server.

    :param name: irra's metric name, e.g. ``cpu_util``.
    :param kind: one of :data:`KINDS`.
    :param source: the server's name for it: a Gnocchi metric name, or a
        Prometheus metric name or PromQL expression.
    :param unit: the unit of irra's values.
    :param scale: factor applied to the gauge value or the rate.
    """

    name: str
    kind: str
    source: str
    unit: str = ''
    scale: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise exception.ConfigError(
                reason="metric %s: kind must be one of %s, got %r"
                % (self.name, ', '.join(KINDS), self.kind))

    @property
    def is_counter(self):
        return self.kind != GAUGE

    @classmethod
    def parse(cls, text):
        """Parse ``NAME|KIND|SCALE|SOURCE`` (the source may hold ``|``)."""
        parts = text.split('|', 3)
        if len(parts) != 4 or not parts[0].strip() or not parts[3].strip():
            raise exception.ConfigError(
                reason="metric mapping %r is not NAME|KIND|SCALE|SOURCE, "
                       "e.g. 'cpu_util|cpu_ns|1|cpu'" % text)
        name, kind, scale, source = (p.strip() for p in parts)
        try:
            scale = float(scale) if scale else 1.0
        except ValueError:
            raise exception.ConfigError(
                reason="metric mapping %r: scale %r is not a number"
                % (text, scale))
        return cls(name=name, kind=kind, source=source, scale=scale,
                   unit=_DEFAULT_UNITS.get(name, ''))


#: Units of irra's datasource metrics.
_DEFAULT_UNITS = {
    'cpu_util': '%', 'mem_used': 'MB', 'mem_util': '%',
    'disk_read_bps': 'B/s', 'disk_write_bps': 'B/s',
    'net_in_bps': 'B/s', 'net_out_bps': 'B/s', 'vcpus': 'vCPU',
}


def unit_of(name):
    return _DEFAULT_UNITS.get(name, '')


def merge_specs(defaults, overrides):
    """The default specs, with those named again in ``overrides`` replaced.

    :returns: an ordered dict ``{name: MetricSpec}``.
    """
    out = {s.name: s for s in defaults}
    for s in overrides or ():
        out[s.name] = s
    return out


@dataclasses.dataclass
class Region:
    """One region as a datasource sees it.

    :param name: the region name (Keystone's region id).
    :param endpoint: base URL of the metric API in this region.
    :param session: a keystoneauth1 session (authenticated for Aetos or
        Gnocchi behind Keystone; without auth for a plain server). None
        builds an unauthenticated one.
    :param clock_offset: seconds the region's clock is ahead of ours;
        query times are shifted by it and the answers shifted back.
    """

    name: str
    endpoint: str
    session: object = None
    clock_offset: float = 0.0

    def __repr__(self):
        # Never the session: it may hold a token.
        return '<Region %s %s>' % (self.name, self.endpoint)


@dataclasses.dataclass(frozen=True)
class Missing:
    """Something a fetch could not get.

    ``resources`` is None when the whole metric is missing for the region,
    else the resources that lack it (for example VMs whose vCPU count is
    unknown, so their CPU time cannot become a percentage).
    """

    region: str
    metric: str
    reason: str
    resources: tuple = None

    def __str__(self):
        who = ('' if self.resources is None else
               ' for %d resources (%s%s)' % (
                   len(self.resources), ', '.join(self.resources[:3]),
                   ', ...' if len(self.resources) > 3 else ''))
        return '%s/%s%s: %s' % (self.region, self.metric, who,
                                self.reason)


@dataclasses.dataclass
class FetchResult:
    """What a fetch got: frames per region and what is missing.

    :attr frames: ``{region: MetricFrame}``, every region asked for that
        answered at least one metric. A metric that is missing for a region
        is all NaN in its frame.
    :attr missing: list of :class:`Missing`.
    :attr requests: HTTP requests made (attempts, retries included).
    :attr failed_attempts: those of them that failed (a connection
        error, a time-out or a 5xx answer), whether a retry then
        succeeded or not.
    :attr failure_reasons: ``{reason: count}`` of the failed attempts.
    :attr seconds: wall time of the fetch.
    """

    start: int
    end: int
    step: int
    metrics: tuple
    regions: tuple
    frames: dict = dataclasses.field(default_factory=dict)
    missing: list = dataclasses.field(default_factory=list)
    requests: int = 0
    failed_attempts: int = 0
    failure_reasons: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    @property
    def complete(self):
        """True only when every region answered every metric fully."""
        return (not self.missing
                and set(self.frames) == set(self.regions))

    @property
    def partial(self):
        return not self.complete

    def missing_regions(self):
        return sorted(set(self.regions) - set(self.frames))

    def describe(self):
        """One line for a log or an operator."""
        if self.complete:
            return ('complete: %d regions x %d metrics'
                    % (len(self.regions), len(self.metrics)))
        return 'partial: %s' % '; '.join(str(m) for m in self.missing)

    def frame(self):
        """All regions' frames stacked into one frame.

        Each resource's ``region`` attribute says where it is. Check
        :attr:`complete` first.
        """
        if not self.frames:
            raise DatasourceError(
                reason="no region answered (%s)" % self.describe())
        return frame_mod.MetricFrame.concat_resources(
            [self.frames[r] for r in self.regions if r in self.frames])


class CircuitBreaker:
    """A per-endpoint circuit breaker.

    After ``threshold`` consecutive failures the circuit opens: calls fail
    at once for ``reset_after`` seconds. Then one trial call is let through
    (half-open); its success closes the circuit, its failure opens it
    again.
    """

    def __init__(self, threshold=3, reset_after=30.0, clock=time.monotonic):
        self.threshold = max(1, int(threshold))
        self.reset_after = float(reset_after)
        self._clock = clock
        self._failures = 0
        self._opened_at = None
        self._lock = threading.Lock()

    @property
    def state(self):
        with self._lock:
            return self._state()

    def _state(self):
        if self._opened_at is None:
            return 'closed'
        if self._clock() - self._opened_at >= self.reset_after:
            return 'half-open'
        return 'open'

    def allow(self):
        with self._lock:
            state = self._state()
            if state == 'half-open':
                # One trial at a time: re-arm until it reports back.
                self._opened_at = self._clock()
                return True
            return state == 'closed'

    def retry_in(self):
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_after
                       - (self._clock() - self._opened_at))

    def success(self):
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def failure(self):
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()


class HttpClient:
    """HTTP to one endpoint, with timeout, retries, backoff and a breaker.

    Requests go through a keystoneauth1 session, so the same code talks to
    a plain server and to one behind Keystone. Connection errors, timeouts
    and 5xx answers are retried ``retries`` times with exponential backoff
    and jitter; 4xx answers are not. Every attempt is counted in
    :attr:`requests`.
    """

    def __init__(self, endpoint, session=None, timeout=30.0, retries=2,
                 backoff=0.5, breaker=None, headers=None,
                 sleep=time.sleep):
        from keystoneauth1 import session as ks_session

        self.endpoint = endpoint.rstrip('/')
        self.session = session or ks_session.Session()
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.breaker = breaker or CircuitBreaker()
        self.headers = dict(headers or {})
        self.requests = 0
        self.failures = collections.Counter()
        self._sleep = sleep
        self._lock = threading.Lock()

    def request(self, method, path, params=None, json_body=None,
                raw=False):
        """Return the decoded JSON answer (``raw``: its bytes, undecoded).

        :raises CircuitOpen, EndpointUnavailable: the endpoint failed.
        :raises MalformedResponse: the answer is not JSON.
        :raises DatasourceError: a 4xx answer (``status`` kwarg).
        """
        from keystoneauth1 import exceptions as ks_exc

        url = self.endpoint + path
        attempt = 0
        while True:
            if not self.breaker.allow():
                raise CircuitOpen(
                    reason="%s failed repeatedly; not asking it again for "
                           "%.0f s" % (self.endpoint,
                                       self.breaker.retry_in()))
            with self._lock:
                self.requests += 1
            try:
                resp = self.session.request(
                    url, method, params=params, json=json_body,
                    headers=dict(self.headers, Accept='application/json'),
                    timeout=self.timeout, raise_exc=False,
                    endpoint_filter=None, connect_retries=0,
                    authenticated=None)
                failure = None
                if resp.status_code >= 500:
                    failure = 'HTTP %d' % resp.status_code
            except (ks_exc.ConnectTimeout, ks_exc.RequestTimeout):
                # keystoneauth reports a read timeout as ConnectTimeout
                failure = 'no answer within %.1f s' % self.timeout
            except ks_exc.ConnectFailure as exc:
                failure = 'cannot connect (%s)' % type(exc).__name__
            except ks_exc.ClientException as exc:
                failure = '%s: %s' % (type(exc).__name__, exc)
            if failure is None:
                self.breaker.success()
                break
            self.breaker.failure()
            with self._lock:
                self.failures[failure[:200]] += 1
            if attempt >= self.retries:
                raise EndpointUnavailable(
                    reason="%s %s: %s (after %d attempts)"
                    % (method, url, failure, attempt + 1))
            delay = self.backoff * (2 ** attempt) * (
                0.5 + random.random() / 2)  # noqa: S311 jitter
            LOG.debug('%s %s failed (%s); retry in %.2f s', method, url,
                      failure, delay)
            self._sleep(delay)
            attempt += 1
        if resp.status_code >= 400:
            raise DatasourceError(
                reason="%s %s: HTTP %d: %s" % (
                    method, url, resp.status_code, resp.text[:300]),
                status=resp.status_code)
        if raw:
            return resp.content
        return loads(resp.content, '%s %s' % (method, url))


def loads(body, where):
    """The JSON document ``body`` (bytes), or :class:`MalformedResponse`."""
    try:
        return json.loads(body)
    except ValueError:
        raise MalformedResponse(
            reason="%s answered something that is not JSON: %r"
            % (where, body[:120].decode('utf-8', 'replace')))


# -- shared, vectorised helpers ----------------------------------------

def align_window(start, end, step):
    """``[start, end)`` widened to whole steps of an epoch-aligned grid."""
    step = int(step)
    start = int(np.floor(start / step) * step)
    end = int(np.ceil(end / step) * step)
    return start, max(end, start)


def samples_to_grid(ridx, times, values, n_resources, start, n_steps,
                    step, how='mean'):
    """Put samples on the grid, for all series at once.

    :param ridx: int array, the resource of each sample.
    :param times: sample times in seconds.
    :param values: sample values.
    :param how: ``mean`` of the samples in a step (gauges), or ``last``
        (the latest sample in a step; counters).
    :returns: ``(grid, stats)``: grid (n_resources, n_steps), NaN where a
        step got no sample; stats a dict with ``outside`` (samples outside
        the window: late or skewed points), ``bad`` (non-finite).
    """
    ridx = np.asarray(ridx, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    grid = np.full((n_resources, n_steps), np.nan)
    ok = np.isfinite(times) & np.isfinite(values)
    stats = {'bad': int((~ok).sum())}
    slot = np.floor((times - start) / step).astype(np.int64)
    inside = ok & (slot >= 0) & (slot < n_steps)
    stats['outside'] = int((ok & ~inside).sum())
    r, s, v, t = ridx[inside], slot[inside], values[inside], times[inside]
    flat = r * n_steps + s
    size = n_resources * n_steps
    if how == 'mean':
        tot = np.bincount(flat, weights=v, minlength=size)
        cnt = np.bincount(flat, minlength=size)
        with np.errstate(invalid='ignore', divide='ignore'):
            grid = np.where(cnt > 0, tot / np.maximum(cnt, 1),
                            np.nan).reshape(n_resources, n_steps)
    elif how == 'last':
        # Servers answer series after series, in time order: then the
        # samples are already sorted and the sort is skipped.
        d = np.diff(flat)
        if not ((d > 0) | ((d == 0) & (np.diff(t) >= 0))).all():
            order = np.lexsort((t, flat))
            flat, v = flat[order], v[order]
        # the last sample of each flat slot wins
        out = grid.reshape(-1)
        out[flat] = v
        grid = out.reshape(n_resources, n_steps)
    else:
        raise ValueError("how must be 'mean' or 'last'")
    return grid, stats


def counter_to_rate(counter, step):
    """Rates per second from counter values on the grid, vectorised.

    :param counter: (R, T) last counter value of each step, NaN missing.
    :returns: (R, T) rates. Step ``k`` holds the increase from the
        previous valid value (``j < k``) divided by ``(k - j) * step``;
        steps without a value, and each series' first value, are NaN. A
        decrease is a reset: the increase is then the new value.
    """
    c = np.asarray(counter, dtype=np.float64)
    if c.ndim == 1:
        return counter_to_rate(c[None, :], step)[0]
    n_r, n_t = c.shape
    valid = ~np.isnan(c)
    idx = np.where(valid, np.arange(n_t)[None, :], -1)
    last_idx = np.maximum.accumulate(idx, axis=1)
    prev_idx = np.concatenate(
        [np.full((n_r, 1), -1), last_idx[:, :-1]], axis=1)
    has_prev = valid & (prev_idx >= 0)
    rows = np.arange(n_r)[:, None]
    prev_val = c[rows, np.maximum(prev_idx, 0)]
    inc = c - prev_val
    inc = np.where(inc < 0, c, inc)          # reset: counted from zero
    dt = (np.arange(n_t)[None, :] - prev_idx) * float(step)
    with np.errstate(invalid='ignore', divide='ignore'):
        rate = np.where(has_prev, inc / dt, np.nan)
    return rate


def count_resets(counter):
    """Number of counter resets (decreases between valid values)."""
    c = np.asarray(counter, dtype=np.float64)
    if c.ndim == 1:
        c = c[None, :]
    n_r, n_t = c.shape
    valid = ~np.isnan(c)
    idx = np.where(valid, np.arange(n_t)[None, :], -1)
    last_idx = np.maximum.accumulate(idx, axis=1)
    prev_idx = np.concatenate(
        [np.full((n_r, 1), -1), last_idx[:, :-1]], axis=1)
    prev_val = c[np.arange(n_r)[:, None], np.maximum(prev_idx, 0)]
    return int(np.count_nonzero(valid & (prev_idx >= 0) & (c < prev_val)))


def cpu_percent(rate, vcpus, divisor):
    """CPU time rate -> % of the VM's vCPUs; NaN where vcpus unknown."""
    v = np.asarray(vcpus, dtype=np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        v = np.where(v > 0, v, np.nan)
        return rate / divisor / v[:, None] * 100.0


def presence(values):
    """First and last step with any value per resource (-1 if none).

    ``values`` is (R, M, T); the answer tells resources that appeared or
    disappeared in mid-window.
    """
    any_t = ~np.isnan(values).all(axis=1)
    n_t = any_t.shape[1]
    has = any_t.any(axis=1)
    first = np.where(has, np.argmax(any_t, axis=1), -1)
    last = np.where(has, n_t - 1 - np.argmax(any_t[:, ::-1], axis=1), -1)
    return first, last


@dataclasses.dataclass
class Series:
    """A server's answer for one metric in one region, not yet on a grid.

    ``resources`` are the unique resource ids, ``ridx`` the index of each
    sample's resource, ``times`` its time (seconds, the server's clock),
    ``values`` its value. ``how`` is ``mean`` when the server already
    averaged each step, ``last`` for raw counter values.
    """

    resources: list
    ridx: np.ndarray
    times: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls):
        return cls([], np.zeros(0, np.int64), np.zeros(0), np.zeros(0))

    @classmethod
    def concat(cls, parts):
        """The series of disjoint sets of resources, as one."""
        parts = [p for p in parts if len(p.resources)]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.empty()
        offsets = np.cumsum([0] + [len(p.resources) for p in parts[:-1]])
        return cls([r for p in parts for r in p.resources],
                   np.concatenate([p.ridx + o
                                   for p, o in zip(parts, offsets)]),
                   np.concatenate([p.times for p in parts]),
                   np.concatenate([p.values for p in parts]))

    @classmethod
    def from_lists(cls, resources, per_resource):
        """From ``[(times, values)]`` in the order of ``resources``."""
        if not resources:
            return cls.empty()
        lens = np.array([len(t) for t, v in per_resource], dtype=np.int64)
        ridx = np.repeat(np.arange(len(resources)), lens)
        times = np.concatenate(
            [np.asarray(t, dtype=np.float64) for t, v in per_resource]
        ) if lens.sum() else np.zeros(0)
        values = np.concatenate(
            [np.asarray(v, dtype=np.float64) for t, v in per_resource]
        ) if lens.sum() else np.zeros(0)
        return cls(list(resources), ridx, times, values)


class Datasource(plugins.Plugin, metaclass=abc.ABCMeta):
    """Base of the ``irra.datasources`` plugins.

    :param regions: list of :class:`Region`.
    :param metrics: ``{name: MetricSpec}`` for VMs; None for the plugin's
        defaults.
    :param host_metrics: the same for hosts (kind ``host``).
    :param timeout: seconds per HTTP request.
    :param retries: retries of a failed request.
    :param backoff: first retry delay in seconds, doubled each retry.
    :param breaker_threshold: consecutive failures that open an
        endpoint's circuit.
    :param breaker_reset: seconds an open circuit stays open.
    :param vcpus_metric: spec of a gauge that gives each VM's vCPU count,
        for the VMs whose count is not given to :meth:`fetch`.
    :param parallel: requests of one region in flight at once (its
        metrics, or their parts); 1 asks one after the other.
    :param compress: ask for gzip answers (worth it across a slow
        network; on a fast one it only costs the server CPU).
    """

    #: What the resources of this datasource are called in a frame.
    default_metrics = ()
    default_host_metrics = ()

    def __init__(self, regions, metrics=None, host_metrics=None,
                 timeout=30.0, retries=2, backoff=0.5, breaker_threshold=3,
                 breaker_reset=30.0, vcpus_metric=None, parallel=4,
                 compress=False, clock=time.time):
        self.regions = {r.name: r for r in regions}
        self.metrics = (dict(metrics) if metrics is not None
                        else merge_specs(self.default_metrics, ()))
        self.host_metrics = (dict(host_metrics) if host_metrics is not None
                             else merge_specs(self.default_host_metrics, ()))
        self.vcpus_metric = vcpus_metric
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.parallel = max(1, int(parallel))
        self.compress = bool(compress)
        self._clock = clock
        self._breaker_args = (int(breaker_threshold), float(breaker_reset))
        self._clients = {}
        self._clients_lock = threading.Lock()

    def client(self, region):
        """The :class:`HttpClient` of a region's endpoint.

        One breaker per endpoint, shared by every metric.
        """
        key = region.endpoint
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = self._new_client(region)
            return self._clients[key]

    def _new_client(self, region):
        return HttpClient(
            region.endpoint, session=region.session, timeout=self.timeout,
            retries=self.retries, backoff=self.backoff,
            breaker=CircuitBreaker(*self._breaker_args),
            headers={'Accept-Encoding': ('gzip, deflate' if self.compress
                                         else 'identity')})

    def requests_made(self):
        return sum(c.requests for c in self._clients.values())

    def failures_made(self):
        """``Counter({reason: failed attempts})`` of every endpoint."""
        total = collections.Counter()
        for c in list(self._clients.values()):
            total.update(getattr(c, 'failures', ()))
        return total

    # -- what a plugin implements ---------------------------------------

    @abc.abstractmethod
    def query(self, region, spec, start, end, step, kind='vm'):
        """One batched request: ``spec`` for every resource of ``region``.

        ``start``/``end`` are in the region's clock. Returns a
        :class:`Series`, with ``how`` semantics: gauges averaged per step,
        counters as the last value of each step.

        :raises DatasourceError: or a subclass, on any failure.
        """

    def query_parts(self, region, spec, kind='vm'):
        """How a region's batched request of ``spec`` is split.

        A list of part keys for :meth:`query_part`, or ``[None]`` (the
        default): one request, :meth:`query`, for the whole region.
        """
        return [None]

    def query_part(self, region, spec, start, end, step, part, kind='vm'):
        """One part (of :meth:`query_parts`) of the batched request."""
        raise NotImplementedError()

    def query_one(self, region, spec, start, end, step, resource,
                  kind='vm'):
        """The same for one resource only.

        The slow per-VM way, kept for the benchmark's comparison.
        """
        raise NotImplementedError()

    # -- the engine's entry point ---------------------------------------

    def fetch(self, start, end, step, metrics=None, kind='vm',
              regions=None, attributes=None, resources=None):
        """Read ``metrics`` over ``[start, end)`` at ``step``, per region.

        :param metrics: irra metric names (default: all mapped).
        :param kind: ``vm`` or ``host``.
        :param regions: region names (default: all).
        :param attributes: ``{resource: {'vcpus': n, ...}}``, e.g. from
            the inventory; ``vcpus`` turns CPU time into %.
        :param resources: if given, the resources each frame must have
            (in this order, across regions: each region keeps those it
            answered for, plus, for one region only, none); default: the
            resources the server answered for.
        :returns: a :class:`FetchResult`; never raises for a server's
            failure, bad answer or unknown metric.
        """
        t0 = time.monotonic()
        before = self.requests_made(), self.failures_made()
        step = int(step)
        start, end, specs_all, names, region_names, result = self._prepare(
            start, end, step, metrics, kind, regions)
        for rname in region_names:
            region = self.regions.get(rname)
            if region is None:
                for m in names:
                    result.missing.append(Missing(
                        rname, m, 'region not configured for %s'
                        % self.name))
                continue
            try:
                frame, missing = self._fetch_region(
                    region, names, specs_all, start, end, step, kind,
                    attributes or {}, resources)
            except Exception as exc:  # noqa: broad - never escape a cycle
                LOG.exception('%s: unexpected error in region %s',
                              self.name, rname)
                frame, missing = None, [
                    Missing(rname, m, 'unexpected %s: %s'
                            % (type(exc).__name__, exc)) for m in names]
            result.missing.extend(missing)
            if frame is not None:
                result.frames[rname] = frame
        self._count(result, before)
        result.seconds = time.monotonic() - t0
        if result.complete:
            LOG.debug('%s fetch %s in %.2f s, %d requests', self.name,
                      result.describe(), result.seconds, result.requests)
        else:
            LOG.warning('%s fetch is %s', self.name, result.describe())
        return result

    def _fetch_region(self, region, names, specs_all, start, end, step,
                      kind, attributes, wanted, one_by_one=None):
        n_steps = (end - start) // step
        skew = float(region.clock_offset or 0.0)
        missing = []
        got = {}
        todo = []
        for name in names:
            spec = specs_all.get(name)
            if spec is None:
                missing.append(Missing(
                    region.name, name, 'no mapping for this metric in %s '
                    '(known: %s)' % (self.name, ', '.join(specs_all))))
                continue
            todo.append((name, spec))

        needs_vcpus = any(spec.kind in _CPU_DIVISOR for _, spec in todo)
        if (needs_vcpus and kind == 'vm' and self.vcpus_metric is not None
                and not any('vcpus' in a for a in attributes.values())):
            todo.append((None, self.vcpus_metric))

        # The jobs: each metric's batched request, or its parts when the
        # plugin splits a region (:meth:`query_parts`), or, for the per-VM
        # comparison, one request per resource. They all share one pool:
        # at most ``parallel`` requests of the region in flight.
        jobs = []
        for i, (name, spec) in enumerate(todo):
            parts = (self.query_parts(region, spec, kind)
                     if one_by_one is None else list(one_by_one))
            jobs.extend((i, part) for part in parts)

        def one(job):
            i, part = job
            name, spec = todo[i]
            lead = step if spec.is_counter else 0
            q_start, q_end = start - lead + skew, end + skew
            try:
                if one_by_one is not None:
                    s = self.query_one(region, spec, q_start, q_end, step,
                                       part, kind=kind)
                    if not len(s.times):
                        s = Series.empty()
                elif part is None:
                    s = self.query(region, spec, q_start, q_end, step,
                                   kind=kind)
                else:
                    s = self.query_part(region, spec, q_start, q_end, step,
                                        part, kind=kind)
                return i, s, None
            except DatasourceError as exc:
                return i, None, str(exc)
            except Exception as exc:  # noqa: broad - never escape a cycle
                LOG.exception('%s: unexpected error reading %s in %s',
                              self.name, name, region.name)
                return i, None, 'unexpected %s: %s' % (
                    type(exc).__name__, exc)

        # The requests overlap (at most ``parallel`` at a time): the
        # server works on one while irra parses another.
        if self.parallel > 1 and len(jobs) > 1:
            with futures.ThreadPoolExecutor(
                    min(self.parallel, len(jobs))) as pool:
                done = list(pool.map(one, jobs))
        else:
            done = [one(job) for job in jobs]
        pieces = [[] for _ in todo]
        errors = [None] * len(todo)
        for i, series, error in done:
            if error is not None:
                errors[i] = errors[i] or error
            else:
                pieces[i].append(series)
        answers = [(name, spec, None if errors[i] else
                    Series.concat(pieces[i]), errors[i])
                   for i, (name, spec) in enumerate(todo)]
        vcpus_series = None
        for name, spec, series, error in answers:
            if name is None:            # the prefetched vCPU counts
                vcpus_series = (series, error)
            elif error is not None:
                missing.append(Missing(region.name, name, error))
            else:
                got[name] = (spec, series)
        if not got:
            return None, missing
        # The union of every metric's resources, in a stable order.
        if wanted is not None:
            res_names = list(wanted)
        else:
            seen = {}
            for spec, s in got.values():
                for r in s.resources:
                    seen.setdefault(r, len(seen))
            res_names = list(seen)
        pos = {r: i for i, r in enumerate(res_names)}
        values = np.full((len(res_names), len(names), n_steps), np.nan)
        vcpus = None
        for mi, name in enumerate(names):
            if name not in got:
                continue
            spec, s = got[name]
            lead = 1 if spec.is_counter else 0
            mapped = np.array([pos.get(r, -1) for r in s.resources],
                              dtype=np.int64)
            ridx = mapped[s.ridx] if len(s.ridx) else s.ridx
            keep = ridx >= 0
            grid, stats = samples_to_grid(
                ridx[keep], s.times[keep] - skew, s.values[keep],
                len(res_names), start - lead * step, n_steps + lead, step,
                how='last' if spec.is_counter else 'mean')
            if spec.kind == GAUGE:
                out = grid * spec.scale
            else:
                out = counter_to_rate(grid, step)[:, lead:] * spec.scale
                if spec.kind in _CPU_DIVISOR:
                    if vcpus is None:
                        vcpus = self._vcpus(region, res_names, attributes,
                                            start, end, step, kind,
                                            missing, vcpus_series)
                    out = cpu_percent(out, vcpus,
                                      _CPU_DIVISOR[spec.kind])
                    unknown = np.isnan(vcpus) & ~np.isnan(
                        grid[:, lead:]).all(axis=1)
                    if unknown.any():
                        missing.append(Missing(
                            region.name, name, 'vCPU count unknown, so CPU '
                            'time cannot become a percentage',
                            tuple(np.asarray(res_names)[unknown])))
            values[:, mi, :] = out
            if stats['outside']:
                LOG.debug('%s %s/%s: %d samples outside the window',
                          self.name, region.name, name, stats['outside'])
        attrs = {}
        first, last = presence(values)
        for i, r in enumerate(res_names):
            a = dict(attributes.get(r, {}))
            a['region'] = region.name
            if first[i] > 0 or (0 <= last[i] < n_steps - 1):
                a['first_step'] = int(first[i])
                a['last_step'] = int(last[i])
            attrs[r] = a
        frame = frame_mod.MetricFrame(
            start=start, step=step, resources=res_names, metrics=names,
            values=values, kind=kind,
            units={n: (specs_all[n].unit or unit_of(n)) for n in names
                   if n in specs_all},
            attributes=attrs)
        return frame, missing

    def _vcpus(self, region, res_names, attributes, start, end, step, kind,
               missing, prefetched=None):
        v = np.array([float(attributes.get(r, {}).get('vcpus') or np.nan)
                      for r in res_names])
        if np.isnan(v).any() and self.vcpus_metric is not None and (
                kind == 'vm'):
            if prefetched is not None:
                s, error = prefetched
                if error is not None:
                    missing.append(Missing(region.name, 'vcpus', error))
                    return v
            else:
                try:
                    s = self.query(region, self.vcpus_metric,
                                   start + region.clock_offset,
                                   end + region.clock_offset, step,
                                   kind=kind)
                except Exception as exc:  # noqa: broad - never escape
                    missing.append(Missing(region.name, 'vcpus', str(exc)))
                    return v
            pos = {r: i for i, r in enumerate(res_names)}
            mapped = np.array([pos.get(r, -1) for r in s.resources],
                              dtype=np.int64)
            if len(s.ridx):
                ridx = mapped[s.ridx]
                keep = (ridx >= 0) & np.isfinite(s.values)
                # the latest known count of each VM
                order = np.lexsort((s.times[keep], ridx[keep]))
                got = np.full(len(res_names), np.nan)
                got[ridx[keep][order]] = s.values[keep][order]
                v = np.where(np.isnan(v), got, v)
        return v

    def _count(self, result, before):
        """Requests and failed attempts since ``before``."""
        requests, failures = before
        result.requests = self.requests_made() - requests
        failed = self.failures_made()
        failed.subtract(failures)
        result.failure_reasons = {k: v for k, v in failed.items() if v > 0}
        result.failed_attempts = sum(result.failure_reasons.values())

    def _prepare(self, start, end, step, metrics, kind, regions):
        """The aligned window, metric specs and names, regions and result.

        The set-up shared by :meth:`fetch` and :meth:`fetch_per_resource`.
        """
        start, end = align_window(start, end, step)
        specs_all = self.metrics if kind == 'vm' else self.host_metrics
        names = tuple(metrics) if metrics else tuple(specs_all)
        region_names = tuple(regions) if regions else tuple(self.regions)
        result = FetchResult(start=start, end=end, step=step,
                             metrics=names, regions=region_names)
        return start, end, specs_all, names, region_names, result

    def fetch_per_resource(self, start, end, step, resources, metrics=None,
                           kind='vm', regions=None, attributes=None):
        """:meth:`fetch` the slow way, one request per resource and metric.

        ``resources`` is ``{region: [resource ids]}``. For benchmarks
        only.
        """
        t0 = time.monotonic()
        before = self.requests_made(), self.failures_made()
        step = int(step)
        start, end, specs_all, names, region_names, result = self._prepare(
            start, end, step, metrics, kind, regions)
        for rname in region_names:
            frame, missing = self._fetch_region(
                self.regions[rname], names, specs_all, start, end, step,
                kind, attributes or {}, None,
                one_by_one=list(resources.get(rname, ())))
            result.missing.extend(missing)
            if frame is not None:
                result.frames[rname] = frame
        self._count(result, before)
        result.seconds = time.monotonic() - t0
        return result

    @classmethod
    def get_config_opts(cls):
        return []
