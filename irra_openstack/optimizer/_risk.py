"""Risk-driven host rebalancing: the migrations that are worth their cost.

The threshold objective (:mod:`._packing`) moves VMs until no host's
predicted *upper bound* passes ``threshold x capacity``. It acts on one
quantile: a host whose 95 % bound touches 80 % of its cores is moved from
whether its actual load could reach 100 % in one scenario out of a
thousand or in every other one, and when every host's bound is above the
threshold (a busy cluster with wide intervals) no destination is left and
nothing moves, however unevenly the load is spread.

The risk objective prices what the metrics count instead:

* each VM's usage over the horizon comes as ``S`` equally likely joint
  scenarios (:attr:`.model.ClusterModel.usage_samples`, for example the
  point forecast plus the back-test residuals of one past origin for
  every VM); a host's scenarios are the sums of its VMs', so that VMs
  that burst together count together;
* a host is *overloaded* at a step of a scenario when some resource class
  passes ``level x capacity`` (1.0: the host is saturated);
* its *risk* is the expected overloaded minutes over the horizon:
  ``step minutes x sum over steps of the share of scenarios in which it
  is overloaded``;
* migrations are made only where they lower the total risk of all hosts
  by more than ``move_cost`` minutes each (plus the model's
  ``move_penalty`` of the VM, if any).

Search (greedy, vectorised over the scenarios, steps and destinations):
the hosts whose risk is above ``move_cost`` are taken the riskiest first.
For each, a chain of up to ``max_chain`` moves off it is built, each move
the one (VM, destination) that lowers the summed risk and *severity* (the
expected overload above the level, as a share of it, in minutes: what
still goes down when a deeply overloaded host sheds one VM but stays
overloaded) of the source and the destination the most, net of the
move's cost, plus a bonus for the room the destination keeps
(:data:`_ROOM_WEIGHT`). The prefix of the chain with the largest risk
reduction minus ``move_cost`` per migration is kept, if that is positive;
the rest is undone. Destinations obey every
hard rule of the threshold objective (availability zones, aggregates,
disabled hosts, anti-affinity, Placement capacity, max_instances); a VM
moves at most once per plan.
"""

import time

import numpy as np

from irra_openstack.optimizer import _packing

#: Relative overload below which a host does not count as overloaded.
EPS = 1e-9
#: Weight (minutes) of a destination's headroom in the score of a move:
#: the mean over scenarios of its peak load, as a share of its level, is
#: worth up to this many minutes of expected overload. The scenarios come
#: from a short calibration window and miss the rare large bursts, so the
#: moves are chosen towards the hosts with room, and a host whose chain
#: of such moves is not worth its cost is left alone rather than relieved
#: onto hosts with little room (on Bitbrains, 8 days: 4,570 overloaded
#: host-minutes with 10, 4,865 with 2, 4,905 with 30, against 5,610 with
#: a mere tie-break of 0.001; 5,515 and 5,675 when the moves to busy
#: hosts were tried too).
_ROOM_WEIGHT = 10.0
#: Score bonus of a destination that already runs VMs (a tie-break that
#: keeps empty hosts empty).
_ACTIVE_BONUS = 1e-6


class RiskSearch(object):
    """One risk-driven rebalancing search on a :class:`._packing.Problem`.

    :param problem: the problem (items, hard rules).
    :param level: share of capacity above which a host is overloaded,
        scalar or (R,).
    :param move_cost: minutes of expected overload a migration must save.
    :param max_chain: most moves off one host in one chain.
    :param lead_steps: steps at the start of the horizon that a migration
        planned now cannot change any more (it is still running then);
        they are left out of the risk.
    """

    def __init__(self, problem, level=1.0, move_cost=1.0, max_chain=4,
                 lead_steps=0):
        p = self.p = problem
        m = p.model
        self.move_cost = float(move_cost)
        self.max_chain = max(1, int(max_chain))
        self.minutes = m.step / 60.0
        self.lead_steps = min(max(0, int(lead_steps)), m.horizon - 1)
        samples = m.samples()[:, :, self.lead_steps:]
        placed = np.flatnonzero(p.placed)
        limit = np.broadcast_to(np.asarray(level, dtype=float),
                                m.capacity.shape) * m.capacity
        host = np.zeros((m.n_hosts,) + samples.shape[1:])
        np.add.at(host, p.orig[placed], samples[placed])
        item = np.zeros((p.n_items,) + samples.shape[1:])
        np.add.at(item, p.vm_item[placed], samples[placed])
        # Only the classes that one move could push past their level.
        top = host.max(axis=(0, 1, 2)) + (item.max(axis=(0, 1, 2))
                                          if p.n_items else 0.0)
        cls = np.flatnonzero(top > limit.min(axis=0) * (1 + EPS))
        self.classes = cls
        self.limit = np.maximum(limit[:, cls], EPS)       # (H, C)
        self.host = host[..., cls]                        # (H, S, T, C)
        self.item = item[..., cls]                        # (I, S, T, C)
        #: (I,) cost of moving each item: ``move_cost`` per VM plus the
        #: model's ``move_penalty`` of its VMs.
        self.cost = self.move_cost * p.count
        if m.move_penalty is not None:
            np.add.at(self.cost, p.vm_item[placed], m.move_penalty[placed])
        self.state = _packing.State(p)
        self.moved = np.zeros(p.n_items, dtype=bool)
        self.risk, self.severity = self._score(self.host, self.limit)
        #: [(item, source, destination, risk saved)] of the kept moves.
        self.log = []

    def _score(self, load, limit):
        """Risk and severity (minutes) of host scenarios ``load``.

        :param load: (..., S, T, C); ``limit`` (..., C).
        """
        if not len(self.classes):
            shape = load.shape[:-3]
            return np.zeros(shape), np.zeros(shape)
        lim = limit[..., None, None, :]
        excess = (load - lim) / lim
        over = (excess > EPS).any(axis=-1)                  # (..., S, T)
        risk = over.mean(axis=-2).sum(axis=-1) * self.minutes
        sev = np.maximum(excess, 0).max(axis=-1)
        severity = sev.mean(axis=-2).sum(axis=-1) * self.minutes
        return risk, severity

    def total(self):
        """Expected overloaded host-minutes of the current placement."""
        return float(self.risk.sum())

    def _move(self, i, dst):
        src = int(self.state.item_host[i])
        self.host[src] -= self.item[i]
        self.host[dst] += self.item[i]
        self.state.move(i, dst)
        for h in (src, dst):
            r, s = self._score(self.host[h], self.limit[h])
            self.risk[h], self.severity[h] = r, s

    def _best_move(self, h):
        """(item, destination, risk saved, score) of the best move off h."""
        p, state = self.p, self.state
        items = state.items_on(h)
        items = items[~p.frozen[items] & ~self.moved[items]]
        pairs_i, pairs_d = [], []
        for i in items:
            found = state.candidates(int(i), usage=False)
            if isinstance(found, _packing.Blocked):
                continue
            pairs_i.append(np.full(len(found[0]), i))
            pairs_d.append(found[0])
        if not pairs_i:
            return None
        ii = np.concatenate(pairs_i)
        dd = np.concatenate(pairs_d)
        uniq, pos = np.unique(ii, return_inverse=True)
        src_risk, src_sev = self._score(self.host[h] - self.item[uniq],
                                        self.limit[h])
        after = self.host[dd] + self.item[ii]
        dst_risk, dst_sev = self._score(after, self.limit[dd])
        saved = (self.risk[h] - src_risk[pos]) + (self.risk[dd] - dst_risk)
        eased = (self.severity[h] - src_sev[pos]) + (
            self.severity[dd] - dst_sev)
        useful = saved + eased > EPS
        if not useful.any():
            return None
        peak = (after / self.limit[dd][:, None, None, :]).max(
            axis=(2, 3)).mean(axis=1)
        score = saved + eased - self.cost[ii] + \
            _ROOM_WEIGHT * (1.0 - peak) + _ACTIVE_BONUS * (state.n[dd] > 0)
        score = np.where(useful, score, -np.inf)
        best = int(np.argmax(score))
        return int(ii[best]), int(dd[best]), float(saved[best]), \
            float(score[best])

    def _chain(self, h):
        """Relieve host h by the best prefix of a chain; True if kept."""
        done = []
        saved = 0.0
        cost = 0.0
        best_value, best_len = 0.0, 0
        for _ in range(self.max_chain):
            if self.risk[h] <= EPS:
                break
            got = self._best_move(h)
            if got is None:
                break
            i, dst, gain, _score = got
            done.append((i, h, dst, gain))
            self._move(i, dst)
            self.moved[i] = True
            saved += gain
            cost += self.cost[i]
            value = saved - cost
            if value > best_value + EPS:
                best_value, best_len = value, len(done)
        for i, src, _dst, _gain in reversed(done[best_len:]):
            self._move(i, src)
            self.moved[i] = False
        self.log.extend(done[:best_len])
        return best_len > 0

    def run(self, deadline):
        """Search until nothing is worth its cost or ``deadline``."""
        tried = set()
        while time.monotonic() < deadline:
            hot = np.flatnonzero(self.risk > self.move_cost)
            hot = [int(h) for h in hot[np.argsort(-self.risk[hot],
                                                  kind='stable')]
                   if int(h) not in tried]
            if not hot:
                break
            h = hot[0]
            if not self._chain(h):
                tried.add(h)
        return self.p.vm_host_of(self.state.item_host)

    def host_risk(self, vm_host=None):
        """(H,) risk (expected overloaded minutes) of a VM placement."""
        m = self.p.model
        if vm_host is None:
            return self.risk.copy()
        samples = m.samples()[:, :, self.lead_steps:][..., self.classes]
        load = np.zeros((m.n_hosts,) + samples.shape[1:])
        placed = vm_host >= 0
        np.add.at(load, vm_host[placed], samples[placed])
        return self._score(load, self.limit)[0]
