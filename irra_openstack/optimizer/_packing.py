"""The packing problem behind host rebalancing, as numpy arrays.

:class:`Problem` turns a :class:`~irra_openstack.optimizer.model.ClusterModel`
into what both solvers need:

- *items*: the units that move. A VM is an item; the members of a hard
  affinity server group (and of groups that share members with it) form
  one item, which moves as a whole;
- per-host limits: predicted usage under ``threshold × capacity`` at every
  step of the horizon and for every resource class, flavor allocations
  under Placement capacity (``(capacity - reserved) × allocation ratio``),
  and ``max_instances``;
- where each item may go: availability zone, aggregates, enabled hosts;
- the server-group counts per host (hard anti-affinity, soft variants).

:class:`State` is a placement of the items with the per-host sums kept up
to date, so that a move costs O(T × R) and a search for a destination is
one vectorised pass over the hosts. :func:`heuristic` and :func:`exact`
return a VM → host array; :meth:`Problem.evaluate` scores any such array
the same way for both.
"""

import dataclasses
import time

import numpy as np
from scipy import optimize
from scipy import sparse
from scipy.sparse import csgraph

from irra_openstack.optimizer import model as cluster

#: Relative tolerance of the capacity checks.
EPS = 1e-9


@dataclasses.dataclass
class Blocked:
    """Why an item could not move: the constraint, and the words."""

    constraint: str
    text: str


def _check_model(model):
    """ValueError naming what does not match in ``model``."""
    h, v = model.n_hosts, model.n_vms
    for name, value, size in (
            ('threshold', np.shape(model.threshold),
             (h, len(cluster.RESOURCE_CLASSES))),
            ('enabled', np.shape(model.enabled), (h,)),
            ('max_instances', np.shape(model.max_instances), (h,)),
            ('host_az', (len(model.host_az),), (h,)),
            ('host_aggregates', (len(model.host_aggregates),), (h,)),
            ('vm_az', (len(model.vm_az),), (v,)),
            ('vm_aggregates', (len(model.vm_aggregates),), (v,))):
        if tuple(value) != tuple(size):
            raise ValueError('%s has shape %s, expected %s'
                             % (name, tuple(value), tuple(size)))
    if not np.all(np.isfinite(model.threshold)) or \
            np.any(np.asarray(model.threshold) <= 0):
        raise ValueError('the model\'s threshold must be positive and '
                         'finite')
    for g in model.server_groups:
        bad = [x for x in g.members
               if not isinstance(x, (int, np.integer)) or not 0 <= x < v]
        if bad:
            raise ValueError('server group %s names VM indices outside '
                             '0..%d: %s' % (g.name, v - 1, bad[:5]))


class Problem:
    """The rebalancing problem of one cluster model.

    :param threshold: None to use the model's threshold, or a share of
        physical capacity (scalar, or one value per resource class).
    :param evacuate: move the VMs off disabled hosts.
    :param soft_weight: cost of one soft server-group violation, in
        migrations.
    """

    def __init__(self, model, threshold=None, evacuate=False,
                 soft_weight=0.5):
        self.model = model
        self.evacuate = bool(evacuate)
        self.soft_weight = float(soft_weight)
        h = model.n_hosts
        r = len(cluster.RESOURCE_CLASSES)
        _check_model(model)
        if threshold is None:
            thr = np.asarray(model.threshold, dtype=float)
        else:
            thr = np.broadcast_to(np.asarray(threshold, dtype=float),
                                  (h, r))
        self.threshold = np.array(thr, dtype=float)
        #: (H, R) predicted-usage limit.
        self.limit = self.threshold * model.capacity
        #: (H, R) Placement capacity.
        self.pcap = model.placement_capacity()
        #: (H,) instance limit (inf for none).
        self.maxn = np.where(model.max_instances > 0,
                             model.max_instances, np.inf).astype(float)
        self.enabled = np.asarray(model.enabled, dtype=bool)
        self.orig = model.vm_host.copy()
        self.placed = self.orig >= 0
        self._scale = np.maximum(self.limit, EPS)
        self._build_eligibility()
        self._build_items()
        self._build_groups()

    # -- construction --------------------------------------------------

    def _build_eligibility(self):
        m = self.model
        host_az = np.array(m.host_az, dtype=object)
        sigs, vm_sig = {}, np.empty(m.n_vms, dtype=np.int64)
        for i, key in enumerate(zip(m.vm_az, m.vm_aggregates)):
            vm_sig[i] = sigs.setdefault((key[0], frozenset(key[1] or ())),
                                        len(sigs))
        masks = np.ones((max(1, len(sigs)), m.n_hosts), dtype=bool)
        for (az, aggs), s in sigs.items():
            if az is not None:
                masks[s] &= host_az == az
            if aggs:
                masks[s] &= np.array([aggs <= frozenset(ha or ())
                                      for ha in m.host_aggregates])
        self.sig_keys = {s: k for k, s in sigs.items()}
        self.sig_mask = masks
        self.vm_sig = vm_sig

    def _build_items(self):
        m = self.model
        v = m.n_vms
        placed = np.flatnonzero(self.placed)
        rows, cols = [], []
        for g in m.server_groups:
            if g.policy != cluster.AFFINITY:
                continue
            mem = [x for x in g.members if self.placed[x]]
            if len(mem) < 2:
                continue
            rows += [mem[0]] * (len(mem) - 1)
            cols += mem[1:]
        graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)),
                                  shape=(v, v))
        _n, labels = csgraph.connected_components(graph, directed=False)
        # Items over placed VMs only; unplaced VMs stay as they are.
        vm_item = np.full(v, -1, dtype=np.int64)
        uniq, inv = np.unique(labels[placed], return_inverse=True)
        vm_item[placed] = inv
        n = len(uniq)
        self.vm_item = vm_item
        self.n_items = n
        order = placed[np.argsort(inv, kind='stable')]
        bounds = np.searchsorted(inv[np.argsort(inv, kind='stable')],
                                 np.arange(n + 1))
        self.members = [order[bounds[i]:bounds[i + 1]] for i in range(n)]
        t, r = m.horizon, len(cluster.RESOURCE_CLASSES)
        self.usage = np.zeros((n, t, r))
        np.add.at(self.usage, inv, m.usage_upper[placed])
        self.flavor = np.zeros((n, r))
        np.add.at(self.flavor, inv, m.flavor[placed])
        self.count = np.bincount(inv, minlength=n).astype(float)
        hmin = np.full(n, np.iinfo(np.int64).max)
        hmax = np.full(n, -1)
        np.minimum.at(hmin, inv, self.orig[placed])
        np.maximum.at(hmax, inv, self.orig[placed])
        #: (I,) the item's host, or -2 when its members are split.
        self.item_orig = np.where(hmin == hmax, hmax, -2)
        # Eligibility: singletons use their VM's signature; multi-member
        # items get a signature row of their own (the AND of members').
        sig = np.zeros(n, dtype=np.int64)
        sig[inv] = self.vm_sig[placed]
        extra = []
        for i in np.flatnonzero(self.count > 1):
            mask = np.logical_and.reduce(
                self.sig_mask[self.vm_sig[self.members[i]]], axis=0)
            sig[i] = len(self.sig_mask) + len(extra)
            extra.append(mask)
        if extra:
            self.sig_mask = np.vstack([self.sig_mask, np.array(extra)])
        self.item_sig = sig
        #: (I,) normalised size: the largest share of a median host that
        #: the item's predicted peak or its allocation takes.
        host_scale = np.median(self._scale, axis=0)
        pcap_scale = np.maximum(np.median(self.pcap, axis=0), EPS)
        self.size = np.maximum(
            (self.usage.max(axis=1) / host_scale).max(axis=1),
            (self.flavor / pcap_scale).max(axis=1)) if n else np.zeros(0)
        self.frozen = np.zeros(n, dtype=bool)
        self.frozen_why = {}

    def _build_groups(self):
        """Hard anti-affinity and soft groups, as (group, item, count)."""
        m = self.model
        self.groups = {cluster.ANTI_AFFINITY: [],
                       cluster.SOFT_AFFINITY: [],
                       cluster.SOFT_ANTI_AFFINITY: []}
        self.group_names = {k: [] for k in self.groups}
        self.item_groups = [[] for _ in range(self.n_items)]
        for g in m.server_groups:
            if g.policy == cluster.AFFINITY:
                continue
            mem = np.array([x for x in g.members if self.placed[x]],
                           dtype=np.int64)
            items, counts = np.unique(self.vm_item[mem], return_counts=True)
            kind = g.policy
            gid = len(self.groups[kind])
            self.groups[kind].append((items, counts))
            self.group_names[kind].append(g.name)
            for it, c in zip(items, counts):
                self.item_groups[it].append((kind, gid, int(c)))
            if kind == cluster.ANTI_AFFINITY and np.any(counts > 1):
                bad = items[counts > 1]
                for it in items:
                    self.frozen[it] = True
                    self.frozen_why[int(it)] = Blocked(
                        'anti-affinity', 'server group %s is anti-affinity '
                        'but VMs %s must also share a host (affinity); the '
                        'rules contradict each other, so its VMs are left '
                        'where they are' % (g.name, ', '.join(
                            m.vm_ids[x] for x in self.members[bad[0]])))
        # An item whose members' zones or aggregates exclude every host.
        for i in np.flatnonzero(~self.sig_mask[self.item_sig].any(axis=1)):
            if self.count[i] > 1:
                self.frozen[i] = True
                self.frozen_why[int(i)] = Blocked(
                    'affinity', 'VMs %s must share a host (affinity) but '
                    'their availability zones or aggregates have no host '
                    'in common' % ', '.join(m.vm_ids[x]
                                            for x in self.members[i]))

    # -- scoring -------------------------------------------------------

    def vm_host_of(self, item_host):
        """(V,) VM placement from an item placement (-2: original)."""
        out = self.orig.copy()
        ok = self.placed
        ih = item_host[self.vm_item[ok]]
        out[ok] = np.where(ih >= 0, ih, self.orig[ok])
        return out

    def host_sums(self, vm_host):
        """(U (H,T,R), A (H,R), N (H,)) of a VM placement."""
        m = self.model
        return (m.host_usage_upper(vm_host), m.host_allocated(vm_host),
                np.bincount(vm_host[vm_host >= 0],
                            minlength=m.n_hosts).astype(float))

    def excess(self, u, a, n):
        """(H,) overload of each host: normalised, 0 when none."""
        over_u = np.maximum(u - self.limit[:, None, :] * (1 + EPS) - EPS,
                            0) / self._scale[:, None, :]
        over_a = np.maximum(a - self.pcap * (1 + EPS) - EPS, 0) / \
            np.maximum(self.pcap, EPS)
        over_n = np.maximum(n - self.maxn, 0)
        return over_u.max(axis=(1, 2)) + over_a.max(axis=1) + over_n

    def residual(self, u, a, n):
        """(H,) total overload of each host, normalised.

        Summed over the steps and classes: what best-effort relief lowers.
        """
        over_u = np.maximum(u - self.limit[:, None, :] * (1 + EPS) - EPS,
                            0) / self._scale[:, None, :]
        over_a = np.maximum(a - self.pcap * (1 + EPS) - EPS, 0) / \
            np.maximum(self.pcap, EPS)
        over_n = np.maximum(n - self.maxn, 0)
        return over_u.sum(axis=(1, 2)) + over_a.sum(axis=1) + over_n

    def anti_affinity_broken(self, vm_host):
        """Members of hard anti-affinity groups sharing a host."""
        total = 0
        for g in self.model.server_groups:
            if g.policy == cluster.ANTI_AFFINITY:
                hosts = vm_host[[x for x in g.members if vm_host[x] >= 0]]
                total += len(hosts) - len(np.unique(hosts))
        return total

    def soft_violations(self, vm_host):
        """Soft server-group violations of a VM placement."""
        total = 0
        for g in self.model.server_groups:
            hosts = vm_host[[x for x in g.members if vm_host[x] >= 0]]
            if not len(hosts):
                continue
            if g.policy == cluster.SOFT_AFFINITY:
                total += len(np.unique(hosts)) - 1
            elif g.policy == cluster.SOFT_ANTI_AFFINITY:
                total += len(hosts) - len(np.unique(hosts))
        return total

    def evaluate(self, vm_host):
        """The figures that compare two placements."""
        u, a, n = self.host_sums(vm_host)
        exc = self.excess(u, a, n)
        moved = (vm_host != self.orig) & self.placed
        stuck = 0
        if self.evacuate:
            on = vm_host[vm_host >= 0]
            stuck = int(np.count_nonzero(~self.enabled[on]))
        return {
            'overloaded': int(np.count_nonzero(exc > 0)),
            'stuck_on_disabled': stuck,
            'anti_affinity_broken': int(self.anti_affinity_broken(vm_host)),
            'hosts_used': int(np.count_nonzero(n > 0)),
            'migrations': int(np.count_nonzero(moved)),
            'soft_violations': int(self.soft_violations(vm_host)),
        }

    def weights(self):
        """(overload, host) weights of the lexicographic objective."""
        v_n = int(self.count.sum())
        w_host = (v_n + 1) * (1 + self.soft_weight) + 1
        return w_host * (self.model.n_hosts + v_n + 1) + 1, w_host

    def objective(self, vm_host, consolidate):
        """The MILP's objective, for any placement.

        Overloaded hosts and VMs left on disabled hosts (evacuating), then
        hosts used (when consolidating), then migrations plus weighted
        soft violations.
        """
        ev = self.evaluate(vm_host)
        w_over, w_host = self.weights()
        return (w_over * (ev['overloaded'] + ev['stuck_on_disabled'] +
                          ev['anti_affinity_broken']) +
                (w_host * ev['hosts_used'] if consolidate else 0) +
                ev['migrations'] + self.soft_weight * ev['soft_violations'])

    def allowed(self, i, host):
        """(H,) where item ``i`` may be (ignoring capacity and groups)."""
        ok = self.sig_mask[self.item_sig[i]] & self.enabled
        orig = self.orig[self.members[i]]
        if not self.evacuate:
            ok = ok.copy()
            ok[orig] = True
        return ok


class State:
    """An item placement with its per-host sums, for the heuristic."""

    def __init__(self, problem, item_host=None):
        p = self.p = problem
        self.item_host = p.item_orig.copy() if item_host is None \
            else item_host.copy()
        vm_host = p.vm_host_of(self.item_host)
        self.u, self.a, self.n = p.host_sums(vm_host)
        h = p.model.n_hosts
        self.gcount = {k: np.zeros((len(v), h))
                       for k, v in p.groups.items()}
        for kind, groups in p.groups.items():
            for gid, (items, counts) in enumerate(groups):
                for it, c in zip(items, counts):
                    np.add.at(self.gcount[kind][gid],
                              vm_host[p.members[it]], 1)
        #: (H, R) predicted peak per host, kept with ``u``.
        self.peak = self.u.max(axis=1)
        self.log = []

    def restore_split(self, i):
        """Put a split item back on its original hosts (undo the above)."""
        self._shift_split(i, 1, -2)

    def unplace_split(self, i):
        """Take a split item off its hosts (members on several hosts)."""
        self._shift_split(i, -1, -1)

    def _shift_split(self, i, sign, item_host):
        """Add (sign 1) or remove (sign -1) a split item on its hosts."""
        p = self.p
        mem = p.members[i]
        hosts = p.orig[mem]
        np.add.at(self.u, hosts, sign * p.model.usage_upper[mem])
        np.add.at(self.a, hosts, sign * p.model.flavor[mem])
        np.add.at(self.n, hosts, sign)
        for kind, gid, c in p.item_groups[i]:
            np.add.at(self.gcount[kind][gid], hosts, sign)
        self.item_host[i] = item_host
        self.peak[hosts] = self.u[hosts].max(axis=1)

    def move(self, i, dst, log=True):
        p = self.p
        src = self.item_host[i]
        if src >= 0:
            self.u[src] -= p.usage[i]
            self.a[src] -= p.flavor[i]
            self.n[src] -= p.count[i]
            for kind, gid, c in p.item_groups[i]:
                self.gcount[kind][gid][src] -= c
            self.peak[src] = self.u[src].max(axis=0)
        if dst >= 0:
            self.u[dst] += p.usage[i]
            self.a[dst] += p.flavor[i]
            self.n[dst] += p.count[i]
            for kind, gid, c in p.item_groups[i]:
                self.gcount[kind][gid][dst] += c
            self.peak[dst] = self.u[dst].max(axis=0)
        self.item_host[i] = dst
        if log:
            self.log.append((i, src))

    def mark(self):
        return len(self.log)

    def undo(self, mark):
        while len(self.log) > mark:
            i, src = self.log.pop()
            self.move(i, src, log=False)

    def host_excess(self, h):
        """(T, R), (R,), scalar: what host ``h`` has above its limits."""
        p = self.p
        return (np.maximum(self.u[h] - p.limit[h], 0),
                np.maximum(self.a[h] - p.pcap[h], 0),
                max(self.n[h] - p.maxn[h], 0.0))

    def overloaded(self):
        return self.p.excess(self.u, self.a, self.n) > 0

    def items_on(self, h):
        return np.flatnonzero(self.item_host == h)

    def candidates(self, i, exclude=None, only=None, usage=True,
                   fast=False):
        """(hosts,) where item ``i`` fits now, or a :class:`Blocked`.

        With ``usage=False`` the predicted-usage check is left out: the
        hosts that would fit once some of their items leave. With
        ``fast``, when some hosts fit even peak on peak, only those are
        returned (with None instead of their new usage), which saves the
        per-step check.
        """
        p = self.p
        src = self.item_host[i]
        ok = p.allowed(i, src)
        if not ok.any():
            return Blocked('availability zone/aggregate',
                           'no enabled host is in its availability zone '
                           'and aggregates')
        if src >= 0:
            ok[src] = False
        if exclude is not None:
            ok &= ~exclude
        if only is not None:
            ok &= only
        if not ok.any():
            return Blocked('availability zone/aggregate',
                           'no other enabled host is in its availability '
                           'zone and aggregates')
        for kind, gid, c in p.item_groups[i]:
            if kind == cluster.ANTI_AFFINITY:
                ok &= self.gcount[kind][gid] == 0
        if not ok.any():
            return Blocked('anti-affinity',
                           'every other eligible host already runs a '
                           'member of its anti-affinity server group')
        idx = np.flatnonzero(ok)
        fit_a = np.all(self.a[idx] + p.flavor[i] <= p.pcap[idx] * (1 + EPS)
                       + EPS, axis=1)
        if not fit_a.any():
            return Blocked('placement capacity',
                           'its flavor does not fit the Placement capacity '
                           '(capacity - reserved) x allocation ratio of any '
                           'eligible host')
        idx = idx[fit_a]
        fit_n = self.n[idx] + p.count[i] <= p.maxn[idx]
        if not fit_n.any():
            return Blocked('max_instances', 'every eligible host is at its '
                           'instance limit')
        idx = idx[fit_n]
        if fast and usage:
            sure = np.all(self.peak[idx] + p.usage[i].max(axis=0) <=
                          p.limit[idx], axis=1)
            if sure.any():
                return idx[sure], None
        new = self.u[idx] + p.usage[i]
        if not usage:
            return idx, new
        lim = p.limit[idx][:, None, :]
        fit_u = np.all(new <= lim * (1 + EPS) + EPS, axis=(1, 2))
        if not fit_u.any():
            room = (lim - self.u[idx]).min(axis=1).max(axis=0)
            need = p.usage[i].max(axis=0)
            cls = int(np.argmax(need - room))
            return Blocked(
                'threshold',
                'its predicted peak of %.4g %s does not fit under the '
                'threshold of any eligible host (largest headroom at the '
                'busiest step: %.4g)'
                % (need[cls], cluster.RESOURCE_CLASSES[cls], room[cls]))
        return idx[fit_u], new[fit_u]

    def choose(self, i, idx, new, pack):
        """The best of the fitting hosts ``idx`` for item ``i``."""
        p = self.p
        if new is None:
            peak = ((self.peak[idx] + p.usage[i].max(axis=0)) /
                    p._scale[idx]).max(axis=1)
        else:
            peak = (new.max(axis=1) / p._scale[idx]).max(axis=1)
        if pack:
            # Allocations count as a dimension of the fit too.
            peak = np.maximum(peak, ((self.a[idx] + p.flavor[i]) /
                                     np.maximum(p.pcap[idx], EPS)).max(1))
        # Prefer hosts already running VMs; then best fit when packing,
        # most headroom when balancing; soft groups as penalties.
        home = np.isin(idx, p.orig[p.members[i]])
        score = np.where((self.n[idx] > 0) | home, 0.0, 10.0)
        score += -peak if pack else peak
        for kind, gid, c in p.item_groups[i]:
            cnt = self.gcount[kind][gid][idx]
            if kind == cluster.SOFT_ANTI_AFFINITY:
                score += 2.0 * p.soft_weight * (cnt > 0)
            elif kind == cluster.SOFT_AFFINITY:
                score -= 2.0 * p.soft_weight * (cnt > 0)
        # Going back to an original host undoes a migration.
        score -= 5.0 * home
        return int(idx[np.argmin(score)])

    def place(self, i, pack, exclude=None, only=None):
        found = self.candidates(i, exclude=exclude, only=only,
                                fast=not pack)
        if isinstance(found, Blocked):
            return found
        dst = self.choose(i, found[0], found[1], pack)
        self.move(i, dst)
        return dst


def _relieve(state, h, pack, blocked, pinned=(), exclude=None):
    """Move the fewest items off overloaded host ``h``.

    ``pinned`` items stay; ``exclude`` (H,) hosts receive nothing.
    """
    p = state.p
    tried = set(pinned)
    while True:
        xu, xa, xn = state.host_excess(h)
        if not (xu.max() > EPS * p._scale[h].max() or xa.max() > EPS or
                xn > 0):
            return True
        cand = state.items_on(h)
        cand = cand[~p.frozen[cand]]
        cand = np.array([c for c in cand if c not in tried], dtype=np.int64)
        if not len(cand):
            return False
        lim = p._scale[h]
        now = ((xu / lim).sum() + (xa / np.maximum(p.pcap[h], EPS)).sum() +
               xn)
        resid = (np.maximum(xu - p.usage[cand], 0) / lim).sum(axis=(1, 2))
        resid += (np.maximum(xa - p.flavor[cand], 0) /
                  np.maximum(p.pcap[h], EPS)).sum(axis=1)
        resid += np.maximum(xn - p.count[cand], 0)
        # Moving an item that lowers no excess never helps.
        useful = resid < now * (1 - 1e-6)
        cand, resid = cand[useful], resid[useful]
        if not len(cand):
            return False
        # One item that clears the overload alone: the smallest such;
        # otherwise the one that clears the most.
        covers = resid <= EPS
        key = np.where(covers, p.size[cand], 1e6 + resid * 1e3 -
                       p.size[cand] * 1e-3)
        for c in cand[np.argsort(key, kind='stable')]:
            tried.add(int(c))
            got = state.place(int(c), pack, exclude=exclude)
            if isinstance(got, Blocked):
                blocked.setdefault(h, []).append((int(c), got))
                continue
            break
        else:
            return False


def _eject(state, h, pack, deadline, tries=4, hosts=4):
    """Ejection chains for an overloaded host that plain moves cannot fix.

    For each of the ``tries`` best items of ``h``, and each of the
    ``hosts`` eligible hosts with the most headroom: move the item there,
    then relieve that host of other items (never back onto ``h``); keep
    it when both succeed, else undo.
    """
    p = state.p
    h_n = len(state.n)
    while time.monotonic() < deadline:
        xu, xa, xn = state.host_excess(h)
        if not (xu.max() > EPS * p._scale[h].max() or xa.max() > EPS or
                xn > 0):
            return True
        cand = state.items_on(h)
        cand = cand[~p.frozen[cand]]
        if not len(cand):
            return False
        resid = (np.maximum(xu - p.usage[cand], 0) /
                 p._scale[h]).sum(axis=(1, 2))
        # Only items whose leaving lowers the predicted excess.
        useful = resid < (xu / p._scale[h]).sum() * (1 - 1e-6)
        if xa.max() > EPS or xn > 0:
            useful |= True
        cand, resid = cand[useful], resid[useful]
        if not len(cand):
            return False
        order = cand[np.lexsort((p.size[cand], resid))][:tries]
        progress = False
        for c in order:
            c = int(c)
            found = state.candidates(c, usage=False)
            if isinstance(found, Blocked):
                continue
            idx = found[0]
            room = ((p.limit[idx][:, None, :] - state.u[idx]) /
                    p._scale[idx][:, None, :]).min(axis=(1, 2))
            for d in idx[np.argsort(-room, kind='stable')][:hosts]:
                d = int(d)
                mark = state.mark()
                state.move(c, d)
                excl = np.zeros(h_n, dtype=bool)
                excl[[h, d]] = True
                if _relieve(state, d, pack, {}, pinned=(c,), exclude=excl):
                    progress = True
                    break
                state.undo(mark)
            if progress:
                break
        if not progress:
            return False


def _empty_hosts(state, deadline):
    """Consolidation: empty the least loaded hosts into the others."""
    p = state.p
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        scale = np.maximum(np.median(p._scale, axis=0), EPS)
        load = (state.u.max(axis=1) / scale).sum(axis=1)
        active = np.flatnonzero(state.n > 0)
        for h in active[np.argsort(load[active], kind='stable')]:
            if time.monotonic() >= deadline:
                break
            items = state.items_on(h)
            if not len(items) or p.frozen[items].any():
                continue
            mark = state.mark()
            ok = True
            for i in items[np.argsort(-p.size[items], kind='stable')]:
                only = state.n > 0
                only[h] = False
                if isinstance(state.place(int(i), True, only=only),
                              Blocked):
                    ok = False
                    break
            if ok:
                changed = True
            else:
                state.undo(mark)


def _return_home(state, eject=True):
    """Undo migrations that are not needed any more.

    With ``eject``, also bring an item home by moving on another migrated
    item that is in the way.
    """
    p = state.p
    moved = np.flatnonzero((state.item_host != p.item_orig) &
                           (p.item_orig >= 0))
    for i in moved[np.argsort(-p.size[moved], kind='stable')]:
        home = p.item_orig[i]
        if state.n[home] <= 0 and state.n[state.item_host[i]] > p.count[i]:
            continue   # would wake a host that packing freed
        only = np.zeros(len(state.n), dtype=bool)
        only[home] = True
        mark = state.mark()
        if not isinstance(state.place(int(i), False, only=only), Blocked):
            continue
        if not eject or state.n[home] <= 0:
            continue
        # Make room at home by moving on items that are not at home
        # either: never more migrations, and one fewer.
        found = state.candidates(int(i), only=only, usage=False)
        if isinstance(found, Blocked):
            continue
        src = state.item_host[i]
        state.move(int(i), home)
        pinned = [int(x) for x in state.items_on(home)
                  if p.item_orig[x] == home]
        exclude = state.n <= 0
        exclude[src] = False
        if not _relieve(state, home, True, {}, pinned=pinned,
                        exclude=exclude):
            state.undo(mark)


def _pack_fresh(problem, deadline, host_key, item_key, keep_home):
    """Consolidation from scratch: first fit decreasing.

    Items in decreasing ``item_key``; each goes to its original host when
    ``keep_home`` and that host is open, else best fit among open hosts,
    else opens the fitting host of largest ``host_key``.
    """
    p = problem
    state = State(p)
    movable = np.flatnonzero(~p.frozen)
    for i in movable:
        if state.item_host[i] >= 0:
            state.move(int(i), -1, log=False)
        elif state.item_host[i] == -2:
            state.unplace_split(int(i))
    h = p.model.n_hosts
    for i in movable[np.argsort(-item_key[movable], kind='stable')]:
        if time.monotonic() >= deadline:
            return None
        i = int(i)
        home = p.item_orig[i]
        if keep_home and home >= 0 and state.n[home] > 0:
            h_only = np.zeros(h, dtype=bool)
            h_only[home] = True
            if not isinstance(state.place(i, True, only=h_only), Blocked):
                continue
        if not isinstance(state.place(i, True, only=state.n > 0), Blocked):
            continue
        found = state.candidates(i)
        if isinstance(found, Blocked):
            return None
        idx = found[0]
        state.move(i, int(idx[np.argmax(host_key[idx])]))
    return state


def _repack_on(problem, hosts, deadline):
    """Pack every movable item on the ``hosts`` (H,) mask.

    Items go back on their original host where it is in the set, the rest
    best fit. None when they do not fit.
    """
    p = problem
    state = State(p)
    movable = np.flatnonzero(~p.frozen)
    for i in movable:
        if state.item_host[i] >= 0:
            state.move(int(i), -1, log=False)
        elif state.item_host[i] == -2:
            state.unplace_split(int(i))
    order = movable[np.argsort(-p.size[movable], kind='stable')]
    home = p.item_orig[order]
    at_home = home >= 0
    at_home[at_home] = hosts[home[at_home]]
    rest = []
    for i, h in zip(order[at_home], home[at_home]):
        only = np.zeros(len(hosts), dtype=bool)
        only[h] = True
        if isinstance(state.place(int(i), True, only=only), Blocked):
            rest.append(int(i))
    rest = sorted(rest + [int(i) for i in order[~at_home]],
                  key=lambda x: -p.size[x])
    for i in rest:
        if time.monotonic() >= deadline:
            return None
        if isinstance(state.place(i, True, only=hosts), Blocked):
            return None
    return state


def _home_sets(problem, state, deadline):
    """Try host sets no larger than ``state``'s, chosen to keep VMs home.

    Hosts in decreasing current load (then also load plus capacity), the
    shortest prefix that fits. Returns the best state found, or None.
    """
    p = problem
    h = p.model.n_hosts
    target = int(np.count_nonzero(state.n > 0))
    scale = np.maximum(np.median(p._scale, axis=0), EPS)
    room = (p.limit / scale).sum(axis=1)
    load = np.zeros(h)
    ok = p.item_orig >= 0
    np.add.at(load, p.item_orig[ok], p.size[ok])
    fixed = np.zeros(h, dtype=bool)
    for i in np.flatnonzero(p.frozen):
        fixed[p.orig[p.members[i]]] = True
    # No set smaller than what the total predicted peak needs.
    need = (p.usage.sum(axis=0) / scale).sum(axis=1).max()
    best = None
    for key in (load, load + room):
        order = np.argsort(-(key + 1e9 * fixed), kind='stable')
        order = order[p.enabled[order] | fixed[order]]
        cum = np.cumsum(room[order])
        k = max(int(np.searchsorted(cum, need * (1 - 1e-9))) + 1,
                int(fixed.sum()), 1)
        while k <= min(target, len(order)):
            if time.monotonic() >= deadline:
                return best
            hosts = np.zeros(h, dtype=bool)
            hosts[order[:k]] = True
            got = _repack_on(p, hosts, deadline)
            if got is not None:
                _return_home(got)
                if best is None or _rank(p, got) < _rank(p, best):
                    best = got
                break
            k += 1
    return best


def _fresh_starts(problem):
    """(host_key, item_key, keep_home) of the from-scratch packings."""
    p = problem
    h = p.model.n_hosts
    room = (p.limit / np.maximum(np.median(p._scale, axis=0), EPS)).sum(1)
    load = np.zeros(h)
    ok = p.item_orig >= 0
    np.add.at(load, p.item_orig[ok], p.size[ok])
    # Normalised sum over classes of each item's peak.
    scale = np.maximum(np.median(p._scale, axis=0), EPS)
    total = (p.usage.max(axis=1) / scale).sum(axis=1)
    big_first = room + 1e-6 * load
    loaded_first = load + 1e-6 * room
    return [(big_first, p.size, True), (big_first, p.size, False),
            (big_first, total, False), (loaded_first, p.size, True)]


def _neighbourhoods(state, consolidate, deadline, n_hosts, blocked,
                    best_effort=False):
    """Large-neighbourhood repair of the overloads left.

    For each overloaded host, the MILP over it and the ``n_hosts``
    eligible hosts with the most headroom, and the items on them; when
    that does not fix it, once more with twice as many hosts.
    """
    p = state.p
    h_n = len(state.n)
    for h in np.flatnonzero(state.overloaded()):
        if not state.overloaded()[h]:
            continue
        its = state.items_on(h)
        its = its[~p.frozen[its]]
        if not len(its):
            continue
        ok = np.logical_or.reduce(
            p.sig_mask[p.item_sig[its]] & p.enabled, axis=0)
        ok[h] = False
        for size in (n_hosts, 2 * n_hosts):
            left = deadline - time.monotonic()
            if left <= 0.05:
                return state
            room = ((p.limit[:, None, :] - state.u) /
                    p._scale[:, None, :]).min(axis=(1, 2))
            room[~ok] = -np.inf
            near = np.argsort(-room, kind='stable')[:size]
            near = near[np.isfinite(room[near])]
            hosts = np.zeros(h_n, dtype=bool)
            hosts[near] = True
            hosts[h] = True
            items = np.isin(state.item_host, np.flatnonzero(hosts))
            vm_host, info = exact(p, consolidate, min(left, 5.0),
                                  item_host=state.item_host, items=items,
                                  hosts=hosts)
            if vm_host is None:
                continue
            trial = State(p, info['item_host'])
            if _rank(p, trial, best_effort) < _rank(p, state, best_effort):
                state = trial
            if not state.overloaded()[h]:
                blocked.pop(int(h), None)
                break
    return state


def _undo_futile(state):
    """Bring back the items moved off hosts that stay overloaded.

    Their migrations would not remove the overload (the objective counts
    overloaded hosts, not by how much), so they are not worth making;
    the host is reported as a shortfall instead.
    """
    p = state.p
    for h in np.flatnonzero(state.overloaded()):
        if p.evacuate and not p.enabled[h]:
            continue
        gone = np.flatnonzero((p.item_orig == h) & (state.item_host != h) &
                              (state.item_host >= 0))
        for i in gone:
            if any(kind == cluster.ANTI_AFFINITY and
                   state.gcount[kind][gid][h] > 0
                   for kind, gid, _c in p.item_groups[i]):
                continue
            if np.any(state.a[h] + p.flavor[i] > p.pcap[h] * (1 + EPS) +
                      EPS) or state.n[h] + p.count[i] > p.maxn[h]:
                continue
            state.move(int(i), int(h))


def _rank(problem, state, best_effort=False):
    """Lexicographic rank of a placement (lower is better).

    With ``best_effort``, the total overload left (summed over hosts,
    steps and classes) comes right after the count of overloaded hosts.
    """
    ev = problem.evaluate(problem.vm_host_of(state.item_host))
    first = (ev['overloaded'] + ev['stuck_on_disabled'] +
             ev['anti_affinity_broken'],)
    if best_effort:
        first += (round(float(problem.residual(state.u, state.a,
                                               state.n).sum()), 9),)
    return first + (ev['hosts_used'], ev['migrations'] +
                    problem.soft_weight * ev['soft_violations'])


def _free_hosts(state, deadline, n_hosts, best_effort=False):
    """Consolidation by large neighbourhoods.

    For each lightly loaded host, the MILP over it and the ``n_hosts``
    active hosts with the most headroom; kept when it uses fewer hosts.
    """
    p = state.p
    h_n = len(state.n)
    tried = set()
    best = _rank(p, state, best_effort)
    while True:
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        load = (state.u.max(axis=1) / p._scale).max(axis=1)
        active = np.flatnonzero(state.n > 0)
        active = [h for h in active[np.argsort(load[active], kind='stable')]
                  if h not in tried]
        if not active:
            break
        h = int(active[0])
        tried.add(h)
        its = state.items_on(h)
        if not len(its) or p.frozen[its].any():
            continue
        ok = np.logical_or.reduce(
            p.sig_mask[p.item_sig[its]] & p.enabled, axis=0) & (state.n > 0)
        ok[h] = False
        room = ((p.limit[:, None, :] - state.u) /
                p._scale[:, None, :]).min(axis=(1, 2))
        room[~ok] = -np.inf
        near = np.argsort(-room, kind='stable')[:n_hosts]
        near = near[np.isfinite(room[near])]
        if not len(near):
            continue
        hosts = np.zeros(h_n, dtype=bool)
        hosts[near] = True
        hosts[h] = True
        items = np.isin(state.item_host, np.flatnonzero(hosts))
        vm_host, info = exact(p, True, min(left, 1.0),
                              item_host=state.item_host, items=items,
                              hosts=hosts)
        if vm_host is None:
            continue
        trial = State(p, info['item_host'])
        rank = _rank(p, trial, best_effort)
        if rank < best:
            state, best = trial, rank
    return state


def heuristic(problem, consolidate=False, time_limit=10.0, lns_hosts=8,
              best_effort=False):
    """The fast path.

    Relieves each overloaded host with the fewest moves, then tries
    ejection chains, then (with ``lns_hosts``) a MILP over small
    neighbourhoods of the hosts still overloaded, all within
    ``time_limit`` seconds.

    With ``best_effort``, the moves off a host that stays overloaded are
    kept: each lowers its predicted excess without overloading its
    destination, so the overload left is as small as the greedy relief
    makes it. Without, they are undone (the host is only reported).

    :returns: (vm_host, {host: [(item, Blocked)]}, unplaced split items).
    """
    p = problem
    deadline = time.monotonic() + time_limit
    state = State(p)
    blocked = {}
    # Split affinity groups and VMs to evacuate must move first.
    must = []
    for i in np.flatnonzero((p.item_orig == -2) & ~p.frozen):
        state.unplace_split(int(i))
        must.append(int(i))
    failed = []
    for i in sorted(must, key=lambda x: -p.size[x]):
        got = state.place(i, consolidate)
        if isinstance(got, Blocked):
            # Left as it was, and fixed from now on.
            state.restore_split(i)
            p.frozen[i] = True
            failed.append((i, got))
    # Anti-affinity groups already broken: move the extra members.
    for gid, (gitems, _counts) in enumerate(
            p.groups[cluster.ANTI_AFFINITY]):
        for h in np.flatnonzero(state.gcount[cluster.ANTI_AFFINITY][gid] >
                                1):
            extra = [int(x) for x in gitems
                     if state.item_host[x] == h and not p.frozen[x]]
            for i in extra[1:]:
                if state.gcount[cluster.ANTI_AFFINITY][gid][h] > 1:
                    state.place(i, consolidate)
    if p.evacuate:
        off = ~p.enabled
        for i in np.flatnonzero(off[np.maximum(state.item_host, 0)] &
                                (state.item_host >= 0) & ~p.frozen):
            got = state.place(int(i), consolidate)
            if isinstance(got, Blocked):
                blocked.setdefault(int(state.item_host[i]), []).append(
                    (int(i), got))
    # Overloaded hosts, the worst first.
    exc = p.excess(state.u, state.a, state.n)
    for h in np.argsort(-exc, kind='stable'):
        if exc[h] <= 0:
            break
        _relieve(state, int(h), consolidate, blocked)
    for h in np.flatnonzero(state.overloaded()):
        if _eject(state, int(h), consolidate, deadline):
            blocked.pop(int(h), None)
    if lns_hosts:
        state = _neighbourhoods(state, consolidate, deadline, lns_hosts,
                                blocked, best_effort)
    if not best_effort:
        _undo_futile(state)
    if consolidate:
        _empty_hosts(state, deadline)
    _return_home(state)
    best = state
    if consolidate:
        for host_key, item_key, keep_home in _fresh_starts(p):
            if time.monotonic() >= deadline:
                break
            fresh = _pack_fresh(p, deadline, host_key, item_key, keep_home)
            if fresh is None:
                continue
            _empty_hosts(fresh, deadline)
            _return_home(fresh)
            if _rank(p, fresh, best_effort) < _rank(p, best, best_effort):
                best = fresh
            again = _repack_on(p, fresh.n > 0, deadline)
            if again is not None:
                _return_home(again)
                if _rank(p, again, best_effort) < \
                        _rank(p, best, best_effort):
                    best = again
        homes = _home_sets(p, best, deadline)
        if homes is not None and _rank(p, homes, best_effort) < \
                _rank(p, best, best_effort):
            best = homes
        if lns_hosts:
            best = _free_hosts(best, deadline, lns_hosts, best_effort)
            _return_home(best)
    item_host = best.item_host.copy()
    # A split item that found no host keeps its original placement.
    for i, _why in failed:
        if item_host[i] == -1:
            item_host[i] = -2
    return p.vm_host_of(item_host), blocked, failed


def exact(problem, consolidate=False, time_limit=30.0, item_host=None,
          items=None, hosts=None):
    """The MILP (HiGHS through scipy.optimize.milp).

    Binary x[i, h] per item and allowed host, binary o[h] for a host left
    overloaded, binary y[h] for a used host when consolidating,
    continuous penalties for the soft server groups. Lexicographic
    weights: overloaded hosts, then hosts used, then migrations plus soft
    penalties.

    With ``items`` (I,) and ``hosts`` (H,) masks it solves the
    neighbourhood of ``item_host`` (a current item placement): only those
    items move, only onto those hosts; everything else is background.

    :returns: (vm_host or None, info dict).
    """
    p = problem
    m = p.model
    h_n, t_n = m.n_hosts, m.horizon
    r_n = len(cluster.RESOURCE_CLASSES)
    cur = p.item_orig if item_host is None else item_host
    movable = ~p.frozen & (p.count > 0)
    if items is not None:
        movable &= items
    mov = np.flatnonzero(movable)
    if not len(mov):
        return p.vm_host_of(cur), {'status': 0, 'message': 'nothing movable',
                                   'variables': 0, 'constraints': 0,
                                   'optimality_gap': 0.0,
                                   'item_host': cur.copy()}
    # Background: everything else stays where it is.
    bg_host = p.vm_host_of(cur)
    bg_host[np.isin(p.vm_item, mov)] = -1
    bg_u, bg_a, bg_n = p.host_sums(bg_host)
    # Columns x: allowed (item, host) pairs.
    allow = np.array([p.allowed(i, -1) for i in mov],
                     dtype=bool).reshape(len(mov), h_n)
    vi = p.vm_item
    placed = np.flatnonzero(p.placed)
    cnt = np.zeros((p.n_items, h_n))
    np.add.at(cnt, (vi[placed], p.orig[placed]), 1)
    # Staying home is always possible (at a cost, on a disabled host when
    # evacuating), so the model is never infeasible for that reason.
    allow |= cnt[mov] > 0
    if hosts is not None:
        allow &= hosts
    pi, ph = np.nonzero(allow)
    items = mov[pi]
    nx = len(pi)
    col = 0
    x0 = col
    col += nx
    o0 = col
    col += h_n
    y0 = col
    if consolidate:
        col += h_n
    groups_aa = p.groups[cluster.ANTI_AFFINITY]
    groups_sa = p.groups[cluster.SOFT_ANTI_AFFINITY]
    groups_sf = p.groups[cluster.SOFT_AFFINITY]
    z0 = col
    col += len(groups_sa) * h_n
    w0 = col
    col += len(groups_sf) * h_n
    # Anti-affinity already broken in ``cur`` may stay so, at a price.
    vm_cur = p.vm_host_of(cur)
    aa_slack = []
    for gid, (gitems, _counts) in enumerate(groups_aa):
        if not len(gitems):
            continue
        mem = np.concatenate([p.members[it] for it in gitems])
        on = vm_cur[mem]
        hc = np.bincount(on[on >= 0], minlength=h_n)
        aa_slack += [(gid, h, hc[h] - 1) for h in np.flatnonzero(hc > 1)]
    e0 = col
    col += len(aa_slack)
    n_col = col
    w_soft = p.soft_weight
    w_over, w_host = p.weights()
    c = np.zeros(n_col)
    # Migrations: members of the item not already on the host.
    home = cnt[items, ph]
    c[x0:x0 + nx] = p.count[items] - home
    if p.evacuate:
        c[x0:x0 + nx] += w_over * home * ~p.enabled[ph]
    c[o0:o0 + h_n] = w_over
    if consolidate:
        c[y0:y0 + h_n] = w_host
    c[z0:w0] = w_soft
    c[w0:n_col] = w_soft
    rows, cols, vals, lo, hi = [], [], [], [], []
    nrow = 0

    def add(r_idx, c_idx, v, lower, upper):
        nonlocal nrow
        rows.append(np.asarray(r_idx) + nrow)
        cols.append(np.asarray(c_idx))
        vals.append(np.asarray(v, dtype=float))
        lo.append(np.asarray(lower, dtype=float))
        hi.append(np.asarray(upper, dtype=float))
        nrow += len(lower)

    # Each movable item on exactly one host.
    pos = np.searchsorted(mov, items)
    add(pos, x0 + np.arange(nx), np.ones(nx), np.ones(len(mov)),
        np.ones(len(mov)))
    # Predicted usage per host, step and class, with the overload flag.
    room = p.limit[:, None, :] - bg_u
    r_id = (ph[:, None, None] * t_n + np.arange(t_n)[None, :, None]) * r_n \
        + np.arange(r_n)[None, None, :]
    coef = p.usage[items]
    tot = np.zeros((h_n, t_n, r_n))
    np.add.at(tot, ph, coef)
    big = np.maximum(tot - room, 0)
    if consolidate:
        # sum u x <= room y: the strong form, rows for every host in play.
        need = np.zeros((h_n, t_n, r_n), dtype=bool)
        need[np.unique(ph)] = True
        need = need.reshape(-1)
    else:
        need = (big > EPS).reshape(-1)
    keep = np.flatnonzero(need)
    remap = np.full(h_n * t_n * r_n, -1)
    remap[keep] = np.arange(len(keep))
    rr = remap[r_id.reshape(nx, -1)]
    sel = rr >= 0
    jj = np.broadcast_to(np.arange(nx)[:, None], rr.shape)
    kh = keep // (t_n * r_n)
    k_n = len(keep)
    r_all = [rr[sel], np.arange(k_n)]
    c_all = [x0 + jj[sel], o0 + kh]
    v_all = [coef.reshape(nx, -1)[sel], -big.reshape(-1)[keep]]
    rhs = room.reshape(-1)[keep]
    if consolidate:
        r_all.append(np.arange(k_n))
        c_all.append(y0 + kh)
        v_all.append(-rhs)
        rhs = np.zeros(k_n)
    add(np.concatenate(r_all), np.concatenate(c_all), np.concatenate(v_all),
        np.full(k_n, -np.inf), rhs)
    # Placement capacity and instance limits.
    room_a = p.pcap - bg_a
    tot_a = np.zeros((h_n, r_n))
    np.add.at(tot_a, ph, p.flavor[items])
    big_a = np.maximum(tot_a - room_a, 0)
    keep = np.flatnonzero((big_a > EPS).reshape(-1))
    remap = np.full(h_n * r_n, -1)
    remap[keep] = np.arange(len(keep))
    rr = remap[(ph[:, None] * r_n + np.arange(r_n)[None, :])]
    sel = rr >= 0
    jj = np.broadcast_to(np.arange(nx)[:, None], rr.shape)
    add(np.concatenate([rr[sel], np.arange(len(keep))]),
        np.concatenate([x0 + jj[sel], o0 + keep // r_n]),
        np.concatenate([p.flavor[items][sel], -big_a.reshape(-1)[keep]]),
        np.full(len(keep), -np.inf), room_a.reshape(-1)[keep])
    room_n = p.maxn - bg_n
    tot_n = np.bincount(ph, weights=p.count[items], minlength=h_n)
    lim_h = np.flatnonzero(np.isfinite(room_n) & (tot_n > room_n))
    if len(lim_h):
        remap = np.full(h_n, -1)
        remap[lim_h] = np.arange(len(lim_h))
        sel = remap[ph] >= 0
        add(np.concatenate([remap[ph][sel], np.arange(len(lim_h))]),
            np.concatenate([x0 + np.flatnonzero(sel), o0 + lim_h]),
            np.concatenate([p.count[items][sel],
                            -(tot_n - room_n)[lim_h]]),
            np.full(len(lim_h), -np.inf), room_n[lim_h])
    # A host left overloaded receives nothing new: x[i, h] + o[h] <= 1.
    vm_cur = p.vm_host_of(cur)
    cnt_cur = np.zeros((p.n_items, h_n))
    np.add.at(cnt_cur, (vi[placed], vm_cur[placed]), 1)
    new_in = np.flatnonzero(cnt_cur[items, ph] < p.count[items])
    if len(new_in):
        k = len(new_in)
        add(np.concatenate([np.arange(k), np.arange(k)]),
            np.concatenate([x0 + new_in, o0 + ph[new_in]]),
            np.ones(2 * k), np.full(k, -np.inf), np.ones(k))
    # Hard anti-affinity: at most one member per host.
    bg_g = {}
    for kind, groups in p.groups.items():
        for gid, (gitems, _counts) in enumerate(groups):
            fixed = gitems[~movable[gitems]]
            arr = np.zeros(h_n)
            for it in fixed:
                np.add.at(arr, bg_host[p.members[it]], 1)
            bg_g[(kind, gid)] = arr
    for gid, (gitems, _counts) in enumerate(groups_aa):
        sel = np.flatnonzero(np.isin(items, gitems))
        if not len(sel):
            continue
        slack = [(h, k) for k, (g, h, _ub) in enumerate(aa_slack)
                 if g == gid]
        add(np.concatenate([ph[sel], [h for h, _k in slack]]),
            np.concatenate([x0 + sel, [e0 + k for _h, k in slack]]),
            np.concatenate([np.ones(len(sel)), -np.ones(len(slack))]),
            np.full(h_n, -np.inf), 1 - bg_g[(cluster.ANTI_AFFINITY, gid)])
    # Soft anti-affinity: z[g, h] >= members on h - 1.
    for gid, (gitems, counts) in enumerate(groups_sa):
        sel = np.flatnonzero(np.isin(items, gitems))
        mult = counts[np.searchsorted(gitems, items[sel])]
        bgc = bg_g[(cluster.SOFT_ANTI_AFFINITY, gid)]
        add(np.concatenate([ph[sel], np.arange(h_n)]),
            np.concatenate([x0 + sel, z0 + gid * h_n + np.arange(h_n)]),
            np.concatenate([mult, -np.ones(h_n)]),
            np.full(h_n, -np.inf), 1 - bgc)
    # Soft affinity: w[g, h] >= x[i, h]; penalty sum_h w - 1.
    for gid, (gitems, _counts) in enumerate(groups_sf):
        sel = np.flatnonzero(np.isin(items, gitems))
        n_s = len(sel)
        add(np.concatenate([np.arange(n_s), np.arange(n_s)]),
            np.concatenate([x0 + sel, w0 + gid * h_n + ph[sel]]),
            np.concatenate([np.ones(n_s), -np.ones(n_s)]),
            np.full(n_s, -np.inf), np.zeros(n_s))
        bgc = bg_g[(cluster.SOFT_AFFINITY, gid)]
        if bgc.any():
            add(np.arange(h_n), w0 + gid * h_n + np.arange(h_n),
                np.ones(h_n), np.minimum(bgc, 1), np.full(h_n, np.inf))
    if consolidate:
        add(np.concatenate([np.arange(nx), np.arange(nx)]),
            np.concatenate([x0 + np.arange(nx), y0 + ph]),
            np.concatenate([np.ones(nx), -np.ones(nx)]),
            np.full(nx, -np.inf), np.zeros(nx))
    lb = np.zeros(n_col)
    ub = np.ones(n_col)
    ub[z0:w0] = np.inf
    for k, (_g, _h, top) in enumerate(aa_slack):
        ub[e0 + k] = top
    c[e0:e0 + len(aa_slack)] = w_over
    if consolidate:
        lb[y0:y0 + h_n] = (bg_n > 0).astype(float)
    integrality = np.zeros(n_col)
    integrality[x0:y0 + (h_n if consolidate else 0)] = 1
    a_mat = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(nrow, n_col))
    res = optimize.milp(
        c, constraints=optimize.LinearConstraint(
            a_mat, np.concatenate(lo), np.concatenate(hi)),
        integrality=integrality, bounds=optimize.Bounds(lb, ub),
        options={'time_limit': float(time_limit), 'mip_rel_gap': 1e-6,
                 'disp': False})
    info = {'status': int(res.status), 'message': str(res.message),
            'variables': int(n_col), 'constraints': int(nrow),
            'optimality_gap': getattr(res, 'mip_gap', None)}
    if res.x is None:
        split = movable & (p.item_orig == -2)
        if res.status == 2 and split.any():
            # A split affinity group that fits on no host: keep it as it
            # is (reported as a shortfall) and solve the rest.
            keep = ~split if items is None else items & ~split
            vm_host, info = exact(problem, consolidate, time_limit,
                                  item_host=item_host, items=keep,
                                  hosts=hosts)
            info['split_left'] = int(split.sum())
            return vm_host, info
        return None, info
    xs = res.x[x0:x0 + nx] > 0.5
    item_host = cur.copy()
    item_host[items[xs]] = ph[xs]
    info['item_host'] = item_host
    # Soft-affinity w counts from 1; report the objective that way.
    info['objective'] = float(res.fun) - w_soft * len(groups_sf)
    if info['optimality_gap'] is not None:
        info['optimality_gap'] = float(info['optimality_gap'])
    return p.vm_host_of(item_host), info
