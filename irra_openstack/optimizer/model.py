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

    def overloaded(self, vm_host=None):
        """(H,) True where a host's predicted peak passes its threshold."""
        peak = self.host_usage_upper(vm_host).max(axis=1)
        return np.any(peak > self.threshold * self.capacity + 1e-9, axis=1)
