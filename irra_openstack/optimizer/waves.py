"""Migration waves: the Adaptive Migration Scheduler (``irra.schedulers``).

A host rebalancer decides *which* VMs move *where*. A wave scheduler
decides *when*: it groups the migrations into waves, run one after the
other (every migration of a wave starts together, and the next wave starts
when the slowest one has finished), and sets each action's ``wave`` and
``depends_on``.

Constraints (all hold in every schedule returned; what cannot be scheduled
is reported as a :class:`~irra_openstack.optimizer.actions.Shortfall`,
never dropped silently):

* **per-host concurrency**: at most ``max_concurrent_per_host`` migrations
  leave a host in one wave (Nova's ``max_concurrent_live_migrations``,
  default 1), and at most ``max_incoming_per_host`` arrive;
* **region bandwidth**: the migrations of one wave together use at most
  ``region_bandwidth`` MiB/s; each uses the bandwidth of the slower of its
  two hosts' links;
* **dependencies**: a VM moves into a host only when the host has room for
  its flavor in Placement (capacity less reserved, times the allocation
  ratio, and the host's instance limit) -- counting every VM that arrives
  in the same or an earlier wave, and only the VMs that left in an earlier
  wave; the source keeps its allocation until its migration ends, as Nova
  does. An action that needs such a departure lists it in ``depends_on``.
  A cycle of swaps that no order can satisfy is broken through a staging
  host that has room, or reported;
* **maintenance windows**: a wave runs entirely inside one allowed window.

Cost of a schedule (what the annealing minimises; every term is in
seconds, so they add up):

* *migration*: each live migration takes ``overhead + RAM / bandwidth x
  1 / (1 - rho)``: pre-copy sends the memory again as fast as the guest
  dirties it, and ``rho`` (dirty rate over bandwidth) comes from recent
  activity, ``dirty_coefficient x CPU share x RAM`` per second (capped at
  ``max_dirty_ratio``, where auto-converge would throttle the guest). A
  cold migration copies the disk instead;
* *makespan*: the time until the last wave ends, weighted by
  ``makespan_weight``;
* *contention*: while a VM waits on its source, it suffers the source's
  predicted overload (upper bound over threshold, relative to the
  threshold, summed over resource classes): the integral of that over the
  time until the VM has left, weighted by ``contention_weight``;
* *resource*: the predicted cost of where the VM runs meanwhile,
  ``(price of source - price of destination) x predicted vCPU use`` over
  the waiting time, when host prices are given.

:class:`GreedyWaveScheduler` is the baseline: list scheduling, most urgent
(overloaded source) first, each action into the earliest wave where it
fits. :class:`AnnealingWaveScheduler` starts from that and improves it by
simulated annealing over which wave each action is in: moves and swaps,
feasibility checked incrementally, and the cost changed incrementally when
no wave's length changes (else recomputed, vectorised). It keeps the best
schedule seen, so it is never worse than the greedy one; a seed makes it
deterministic.

:meth:`WaveScheduler.replan` reschedules, from the current state, only the
actions that have not started, after an action failed or actuals left the
forecast interval.
"""

import abc
import dataclasses
import math

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import actions as actions_mod
from irra_openstack.optimizer import explain
from irra_openstack.optimizer import model as model_mod
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

NAMESPACE = 'irra.schedulers'

#: The action types a wave scheduler orders; others pass through.
MIGRATIONS = (constants.ActionType.LIVE_MIGRATE,
              constants.ActionType.COLD_MIGRATE)

_MEM = model_mod.RESOURCE_CLASSES.index('MEMORY_MB')
_CPU = model_mod.RESOURCE_CLASSES.index('VCPU')
_DISK = model_mod.RESOURCE_CLASSES.index('DISK_GB')
#: Columns of the capacity arrays: the resource classes, then instances.
_COLUMNS = model_mod.RESOURCE_CLASSES + ('instances',)
_EPS = 1e-6
#: Most actions two waves may hold for the annealing to exchange them.
_WHOLE_WAVE_LIMIT = 64


class WaveError(exception.IrraError):
    msg_fmt = "Cannot schedule the migrations: %(reason)s"


@dataclasses.dataclass
class WaveConstraints:
    """What limits a migration schedule, and the weights of its cost.

    Bandwidths are in MiB/s; times in seconds. ``windows`` are allowed
    maintenance windows ``(start, end)`` in the same clock as ``start``
    (seconds since the epoch, or since any origin); empty means always.
    """

    max_concurrent_per_host: int = 1
    #: None: the same as ``max_concurrent_per_host``.
    max_incoming_per_host: int | None = None
    migration_bandwidth: float = 1000.0
    #: (H,) bandwidth of each host's migration link; overrides the above.
    host_bandwidth: np.ndarray | None = None
    #: Total bandwidth of the migrations of one wave; 0 for no limit.
    region_bandwidth: float = 0.0
    #: Most migrations in one wave; 0 for no limit.
    max_per_wave: int = 0
    dirty_coefficient: float = 0.03
    max_dirty_ratio: float = 0.9
    migration_overhead: float = 5.0
    windows: tuple = ()
    start: float = 0.0
    #: (H,) price of a predicted vCPU-second on each host, or None.
    host_price: np.ndarray | None = None
    #: (V,) recent CPU share of each VM in [0, 1]; by default the first
    #: step of the point forecast over the flavor's vCPUs.
    activity: np.ndarray | None = None
    migration_weight: float = 1.0
    makespan_weight: float = 1.0
    contention_weight: float = 1.0
    resource_weight: float = 1.0
    #: Salt of the idempotency keys of actions that have none.
    salt: str = ''

    def check(self, n_hosts=None, n_vms=None):
        """Raise :class:`WaveError` for a value that makes no sense."""
        if int(self.max_concurrent_per_host) < 1:
            raise WaveError(reason="max_concurrent_per_host must be at "
                                   "least 1, got %r"
                                   % self.max_concurrent_per_host)
        if self.max_incoming_per_host is not None and \
                int(self.max_incoming_per_host) < 1:
            raise WaveError(reason="max_incoming_per_host must be at least "
                                   "1, got %r" % self.max_incoming_per_host)
        for name in ('migration_bandwidth',):
            v = float(getattr(self, name))
            if not v > 0 or not math.isfinite(v):
                raise WaveError(reason="%s must be a positive number of "
                                       "MiB/s, got %r" % (name, v))
        for name in ('region_bandwidth', 'dirty_coefficient',
                     'migration_overhead', 'migration_weight',
                     'makespan_weight', 'contention_weight',
                     'resource_weight', 'max_per_wave'):
            v = float(getattr(self, name))
            if v < 0 or not math.isfinite(v):
                raise WaveError(reason="%s must be a finite number >= 0, "
                                       "got %r" % (name, v))
        if not 0 <= float(self.max_dirty_ratio) < 1:
            raise WaveError(reason="max_dirty_ratio must be in [0, 1), "
                                   "got %r" % self.max_dirty_ratio)
        for lo, hi in self.windows:
            if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
                raise WaveError(reason="maintenance window (%r, %r) must "
                                       "end after it starts" % (lo, hi))
        for name, n in (('host_bandwidth', n_hosts),
                        ('host_price', n_hosts), ('activity', n_vms)):
            arr = getattr(self, name)
            if arr is None or n is None:
                continue
            arr = np.asarray(arr, dtype=float)
            if arr.shape != (n,) or not np.all(np.isfinite(arr)):
                raise WaveError(reason="%s must hold %d finite numbers, "
                                       "got shape %s" % (name, n,
                                                         arr.shape))
            if name == 'host_bandwidth' and np.any(arr <= 0):
                raise WaveError(reason="host_bandwidth must be positive")

    def relative_windows(self):
        """Windows as sorted, merged (start, end) seconds after start."""
        if not self.windows:
            return None
        ws = sorted((float(a) - self.start, float(b) - self.start)
                    for a, b in self.windows)
        merged = []
        for a, b in ws:
            if b <= 0:
                continue
            a = max(a, 0.0)
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged


def daily_windows(start, days, spans):
    """Maintenance windows that repeat every day (UTC).

    :param start: seconds since the epoch the windows are laid from.
    :param days: how many days to lay out.
    :param spans: ``["HH:MM-HH:MM", ...]``; a span may cross midnight.
    :returns: a tuple of (start, end) seconds since the epoch.
    """
    out = []
    day0 = int(start) - int(start) % 86400
    for text in spans:
        try:
            a, b = text.split('-')
            ah, am = (int(x) for x in a.strip().split(':'))
            bh, bm = (int(x) for x in b.strip().split(':'))
        except ValueError:
            raise WaveError(reason="maintenance window %r is not "
                                   "HH:MM-HH:MM" % text)
        if not (0 <= ah < 24 and 0 <= bh <= 24 and 0 <= am < 60
                and 0 <= bm < 60):
            raise WaveError(reason="maintenance window %r is not a time "
                                   "of day" % text)
        lo, hi = ah * 3600 + am * 60, bh * 3600 + bm * 60
        if hi <= lo:
            hi += 86400
        for d in range(-1, int(days) + 1):
            s, e = day0 + d * 86400 + lo, day0 + d * 86400 + hi
            if e > start:
                out.append((max(float(s), float(start)), float(e)))
    return tuple(sorted(out))


# -- the problem: static arrays of one scheduling run ---------------------

class _Problem:
    """The fixed part of one scheduling run, as arrays.

    Indexed by action (A), host (H) and forecast step (T).
    """

    def __init__(self, migs, model, c):
        self.migs = migs
        self.model = model
        self.c = c
        n = len(migs)
        hosts = {name: i for i, name in enumerate(model.host_names)}
        vms = {v: i for i, v in enumerate(model.vm_ids)}
        self.src = np.empty(n, dtype=np.int64)
        self.dst = np.empty(n, dtype=np.int64)
        self.vm = np.empty(n, dtype=np.int64)
        self.prev = np.full(n, -1, dtype=np.int64)
        self.next = np.full(n, -1, dtype=np.int64)
        last, seen = {}, set()
        for i, a in enumerate(migs):
            if a.resource_id not in vms:
                raise WaveError(reason="action %s moves VM %s, which is not "
                                       "in the cluster model"
                                       % (a.key, a.resource_id))
            for side in ('source', 'destination'):
                if getattr(a, side) not in hosts:
                    raise WaveError(
                        reason="action %s: %s host %r is not in the "
                               "cluster model" % (a.key, side,
                                                  getattr(a, side)))
            if a.source == a.destination:
                raise WaveError(reason="action %s moves VM %s from %s to "
                                       "itself" % (a.key, a.resource_id,
                                                   a.source))
            if a.key in seen:
                raise WaveError(reason="two actions have the key %s"
                                % a.key)
            seen.add(a.key)
            v = vms[a.resource_id]
            self.vm[i], self.src[i] = v, hosts[a.source]
            self.dst[i] = hosts[a.destination]
            if v in last:
                j = last[v]
                if migs[j].destination != a.source:
                    raise WaveError(
                        reason="VM %s: action %s starts from %s but the "
                               "action before it ends on %s"
                        % (a.resource_id, a.key, a.source,
                           migs[j].destination))
                self.prev[i], self.next[j] = j, i
            elif model.vm_host[v] >= 0 and model.vm_host[v] != self.src[i]:
                raise WaveError(
                    reason="action %s moves VM %s from %s, but the cluster "
                           "model has it on %s" % (
                               a.key, a.resource_id, a.source,
                               model.host_names[model.vm_host[v]]))
            last[v] = i
        self.n = n
        self.live = np.array([a.action_type ==
                              constants.ActionType.LIVE_MIGRATE
                              for a in migs], dtype=bool)
        h = model.n_hosts
        # Capacity columns: resource classes and the instance count.
        cap = np.empty((h, len(_COLUMNS)))
        cap[:, :-1] = model.placement_capacity()
        cap[:, -1] = np.where(model.max_instances > 0,
                              model.max_instances, np.inf)
        self.cap = cap
        base = np.empty((h, len(_COLUMNS)))
        base[:, :-1] = model.host_allocated()
        base[:, -1] = np.bincount(model.vm_host[model.vm_host >= 0],
                                  minlength=h)
        self.base = base
        f = np.ones((n, len(_COLUMNS)))
        f[:, :-1] = model.flavor[self.vm]
        self.f = f
        # Bandwidth and duration.
        hb = (np.full(h, float(c.migration_bandwidth))
              if c.host_bandwidth is None
              else np.asarray(c.host_bandwidth, dtype=float))
        bw = np.minimum(hb[self.src], hb[self.dst])
        if c.region_bandwidth > 0:
            bw = np.minimum(bw, float(c.region_bandwidth))
        self.bw = bw
        if c.activity is not None:
            act = np.asarray(c.activity, dtype=float)[self.vm]
        elif model.horizon == 0:
            act = np.zeros(n)
        else:
            act = (model.usage_point[self.vm, 0, _CPU]
                   / np.maximum(model.flavor[self.vm, _CPU], _EPS))
        act = np.clip(act, 0.0, 1.0)
        mem = model.flavor[self.vm, _MEM]
        disk = np.maximum(model.flavor[self.vm, _DISK] * 1024.0, 1.0)
        rho = np.minimum(c.dirty_coefficient * act * mem / bw,
                         c.max_dirty_ratio)
        self.dirty_factor = np.where(self.live, 1.0 / (1.0 - rho), 1.0)
        size = np.where(self.live, mem, disk)
        self.dur = c.migration_overhead + size / bw * self.dirty_factor
        # Waiting costs per action and forecast step, and their integrals.
        step = float(model.step)
        self.step = step
        usage = model.host_usage_upper()                  # (H, T, R)
        limit = model.threshold * model.capacity           # (H, R)
        over = np.maximum(usage - limit[:, None, :], 0.0) / np.maximum(
            limit[:, None, :], _EPS)
        host_over = over.sum(axis=2)                       # (H, T)
        self.contention_rate = host_over[self.src]         # (A, T)
        if c.host_price is not None:
            price = np.asarray(c.host_price, dtype=float)
            self.resource_rate = ((price[self.src] - price[self.dst])[:, None]
                                  * model.usage_point[self.vm, :, _CPU])
        else:
            self.resource_rate = np.zeros_like(self.contention_rate)
        self.cum_cont = self._cumulate(self.contention_rate)
        self.cum_res = self._cumulate(self.resource_rate)
        rate = (c.contention_weight * self.contention_rate
                + c.resource_weight * self.resource_rate)
        self.rate = rate
        self.cum = self._cumulate(rate)
        self.windows = c.relative_windows()
        lim_out = int(c.max_concurrent_per_host)
        lim_in = (lim_out if c.max_incoming_per_host is None
                  else int(c.max_incoming_per_host))
        self.lim_out, self.lim_in = lim_out, lim_in
        self.region_bw = float(c.region_bandwidth)
        self.max_per_wave = int(c.max_per_wave)

    def _cumulate(self, rate):
        out = np.zeros((rate.shape[0], rate.shape[1] + 1))
        np.cumsum(rate * self.step, axis=1, out=out[:, 1:])
        return out

    def waiting(self, cum, rate, idx, t):
        """Integral of ``rate`` of actions ``idx`` from 0 to ``t`` (s).

        After the forecast horizon the last step's rate goes on.
        """
        horizon = rate.shape[1]
        if horizon == 0:
            return np.zeros(np.shape(idx))
        x = np.maximum(np.asarray(t, dtype=float), 0.0) / self.step
        k = np.minimum(np.floor(x).astype(np.int64), horizon)
        r = rate[idx, np.minimum(k, horizon - 1)]
        return cum[idx, k] + (x - k) * self.step * r

    def timeline(self, wave_dur):
        """Start time of each wave; NaN for one no window can hold."""
        if self.windows is None:
            return np.concatenate(([0.0], np.cumsum(wave_dur)))[
                :len(wave_dur)]
        starts = np.full(len(wave_dur), np.nan)
        t, wi = 0.0, 0
        wins = self.windows
        for k, d in enumerate(wave_dur):
            if d <= 0:
                starts[k] = t
                continue
            while wi < len(wins) and wins[wi][1] - max(t, wins[wi][0]) \
                    < d - 1e-9:
                wi += 1
            if wi == len(wins):
                return starts
            s = max(t, wins[wi][0])
            starts[k] = s
            t = s + d
        return starts


class _Schedule:
    """Which wave each action is in, with incremental feasibility state.

    ``alloc[k, h]`` is what host ``h`` holds in Placement during wave
    ``k``: its VMs, plus the arrivals of waves ``<= k``, less the
    departures of waves ``< k``.
    """

    def __init__(self, p, n_waves=1):
        self.p = p
        self.w = np.full(p.n, -1, dtype=np.int64)
        h = len(p.base)
        self.final = p.base.copy()
        self.k = 0
        self.out = np.zeros((0, h), dtype=np.int64)
        self.inc = np.zeros((0, h), dtype=np.int64)
        self.count = np.zeros(0, dtype=np.int64)
        self.bw = np.zeros(0)
        self.alloc = np.zeros((0, h, len(_COLUMNS)))
        self._grow(max(1, n_waves))

    def _grow(self, k):
        if k <= self.k:
            return
        extra = k - self.k
        h = len(self.p.base)
        self.out = np.concatenate([self.out, np.zeros((extra, h),
                                                      dtype=np.int64)])
        self.inc = np.concatenate([self.inc, np.zeros((extra, h),
                                                      dtype=np.int64)])
        self.count = np.concatenate([self.count,
                                     np.zeros(extra, dtype=np.int64)])
        self.bw = np.concatenate([self.bw, np.zeros(extra)])
        self.alloc = np.concatenate(
            [self.alloc, np.broadcast_to(self.final,
                                         (extra,) + self.final.shape)])
        self.k = k

    def fits(self, i, k):
        """Can unplaced action ``i`` go into wave ``k``?"""
        p = self.p
        j = p.prev[i]
        if j >= 0 and (self.w[j] < 0 or self.w[j] >= k):
            return False
        j = p.next[i]
        if j >= 0 and 0 <= self.w[j] <= k:
            return False
        s, d = p.src[i], p.dst[i]
        if k < self.k:
            if self.out[k, s] >= p.lim_out or self.inc[k, d] >= p.lim_in:
                return False
            if p.max_per_wave and self.count[k] >= p.max_per_wave:
                return False
            if p.region_bw > 0 and \
                    self.bw[k] + p.bw[i] > p.region_bw + _EPS:
                return False
            rows = self.alloc[k:, d] + p.f[i]
            check = self.inc[k:, d] > 0
            check[0] = True
            if not np.all(rows[check] <= p.cap[d] + _EPS):
                return False
        elif not np.all(self.final[d] + p.f[i] <= p.cap[d] + _EPS):
            return False
        # The source keeps the VM until its wave ends: the arrivals on the
        # source up to then must still fit.
        upto = min(k + 1, self.k)
        check = self.inc[:upto, s] > 0
        return bool(np.all(self.alloc[:upto, s][check]
                           <= p.cap[s] + _EPS))

    def add(self, i, k):
        p = self.p
        self._grow(k + 1)
        s, d = p.src[i], p.dst[i]
        self.out[k, s] += 1
        self.inc[k, d] += 1
        self.count[k] += 1
        self.bw[k] += p.bw[i]
        self.alloc[k:, d] += p.f[i]
        self.alloc[k + 1:, s] -= p.f[i]
        self.final[d] += p.f[i]
        self.final[s] -= p.f[i]
        self.w[i] = k

    def remove(self, i):
        p = self.p
        k = self.w[i]
        s, d = p.src[i], p.dst[i]
        self.out[k, s] -= 1
        self.inc[k, d] -= 1
        self.count[k] -= 1
        self.bw[k] -= p.bw[i]
        self.alloc[k:, d] -= p.f[i]
        self.alloc[k + 1:, s] += p.f[i]
        self.final[d] -= p.f[i]
        self.final[s] += p.f[i]
        self.w[i] = -1
        return k

    def n_waves(self):
        placed = self.w[self.w >= 0]
        return int(placed.max()) + 1 if placed.size else 0


def _wave_durations(p, w, n_waves):
    dur = np.zeros(n_waves)
    placed = w >= 0
    np.maximum.at(dur, w[placed], p.dur[placed])
    return dur


def schedule_cost(p, w, n_waves=None):
    """(total, breakdown) of the wave assignment ``w`` (-1: unplaced)."""
    n_waves = int(w.max()) + 1 if n_waves is None and w.size and \
        w.max() >= 0 else (n_waves or 0)
    dur = _wave_durations(p, w, n_waves)
    starts = p.timeline(dur)
    placed = np.flatnonzero(w >= 0)
    done = starts[w[placed]] + p.dur[placed]
    ends = starts + dur
    if np.any(np.isnan(done)):
        return math.inf, {'feasible': False}
    makespan = float(np.nanmax(ends)) if n_waves else 0.0
    cont = float(p.waiting(p.cum_cont, p.contention_rate, placed,
                           done).sum())
    res = float(p.waiting(p.cum_res, p.resource_rate, placed, done).sum())
    mig = float(p.dur[placed].sum())
    c = p.c
    total = (c.migration_weight * mig + c.makespan_weight * makespan
             + c.contention_weight * cont + c.resource_weight * res)
    return total, {'migration_seconds': round(mig, 3),
                   'makespan_seconds': round(makespan, 3),
                   'contention': round(cont, 3),
                   'resource': round(res, 3),
                   'total': round(total, 3)}


# -- the plugins ---------------------------------------------------------

@dataclasses.dataclass
class ScheduleState:
    """Where a scheduled plan stands, for :meth:`WaveScheduler.replan`.

    :param actions: the plan's actions, with their waves.
    :param states: ``{idempotency key: ActionState}``; a key not in it is
        PENDING.
    """

    actions: list
    states: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_records(cls, records):
        """The state of action rows as :mod:`.plan_api` returns them.

        Their ``reason`` holds ``wave``, ``depends_on`` and ``parameters``.
        """
        actions, states = [], {}
        for r in records:
            reason = dict(r.get('reason') or {})
            wave = reason.pop('wave', None)
            depends = tuple(reason.pop('depends_on', None) or ())
            params = dict(reason.pop('parameters', None) or {})
            a = actions_mod.PlannedAction(
                action_type=r['action_type'], resource_id=r['resource_id'],
                resource_kind=r.get('resource_kind',
                                    constants.ResourceKind.VM),
                source=r.get('source'), destination=r.get('destination'),
                reason=reason, wave=wave, depends_on=depends,
                parameters=params, key=r['idempotency_key'])
            actions.append(a)
            states[a.key] = r.get('state', constants.ActionState.PENDING)
        return cls(actions=actions, states=states)


def _copy(action):
    return dataclasses.replace(action, reason=dict(action.reason or {}),
                               parameters=dict(action.parameters or {}))


class WaveScheduler(plugins.Plugin, metaclass=abc.ABCMeta):
    """Base of the migration schedulers (namespace ``irra.schedulers``).

    :param constraints: the default :class:`WaveConstraints`; a call to
        :meth:`schedule` may give others.
    """

    def __init__(self, constraints=None):
        self.constraints = constraints or WaveConstraints()
        self.constraints.check()

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.IntOpt('max_concurrent_per_host', default=1, min=1,
                       help='Most live migrations leaving one host at '
                            'once; set it to nova-compute\'s '
                            '[DEFAULT] max_concurrent_live_migrations.'),
            cfg.IntOpt('max_incoming_per_host', min=1,
                       help='Most migrations arriving on one host at once; '
                            'unset for the same as '
                            'max_concurrent_per_host.'),
            cfg.FloatOpt('migration_bandwidth', default=1000.0, min=0.001,
                         help='Bandwidth of one host\'s migration link, in '
                              'MiB/s; a migration runs at the slower of '
                              'its two hosts\' links.'),
            cfg.FloatOpt('region_bandwidth', default=0.0, min=0,
                         help='Total bandwidth, in MiB/s, that the '
                              'migrations of one wave may use together in '
                              'a region; 0 for no limit.'),
            cfg.IntOpt('max_per_wave', default=0, min=0,
                       help='Most migrations in one wave; 0 for no '
                            'limit.'),
            cfg.FloatOpt('dirty_coefficient', default=0.03, min=0,
                         help='Share of a VM\'s RAM that its guest dirties '
                              'per second at 100 % CPU; with the recent '
                              'CPU share it estimates the dirty rate that '
                              'pre-copy must outrun.'),
            cfg.FloatOpt('migration_overhead', default=5.0, min=0,
                         help='Seconds every migration takes besides '
                              'copying (set-up and switch-over).'),
            cfg.ListOpt('maintenance_windows', default=[],
                        help='Daily windows, HH:MM-HH:MM in UTC, in which '
                             'waves may run; empty for any time. A wave '
                             'runs entirely inside one window.'),
            cfg.FloatOpt('makespan_weight', default=1.0, min=0,
                         help='Weight of the schedule\'s total duration '
                              '(seconds) in its cost.'),
            cfg.FloatOpt('contention_weight', default=1.0, min=0,
                         help='Weight of the predicted contention while '
                              'VMs wait on overloaded sources (relative '
                              'overload x seconds) in the cost.'),
        ]

    @classmethod
    def constraints_from_group(cls, group, start=0.0, days=2):
        """:class:`WaveConstraints` from this plugin's option group."""
        windows = ()
        if group.maintenance_windows:
            windows = daily_windows(start, days, group.maintenance_windows)
        return WaveConstraints(
            max_concurrent_per_host=group.max_concurrent_per_host,
            max_incoming_per_host=group.max_incoming_per_host,
            migration_bandwidth=group.migration_bandwidth,
            region_bandwidth=group.region_bandwidth,
            max_per_wave=group.max_per_wave,
            dirty_coefficient=group.dirty_coefficient,
            migration_overhead=group.migration_overhead,
            makespan_weight=group.makespan_weight,
            contention_weight=group.contention_weight,
            windows=windows, start=start)

    def schedule(self, actions, model, constraints=None):
        """Put the migration actions into waves.

        Other actions pass through unchanged (wave None). Actions without
        an idempotency key get one salted with ``constraints.salt``.

        :returns: a :class:`PlanResult` of copies of the actions, with
            ``wave``, ``depends_on`` and the reason's ``schedule`` set;
            ``shortfalls`` lists every migration that could not be
            scheduled and why; ``summary`` has the number of waves, the
            makespan and the cost breakdown.
        :raises WaveError: an action does not match the model.
        """
        c = constraints or self.constraints
        c.check(model.n_hosts, model.n_vms)
        migs, others = [], []
        for a in actions:
            a = _copy(a)
            if a.key is None:
                a.with_key(c.salt)
            (migs if a.action_type in MIGRATIONS else others).append(a)
        p = _Problem(migs, model, c)
        shortfalls = []
        sched, p, dropped = self._greedy(p, shortfalls)
        while p.n:
            starts = p.timeline(_wave_durations(p, sched.w,
                                                sched.n_waves()))
            late = np.isnan(starts[sched.w])
            if not late.any():
                break
            for i in np.flatnonzero(late):
                a = p.migs[i]
                shortfalls.append(actions_mod.Shortfall(
                    resource_id=a.resource_id, resource_class='MEMORY_MB',
                    amount=float(p.f[i, _MEM]),
                    reason='%s not scheduled: no maintenance window left '
                           'can hold its wave (%.0f s)'
                           % (a.key, p.dur[i]),
                    resource_kind=constants.ResourceKind.VM))
                dropped.append(a)
            p = _Problem([a for i, a in enumerate(p.migs) if not late[i]],
                         model, c)
            sched, p, dropped_more = self._greedy(p, shortfalls)
            dropped.extend(dropped_more)
        summary = {'scheduler': self.name, 'actions': len(p.migs),
                   'staged': sum(1 for a in p.migs
                                 if a.reason.get('staging')),
                   'unscheduled': len(dropped)}
        if p.n:
            w, extra = self._improve(p, sched)
            summary.update(extra)
        else:
            w = sched.w
        w = self._compact(w)
        total, breakdown = schedule_cost(p, w)
        summary.update(waves=int(w.max()) + 1 if w.size else 0,
                       makespan_seconds=breakdown.get('makespan_seconds',
                                                      0.0),
                       cost=breakdown)
        out = self._annotate(p, w)
        for a in others:
            out.append(a)
        return actions_mod.PlanResult(actions=out, shortfalls=shortfalls,
                                      summary=summary)

    def _improve(self, p, sched):
        """Improve the greedy schedule; return (waves, summary figures)."""
        return sched.w.copy(), {}

    # -- greedy list scheduling (also the start of the annealing) --------

    def _order(self, p):
        """Priority order: most urgent source first, longest first."""
        urgency = p.rate[:, :1].sum(axis=1) if p.rate.shape[1] else \
            np.zeros(p.n)
        return np.lexsort((np.arange(p.n), -p.dur, -urgency))

    def _greedy(self, p, shortfalls):
        """List scheduling; stages or drops what no order can satisfy.

        :returns: (schedule, problem, dropped actions). The problem is a
            new one when staging hops were added or actions dropped.
        """
        dropped = []
        while True:
            sched = _Schedule(p, 1)
            left = list(self._order(p))
            while left:
                progress, rest = False, []
                for i in left:
                    placed = False
                    lo = max(0, sched.w[p.prev[i]] + 1) if p.prev[i] >= 0 \
                        else 0
                    if p.prev[i] >= 0 and sched.w[p.prev[i]] < 0:
                        rest.append(i)
                        continue
                    for k in range(lo, sched.n_waves() + 1):
                        if sched.fits(i, k):
                            sched.add(i, k)
                            placed = progress = True
                            break
                    if not placed:
                        rest.append(i)
                left = rest
                if left and not progress:
                    break
            if not left:
                return sched, p, dropped
            # Stuck: a cycle of swaps, or a destination that never has
            # room. Rebuild the problem and start again.
            migs = self._unblock(p, sched, left, shortfalls, dropped)
            p = _Problem(migs, p.model, p.c)

    def _unblock(self, p, sched, left, shortfalls, dropped):
        """New action list after a stall: split one cycle or drop."""
        left_set = set(int(i) for i in left)
        ready = [i for i in left if p.prev[i] < 0 or
                 sched.w[p.prev[i]] >= 0]
        # i waits for j when j leaves i's destination and is not placed.
        leaving = {}
        for j in left_set:
            leaving.setdefault(int(p.src[j]), []).append(j)
        start = ready[0] if ready else left[0]
        path, seen, i, cyclic = [], {}, int(start), False
        while True:
            if i in seen:
                cyclic = True
                break
            seen[i] = len(path)
            path.append(i)
            nxt = leaving.get(int(p.dst[i]))
            if not nxt:
                break
            i = min(nxt)
        migs = list(p.migs)
        if cyclic:
            cycle = path[seen[i]:]
            route = ' -> '.join([p.migs[c].source for c in cycle]
                                + [p.migs[cycle[0]].source])
            stage = self._staging(p, sched, cycle)
            if stage is not None:
                a_idx, z = stage
                a = p.migs[a_idx]
                hop = p.model.host_names[z]
                note = 'breaks the migration cycle %s' % route
                salt = '%s/%s' % (p.c.salt, a.key)
                first = dataclasses.replace(
                    a, destination=hop, key=None,
                    reason=dict(a.reason, staging=note),
                    parameters=dict(a.parameters)).with_key(salt)
                second = dataclasses.replace(
                    a, source=hop, key=None,
                    reason=dict(a.reason, staging=note),
                    parameters=dict(a.parameters)).with_key(salt)
                LOG.info('Staging VM %s on %s: %s', a.resource_id, hop,
                         note)
                return migs[:a_idx] + [first, second] + migs[a_idx + 1:]
            victims = cycle
            why = ('migration cycle %s cannot be ordered: its hosts are '
                   'full and no other host has room to stage one of its '
                   'VMs' % route)
        else:
            victims = [path[-1]]
            a = p.migs[path[-1]]
            why = ('%s has no room for VM %s in Placement even after '
                   'every planned departure' % (a.destination,
                                                a.resource_id))
        drop = set()
        for v in victims:
            while v >= 0:       # a VM's later hops go with it
                drop.add(int(v))
                v = p.next[v]
        for v in sorted(drop):
            a = p.migs[v]
            short = sched.final[p.dst[v]] + p.f[v] - p.cap[p.dst[v]]
            r = int(np.argmax(short[:-1])) if np.any(short[:-1] > 0) \
                else _MEM
            shortfalls.append(actions_mod.Shortfall(
                resource_id=a.resource_id,
                resource_class=model_mod.RESOURCE_CLASSES[r],
                amount=float(p.f[v, r]),
                reason='%s not scheduled: %s' % (a.key, why),
                resource_kind=constants.ResourceKind.VM))
            dropped.append(a)
            LOG.warning('Migration %s not scheduled: %s', a.key, why)
        return [a for i, a in enumerate(migs) if i not in drop]

    def _staging(self, p, sched, cycle):
        """(action index, host) to stage one VM of ``cycle``, or None.

        The host must be enabled, outside the cycle, in the VM's
        availability zone and aggregates, and have room for it once every
        placed migration is done; the action with the shortest migration
        and the host with the most room relative to capacity win.
        """
        model = p.model
        involved = set(int(p.src[c]) for c in cycle) | set(
            int(p.dst[c]) for c in cycle)
        best = None
        for idx in sorted(cycle, key=lambda c: (p.dur[c], c)):
            v = p.vm[idx]
            room = p.cap - sched.final - p.f[idx]          # (H, C)
            ok = np.all(room >= -_EPS, axis=1) & model.enabled
            ok[list(involved)] = False
            if model.vm_az[v] is not None:
                ok &= np.array([az == model.vm_az[v]
                                for az in model.host_az])
            if model.vm_aggregates[v]:
                ok &= np.array([model.vm_aggregates[v] <= aggs
                                for aggs in model.host_aggregates])
            if not ok.any():
                continue
            finite = np.isfinite(p.cap)
            share = np.ones_like(room)
            np.divide(room, np.maximum(p.cap, _EPS), out=share,
                      where=finite)
            share = share.min(axis=1)
            z = int(np.argmax(np.where(ok, share, -np.inf)))
            best = (int(idx), z)
            break
        return best

    # -- output ----------------------------------------------------------

    @staticmethod
    def _compact(w):
        """Renumber waves 0.. without empty ones, keeping their order."""
        if not w.size:
            return w
        used = np.unique(w[w >= 0])
        out = np.full_like(w, -1)
        out[w >= 0] = np.searchsorted(used, w[w >= 0])
        return out

    def _annotate(self, p, w):
        """Copies of the actions with wave, depends_on and the reason."""
        n_waves = int(w.max()) + 1 if w.size else 0
        dur = _wave_durations(p, w, n_waves)
        starts = p.timeline(dur)
        # Room on each destination without the departures before it.
        out = []
        by_src = {}
        for j in range(p.n):
            by_src.setdefault(int(p.src[j]), []).append(j)
        sched = _Schedule(p, max(n_waves, 1))
        for j in np.argsort(w, kind='stable'):
            sched.add(j, int(w[j]))
        for i, a in enumerate(p.migs):
            k, d = int(w[i]), int(p.dst[i])
            deps, waits = [], []
            if p.prev[i] >= 0:
                deps.append(p.migs[p.prev[i]].key)
                waits.append('its previous hop to %s'
                             % p.migs[p.prev[i]].destination)
            before = [j for j in by_src.get(d, ()) if w[j] < k]
            if before:
                freed = sum(p.f[j] for j in before)
                without = sched.alloc[k, d] + freed
                short = without > p.cap[d] + _EPS
                if short.any():
                    names = [c for c, s in zip(_COLUMNS, short) if s]
                    for j in before:
                        deps.append(p.migs[j].key)
                        waits.append('%s leaves %s (frees %s)' % (
                            p.migs[j].resource_id, a.destination,
                            ', '.join(names)))
            a.wave = k
            a.depends_on = tuple(dict.fromkeys(deps))
            a.reason = explain.with_schedule(
                a.reason, k, starts[k], p.dur[i], waits,
                bandwidth_mib_s=round(float(p.bw[i]), 3),
                dirty_factor=round(float(p.dirty_factor[i]), 4),
                wave_seconds=round(float(dur[k]), 3))
            out.append(a)
        return out

    # -- real-time adjustment --------------------------------------------

    def replan(self, state, failed_or_deviating_actions, model,
               constraints=None):
        """Reschedule what has not started, from the current state.

        Actions that ended (SUCCEEDED, SKIPPED, CANCELLED) or run (ONGOING)
        keep their waves. A FAILED action is not retried here (the
        executor retries with backoff) and is reported, with the later
        hops of its VM. The PENDING actions, those given as deviating
        (actuals left their forecast interval) among them, are scheduled
        again after the last wave that started, on ``model``: the current
        placement and a fresh forecast. Nothing else is recomputed.

        :param state: a :class:`ScheduleState`.
        :param failed_or_deviating_actions: keys (or actions) that failed
            or whose forecast the actuals left.
        :returns: a :class:`PlanResult` of every action: kept ones as
            they were, rescheduled ones with new waves.
        """
        c = constraints or self.constraints
        flagged = {a if isinstance(a, str) else a.key
                   for a in failed_or_deviating_actions}
        S = constants.ActionState
        kept, pending, failed = [], [], []
        for a in state.actions:
            st = state.states.get(a.key, S.PENDING)
            if a.action_type not in MIGRATIONS:
                kept.append(a)
            elif st in (S.SUCCEEDED, S.SKIPPED, S.CANCELLED, S.ONGOING):
                kept.append(a)
            elif st == S.FAILED:
                failed.append(a)
            else:
                pending.append(a)
        unknown = flagged - {a.key for a in state.actions}
        if unknown:
            raise WaveError(reason="replan: no action has the key(s) %s"
                            % ', '.join(sorted(unknown)))
        # The later hops of a failed VM cannot start where they expected.
        failed_vms = {a.resource_id for a in failed}
        lost = [a for a in pending if a.resource_id in failed_vms]
        pending = [a for a in pending if a.resource_id not in failed_vms]
        ran = (S.SUCCEEDED, S.ONGOING, S.FAILED)
        started = [a.wave for a in kept + failed
                   if a.action_type in MIGRATIONS and a.wave is not None
                   and state.states.get(a.key, S.PENDING) in ran]
        first = (max(started) + 1) if started else 0
        # The current placement, with every started migration done: the
        # next wave starts after the ongoing ones end.
        hosts = {n: i for i, n in enumerate(model.host_names)}
        vms = {v: i for i, v in enumerate(model.vm_ids)}
        vm_host = model.vm_host.copy()
        ongoing_out = {}
        for a in sorted((a for a in kept if a.action_type in MIGRATIONS
                         and state.states.get(a.key) in (S.SUCCEEDED,
                                                         S.ONGOING)),
                        key=lambda a: a.wave or 0):
            if a.resource_id in vms and a.destination in hosts:
                vm_host[vms[a.resource_id]] = hosts[a.destination]
            if state.states.get(a.key) == S.ONGOING:
                ongoing_out.setdefault(a.source, []).append(a.key)
        current = dataclasses.replace(model, vm_host=vm_host)
        # A VM that is not where its next pending hop starts (moved by
        # someone else meanwhile) loses its pending hops.
        first_hop = {}
        for a in sorted(pending, key=lambda a: a.wave or 0):
            first_hop.setdefault(a.resource_id, a)
        moved = set()
        for vm_id, a in first_hop.items():
            v = vms.get(vm_id)
            if v is None or vm_host[v] < 0 or \
                    model.host_names[vm_host[v]] != a.source:
                moved.add(vm_id)
        lost += [a for a in pending if a.resource_id in moved]
        pending = [a for a in pending if a.resource_id not in moved]
        for a in pending:
            if a.key in flagged:
                a.reason = dict(a.reason or {}, replanned=(
                    'actuals left the forecast interval'))
        order = sorted(pending, key=lambda a: (a.wave or 0))
        result = self.schedule([dataclasses.replace(a, wave=None,
                                                    depends_on=())
                                for a in order], current, c)
        for a in result.actions:
            if a.wave is not None:
                a.wave += first
                a.reason['schedule']['wave'] = a.wave
                a.depends_on = tuple(dict.fromkeys(
                    a.depends_on + tuple(ongoing_out.get(a.destination,
                                                         ()))))
        shortfalls = list(result.shortfalls)
        for a in failed + lost:
            if a in failed:
                why = 'failed; not rescheduled'
            elif a.resource_id in failed_vms:
                why = ('not rescheduled: an earlier migration of this VM '
                       'failed')
            else:
                why = ('not rescheduled: the VM is no longer on %s'
                       % a.source)
            shortfalls.append(actions_mod.Shortfall(
                resource_id=a.resource_id, resource_class='MEMORY_MB',
                amount=0.0,
                reason='%s %s: %s' % (a.action_type, a.key, why),
                resource_kind=constants.ResourceKind.VM))
        summary = dict(result.summary, replanned=True, kept=len(kept),
                       rescheduled=len(pending), failed=len(failed),
                       dropped=len(lost), first_wave=first)
        return actions_mod.PlanResult(
            actions=kept + result.actions, shortfalls=shortfalls,
            summary=summary)


class GreedyWaveScheduler(WaveScheduler):
    """List scheduling: each action into the earliest wave it fits."""

    name = 'greedy'
    description = 'Migration waves by greedy list scheduling'


class AnnealingWaveScheduler(WaveScheduler):
    """Simulated annealing over the waves, from the greedy schedule.

    :param iterations: proposals per action (at least 200 in all, at most
        ``max_steps``).
    :param seed: seed of the random generator; the same seed and input
        give the same schedule.
    :param initial_temperature: starting temperature, relative to the
        greedy schedule's cost.
    :param final_temperature: the same at the end (geometric cooling).
    :param swap_probability: share of proposals that swap the waves of two
        actions rather than move one.
    :param wave_swap_probability: share of proposals that exchange two
        whole waves.
    """

    name = 'annealing'
    description = 'Migration waves optimised by simulated annealing'

    def __init__(self, constraints=None, iterations=100, seed=0,
                 initial_temperature=0.05, final_temperature=1e-4,
                 swap_probability=0.3, max_steps=10000,
                 wave_swap_probability=0.05):
        super().__init__(constraints)
        if int(iterations) < 0:
            raise WaveError(reason="iterations must be >= 0, got %r"
                            % iterations)
        if not 0 < final_temperature <= initial_temperature:
            raise WaveError(reason="temperatures must satisfy 0 < final "
                                   "<= initial, got %r and %r"
                                   % (final_temperature,
                                      initial_temperature))
        for name, v in (('swap_probability', swap_probability),
                        ('wave_swap_probability', wave_swap_probability)):
            if not 0 <= v <= 1:
                raise WaveError(reason="%s must be in [0, 1], got %r"
                                % (name, v))
        self.wave_swap_probability = float(wave_swap_probability)
        if int(max_steps) < 1:
            raise WaveError(reason="max_steps must be >= 1, got %r"
                            % max_steps)
        self.iterations = int(iterations)
        self.max_steps = int(max_steps)
        self.seed = seed
        self.t0 = float(initial_temperature)
        self.t1 = float(final_temperature)
        self.swap_probability = float(swap_probability)

    @classmethod
    def get_config_opts(cls):
        return super().get_config_opts() + [
            cfg.IntOpt('iterations', default=100, min=0,
                       help='Annealing proposals per migration action '
                            '(at least 200 in all, at most max_steps).'),
            cfg.IntOpt('max_steps', default=10000, min=1,
                       help='Most annealing proposals in one schedule; '
                            'bounds its time on large plans.'),
            cfg.IntOpt('seed', default=0,
                       help='Seed of the annealing\'s random numbers; the '
                            'same seed and input give the same schedule.'),
            cfg.FloatOpt('initial_temperature', default=0.05, min=0,
                         help='Starting temperature of the annealing, as a '
                              'share of the greedy schedule\'s cost.'),
        ]

    @staticmethod
    def _quick_move(p, sched, i, b):
        """O(1) necessary conditions for moving ``i`` into wave ``b``."""
        s, d = p.src[i], p.dst[i]
        if sched.out[b, s] >= p.lim_out or sched.inc[b, d] >= p.lim_in:
            return False
        if p.max_per_wave and sched.count[b] >= p.max_per_wave:
            return False
        return not (p.region_bw > 0 and
                    sched.bw[b] + p.bw[i] > p.region_bw + _EPS)

    @staticmethod
    def _quick_swap(p, sched, i, j, a, b):
        """O(1) necessary conditions for swapping ``i`` (in a), ``j`` (b)."""
        for x, y, k in ((i, j, b), (j, i, a)):
            out = sched.out[k, p.src[x]] - (p.src[y] == p.src[x])
            inc = sched.inc[k, p.dst[x]] - (p.dst[y] == p.dst[x])
            if out >= p.lim_out or inc >= p.lim_in:
                return False
            if p.region_bw > 0 and sched.bw[k] - p.bw[y] + p.bw[x] > \
                    p.region_bw + _EPS:
                return False
        return True

    def _improve(self, p, sched):
        n = p.n
        k_cap = sched.n_waves() + max(2, sched.n_waves() // 4)
        sched._grow(k_cap)
        w = sched.w
        dur = _wave_durations(p, w, k_cap)
        cur, _ = schedule_cost(p, w, k_cap)
        greedy_cost, greedy_w = cur, w.copy()
        best, best_w = cur, w.copy()
        steps = min(max(200, self.iterations * n), self.max_steps)
        rng = np.random.default_rng(self.seed)
        pick = rng.integers(n, size=(steps, 2))
        target = rng.integers(k_cap, size=steps)
        kind = rng.random(steps) < self.swap_probability
        accept = rng.random(steps)
        # Half of the swaps are between two actions of the same source
        # host: reordering a host's queue (shortest first cuts waiting).
        sibling = rng.random(steps)
        whole = rng.random(steps) < self.wave_swap_probability
        order = np.argsort(p.src, kind='stable')
        group_start = np.searchsorted(p.src[order], p.src)
        group_size = np.searchsorted(p.src[order], p.src,
                                     side='right') - group_start
        t0 = self.t0 * max(abs(cur), 1.0)
        t1 = self.t1 * max(abs(cur), 1.0)
        temps = t0 * (t1 / t0) ** (np.arange(steps) / max(steps - 1, 1))
        accepted = 0
        starts = p.timeline(dur)
        done = np.full(n, np.nan)
        placed = np.arange(n)
        done[:] = starts[w] + p.dur
        wcost = p.waiting(p.cum, p.rate, placed, done)
        for it in range(steps):
            i, j = int(pick[it, 0]), int(pick[it, 1])
            a = int(w[i])
            if whole[it]:
                # Exchange two whole waves: per-wave limits still hold;
                # short or urgent waves may go first. Only small waves:
                # the cost of a proposal grows with their size.
                b = int(w[j])
                if a == b or sched.count[a] + sched.count[b] > \
                        _WHOLE_WAVE_LIMIT:
                    continue
                moves = tuple((m, b) for m in np.flatnonzero(w == a)) + \
                    tuple((m, a) for m in np.flatnonzero(w == b))
                moves = tuple(sorted(moves, key=lambda mk: mk[1]))
            elif kind[it] and n > 1:
                if sibling[it] < 0.5 and group_size[i] > 1:
                    j = int(order[group_start[i] + int(
                        sibling[it] * 2 * group_size[i])])
                b = int(w[j])
                if a == b:
                    continue
                moves = ((i, b), (j, a))
                if not self._quick_swap(p, sched, i, j, a, b):
                    continue
            else:
                b = int(target[it])
                if a == b or not self._quick_move(p, sched, i, b):
                    continue
                moves = ((i, b),)
            old = [(m, int(w[m])) for m, _ in moves]
            ok = True
            for m, _ in moves:
                sched.remove(m)
            for m, k in moves:
                if not sched.fits(m, k):
                    ok = False
                    break
                sched.add(m, k)
            if not ok:
                for m, _ in moves:
                    if w[m] >= 0:
                        sched.remove(m)
                for m, k in old:
                    sched.add(m, k)
                continue
            touched = {k for _, k in old} | {k for _, k in moves}
            new_dur = dur.copy()
            for k in touched:
                members = p.dur[w == k]
                new_dur[k] = members.max() if members.size else 0.0
            if np.array_equal(new_dur[list(touched)],
                              dur[list(touched)]):
                # No wave's length changed: only the moved actions' costs.
                idx = np.array([m for m, _ in moves])
                new_done = starts[w[idx]] + p.dur[idx]
                new_w = p.waiting(p.cum, p.rate, idx, new_done)
                delta = float(new_w.sum() - wcost[idx].sum())
                full = None
            else:
                new_starts = p.timeline(new_dur)
                new_done_all = new_starts[w] + p.dur
                if np.any(np.isnan(new_done_all)):
                    delta, full = math.inf, None
                else:
                    new_all = p.waiting(p.cum, p.rate, placed,
                                        new_done_all)
                    ends = new_starts + new_dur
                    mk = float(np.nanmax(ends))
                    old_mk = float(np.nanmax(starts + dur))
                    c = p.c
                    delta = (float(new_all.sum() - wcost.sum())
                             + c.makespan_weight * (mk - old_mk))
                    full = (new_starts, new_all)
            if delta <= 0 or (math.isfinite(delta) and accept[it] <
                              math.exp(-delta / max(temps[it], 1e-12))):
                accepted += 1
                cur += delta
                dur = new_dur
                if full is None:
                    wcost[idx] = new_w
                else:
                    starts, wcost = full
                if cur < best - 1e-9:
                    best, best_w = cur, w.copy()
            else:
                for m, _ in moves:
                    sched.remove(m)
                for m, k in old:
                    sched.add(m, k)
        final, _ = schedule_cost(p, best_w, k_cap)
        if final > greedy_cost:
            # Rounding in the running sums: never return worse than greedy.
            best_w, final = greedy_w, greedy_cost
        return best_w, {'iterations': steps, 'accepted': accepted,
                        'greedy_cost': round(greedy_cost, 3),
                        'improvement': round(greedy_cost - final, 3)}


def compare(n_hosts=200, n_vms=2000, seed=0, load=0.75, threshold=0.8,
            constraints=None, iterations=100, max_steps=10000):
    """Greedy and annealing side by side on a synthetic cluster.

    The cluster is :meth:`ClusterModel.random`; the migrations are what
    the ``rebalance`` optimizer plans for it. Meant for a benchmark
    command: it returns one JSON-able dict with each scheduler's cost
    breakdown, waves, shortfalls and seconds, and the ratio of annealing's
    cost to greedy's.
    """
    import time

    model = model_mod.ClusterModel.random(n_hosts, n_vms, seed=seed,
                                          load=load)
    model.threshold = np.full_like(model.threshold, threshold)
    t0 = time.perf_counter()
    planned = plugins.load('irra.optimizers', 'rebalance',
                           method='heuristic').plan(model)
    out = {'hosts': n_hosts, 'vms': n_vms, 'seed': seed,
           'migrations': len(planned.actions),
           'rebalance_seconds': round(time.perf_counter() - t0, 3),
           'schedulers': {}}
    c = constraints or WaveConstraints()
    for sched in (GreedyWaveScheduler(c),
                  AnnealingWaveScheduler(c, iterations=iterations,
                                         seed=seed, max_steps=max_steps)):
        t0 = time.perf_counter()
        r = sched.schedule(planned.actions, model)
        out['schedulers'][sched.name] = {
            'seconds': round(time.perf_counter() - t0, 3),
            'waves': r.summary['waves'],
            'cost': r.summary['cost'],
            'shortfalls': len(r.shortfalls)}
    g = out['schedulers']['greedy']['cost']['total']
    a = out['schedulers']['annealing']['cost']['total']
    out['annealing_over_greedy'] = round(a / g, 4) if g else None
    return out
