"""The replay benchmark: placement policies side by side on a real trace.

Every policy replays the same workload on the same cluster from the same
(seeded) initial placement, through the same simulator, and is scored by
the same metrics on the *actual* trace. What differs is only the policy:
the moves it asks for at each of its audits.

The simulator (:func:`simulate`) ticks once per step of the trace (5
minutes). At tick ``t``:

1. migrations whose end time has passed complete: the VM's demand moves
   to its destination and its source allocation is freed;
2. at an audit tick (every ``audit_steps``, or sooner when the policy
   asks for one from what the last tick showed, see
   :meth:`Policy.early_audit`), the policy gets an :class:`AuditView` of
   the past only (``history`` holds ticks ``0 .. t - 1``; only a policy that
   declares :attr:`Policy.sees_future`, the oracle, also gets the actual
   demand of ticks ``t .. t + horizon - 1``) and returns a
   :class:`Decision`; its moves are checked against Placement's rules
   (vCPU allocation ratio, physical RAM, no move onto a disabled host) and
   started in order;
3. the actual demand of tick ``t`` is summed per host, and the metrics
   are counted.

Migration model (the same for every policy, :class:`MigrationModel`): a
live migration copies the VM's RAM over a link of ``bandwidth_gbps``
(1 Gbit/s) with a dirty-page factor (1.3: pages re-sent while the VM
runs), so it lasts ``ram_mb * 8 / (1000 * bandwidth_gbps) * dirty_factor``
seconds. A host runs one migration at a time on each end (Nova's default
``max_concurrent_live_migrations = 1``), so migrations through one host
queue one after the other. Until it completes, the VM's demand counts on
its source and its allocation is held on both hosts, and each tick in
which a migration runs adds ``overhead_vcpu`` (0.1 vCPU) of CPU load to
both its source and its destination.

Metrics, measured from the end of the warm-up:

* ``overload_host_minutes``: minutes of host time whose actual CPU demand
  (VM demand plus migration overhead) is above ``overload_threshold`` x
  physical cores (1.0: the host is saturated);
* ``sla_violation_vm_minutes``: minutes that VMs spend on an overloaded
  host, one per VM per minute (the VM-level side of Beloglazov and
  Buyya's SLATAH: time at 100 % utilisation, here counted per VM);
* ``migrations`` and ``gb_migrated`` (the RAM of the migrated VMs, GiB);
* ``pingpong_migrations``: migrations that take a VM back to the host it
  left on its previous migration, less than a day (:data:`PINGPONG_SECONDS`)
  after that one started (counted in ``migrations`` too);
* ``active_host_hours``: hours of hosts holding at least one VM (a VM in
  migration holds both ends);
* ``plan_seconds``: the wall time the policy spent planning, in total;
* ``daily``: ``overload_host_minutes`` and ``migrations`` per day of the
  replay (from the end of the warm-up, whole days of ticks; the last
  entry may be a part of a day), to see *when* one policy loses to
  another over a long trace.
"""

import abc
import dataclasses
import math
import os
import shutil
import tempfile
import time

import numpy as np
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack import exception

LOG = logging.getLogger(__name__)

#: CloudSim's PlanetLab VM types (MiB): VM ``i`` gets ``RAM[i % 4]``.
PLANETLAB_VM_RAM_MB = (870, 1740, 1740, 613)

#: The metrics of a policy's result, in the order they are reported.
METRICS = ('overload_host_minutes', 'sla_violation_vm_minutes',
           'migrations', 'gb_migrated', 'active_host_hours',
           'plan_seconds', 'pingpong_migrations')

#: A migration back to the host its VM left on its previous migration,
#: within this many seconds of it, is a ping-pong migration.
PINGPONG_SECONDS = 86400


class ReplayError(exception.IrraError):
    msg_fmt = "Replay failed: %(reason)s"


@dataclasses.dataclass
class Workload:
    """The demand to replay: CPU in vCPUs per VM and tick."""

    vm_ids: list
    #: (V, T) CPU demand in vCPUs (utilisation x vCPUs), finite.
    cpu: np.ndarray
    #: (V,) vCPUs of each VM's flavor.
    vcpus: np.ndarray
    #: (V,) RAM of each VM's flavor, MiB.
    ram_mb: np.ndarray
    start: int = 0
    step: int = 300

    def __post_init__(self):
        self.cpu = np.asarray(self.cpu, dtype=float)
        self.vcpus = np.asarray(self.vcpus, dtype=float)
        self.ram_mb = np.asarray(self.ram_mb, dtype=float)
        v = len(self.vm_ids)
        if self.cpu.ndim != 2 or self.cpu.shape[0] != v:
            raise ReplayError(reason="cpu has shape %s, expected (%d, T)"
                              % (self.cpu.shape, v))
        if self.vcpus.shape != (v,) or self.ram_mb.shape != (v,):
            raise ReplayError(reason="vcpus and ram_mb need one value per "
                                     "VM (%d)" % v)
        if not np.all(np.isfinite(self.cpu)) or np.any(self.cpu < 0):
            raise ReplayError(reason="the CPU demand must be finite and "
                                     "non-negative; fill the gaps first")
        if np.any(self.vcpus <= 0) or np.any(self.ram_mb <= 0):
            raise ReplayError(reason="every VM needs at least one vCPU "
                                     "and some RAM")

    @property
    def n_vms(self):
        return len(self.vm_ids)

    @property
    def n_steps(self):
        return self.cpu.shape[1]


@dataclasses.dataclass
class Cluster:
    """Identical hosts."""

    n_hosts: int
    host_cpus: float
    host_ram_mb: float
    cpu_ratio: float = 1.0

    def __post_init__(self):
        if self.n_hosts < 1 or self.host_cpus <= 0 or \
                self.host_ram_mb <= 0 or self.cpu_ratio <= 0:
            raise ReplayError(reason="the cluster needs at least one host, "
                                     "and positive cores, RAM and CPU "
                                     "allocation ratio")

    @property
    def host_names(self):
        return ['host-%d' % i for i in range(self.n_hosts)]


@dataclasses.dataclass
class MigrationModel:
    """How long a live migration takes, and what it costs (module doc)."""

    bandwidth_gbps: float = 1.0
    dirty_factor: float = 1.3
    overhead_vcpu: float = 0.1

    def duration(self, ram_mb):
        """Seconds to live-migrate a VM of ``ram_mb`` MiB."""
        return (np.asarray(ram_mb, dtype=float) * 8.0 /
                (1000.0 * self.bandwidth_gbps) * self.dirty_factor)


@dataclasses.dataclass
class AuditView:
    """What a policy sees at an audit. Arrays are read-only."""

    tick: int
    step: int
    #: (V, tick) actual CPU demand (vCPUs) of the past ticks only.
    history: np.ndarray
    #: (V,) host of each VM once its migration (if any) is done.
    vm_host: np.ndarray
    #: (V,) True while the VM migrates (it cannot be moved again).
    migrating: np.ndarray
    vm_ids: list
    vcpus: np.ndarray
    ram_mb: np.ndarray
    cluster: Cluster
    #: (H,) hosts that accept no new VM.
    disabled: np.ndarray
    #: (V, horizon) actual future demand; only for a policy that
    #: declares ``sees_future`` (the oracle), else None.
    future: np.ndarray | None = None


@dataclasses.dataclass
class Decision:
    """A policy's answer: moves to start, in order, and host states."""

    #: [(vm index, destination host index)].
    moves: list = dataclasses.field(default_factory=list)
    disable: list = dataclasses.field(default_factory=list)
    enable: list = dataclasses.field(default_factory=list)


class Policy(metaclass=abc.ABCMeta):
    """A placement policy replayed by :func:`simulate`."""

    #: Whether the policy is given the actual future (the oracle only).
    sees_future = False
    #: Steps of future given when it is.
    horizon = 0

    def __init__(self, name, audit_steps=1):
        if audit_steps < 1:
            raise ReplayError(reason="the audit interval of %s must be at "
                                     "least one step" % name)
        self.name = name
        self.audit_steps = int(audit_steps)

    @abc.abstractmethod
    def plan(self, view):
        """Return the :class:`Decision` for this audit."""

    def report(self):
        """Figures of the policy's own to add to its metrics (a dict)."""
        return {}

    def early_audit(self, tick, last, vm_host):
        """Whether to audit at ``tick``, before the next scheduled audit.

        Asked at every tick between two scheduled audits, with what the
        past shows: ``last`` (V,), the VMs' demand at tick ``tick - 1``,
        and ``vm_host`` (V,), their hosts (read-only views, valid during the
        call). False by default.
        """
        return False


class NoMigration(Policy):
    """``none``: never moves anything."""

    def plan(self, view):
        return Decision()


def initial_placement(workload, cluster, seed=0):
    """The same seeded initial placement for every policy.

    VMs are taken in a seeded random order and each goes to the host with
    the most free vCPU allocation that still fits it (vCPUs within cores x
    ratio, RAM within the host's), which spreads them round-robin-like.

    :raises ReplayError: when they do not all fit.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(workload.n_vms)
    h = cluster.n_hosts
    free_cpu = np.full(h, cluster.host_cpus * cluster.cpu_ratio)
    free_ram = np.full(h, float(cluster.host_ram_mb))
    vm_host = np.full(workload.n_vms, -1, dtype=np.int64)
    for v in order:
        fits = (free_cpu >= workload.vcpus[v] - 1e-9) & \
            (free_ram >= workload.ram_mb[v] - 1e-9)
        if not fits.any():
            raise ReplayError(
                reason="the %d VMs (%d vCPUs, %.0f GiB RAM) do not fit on "
                       "%d hosts of %g cores x CPU ratio %g and %.0f GiB "
                       "RAM; give more hosts (--hosts), a higher "
                       "--cpu-ratio or more --host-ram-gb"
                       % (workload.n_vms, workload.vcpus.sum(),
                          workload.ram_mb.sum() / 1024.0, h,
                          cluster.host_cpus, cluster.cpu_ratio,
                          cluster.host_ram_mb / 1024.0))
        best = int(np.argmax(np.where(fits, free_cpu, -np.inf)))
        vm_host[v] = best
        free_cpu[best] -= workload.vcpus[v]
        free_ram[best] -= workload.ram_mb[v]
    return vm_host


def _readonly(arr):
    arr = arr.view()
    arr.setflags(write=False)
    return arr


def simulate(workload, cluster, policy, placement, warmup=0,
             migration=None, overload_threshold=1.0, progress=None,
             record=False):
    """Replay ``workload`` under ``policy``; returns the metrics dict.

    :param placement: (V,) initial host of each VM.
    :param warmup: ticks of history before the first audit; metrics count
        from there.
    :param record: also return ``host_load``, the (ticks, H) CPU load per
        host and tick (demand plus migration overhead).
    """
    migration = migration or MigrationModel()
    cpu = workload.cpu
    n_vms, n_steps = cpu.shape
    n_hosts = cluster.n_hosts
    if not 0 <= warmup < n_steps:
        raise ReplayError(reason="the warm-up (%d steps) leaves nothing of "
                                 "the %d steps of the trace to replay"
                          % (warmup, n_steps))
    step = workload.step
    host = np.array(placement, dtype=np.int64)      # allocation / target
    if host.shape != (n_vms,) or np.any((host < 0) | (host >= n_hosts)):
        raise ReplayError(reason="the initial placement must give every "
                                 "VM a host index in 0..%d" % (n_hosts - 1))
    where = host.copy()                             # where demand counts
    done_at = np.zeros(n_vms)                       # seconds
    migrating = np.zeros(n_vms, dtype=bool)
    link_free = np.zeros(n_hosts)                   # seconds
    left_host = np.full(n_vms, -1, dtype=np.int64)  # of the last move
    left_at = np.zeros(n_vms)                       # its start, seconds
    alloc_cpu = np.bincount(host, workload.vcpus, n_hosts)
    alloc_ram = np.bincount(host, workload.ram_mb, n_hosts)
    disabled = np.zeros(n_hosts, dtype=bool)
    cpu_cap = cluster.host_cpus * cluster.cpu_ratio + 1e-9
    ram_cap = cluster.host_ram_mb + 1e-9
    limit = overload_threshold * cluster.host_cpus
    durations = migration.duration(workload.ram_mb)
    minutes = step / 60.0
    out = dict.fromkeys(METRICS, 0.0)
    out.update(migrations=0, rejected_moves=0, audits=0,
               early_audits=0, pingpong_migrations=0)
    overload_ticks = 0
    day_ticks = max(1, int(round(86400.0 / step)))
    n_days = -(-(n_steps - warmup) // day_ticks)
    daily_over = np.zeros(n_days, dtype=np.int64)
    moves_by = np.zeros(n_days, dtype=np.int64)     # migrations by day's end
    sla_ticks = 0
    active_ticks = 0
    pending = []
    disable_after = None
    loads = [] if record else None

    def start_moves(moves, now):
        """Start the moves that fit now, in order; return those that wait.

        A move waits while its VM migrates or its destination lacks room
        (a wave after the moves that free it); it is dropped when it is
        void (onto its own host or a disabled one).
        """
        waiting = []
        progress_made = True
        while moves and progress_made:
            progress_made = False
            waiting = []
            for v, dest in moves:
                src = host[v]
                if dest == src or disabled[dest]:
                    out['rejected_moves'] += 1
                    continue
                if migrating[v] or \
                        alloc_cpu[dest] + workload.vcpus[v] > cpu_cap or \
                        alloc_ram[dest] + workload.ram_mb[v] > ram_cap:
                    waiting.append((v, dest))
                    continue
                begin = max(now, link_free[src], link_free[dest])
                if left_host[v] == dest and \
                        begin - left_at[v] <= PINGPONG_SECONDS:
                    out['pingpong_migrations'] += 1
                left_host[v] = src
                left_at[v] = begin
                end = begin + durations[v]
                link_free[src] = link_free[dest] = end
                done_at[v] = end
                migrating[v] = True
                host[v] = dest
                alloc_cpu[dest] += workload.vcpus[v]
                alloc_ram[dest] += workload.ram_mb[v]
                out['migrations'] += 1
                out['gb_migrated'] += float(workload.ram_mb[v]) / 1024.0
                progress_made = True
            moves = waiting
        return waiting

    for t in range(warmup, n_steps):
        now = float(t * step)
        if migrating.any():
            finished = migrating & (done_at <= now)
            if finished.any():
                idx = np.flatnonzero(finished)
                np.subtract.at(alloc_cpu, where[idx], workload.vcpus[idx])
                np.subtract.at(alloc_ram, where[idx], workload.ram_mb[idx])
                where[idx] = host[idx]
                migrating[idx] = False
        if pending:
            pending = start_moves(pending, now)
        audit = (t - warmup) % policy.audit_steps == 0
        if not audit and policy.early_audit(
                t, _readonly(cpu[:, t - 1]), _readonly(host)):
            audit = True
            out['early_audits'] += 1
        if audit:
            if disable_after is not None:
                disabled[disable_after] = True
            future = None
            if policy.sees_future:
                future = _readonly(cpu[:, t:t + policy.horizon])
            view = AuditView(
                tick=t, step=step, history=_readonly(cpu[:, :t]),
                vm_host=_readonly(host.copy()),
                migrating=_readonly(migrating.copy()),
                vm_ids=workload.vm_ids, vcpus=_readonly(workload.vcpus),
                ram_mb=_readonly(workload.ram_mb), cluster=cluster,
                disabled=_readonly(disabled.copy()), future=future)
            began = time.perf_counter()
            decision = policy.plan(view)
            out['plan_seconds'] += time.perf_counter() - began
            out['audits'] += 1
            # Hosts enabled first (a consolidation re-opens a host before
            # moving onto it), disabled after the moves (it empties a host
            # before closing it).
            disabled[list(decision.enable)] = False
            out['rejected_moves'] += len(pending)
            pending = start_moves(
                [(int(v), int(d)) for v, d in decision.moves], now)
            disable_after = list(decision.disable) or None
        if disable_after is not None and not pending:
            disabled[disable_after] = True
            disable_after = None
        load = np.bincount(where, cpu[:, t], n_hosts)
        vms_on = np.bincount(where, minlength=n_hosts)
        held = vms_on > 0
        if migrating.any():
            moving = np.flatnonzero(migrating)
            load += migration.overhead_vcpu * (
                np.bincount(where[moving], minlength=n_hosts) +
                np.bincount(host[moving], minlength=n_hosts))
            held[host[moving]] = True
        if record:
            loads.append(load)
        over = load > limit + 1e-9
        overload_ticks += int(over.sum())
        day = (t - warmup) // day_ticks
        daily_over[day] += int(over.sum())
        moves_by[day] = out['migrations']
        sla_ticks += int(vms_on[over].sum())
        active_ticks += int(held.sum())
        if progress is not None:
            progress(t - warmup + 1)
    out['rejected_moves'] += len(pending)
    out['overload_host_minutes'] = overload_ticks * minutes
    out['sla_violation_vm_minutes'] = sla_ticks * minutes
    out['active_host_hours'] = active_ticks * minutes / 60.0
    out['gb_migrated'] = round(out['gb_migrated'], 3)
    out['plan_seconds'] = round(out['plan_seconds'], 3)
    out['daily'] = {
        'overload_host_minutes': [float(x) for x in daily_over * minutes],
        'migrations': [int(x) for x in np.diff(moves_by, prepend=0)]}
    out.update(policy.report())
    out['final_placement'] = host
    if record:
        out['host_load'] = np.array(loads)
    return out


def load_workload(trace, fmt='auto', start_day=0.0, days=None,
                  planetlab_ram=PLANETLAB_VM_RAM_MB):
    """Read the CPU demand (and flavors) of the VMs of a trace.

    CPU demand = ``cpu_util`` / 100 x vCPUs. vCPUs and RAM come from the
    trace's ``cpu_cores`` and ``mem_capacity_kib`` when it has them (the
    GWA-T-12 Bitbrains traces: their largest value); otherwise a VM has one
    vCPU (PlanetLab) and RAM ``planetlab_ram[i % len(planetlab_ram)]``
    MiB, as CloudSim gives its PlanetLab VMs. Gaps are filled with the
    last value before them (0 before the first). VMs without any value in
    the window are dropped.

    :param start_day: days from the start of the trace to skip.
    :param days: days to replay from there; None for all.
    """
    from irra_openstack.traces import api

    if fmt in (None, 'auto'):
        fmt = api.sniff_format(trace)
    tmpdir = None
    try:
        if fmt != 'irra':
            tmpdir = tempfile.mkdtemp(prefix='irra-replay-')
            path = os.path.join(tmpdir, 'trace.irra')
            api.import_trace(trace, path, fmt=fmt)
        else:
            path = trace
        with api.open_trace(path) as tr:
            have = list(tr.metrics)
            if 'cpu_util' not in have:
                raise ReplayError(reason="the trace %s has no cpu_util "
                                         "(it has %s)"
                                  % (trace, ', '.join(have)))
            wanted = [m for m in ('cpu_util', 'cpu_cores',
                                  'mem_capacity_kib') if m in have]
            frame = tr.read(metrics=wanted)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    per_day = max(1, int(round(86400.0 / frame.step)))
    first = int(round(start_day * per_day))
    last = frame.n_steps if days is None else \
        min(frame.n_steps, first + int(round(days * per_day)))
    if first >= last:
        raise ReplayError(reason="the trace has %.1f days; --start-day %g "
                                 "leaves nothing to replay"
                          % (frame.n_steps / per_day, start_day))
    util = frame.metric('cpu_util')[:, first:last].astype(float)
    keep = np.isfinite(util).any(axis=1)
    if not keep.any():
        raise ReplayError(reason="no VM of the trace has a CPU value in "
                                 "the chosen window")
    util = util[keep]
    names = [r for r, k in zip(frame.resources, keep) if k]
    n = len(names)
    if 'cpu_cores' in wanted:
        cores = np.nanmax(np.where(
            np.isfinite(frame.metric('cpu_cores')[keep]),
            frame.metric('cpu_cores')[keep], 0.0), axis=1)
        vcpus = np.maximum(np.round(cores), 1.0)
    else:
        vcpus = np.ones(n)
    if 'mem_capacity_kib' in wanted:
        mem = frame.metric('mem_capacity_kib')[keep]
        mem = np.nanmax(np.where(np.isfinite(mem), mem, 0.0), axis=1)
        ram = np.maximum(np.ceil(mem / 1024.0), 256.0)
    else:
        ram = np.asarray(planetlab_ram, dtype=float)[
            np.arange(n) % len(planetlab_ram)]
    util = np.clip(_ffill(util), 0.0, 100.0)
    return Workload(vm_ids=[str(x) for x in names],
                    cpu=util / 100.0 * vcpus[:, None], vcpus=vcpus,
                    ram_mb=ram, start=int(frame.start + first * frame.step),
                    step=int(frame.step))


def _ffill(values):
    """Fill NaNs with the last finite value before them (0 at the start)."""
    n, t = values.shape
    finite = np.isfinite(values)
    idx = np.where(finite, np.arange(t), -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(values, np.maximum(idx, 0), axis=1)
    return np.where(idx >= 0, filled, 0.0)


def moves_from_plan(result, vm_index, host_index):
    """[(vm, host)] from a PlanResult's live migrations, in wave order."""
    actions = [a for a in result.actions
               if a.action_type == constants.ActionType.LIVE_MIGRATE]
    actions.sort(key=lambda a: a.wave if a.wave is not None else 0)
    moves = []
    for a in actions:
        if a.resource_id not in vm_index or \
                a.destination not in host_index:
            raise ReplayError(reason="the planner moved %s to %s, which "
                                     "the replay does not know"
                              % (a.resource_id, a.destination))
        moves.append((vm_index[a.resource_id], host_index[a.destination]))
    return moves


def combined_cost(metrics, overload_weight=1.0, active_weight=1.0):
    """Weighted overloaded host-minutes plus active host-hours."""
    return (overload_weight * metrics['overload_host_minutes'] +
            active_weight * metrics['active_host_hours'])


def compare(results, overload_weight=1.0, active_weight=1.0):
    """Ratios of every policy against the best Watcher strategy and oracle.

    The best Watcher strategy is the one with the fewest overloaded
    host-minutes (then the fewest active host-hours) among those that ran.
    """
    ok = {n: m for n, m in results.items() if 'error' not in m}
    for m in ok.values():
        m['combined_cost'] = round(combined_cost(
            m, overload_weight, active_weight), 3)
    watchers = sorted(
        (n for n in ok if n.startswith('watcher:')),
        key=lambda n: (ok[n]['overload_host_minutes'],
                       ok[n]['active_host_hours']))
    best = watchers[0] if watchers else None
    stab = ok.get('watcher:workload_stabilization')
    oracle = ok.get('oracle')

    def ratio(a, b):
        if b == 0:
            return None if a else 1.0
        return round(a / b, 4)

    ratios = {}
    for n, m in ok.items():
        r = {}
        if best:
            for k in ('overload_host_minutes', 'active_host_hours',
                      'migrations', 'combined_cost'):
                r['%s_vs_best_watcher' % k] = ratio(m[k], ok[best][k])
        if stab:
            r['migrations_vs_workload_stabilization'] = ratio(
                m['migrations'], stab['migrations'])
        if oracle:
            r['combined_cost_vs_oracle'] = ratio(m['combined_cost'],
                                                 oracle['combined_cost'])
        ratios[n] = r
    out = {'best_watcher': best, 'ratios': ratios,
           'combined_cost_weights': {
               'overload_host_minutes': overload_weight,
               'active_host_hours': active_weight}}
    irra = ok.get('irra')
    if irra and best:
        b = ok[best]
        out['targets'] = {
            'overload_le_half_best_watcher':
                irra['overload_host_minutes'] <=
                0.5 * b['overload_host_minutes'],
            'active_hours_le_best_watcher':
                irra['active_host_hours'] <= b['active_host_hours'],
        }
        if stab:
            out['targets']['migrations_le_half_workload_stabilization'] = (
                irra['migrations'] <= 0.5 * stab['migrations'])
        if oracle:
            out['targets']['combined_cost_within_10pct_of_oracle'] = (
                irra['combined_cost'] <= 1.1 * oracle['combined_cost'])
    return out


def run(workload, cluster, policies, seed=0, warmup=0, migration=None,
        overload_threshold=1.0, overload_weight=1.0, active_weight=1.0,
        progress=None):
    """Replay every policy from the same initial placement.

    ``policies`` maps a name to a Policy, or to an
    :class:`~irra_openstack.exception.IrraError` explaining why it cannot
    run (it is then reported as an error entry).

    :param progress: optional ``progress(done, total)`` over all policies'
        ticks.
    """
    if not 0 <= warmup < workload.n_steps:
        # The same for every policy: one clear error, not one per policy.
        raise ReplayError(reason="the warm-up (%d steps) leaves nothing of "
                                 "the %d steps of the trace to replay; "
                                 "lower --warmup-hours or add --days"
                          % (warmup, workload.n_steps))
    placement = initial_placement(workload, cluster, seed)
    ticks = workload.n_steps - warmup
    total = ticks * len(policies)
    results = {}
    for k, (name, policy) in enumerate(policies.items()):
        if isinstance(policy, Exception):
            results[name] = {'error': str(policy)}
            continue
        base = k * ticks

        def tick(done, base=base):
            if progress is not None:
                progress(base + done, total)

        try:
            m = simulate(workload, cluster, policy, placement,
                         warmup=warmup, migration=migration,
                         overload_threshold=overload_threshold,
                         progress=tick)
        except exception.IrraError as exc:
            results[name] = {'error': str(exc)}
            continue
        m.pop('final_placement')
        results[name] = m
    summary = compare(results, overload_weight, active_weight)
    migration = migration or MigrationModel()
    return {
        'policies': results,
        'best_watcher': summary['best_watcher'],
        'ratios': summary['ratios'],
        'combined_cost_weights': summary['combined_cost_weights'],
        'targets': summary.get('targets'),
        'setup': {
            'vms': workload.n_vms, 'steps': int(ticks),
            'step_seconds': workload.step, 'warmup_steps': int(warmup),
            'days': round(ticks * workload.step / 86400.0, 3),
            'hosts': cluster.n_hosts, 'host_cpus': cluster.host_cpus,
            'host_ram_gb': cluster.host_ram_mb / 1024.0,
            'cpu_ratio': cluster.cpu_ratio, 'seed': seed,
            'vcpus': float(workload.vcpus.sum()),
            'mean_cpu_utilisation': round(float(
                workload.cpu[:, warmup:].sum(axis=0).mean() /
                (cluster.n_hosts * cluster.host_cpus)), 4),
            'overload_threshold': overload_threshold,
            'audit_minutes': {
                n: p.audit_steps * workload.step / 60.0
                for n, p in policies.items()
                if not isinstance(p, Exception)},
            'migration_model': dataclasses.asdict(migration),
        },
    }


def default_host_ram_mb(workload, cluster_hosts):
    """Enough RAM that vCPUs bind first.

    Twice the mean RAM per host plus the largest VM's, rounded up to GiB,
    so that any placement the vCPU ratio allows also fits in RAM.
    """
    need = 2.0 * workload.ram_mb.sum() / cluster_hosts + \
        workload.ram_mb.max()
    return float(1024 * math.ceil(need / 1024.0))
