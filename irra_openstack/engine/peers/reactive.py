"""``reactive``: Beloglazov and Buyya's THR-MMT, the classic CloudSim baseline.

At each audit, a host whose last observed CPU utilisation (the demand of
the last tick over its physical cores) is above ``threshold`` (0.8) is
overloaded. From each overloaded host, VMs are chosen in order of minimum
migration time, that is least RAM first, until the host's utilisation
without them is at most the threshold. The chosen VMs, the busiest first,
each go to the least-loaded host that stays at or under the threshold with
them and has room in Placement (vCPUs within cores x allocation ratio,
RAM within the host's). A VM with no such host stays where it is.

The policy only looks at the last tick: it is reactive by construction,
and in a dense cluster run every 5 minutes it thrashes.
"""

import numpy as np

from irra_openstack.engine import replay


class ThresholdMMT(replay.Policy):
    """THR-MMT (see the module doc)."""

    def __init__(self, name='reactive', audit_steps=1, threshold=0.8):
        super().__init__(name, audit_steps)
        if not 0.0 < threshold:
            raise replay.ReplayError(
                reason="the reactive threshold must be positive, got %r"
                % (threshold,))
        self.threshold = float(threshold)

    def plan(self, view):
        if view.history.shape[1] == 0:
            return replay.Decision()
        cluster = view.cluster
        h = cluster.n_hosts
        last = np.asarray(view.history[:, -1])
        vm_host = np.array(view.vm_host)
        vcpus = np.asarray(view.vcpus)
        ram = np.asarray(view.ram_mb)
        load = np.bincount(vm_host, last, h)
        alloc_cpu = np.bincount(vm_host, vcpus, h)
        alloc_ram = np.bincount(vm_host, ram, h)
        limit = self.threshold * cluster.host_cpus
        over = np.flatnonzero(load > limit + 1e-9)
        if over.size == 0:
            return replay.Decision()
        movable = ~np.asarray(view.migrating)
        chosen = []
        for src in over:
            vms = np.flatnonzero((vm_host == src) & movable)
            vms = vms[np.argsort(ram[vms], kind='stable')]
            # Least RAM first, until the rest fits under the threshold.
            excess = load[src] - limit
            taken = np.cumsum(last[vms])
            n = int(np.searchsorted(taken, excess - 1e-9)) + 1
            chosen.extend(vms[:n].tolist())
        chosen = np.array(chosen, dtype=np.int64)
        chosen = chosen[np.argsort(-last[chosen], kind='stable')]
        moves = []
        disabled = np.asarray(view.disabled)
        for v in chosen:
            src = vm_host[v]
            fits = ((load + last[v] <= limit + 1e-9) &
                    (alloc_cpu + vcpus[v] <=
                     cluster.host_cpus * cluster.cpu_ratio + 1e-9) &
                    (alloc_ram + ram[v] <= cluster.host_ram_mb + 1e-9) &
                    ~disabled)
            fits[src] = False
            if not fits.any():
                continue
            dest = int(np.argmin(np.where(fits, load, np.inf)))
            moves.append((int(v), dest))
            for arr, amount in ((load, last[v]), (alloc_cpu, vcpus[v]),
                                (alloc_ram, ram[v])):
                arr[src] -= amount
                arr[dest] += amount
            vm_host[v] = dest
        return replay.Decision(moves=moves)
