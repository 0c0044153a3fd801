"""Host rebalancing: the fewest live migrations that remove predicted
overloads, and optional consolidation to free hosts.

A host is *overloaded* when, at some step of the forecast horizon and for
some resource class, the sum of its VMs' predicted upper bounds passes
``threshold × capacity``. :class:`HostRebalancer` finds a new placement
in which no host is overloaded, with as few migrations as it can, while
respecting:

- server groups: affinity and anti-affinity are hard; soft-affinity and
  soft-anti-affinity are penalised (``soft_weight`` migrations each);
- availability zones and aggregates (a VM stays in its zone, and in
  hosts of all its aggregates);
- disabled or maintenance hosts: nothing moves in; with
  ``evacuate=True`` their VMs move out;
- Placement capacity: flavor allocations under ``(capacity - reserved)
  × allocation ratio``, and ``max_instances``.

Two solvers: an exact MILP (HiGHS through :func:`scipy.optimize.milp`) for
small clusters, and a vectorised heuristic (fewest-items relief of each
overloaded host, best or worst fit over every host at once, host emptying
and first-fit decreasing for consolidation, then undoing migrations that
turned out unnecessary). ``method='auto'`` picks the MILP up to
``exact_max_vms`` VMs.

What cannot be fixed is reported as :class:`~.actions.Shortfall` entries
that name the blocking constraint; the planner never raises on a
well-formed but impossible model, and never breaks a hard rule to remove
an overload.

``objective='risk'`` replaces the threshold on the upper bound by a price
(:mod:`._risk`): with joint usage scenarios of the VMs
(``ClusterModel.usage_samples``), a migration is made only where it lowers
the expected overloaded host-minutes (load above ``risk_level`` x
capacity) of its source and destination by more than ``move_cost``
minutes, under the same hard rules.
"""

import time

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import _packing
from irra_openstack.optimizer import _risk
from irra_openstack.optimizer import actions
from irra_openstack.optimizer import model as cluster
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

METHODS = ('auto', 'exact', 'heuristic')
OBJECTIVES = ('threshold', 'risk')
#: Largest VMs x hosts that method='exact' accepts.
MAX_EXACT_PAIRS = 2000000


class RebalanceError(exception.IrraError):
    msg_fmt = "Cannot plan host rebalancing: %(reason)s"


class HostRebalancer(plugins.Plugin):
    """Fewest migrations that remove every predicted host overload.

    :param threshold: share of physical capacity that predicted usage may
        reach, one number or one per resource class (VCPU, MEMORY_MB,
        DISK_GB); None uses the model's own ``threshold``.
    :param consolidate: also empty hosts when the forecast allows,
        minimising hosts used first and migrations second.
    :param method: ``exact`` (MILP), ``heuristic``, or ``auto``.
    :param exact_max_vms: ``auto`` uses the MILP up to this many VMs.
    :param time_limit: seconds for the MILP, and for the heuristic's
        consolidation passes.
    :param seed: kept for reproducible tie-breaking in future solvers;
        both solvers are deterministic today.
    :param evacuate: move the VMs off disabled (maintenance) hosts.
    :param soft_weight: cost of one soft server-group violation, in
        migrations.
    :param neighbourhood: hosts around each host that the heuristic
        could not fix (or, consolidating, could not empty) given to a
        small MILP; 0 for the pure greedy heuristic.
    :param best_effort: when a host's overload cannot be removed entirely,
        the heuristic still makes the moves that lower it (each one to a
        host that stays under its limits) and reports what is left as a
        shortfall; False moves nothing off such a host.
    :param objective: ``threshold`` (keep every host's upper bound under
        its threshold with the fewest migrations) or ``risk`` (make the
        migrations that lower the expected overloaded host-minutes by
        more than ``move_cost`` each; see :mod:`._risk`). ``risk`` uses
        neither ``threshold``, ``consolidate``, ``method`` nor
        ``evacuate``.
    :param move_cost: with ``risk``, the expected overloaded minutes a
        migration must save to be made.
    :param risk_level: with ``risk``, the share of a host's capacity
        above which it counts as overloaded (1.0: saturated).
    :param lead_steps: with ``risk``, the first steps of the horizon,
        which a migration planned now cannot change any more (it is
        still running then): left out of the risk.
    """

    name = 'rebalance'
    description = ('Fewest live migrations that remove predicted host '
                   'overloads (MILP or heuristic), optionally consolidating.')

    def __init__(self, threshold=None, consolidate=False, method='auto',
                 exact_max_vms=60, time_limit=30.0, seed=0, evacuate=False,
                 soft_weight=0.5, neighbourhood=8, best_effort=True,
                 objective='threshold', move_cost=1.0, risk_level=1.0,
                 lead_steps=0):
        if objective not in OBJECTIVES:
            raise RebalanceError(reason="objective must be one of %s, got "
                                 "%r" % (', '.join(OBJECTIVES), objective))
        if objective == 'risk' and (consolidate or evacuate):
            raise RebalanceError(reason="the risk objective neither "
                                 "consolidates nor evacuates; use the "
                                 "threshold objective for that")
        if method not in METHODS:
            raise RebalanceError(reason="method must be one of %s, got %r"
                                 % (', '.join(METHODS), method))
        if threshold is not None:
            thr = np.asarray(threshold, dtype=float)
            if thr.ndim > 1 or (thr.ndim == 1 and
                                len(thr) != len(cluster.RESOURCE_CLASSES)):
                raise RebalanceError(
                    reason='threshold must be one number or one per '
                           'resource class (%s), got %r'
                           % (', '.join(cluster.RESOURCE_CLASSES),
                              threshold))
            if not np.all(np.isfinite(thr)) or np.any(thr <= 0):
                raise RebalanceError(
                    reason='threshold must be positive and finite, got %r'
                           % (threshold,))
        for name, value in (('exact_max_vms', exact_max_vms),
                            ('time_limit', time_limit),
                            ('move_cost', move_cost),
                            ('soft_weight', soft_weight),
                            ('neighbourhood', neighbourhood)):
            if not np.isfinite(float(value)) or float(value) < 0:
                raise RebalanceError(
                    reason='%s must be a finite number >= 0, got %r'
                           % (name, value))
        self.threshold = threshold
        self.consolidate = bool(consolidate)
        self.method = method
        self.exact_max_vms = int(exact_max_vms)
        self.time_limit = float(time_limit)
        self.seed = int(seed)
        self.evacuate = bool(evacuate)
        self.soft_weight = float(soft_weight)
        self.neighbourhood = int(neighbourhood)
        self.best_effort = bool(best_effort)
        level = float(risk_level)
        if not np.isfinite(level) or level <= 0:
            raise RebalanceError(reason='risk_level must be positive and '
                                 'finite, got %r' % (risk_level,))
        self.objective = objective
        self.move_cost = float(move_cost)
        self.risk_level = level
        self.lead_steps = int(lead_steps)
        if self.lead_steps < 0:
            raise RebalanceError(reason='lead_steps must be >= 0, got %r'
                                 % (lead_steps,))

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.FloatOpt(
                'threshold', default=None, min=0.01,
                help='Share of a host\'s physical capacity that the '
                     'predicted upper bound of its VMs may reach at any '
                     'step of the horizon, for every resource class. '
                     'Unset: the per-host threshold of the cluster model.'),
            cfg.BoolOpt(
                'consolidate', default=False,
                help='Also empty hosts when the forecast allows it, to '
                     'free them: minimise the hosts used first and the '
                     'migrations second.'),
            cfg.StrOpt(
                'method', default='auto', choices=METHODS,
                help='Solver: exact (a MILP solved by HiGHS), heuristic '
                     '(vectorised, for large clusters) or auto (exact up '
                     'to exact_max_vms VMs).'),
            cfg.IntOpt(
                'exact_max_vms', default=60, min=0,
                help='With method=auto, the largest number of VMs solved '
                     'by the MILP.'),
            cfg.FloatOpt(
                'time_limit', default=30.0, min=0.1,
                help='Seconds given to the MILP solver (the best solution '
                     'found so far is used, with its optimality gap) and '
                     'to the heuristic\'s consolidation passes.'),
            cfg.BoolOpt(
                'evacuate', default=False,
                help='Move the VMs off disabled or maintenance hosts.'),
            cfg.FloatOpt(
                'soft_weight', default=0.5, min=0.0,
                help='Cost of one soft server-group violation (a '
                     'soft-anti-affinity pair on one host, or one more '
                     'host for a soft-affinity group), counted in '
                     'migrations.'),
            cfg.IntOpt(
                'neighbourhood', default=8, min=0,
                help='The heuristic hands each host it could not relieve '
                     '(or, consolidating, could not empty) to a small MILP '
                     'over that host and this many hosts with the most '
                     'headroom, within time_limit. 0: greedy moves only.'),
            cfg.BoolOpt(
                'best_effort', default=True,
                help='When a host\'s predicted overload cannot be removed '
                     'entirely, still migrate the VMs that lower it (each '
                     'to a host that stays under every limit), leaving '
                     'the smallest overload the heuristic finds, reported '
                     'as a shortfall. False: leave such a host as it is.'),
            cfg.StrOpt(
                'objective', default='threshold', choices=OBJECTIVES,
                help='threshold: the fewest migrations that keep every '
                     'host\'s predicted upper bound under its threshold. '
                     'risk: from joint usage scenarios of the VMs (the '
                     'point forecast plus back-test residuals), only the '
                     'migrations that lower the expected overloaded '
                     'host-minutes (load above risk_level of capacity) '
                     'by more than move_cost each; it does not '
                     'consolidate nor evacuate.'),
            cfg.FloatOpt(
                'move_cost', default=1.0, min=0.0,
                help='With objective=risk: expected overloaded minutes '
                     '(summed over hosts and the forecast horizon) that '
                     'one migration must save to be made.'),
            cfg.FloatOpt(
                'risk_level', default=1.0, min=0.01,
                help='With objective=risk: share of a host\'s physical '
                     'capacity above which it counts as overloaded.'),
            cfg.IntOpt(
                'lead_steps', default=0, min=0,
                help='With objective=risk: first steps of the forecast '
                     'horizon that a migration planned now cannot change '
                     'any more (it is still running); they are left out '
                     'of the risk.'),
        ]

    def __repr__(self):
        if self.objective == 'risk':
            return '<HostRebalancer objective=risk move_cost=%g>' % (
                self.move_cost)
        return '<HostRebalancer method=%s consolidate=%s>' % (
            self.method, self.consolidate)

    def _use_exact(self, model):
        if self.method == 'auto':
            return model.n_vms <= self.exact_max_vms
        return self.method == 'exact'

    def plan(self, model):
        """Plan live migrations for ``model``.

        :param model: a :class:`~.model.ClusterModel`.
        :returns: a :class:`~.actions.PlanResult`. Its ``summary`` holds
            ``vm_host`` (the final placement), ``migrations``,
            ``overloaded_before``, ``overloaded_after``, ``hosts_used``
            (and ``hosts_used_before``), ``soft_violations``, ``method``
            (``exact`` or ``heuristic``), ``optimality_gap`` (MILP only,
            else None), ``anti_affinity_broken`` (members sharing a host,
            only ever left from a broken start), ``stuck_on_disabled``
            (VMs left on disabled hosts when evacuating),
            ``unplaced_vms_ignored``, ``residual_before`` and
            ``residual_after`` (the predicted overload of all hosts,
            normalised by their limits and summed over the steps and
            classes) and ``seconds``; with the MILP also
            ``milp`` (status, message, variables, constraints).
        """
        if not isinstance(model, cluster.ClusterModel):
            raise RebalanceError(reason='expected a ClusterModel, got %s'
                                 % type(model).__name__)
        started = time.monotonic()
        if self.objective == 'risk':
            return self._plan_risk(model, started)
        try:
            problem = _packing.Problem(model, threshold=self.threshold,
                                       evacuate=self.evacuate,
                                       soft_weight=self.soft_weight)
        except ValueError as exc:
            raise RebalanceError(reason=str(exc))
        method, info, blocked, failed = 'heuristic', {}, {}, []
        vm_host = None
        if self._use_exact(model):
            pairs = model.n_vms * model.n_hosts
            if pairs > MAX_EXACT_PAIRS:
                raise RebalanceError(
                    reason='the MILP would have up to %d variables (%d VMs '
                           'x %d hosts), more than %d; use '
                           "method='heuristic' or 'auto' for a region this "
                           'large' % (pairs, model.n_vms, model.n_hosts,
                                      MAX_EXACT_PAIRS))
            vm_host, info = _packing.exact(problem, self.consolidate,
                                           self.time_limit)
            if vm_host is not None:
                method = 'exact'
            else:
                LOG.warning('The rebalancing MILP found no solution (%s); '
                            'using the heuristic.', info.get('message'))
        if vm_host is None:
            vm_host, blocked, failed = _packing.heuristic(
                problem, self.consolidate, self.time_limit,
                lns_hosts=self.neighbourhood,
                best_effort=self.best_effort)
        result = self._result(problem, vm_host, blocked, failed)
        result.summary.update(method=method,
                              optimality_gap=info.get('optimality_gap'),
                              seconds=time.monotonic() - started)
        if info:
            info.pop('item_host', None)
            result.summary['milp'] = info
        LOG.info('Host rebalancing (%s): %d migrations, overloaded hosts '
                 '%d -> %d, hosts used %d', method,
                 result.summary['migrations'],
                 result.summary['overloaded_before'],
                 result.summary['overloaded_after'],
                 result.summary['hosts_used'])
        return result

    def _plan_risk(self, model, started):
        """The risk objective (:mod:`._risk`)."""
        try:
            problem = _packing.Problem(model, threshold=self.risk_level,
                                       soft_weight=self.soft_weight)
        except ValueError as exc:
            raise RebalanceError(reason=str(exc))
        search = _risk.RiskSearch(problem, level=self.risk_level,
                                  move_cost=self.move_cost,
                                  lead_steps=self.lead_steps)
        before = search.risk.copy()
        vm_host = search.run(started + self.time_limit)
        after = search.risk
        result = self._result(problem, vm_host, {}, [])
        names = model.host_names
        host_index = {n: k for k, n in enumerate(names)}
        # Risk saved by each kept move, on every VM of the moved item.
        saved = {model.vm_ids[v]: gain for i, _s, _d, gain in search.log
                 for v in problem.members[i]}
        for a in result.actions:
            src = host_index[a.source]
            dst = host_index[a.destination]
            a.reason['constraint'] = (
                'overload risk: %s expected %.3g overloaded minutes over '
                'the horizon' % (a.source, before[src]))
            a.reason['risk'] = {
                'source_minutes_before': round(float(before[src]), 6),
                'source_minutes_after': round(float(after[src]), 6),
                'destination_minutes_before': round(float(before[dst]),
                                                    6),
                'destination_minutes_after': round(float(after[dst]), 6),
                'minutes_saved': round(float(saved.get(a.resource_id,
                                                       0.0)), 6),
                'move_cost': self.move_cost,
            }
        result.shortfalls = [
            actions.Shortfall(
                resource_id=names[h], resource_class='VCPU' if
                0 in search.classes else cluster.RESOURCE_CLASSES[
                    int(search.classes[0])],
                amount=round(float(after[h]), 6),
                reason='host %s keeps an expected %.3g overloaded minutes '
                       'over the horizon (load above %g x capacity): no '
                       'migration under the hard rules saves more than '
                       'its cost of %g minutes'
                       % (names[h], after[h], self.risk_level,
                          self.move_cost),
                resource_kind=constants.ResourceKind.HOST)
            for h in np.flatnonzero(after > self.move_cost)]
        result.summary.update(
            method='risk', optimality_gap=None,
            risk_before=round(float(before.sum()), 6),
            risk_after=round(float(after.sum()), 6),
            seconds=time.monotonic() - started)
        LOG.info('Host rebalancing (risk): %d migrations, expected '
                 'overloaded host-minutes %.1f -> %.1f',
                 result.summary['migrations'], before.sum(), after.sum())
        return result

    # -- result --------------------------------------------------------

    def _host_forecast(self, problem, u, h):
        """Per class: predicted peak upper bound vs the limit on host h."""
        peak = u[h].max(axis=0)
        when = u[h].argmax(axis=0)
        out = {}
        for r, rc in enumerate(cluster.RESOURCE_CLASSES):
            out[rc] = {'peak_upper': round(float(peak[r]), 6),
                       'step': int(when[r]),
                       'threshold': float(problem.threshold[h, r]),
                       'capacity': float(problem.model.capacity[h, r]),
                       'limit': round(float(problem.limit[h, r]), 6)}
        return out

    def _result(self, problem, vm_host, blocked, failed):
        m = problem.model
        orig = problem.orig
        u0, a0, n0 = problem.host_sums(orig)
        u1, a1, n1 = problem.host_sums(vm_host)
        exc0 = problem.excess(u0, a0, n0)
        exc1 = problem.excess(u1, a1, n1)
        over0 = exc0 > 0
        over1 = exc1 > 0
        peak0 = u0.max(axis=1)
        peak1 = u1.max(axis=1)
        over_cls0 = np.maximum(peak0 - problem.limit, 0)
        over_cls1 = np.maximum(peak1 - problem.limit, 0)
        moved = np.flatnonzero((vm_host != orig) & problem.placed)
        result = actions.PlanResult()
        split = problem.item_orig == -2
        for v in moved:
            src, dst = int(orig[v]), int(vm_host[v])
            item = problem.vm_item[v]
            if over0[src]:
                classes = [rc for r, rc in enumerate(
                    cluster.RESOURCE_CLASSES) if over_cls0[src, r] > 0]
                constraint = 'host overload: %s %s' % (
                    m.host_names[src], ','.join(classes) or
                    'placement capacity/max_instances')
            elif problem.evacuate and not problem.enabled[src]:
                constraint = 'maintenance: evacuate %s' % m.host_names[src]
            elif split[item]:
                constraint = 'server group affinity: bring %s together' % (
                    ', '.join(m.vm_ids[x] for x in problem.members[item]))
            elif self.consolidate and n1[src] == 0:
                constraint = 'consolidation: free %s' % m.host_names[src]
            else:
                constraint = 'make room on %s' % m.host_names[src]
            benefit = {
                'source_overload_removed': {
                    rc: round(float(over_cls0[src, r] - over_cls1[src, r]),
                              6)
                    for r, rc in enumerate(cluster.RESOURCE_CLASSES)},
                'source_overloaded_after': bool(over1[src]),
                'host_freed': bool(n0[src] > 0 and n1[src] == 0),
            }
            vm_peak = m.usage_upper[v].max(axis=0)
            reason = {
                'forecast': {
                    'source': m.host_names[src],
                    'per_class': self._host_forecast(problem, u0, src),
                    'vm_peak_upper': {
                        rc: round(float(vm_peak[r]), 6)
                        for r, rc in enumerate(cluster.RESOURCE_CLASSES)},
                },
                'constraint': constraint,
                'benefit': benefit,
                'destination_after': self._host_forecast(problem, u1, dst),
            }
            result.actions.append(actions.PlannedAction(
                constants.ActionType.LIVE_MIGRATE, m.vm_ids[v],
                resource_kind=constants.ResourceKind.VM,
                source=m.host_names[src], destination=m.host_names[dst],
                reason=reason,
                parameters={'flavor': {
                    rc: float(m.flavor[v, r])
                    for r, rc in enumerate(cluster.RESOURCE_CLASSES)}}))
        result.shortfalls = self._shortfalls(problem, vm_host, over_cls1,
                                             exc1, a1, n1, blocked, failed)
        ev = problem.evaluate(vm_host)
        result.summary.update(
            vm_host=vm_host,
            migrations=int(len(moved)),
            overloaded_before=int(np.count_nonzero(over0)),
            overloaded_after=int(np.count_nonzero(over1)),
            hosts_used=ev['hosts_used'],
            hosts_used_before=int(np.count_nonzero(n0 > 0)),
            soft_violations=ev['soft_violations'],
            anti_affinity_broken=ev['anti_affinity_broken'],
            stuck_on_disabled=ev['stuck_on_disabled'],
            soft_violations_before=int(problem.soft_violations(orig)),
            residual_before=round(float(problem.residual(u0, a0,
                                                         n0).sum()), 6),
            residual_after=round(float(problem.residual(u1, a1,
                                                        n1).sum()), 6),
            unplaced_vms_ignored=int(np.count_nonzero(~problem.placed)))
        return result

    def _shortfalls(self, problem, vm_host, over_cls, exc, alloc, count,
                    blocked, failed):
        m = problem.model
        out = []
        reported = set()
        for i, why in problem.frozen_why.items():
            key = why.text
            if key in reported:
                continue
            reported.add(key)
            out.append(actions.Shortfall(
                resource_id=m.vm_ids[problem.members[i][0]],
                resource_class='server_group', amount=0.0,
                reason=why.text, resource_kind=constants.ResourceKind.VM))
        whys = {i: why.text for i, why in failed}
        for i in np.flatnonzero(problem.item_orig == -2):
            mem = problem.members[i]
            if len(np.unique(vm_host[mem])) < 2 or int(i) in \
                    problem.frozen_why:
                continue
            out.append(actions.Shortfall(
                resource_id=m.vm_ids[mem[0]],
                resource_class='server_group', amount=0.0,
                reason='server group affinity is broken (VMs %s run on '
                       'several hosts) and cannot be repaired: %s'
                       % (', '.join(m.vm_ids[x] for x in mem),
                          whys.get(int(i), 'no host takes them all without '
                                   'passing a limit')),
                resource_kind=constants.ResourceKind.VM))
        for g in m.server_groups:
            if g.policy != cluster.ANTI_AFFINITY:
                continue
            mem = [x for x in g.members if vm_host[x] >= 0]
            hosts, counts = np.unique(vm_host[mem], return_counts=True)
            if not np.any(counts > 1) or any(
                    problem.frozen[problem.vm_item[x]] for x in mem):
                continue
            h = hosts[np.argmax(counts)]
            out.append(actions.Shortfall(
                resource_id=g.name, resource_class='server_group',
                amount=float(np.sum(counts - 1)),
                reason='anti-affinity server group %s was already broken '
                       '(VMs %s share host %s) and no migration separates '
                       'them without overloading a host or breaking '
                       'another rule' % (g.name, ', '.join(
                           m.vm_ids[x] for x in mem if vm_host[x] == h),
                           m.host_names[h]),
                resource_kind=constants.ResourceKind.VM))
        for h in np.flatnonzero(exc > 0):
            why = self._why(problem, vm_host, int(h), blocked)
            amounts = []
            for r, rc in enumerate(cluster.RESOURCE_CLASSES):
                if over_cls[h, r] > 0:
                    amounts.append((rc, float(over_cls[h, r]),
                                    'predicted upper bound above %.4g x '
                                    'capacity' % problem.threshold[h, r]))
                if alloc[h, r] > problem.pcap[h, r] * (1 + _packing.EPS):
                    amounts.append((rc, float(alloc[h, r] -
                                              problem.pcap[h, r]),
                                    'allocations above Placement capacity'))
            if count[h] > problem.maxn[h]:
                amounts.append(('instances', float(count[h] -
                                                   problem.maxn[h]),
                                'more instances than max_instances'))
            for rc, amount, what in amounts:
                out.append(actions.Shortfall(
                    resource_id=m.host_names[h], resource_class=rc,
                    amount=amount,
                    reason='host %s stays overloaded (%s): %s'
                           % (m.host_names[h], what, why),
                    resource_kind=constants.ResourceKind.HOST))
        if problem.evacuate:
            left = np.flatnonzero(~problem.enabled & (count > 0))
            for h in left:
                out.append(actions.Shortfall(
                    resource_id=m.host_names[h], resource_class='instances',
                    amount=float(count[h]),
                    reason='disabled host %s cannot be evacuated: %s'
                           % (m.host_names[h],
                              self._why(problem, vm_host, int(h), blocked)),
                    resource_kind=constants.ResourceKind.HOST))
        return out

    def _why(self, problem, vm_host, h, blocked):
        """Words on why the VMs of host ``h`` could not move away."""
        m = problem.model
        reasons = blocked.get(h)
        if not reasons:
            # The exact path, or nothing tried: ask the same checks.
            state = _packing.State(problem, self._item_host(problem,
                                                            vm_host))
            items = state.items_on(h)
            reasons = []
            for i in items[np.argsort(-problem.size[items])][:5]:
                if problem.frozen[i]:
                    reasons.append((int(i), problem.frozen_why[int(i)]))
                    continue
                got = state.candidates(int(i))
                if isinstance(got, _packing.Blocked):
                    reasons.append((int(i), got))
            if not reasons and len(items):
                return ('no set of migrations removes the overload without '
                        'overloading another host or breaking a hard '
                        'constraint')
            if not reasons:
                return 'it runs no movable VM'
        by = {}
        for i, b in reasons:
            by.setdefault(b.constraint, []).append((i, b))
        parts = []
        for constraint, entries in sorted(by.items()):
            i, b = entries[0]
            names = ', '.join(m.vm_ids[x] for x in problem.members[i])
            more = len(entries) - 1
            parts.append('%s blocks %s%s (%s)' % (
                constraint, names,
                ' and %d more' % more if more else '', b.text))
        return '; '.join(parts)

    @staticmethod
    def _item_host(problem, vm_host):
        item_host = np.full(problem.n_items, -2, dtype=np.int64)
        placed = np.flatnonzero(problem.placed)
        lo = np.full(problem.n_items, np.iinfo(np.int64).max)
        hi = np.full(problem.n_items, -1)
        np.minimum.at(lo, problem.vm_item[placed], vm_host[placed])
        np.maximum.at(hi, problem.vm_item[placed], vm_host[placed])
        same = lo == hi
        item_host[same] = hi[same]
        return item_host
