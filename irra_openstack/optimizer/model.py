"""The cluster state that the planners work on, as numpy arrays.

One :class:`ClusterModel` describes one region: its hosts, its VMs and
where they run, the server groups, and each VM's forecast. The host
rebalancer, the migration scheduler, the replay benchmark and the Watcher
adapter all read this one structure, built from the inventory
(:mod:`irra_openstack.datasources.inventory`) or from a trace.

Units: ``VCPU`` in vCPUs, ``MEMORY_MB`` in MiB, ``DISK_GB`` in GiB. Usage
forecasts are in the same units as the flavors (a VM at 50 % of 4 vCPUs
uses 2 VCPU).
"""

import dataclasses

import numpy as np

#: Resource classes in the order of the arrays' last axis.
RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')

#: Server-group policies, as Nova spells them.
AFFINITY = 'affinity'
ANTI_AFFINITY = 'anti-affinity'
SOFT_AFFINITY = 'soft-affinity'
SOFT_ANTI_AFFINITY = 'soft-anti-affinity'
POLICIES = (AFFINITY, ANTI_AFFINITY, SOFT_AFFINITY, SOFT_ANTI_AFFINITY)


def host_floor(point, last, vm_host):
    """(V, T) ``point`` whose host sums are floored at the hosts' last load.

    Each host's sum of its VMs' forecasts is raised, where it is below
    the sum of their last demands, to that sum; the difference goes to
    its VMs in proportion to their last demand. Flooring each VM at its
    own last demand instead adds up the VMs' expected rises and ignores
    their expected falls: on a host of eight VMs whose forecasts scatter
    around their last values, the sum of the floored values is above both
    the host's forecast and its last load.

    :param point: (V, T) forecasts, finite and non-negative.
    :param last: (V,) last demands, finite and non-negative.
    :param vm_host: (V,) host index of each VM.
    """
    point = np.asarray(point, dtype=float)
    last = np.asarray(last, dtype=float)
    vm_host = np.asarray(vm_host, dtype=np.int64)
    n_hosts = int(vm_host.max()) + 1 if vm_host.size else 0
    forecast = np.zeros((n_hosts, point.shape[1]))
    np.add.at(forecast, vm_host, point)
    seen = np.bincount(vm_host, last, n_hosts)                 # (G,)
    # A host whose VMs last used nothing has no deficit (the forecasts
    # are not negative), so its VMs' shares do not matter.
    deficit = np.maximum(seen[:, None] - forecast, 0.0)        # (G, T)
    share = last / np.where(seen > 0, seen, 1.0)[vm_host]
    return point + deficit[vm_host] * share[:, None]


@dataclasses.dataclass
class ServerGroup:
    name: str
    policy: str
    #: Indices into the model's VMs.
    members: tuple

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError('server group %s: unknown policy %r; expected '
                             'one of %s' % (self.name, self.policy,
                                            ', '.join(POLICIES)))


@dataclasses.dataclass
class ClusterModel:
    """Hosts × resource classes, VMs × resource classes, and forecasts.

    Shapes: H hosts, V VMs, R = len(RESOURCE_CLASSES), T forecast steps.
    """

    host_names: list
    #: (H, R) physical capacity.
    capacity: np.ndarray
    #: (H, R) Placement allocation ratios.
    allocation_ratio: np.ndarray
    #: (H, R) Placement ``reserved``.
    reserved: np.ndarray
    vm_ids: list
    #: (V, R) what each VM's flavor allocates in Placement.
    flavor: np.ndarray
    #: (V,) index of each VM's host, -1 when not placed.
    vm_host: np.ndarray
    #: (V, T, R) upper bound of each VM's predicted usage per step.
    usage_upper: np.ndarray
    #: (V, T, R) point forecast; defaults to ``usage_upper``.
    usage_point: np.ndarray | None = None
    #: (V, S, T, R) optional: S equally likely joint scenarios of each
    #: VM's usage over the horizon, scenario ``s`` of every VM from the
    #: same draw (for example the point forecast plus the back-test
    #: residuals of one origin), so that summing them per host keeps the
    #: VMs' correlation. The risk objective of the host rebalancer reads
    #: them; None: one scenario, the point forecast.
    usage_samples: np.ndarray | None = None
    #: (V,) optional: extra cost of migrating each VM, in the unit of the
    #: risk objective's ``move_cost`` (expected overloaded minutes), for
    #: example for VMs that moved a short while ago; None for none.
    move_penalty: np.ndarray | None = None
    #: (H, R) utilisation limit of predicted usage, as a share of physical
    #: capacity, e.g. 0.8 (overload above it).
    threshold: np.ndarray | None = None
    #: (H,) False for disabled or maintenance hosts: nothing moves in.
    enabled: np.ndarray | None = None
    #: (H,) most VMs a host may run; 0 for no limit.
    max_instances: np.ndarray | None = None
    #: (H,) availability zone of each host.
    host_az: list | None = None
    #: (H,) frozenset of aggregate names per host.
    host_aggregates: list | None = None
    #: (V,) availability zone a VM must stay in, or None.
    vm_az: list | None = None
    #: (V,) aggregates a VM must stay in (frozenset, empty for any).
    vm_aggregates: list | None = None
    server_groups: list = dataclasses.field(default_factory=list)
    #: Seconds per forecast step.
    step: int = 300

    def __post_init__(self):
        h, r = len(self.host_names), len(RESOURCE_CLASSES)
        v = len(self.vm_ids)
        self.capacity = np.asarray(self.capacity, dtype=float)
        self.allocation_ratio = np.asarray(self.allocation_ratio,
                                           dtype=float)
        self.reserved = np.asarray(self.reserved, dtype=float)
        self.flavor = np.asarray(self.flavor, dtype=float)
        self.vm_host = np.asarray(self.vm_host, dtype=np.int64)
        self.usage_upper = np.asarray(self.usage_upper, dtype=float)
        for name, arr, shape in (
                ('capacity', self.capacity, (h, r)),
                ('allocation_ratio', self.allocation_ratio, (h, r)),
                ('reserved', self.reserved, (h, r)),
                ('flavor', self.flavor, (v, r)),
                ('vm_host', self.vm_host, (v,))):
            if arr.shape != shape:
                raise ValueError('%s has shape %s, expected %s'
                                 % (name, arr.shape, shape))
        if self.usage_upper.ndim != 3 or \
                self.usage_upper.shape[0] != v or \
                self.usage_upper.shape[2] != r:
            raise ValueError('usage_upper has shape %s, expected (%d, T, %d)'
                             % (self.usage_upper.shape, v, r))
        if self.usage_point is None:
            self.usage_point = self.usage_upper
        if self.usage_samples is not None:
            self.usage_samples = np.asarray(self.usage_samples, dtype=float)
            shape = self.usage_samples.shape
            if len(shape) != 4 or shape[0] != v or shape[1] < 1 or \
                    shape[2:] != self.usage_upper.shape[1:]:
                raise ValueError(
                    'usage_samples has shape %s, expected (%d, S, %d, %d)'
                    % (shape, v, self.usage_upper.shape[1], r))
            if not np.all(np.isfinite(self.usage_samples)):
                raise ValueError('usage_samples holds NaN or infinite '
                                 'values')
        if self.move_penalty is not None:
            self.move_penalty = np.asarray(self.move_penalty, dtype=float)
            if self.move_penalty.shape != (v,) or not np.all(
                    np.isfinite(self.move_penalty)) or np.any(
                    self.move_penalty < 0):
                raise ValueError('move_penalty must be (%d,) finite values '
                                 '>= 0' % v)
        if self.threshold is None:
            self.threshold = np.ones((h, r))
        if self.enabled is None:
            self.enabled = np.ones(h, dtype=bool)
        if self.max_instances is None:
            self.max_instances = np.zeros(h, dtype=np.int64)
        if self.host_az is None:
            self.host_az = [None] * h
        if self.host_aggregates is None:
            self.host_aggregates = [frozenset()] * h
        if self.vm_az is None:
            self.vm_az = [None] * v
        if self.vm_aggregates is None:
            self.vm_aggregates = [frozenset()] * v
        for arr in (self.capacity, self.allocation_ratio, self.flavor,
                    self.usage_upper):
            if not np.all(np.isfinite(arr)):
                raise ValueError('the cluster model holds NaN or infinite '
                                 'values; fill or drop them first')
        if np.any((self.vm_host < -1) | (self.vm_host >= h)):
            raise ValueError('vm_host holds a host index outside 0..%d'
                             % (h - 1))

    @property
    def n_hosts(self):
        return len(self.host_names)

    @property
    def n_vms(self):
        return len(self.vm_ids)

    @property
    def horizon(self):
        return self.usage_upper.shape[1]

    def placement_capacity(self):
        """(H, R) Placement capacity: (capacity - reserved) × ratio."""
        return (self.capacity - self.reserved) * self.allocation_ratio

    def host_allocated(self, vm_host=None):
        """(H, R) flavor allocations per host for a placement."""
        vm_host = self.vm_host if vm_host is None else vm_host
        out = np.zeros((self.n_hosts, len(RESOURCE_CLASSES)))
        placed = vm_host >= 0
        np.add.at(out, vm_host[placed], self.flavor[placed])
        return out

    def host_usage_upper(self, vm_host=None):
        """(H, T, R) summed predicted upper usage per host and step."""
        vm_host = self.vm_host if vm_host is None else vm_host
        out = np.zeros((self.n_hosts,) + self.usage_upper.shape[1:])
        placed = vm_host >= 0
        np.add.at(out, vm_host[placed], self.usage_upper[placed])
        return out

    def samples(self):
        """(V, S, T, R) usage scenarios: ``usage_samples`` or the point."""
        if self.usage_samples is not None:
            return self.usage_samples
        return np.asarray(self.usage_point, dtype=float)[:, None]

    def overloaded(self, vm_host=None):
        """(H,) True where a host's predicted peak passes its threshold."""
        peak = self.host_usage_upper(vm_host).max(axis=1)
        return np.any(peak > self.threshold * self.capacity + 1e-9, axis=1)

    @classmethod
    def random(cls, n_hosts, n_vms, horizon=12, seed=0, load=0.7,
               n_azs=1, n_groups=0, group_size=(2, 4), disabled=0.0,
               max_instances=0, step=300):
        """A synthetic cluster, for tests and benchmarks.

        Hosts of 32, 48 or 64 cores (4 GiB per core, allocation ratios
        4 / 1.5 / 1), VMs of 1 to 8 vCPUs whose predicted CPU upper bound
        follows a daily wave of random phase. ``load`` is the mean
        predicted peak CPU over the cluster as a share of its cores, so a
        random placement leaves some hosts over a threshold of 0.8 and
        others nearly idle. Each server group has ``group_size`` members
        and a random policy; the placement honours the hard policies and
        Placement capacity. ``n_azs`` availability zones split the hosts
        round-robin; half of the VMs are pinned to their zone.

        :param disabled: share of the hosts that are disabled.
        :param max_instances: per-host limit (0: none).
        """
        rng = np.random.default_rng(seed)
        h, v, t = int(n_hosts), int(n_vms), int(horizon)
        if h < 1 or v < 0 or t < 1:
            raise ValueError('a random cluster needs at least one host '
                             'and one forecast step')
        cores = rng.choice([32.0, 48.0, 64.0], size=h)
        capacity = np.stack([cores, cores * 4096.0,
                             np.full(h, 2000.0)], axis=1)
        ratio = np.tile([4.0, 1.5, 1.0], (h, 1))
        reserved = np.tile([0.0, 2048.0, 0.0], (h, 1))
        vcpus = rng.choice([1.0, 2.0, 4.0, 8.0], size=v,
                           p=[0.3, 0.3, 0.25, 0.15])
        flavor = np.stack([vcpus, vcpus * 2048.0, vcpus * 20.0], axis=1)
        # Predicted CPU: a base level plus a daily wave, scaled to ``load``.
        phase = rng.uniform(0, 2 * np.pi, size=(v, 1))
        steps = np.arange(t)[None, :] * step / 86400.0 * 2 * np.pi
        amp = rng.uniform(0.0, 0.5, size=(v, 1))
        base = rng.beta(2.0, 3.0, size=(v, 1))
        shape = np.clip(base * (1 + amp * np.sin(steps + phase)), 0.02, 1)
        cpu = shape * vcpus[:, None]
        if v:
            # Scale to ``load``; grow the flavors by a power of two when
            # they are too small to carry it.
            factor = load * cores.sum() / cpu.max(axis=1).sum()
            grow = 2.0 ** max(0, int(np.ceil(np.log2(factor))))
            cpu *= factor
            vcpus = vcpus * grow
            flavor[:, 0] = vcpus
            cpu = np.minimum(cpu, vcpus[:, None])
        mem = (flavor[:, 1] * rng.uniform(0.3, 0.8, size=v))[:, None]
        usage = np.stack([cpu, np.repeat(mem, t, axis=1),
                          np.repeat(flavor[:, 2:3] * 0.5, t, axis=1)],
                         axis=2)
        enabled = rng.random(h) >= disabled
        if not enabled.any():
            enabled[0] = True
        host_az = ['az%d' % (i % max(1, n_azs)) for i in range(h)]
        # Server groups over disjoint random members.
        lo, hi = group_size
        groups, order, pos = [], rng.permutation(v), 0
        for g in range(n_groups):
            size = int(rng.integers(lo, hi + 1))
            if pos + size > v:
                break
            members = tuple(int(m) for m in order[pos:pos + size])
            pos += size
            groups.append(ServerGroup('group-%d' % g,
                                      POLICIES[g % len(POLICIES)], members))
        # Placement: grouped VMs first, then the rest, each on a random
        # enabled host with Placement room (weighted by cores).
        limit = (capacity - reserved) * ratio
        alloc = np.zeros((h, len(RESOURCE_CLASSES)))
        count = np.zeros(h, dtype=np.int64)
        cap_n = np.where(max_instances > 0, max_instances, np.iinfo(
            np.int64).max)
        vm_host = np.full(v, -1, dtype=np.int64)
        weights = cores * enabled

        def pick(demand, n, banned=()):
            ok = np.all(alloc + demand <= limit, axis=1) & \
                (count + n <= cap_n) & enabled
            ok[list(banned)] = False
            if not ok.any():
                return -1
            w = weights * ok
            return int(rng.choice(h, p=w / w.sum()))

        def put(members, host):
            for m in members:
                vm_host[m] = host
                alloc[host] += flavor[m]
                count[host] += 1

        for g in groups:
            members = list(g.members)
            if g.policy == AFFINITY:
                host = pick(flavor[members].sum(axis=0), len(members))
                if host >= 0:
                    put(members, host)
            elif g.policy == ANTI_AFFINITY:
                used = []
                for m in members:
                    host = pick(flavor[m], 1, used)
                    if host >= 0:
                        put([m], host)
                        used.append(host)
        # A member that found no host its policy allows stays unplaced.
        hard = {m for g in groups if g.policy in (AFFINITY, ANTI_AFFINITY)
                for m in g.members}
        for m in range(v):
            if vm_host[m] < 0 and m not in hard:
                host = pick(flavor[m], 1)
                if host >= 0:
                    put([m], host)
        vm_az = [host_az[vm_host[m]] if vm_host[m] >= 0 and m % 2 == 0
                 else None for m in range(v)]
        return cls(host_names=['compute-%d' % i for i in range(h)],
                   capacity=capacity, allocation_ratio=ratio,
                   reserved=reserved,
                   vm_ids=['vm-%d' % i for i in range(v)],
                   flavor=flavor, vm_host=vm_host, usage_upper=usage,
                   threshold=np.tile([0.8, 0.9, 0.9], (h, 1)),
                   enabled=enabled,
                   max_instances=np.full(h, int(max_instances)),
                   host_az=host_az,
                   host_aggregates=[frozenset()] * h,
                   vm_az=vm_az, vm_aggregates=[frozenset()] * v,
                   server_groups=groups, step=step)
