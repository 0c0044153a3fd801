"""Region allocation: a linear program over regions and applications.

The problem
-----------
N regions hold capacity ``cap[n, k]`` of K resource classes. A
applications each have a home region, an SLA tier, and a predicted demand
``d[a, k]``: the forecast's *upper bound* at the SLA's confidence level,
raised by the SLA headroom. An application may be served only in its
allowed regions (residency, latency), and may have to keep a minimum share
of its demand in given regions.

For each resource class separately (the classes share no constraint, so
the LP separates into K independent LPs, each solved by HiGHS through
:func:`scipy.optimize.linprog`, see *Solving*), the variables are

- ``x[a, n] >= share[a, n] * d[a]`` for every allowed pair ``(a, n)``
  only (the matrix is sparse: an application allowed in 8 of 50 regions
  has 8 variables, not 50): capacity of region ``n`` given to ``a``; when
  ``n`` is not ``a``'s home region this is demand served across regions,
  which the marketplace records as a trade;
- ``s[a] >= 0``: the shortfall of ``a``, demand left unmet.

and the LP is::

    minimise   sum (price[n] + transfer[n, home[a]]) x[a, n]
             + sum penalty[a] s[a]
    subject to sum_n x[a, n] + s[a] = d[a]        (demand, dual mu[a])
               sum_a x[a, n]       <= cap[n]      (capacity, dual nu[n])

It is always feasible (``x`` at its minimum shares and the rest shortfall)
once the minimum shares fit in the capacity, which is checked first.

Solving
-------
Apps with the same home, allowed regions, minimum shares and penalties
are one group (:func:`_groups`); minimum shares are moved out of the
variables (``x - share * d >= 0``) and out of the capacity. What remains
per class is a transportation problem with a shortfall slack, solved by
one of two methods (:data:`METHODS`, option ``lp_method``), both exact:

- ``pricing`` (default): the LP over a few pairs per app only (at first
  its cheapest one), in which apps whose pairs cost the same are again
  one row; pairs left out are priced with that LP's duals, those of
  negative reduced cost are added, and it is solved again until none is
  left. The optimum and duals are then those of the full LP (see
  :meth:`RegionLPOptimizer._solve_class_pricing`). Each class starts from
  the pairs the previous one used.
- ``full``: the dual of the LP over every pair at once, by HiGHS's
  interior point method with crossover.

Both divide costs by the highest penalty first, so that HiGHS's absolute
tolerances are relative to them. When the optimum is not unique (apps of
the same penalty competing for the same capacity, or equally well off in
two regions), the two methods may return different optimal allocations,
of the same cost.

Duals and prices
----------------
The duals are ``mu[a]`` = d(objective)/d(d[a]), the marginal cost of one
more unit of ``a``'s demand, never above its penalty, and ``nu[n]`` =
d(objective)/d(cap[n]) <= 0. The *scarcity rent* of region ``n`` is
``lambda[n] = -nu[n] >= 0``, and its capacity price, the clearing price
of the marketplace, is ``price[n] + lambda[n]``. Where ``x[a, n]`` is
above its minimum share, complementary slackness gives ``mu[a] =
price[n] + lambda[n] + transfer[n, home[a]]``.

Shortage
--------
When the demand of a region's applications exceeds what their allowed
regions hold, the penalties decide who is served: a unit goes to the
application whose penalty minus cost of serving is highest, so a higher
tier is served first when the tier penalties differ by more than the
spread of prices plus transfer costs. Every application's shortfall is in
the result (``summary['shortfall']``), and each one that is not zero is a
:class:`~irra_openstack.optimizer.actions.Shortfall` with its reason.
"""

import dataclasses
import time

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging
from scipy import optimize
from scipy import sparse

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import actions
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Demand, capacity or allocation below this is treated as zero.
EPS = 1e-7

#: How one resource class's LP is solved: ``pricing`` (pairs priced into
#: a small restricted LP, the default) or ``full`` (every pair at once).
METHODS = ('pricing', 'full')

#: A reduced cost below minus this (costs divided by the highest
#: penalty) brings a pair into the restricted LP.
PRICING_TOL = 1e-9

#: In its first PRUNE_ROUNDS rounds, the restricted LP drops the arcs
#: without flow whose reduced cost is above PRUNE_COST (same units).
PRUNE_COST = 1e-3
PRUNE_ROUNDS = 20


class RegionLPError(exception.IrraError):
    """A region allocation problem that cannot be solved as given."""

    msg_fmt = "Invalid region allocation problem: %(reason)s"


def _array(name, value, shape, dtype=float):
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise RegionLPError(reason="%s is not numeric: %s" % (name, exc))
    if arr.shape != shape:
        raise RegionLPError(reason="%s has shape %s, expected %s"
                            % (name, arr.shape, shape))
    if dtype is float and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise RegionLPError(reason="%s holds NaN or infinite values (first "
                            "at index %s)" % (name, tuple(bad.tolist())))
    return arr


@dataclasses.dataclass
class RegionProblem:
    """The input of the region LP. Shapes: A apps, N regions, K classes.

    :param regions: region names (N).
    :param apps: application names (A).
    :param resource_classes: resource class names (K).
    :param demand: (A, K) upper bound of each application's predicted
        demand at its SLA confidence level (``level``).
    :param capacity: (N, K) capacity each region offers to irra.
    :param home: (A,) home region of each application, by index or name.
    :param tiers: (A,) SLA tier of each application.
    :param allowed: (A, N) bool, where each application may be served;
        default everywhere.
    :param min_share: (A, N) share of an application's demand it keeps
        in a region at least (0 for none); each row sums to at most 1.
    :param headroom: (A,) SLA headroom, a fraction of demand added to it.
    :param demand_point: (A, K) point forecast, for the reasons only.
    :param level: the confidence level of ``demand``, for the reasons.
    """

    regions: list
    apps: list
    resource_classes: list
    demand: np.ndarray
    capacity: np.ndarray
    home: np.ndarray
    tiers: list
    allowed: np.ndarray | None = None
    min_share: np.ndarray | None = None
    headroom: np.ndarray | None = None
    demand_point: np.ndarray | None = None
    level: float | None = None

    def __post_init__(self):
        self.regions = [str(r) for r in self.regions]
        self.apps = [str(a) for a in self.apps]
        self.resource_classes = [str(c) for c in self.resource_classes]
        for what, names in (('region', self.regions), ('app', self.apps),
                            ('resource class', self.resource_classes)):
            if len(set(names)) != len(names):
                raise RegionLPError(reason="%s names are not unique"
                                    % what)
        a, n, k = len(self.apps), len(self.regions), len(
            self.resource_classes)
        if n == 0 or k == 0:
            raise RegionLPError(reason="at least one region and one "
                                "resource class are needed")
        self.demand = _array('demand', self.demand, (a, k))
        self.capacity = _array('capacity', self.capacity, (n, k))
        for name in ('demand', 'capacity'):
            arr = getattr(self, name)
            if np.any(arr < 0):
                bad = np.argwhere(arr < 0)[0]
                what = (self.apps if name == 'demand' else self.regions)
                raise RegionLPError(
                    reason="%s of %s for %s is negative (%g)"
                    % (name, what[bad[0]], self.resource_classes[bad[1]],
                       arr[tuple(bad)]))
        home = np.asarray(self.home).reshape(-1)
        if home.shape != (a,):
            raise RegionLPError(reason="home has %d entries for %d apps"
                                % (home.size, a))
        if a and home.dtype.kind not in 'iu':
            index = {r: i for i, r in enumerate(self.regions)}
            missing = sorted({str(h) for h in home} - set(index))
            if missing:
                raise RegionLPError(reason="home regions %s are not among "
                                    "the regions" % ', '.join(missing))
            home = np.array([index[str(h)] for h in home], dtype=np.int64)
        home = home.astype(np.int64)
        if np.any((home < 0) | (home >= n)):
            raise RegionLPError(reason="a home region index is outside "
                                "0..%d" % (n - 1))
        self.home = home
        if len(self.tiers) != a:
            raise RegionLPError(reason="tiers has %d entries for %d apps"
                                % (len(self.tiers), a))
        if self.allowed is None:
            self.allowed = np.ones((a, n), dtype=bool)
        self.allowed = _array('allowed', self.allowed, (a, n), dtype=bool)
        if self.min_share is None:
            self.min_share = np.zeros((a, n))
        self.min_share = _array('min_share', self.min_share, (a, n))
        if np.any((self.min_share < 0) | (self.min_share > 1)):
            raise RegionLPError(reason="min_share values must be between "
                                "0 and 1")
        over = self.min_share.sum(axis=1) > 1 + 1e-9
        if np.any(over):
            raise RegionLPError(
                reason="the minimum shares of app %s add up to %.3g, more "
                       "than all of its demand"
                % (self.apps[int(np.argmax(over))],
                   self.min_share.sum(axis=1)[np.argmax(over)]))
        bad = (self.min_share > 0) & ~self.allowed
        if np.any(bad):
            i, j = np.argwhere(bad)[0]
            raise RegionLPError(
                reason="app %s has a minimum share in region %s where it "
                       "is not allowed" % (self.apps[i], self.regions[j]))
        if self.headroom is None:
            self.headroom = np.zeros(a)
        self.headroom = _array('headroom', self.headroom, (a,))
        if np.any(self.headroom < 0):
            raise RegionLPError(reason="headroom must not be negative")
        if self.demand_point is not None:
            self.demand_point = _array('demand_point', self.demand_point,
                                       (a, k))

    @property
    def required(self):
        """(A, K) demand to serve: the upper bound plus the headroom."""
        return self.demand * (1.0 + self.headroom)[:, None]

    def no_trade(self):
        """The same problem with every app confined to its home region.

        Minimum shares elsewhere are dropped: this is the counterfactual
        the marketplace's gains are measured against.
        """
        a, n = len(self.apps), len(self.regions)
        at_home = np.zeros((a, n), dtype=bool)
        at_home[np.arange(a), self.home] = True
        allowed = self.allowed & at_home
        return dataclasses.replace(
            self, allowed=allowed, min_share=np.where(allowed,
                                                      self.min_share, 0.0))


@dataclasses.dataclass
class RegionSolution:
    """The arrays of an optimal allocation. See the module doc."""

    problem: RegionProblem
    #: (A, N, K) capacity given to each app in each region.
    allocation: np.ndarray
    #: (A, K) unmet demand.
    shortfall: np.ndarray
    #: (N, K) scarcity rent lambda >= 0 of each region's capacity.
    rent: np.ndarray
    #: (A, K) marginal cost mu of one more unit of each app's demand.
    demand_price: np.ndarray
    #: (N, K) unit prices, (N, N, K) transfer costs, (A, K) penalties.
    unit_price: np.ndarray
    transfer: np.ndarray
    penalty: np.ndarray
    #: Objective value and its parts.
    objective: float
    costs: dict
    #: (A, N, K) lower bounds from the minimum shares.
    lower: np.ndarray
    #: How each class was solved: ``{class: {'method', 'rounds' (LPs
    #: solved), 'groups' (rows of the last LP), 'arcs' (its pairs),
    #: 'pairs' (pairs cheaper than the penalty)}}``.
    solver: dict = dataclasses.field(default_factory=dict)

    @property
    def capacity_price(self):
        """(N, K) price of one unit of capacity: unit price + rent."""
        return self.unit_price + self.rent


class RegionLPOptimizer(plugins.Plugin):
    """Least-cost allocation of region capacity to applications.

    :param unit_price: a :class:`~irra_openstack.market.cost.CostModel`
        giving (N, K) unit prices.
    :param transfer: a cost model giving (N, N, K) transfer costs.
    :param sla_penalty: a cost model giving (A, K) penalties from tiers.
    :param time_limit: seconds HiGHS may spend per resource class, or
        None for no limit.
    :param method: one of :data:`METHODS`; both give the LP's optimum
        and optimal duals, ``pricing`` faster (see *Solving* in the
        module's doc).
    """

    name = 'region_lp'
    description = ('Least-cost region allocation by linear programming '
                   '(HiGHS), with explicit shortfalls and dual prices.')

    def __init__(self, unit_price, transfer, sla_penalty, time_limit=None,
                 method='pricing'):
        if method not in METHODS:
            raise RegionLPError(reason="unknown LP method %r, expected one "
                                "of %s" % (method, ', '.join(METHODS)))
        self.unit_price = unit_price
        self.transfer = transfer
        self.sla_penalty = sla_penalty
        self.time_limit = time_limit
        self.method = method

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.StrOpt('unit_price_model', default='unit_price',
                       help='Cost model plugin (namespace '
                            'irra.cost_models) giving the price per unit '
                            'per region and resource class.'),
            cfg.StrOpt('transfer_model', default='transfer',
                       help='Cost model plugin giving the cost per unit '
                            'of demand served away from its home region.'),
            cfg.StrOpt('sla_penalty_model', default='sla_penalty',
                       help='Cost model plugin giving the penalty per unit '
                            'of unmet demand by SLA tier.'),
            cfg.FloatOpt('time_limit', default=None, min=0.0,
                         help='Seconds the LP solver may spend on one '
                              'resource class; unset for no limit. A '
                              'solve that hits it fails with an error, it '
                              'never returns a partial plan.'),
            cfg.StrOpt('lp_method', default='pricing',
                       choices=[('pricing', 'solve a small LP over the '
                                            'pairs of application and '
                                            'region that can pay off, '
                                            'adding the others only when '
                                            'their reduced cost says so'),
                                ('full', 'solve the LP over every allowed '
                                         'pair at once')],
                       help='How the LP of each resource class is solved. '
                            'Both methods give the optimum and the dual '
                            'prices; "pricing" is several times faster '
                            'when applications cannot be grouped.'),
        ]

    def __repr__(self):
        return '<RegionLPOptimizer method=%s>' % self.method

    # -- solving ----------------------------------------------------------

    def solve(self, problem):
        """Solve ``problem``; returns a :class:`RegionSolution`.

        :raises RegionLPError: the minimum shares do not fit in a region's
            capacity, or the solver failed.
        """
        p = problem
        a, n, k = len(p.apps), len(p.regions), len(p.resource_classes)
        price = np.asarray(self.unit_price.coefficients(
            p.regions, p.resource_classes), dtype=float)
        transfer = np.asarray(self.transfer.coefficients(
            p.regions, p.resource_classes), dtype=float)
        penalty = np.asarray(self.sla_penalty.coefficients(
            p.regions, p.resource_classes, tiers=p.tiers), dtype=float)
        for name, arr, shape in (('unit price', price, (n, k)),
                                 ('transfer', transfer, (n, n, k)),
                                 ('penalty', penalty, (a, k))):
            if arr.shape != shape or not np.all(np.isfinite(arr)) or \
                    np.any(arr < 0):
                raise RegionLPError(
                    reason="the %s cost model returned an array of shape "
                           "%s with negative or non-finite values, "
                           "expected %s, finite and >= 0"
                           % (name, arr.shape, shape))
        demand = p.required
        rep, inverse = _groups(p.home, p.allowed, p.min_share, penalty)
        g = rep.size
        g_demand = np.zeros((g, k))
        np.add.at(g_demand, inverse, demand)
        g_home = p.home[rep]
        ai, ni = np.nonzero(p.allowed[rep])
        lower = p.min_share[rep][ai, ni][:, None] * g_demand[ai]   # (E, K)
        floor = np.zeros((n, k))
        np.add.at(floor, ni, lower)
        over = floor > p.capacity * (1 + 1e-9) + EPS
        if np.any(over):
            r, c = np.argwhere(over)[0]
            raise RegionLPError(
                reason="the minimum shares in region %s need %.6g %s, more "
                       "than its capacity %.6g; lower the shares or add "
                       "capacity" % (p.regions[r], floor[r, c],
                                     p.resource_classes[c],
                                     p.capacity[r, c]))
        g_alloc = np.zeros((g, n, k))
        g_short = np.zeros((g, k))
        rent = np.zeros((n, k))
        mu = np.zeros((g, k))
        parts = {'price': 0.0, 'transfer': 0.0, 'penalty': 0.0}
        arcs = None
        info = {}
        for j in range(k):
            cx = price[ni, j] + transfer[ni, g_home[ai], j]
            pen = penalty[rep, j]
            rest = g_demand[:, j] - np.bincount(ai, lower[:, j],
                                                minlength=g)
            spare = p.capacity[:, j] - floor[:, j]
            # The arcs that the previous class needed start this one.
            xv, sv, lam, arcs, how = self._solve_class(
                p.resource_classes[j], ai, ni, cx, pen,
                np.maximum(rest, 0.0), np.maximum(spare, 0.0), g, n,
                start=arcs)
            info[p.resource_classes[j]] = how
            xv = xv + lower[:, j]
            g_alloc[ai, ni, j] = xv
            g_short[:, j] = sv
            rent[:, j] = lam
            # The marginal cost of one more unit of each app's demand at
            # these rents: its cheapest allowed region, or its penalty.
            best = np.full(g, np.inf)
            np.minimum.at(best, ai, cx + lam[ni])
            mu[:, j] = np.minimum(best, pen)
            parts['price'] += float(price[ni, j] @ xv)
            parts['transfer'] += float(transfer[ni, g_home[ai], j] @ xv)
            parts['penalty'] += float(pen @ sv)
        # Apps of one group are interchangeable: each gets its share of
        # the group's allocation and shortfall in proportion to demand.
        weight = np.divide(demand, g_demand[inverse],
                           out=np.zeros_like(demand),
                           where=g_demand[inverse] > 0)
        allocation = g_alloc[inverse] * weight[:, None, :]
        shortfall = g_short[inverse] * weight
        lower_full = (p.min_share * p.allowed)[:, :, None] * \
            demand[:, None, :]
        LOG.debug('Region LP: %d apps in %d groups, %d regions, %d '
                  'classes, %d allowed pairs', a, g, n, k, ai.size)
        return RegionSolution(
            problem=p, allocation=allocation, shortfall=shortfall,
            rent=rent, demand_price=mu[inverse], unit_price=price,
            transfer=transfer, penalty=penalty,
            objective=sum(parts.values()), costs=parts, lower=lower_full,
            solver=info)

    def _solve_class(self, rc, ai, ni, cost, penalty, demand, capacity,
                     a, n, start=None):
        """One resource class, by ``self.method``.

        :param start: for ``pricing``, the arcs (a bool mask over the
            pairs) to begin with, usually those of the previous class.
        :returns: ``(x over the pairs, shortfall (A,), rent (N,), the
            arcs of the last restricted LP or None, an info dict)``.
        """
        deadline = (time.monotonic() + float(self.time_limit)
                    if self.time_limit else None)
        if self.method == 'full':
            x, short, rent = self._solve_class_full(
                rc, ai, ni, cost, penalty, demand, capacity, a, n)
            pairs = int(np.count_nonzero((cost < penalty[ai]) &
                                         (demand[ai] > 0)))
            return x, short, rent, None, {
                'method': 'full', 'rounds': 1, 'groups': a, 'arcs': pairs,
                'pairs': pairs}
        return self._solve_class_pricing(rc, ai, ni, cost, penalty, demand,
                                         capacity, a, n, start, deadline)

    def _solve_class_full(self, rc, ai, ni, cost, penalty, demand,
                          capacity, a, n):
        """One resource class, all pairs at once, through its dual LP.

        The dual of the (shifted) allocation LP has one variable per app
        (``mu <= penalty``) and per region (``lambda >= 0``) and one row
        ``mu[a] - lambda[n] <= cost[a, n]`` per allowed pair; HiGHS's
        interior point method with crossover solves it, and the row
        marginals of its optimal basis are the primal allocation: ``x =
        -marginal`` (the primal objective is minus the dual's, and its
        derivative by ``cost[a, n]`` is ``x[a, n]``), likewise ``s =
        -marginal`` of the bound ``mu <= penalty``.

        A pair costing at least the app's penalty is left out: serving
        there is never cheaper than the shortfall, and its dual row is
        implied by ``mu <= penalty`` and ``lambda >= 0``. Costs are scaled
        as in :meth:`_solve_class_pricing`.

        :returns: ``(x over the pairs, shortfall (A,), rent (N,))``.
        """
        keep = np.nonzero(cost < penalty[ai])[0]
        if keep.size == 0 or not np.any(demand > EPS):
            return np.zeros(ai.size), demand.copy(), np.zeros(n)
        scale = float(penalty[ai[keep]].max())
        rows = np.arange(keep.size)
        matrix = sparse.csr_matrix(
            (np.concatenate([np.ones(keep.size), -np.ones(keep.size)]),
             (np.concatenate([rows, rows]),
              np.concatenate([ai[keep], a + ni[keep]]))),
            shape=(keep.size, a + n))
        bounds = np.empty((a + n, 2))
        bounds[:a, 0] = -np.inf
        bounds[:a, 1] = penalty / scale
        bounds[a:, 0] = 0.0
        bounds[a:, 1] = np.inf
        options = {}
        if self.time_limit:
            options['time_limit'] = float(self.time_limit)
        res = optimize.linprog(
            np.concatenate([-demand, capacity]), A_ub=matrix,
            b_ub=cost[keep] / scale, bounds=bounds, method='highs-ipm',
            options=options)
        if res.status != 0:
            raise RegionLPError(
                reason="the LP solver failed on resource class %s: %s "
                       "(status %d)" % (rc, res.message, res.status))
        return _finish(ai, ni, cost, demand, capacity, keep,
                       -res.ineqlin.marginals, res.x[:a] * scale,
                       res.x[a:] * scale)

    def _solve_class_pricing(self, rc, ai, ni, cost, penalty, demand,
                             capacity, a, n, start, deadline):
        """One resource class, by pricing pairs into a restricted LP.

        The LP is solved on a subset of the pairs (the *arcs*): at first
        each app's cheapest pair and the arcs of ``start``. With the pairs
        left out at ``x[a, n] = 0``, its optimum is a feasible point of
        the full LP, and its duals ``(mu, lambda)`` are feasible for the
        full LP's dual when no pair left out has a negative reduced cost
        ``cost[a, n] + lambda[n] - mu[a]``: then both are optimal, with
        the same objective. Otherwise each app's pairs of the most
        negative reduced cost are added, and the LP is solved again. This
        is exact whatever arcs it starts from; only the number of rounds
        depends on them.

        Each restricted LP is small: apps whose arcs have the same costs
        and whose penalties are equal have the same columns there, and
        are one row, whose flows :func:`_fill` hands to its apps. At the
        optimal rents most apps have one cheapest region, so a few
        hundred rows remain even when no two apps are alike.

        Costs are divided by the highest penalty of the pairs, so that
        HiGHS's absolute tolerances are relative to them (memory priced
        per MiB costs about 1e-4 per unit).

        :returns: ``(x over the pairs, shortfall (A,), rent (N,), the
            arcs of the last LP, an info dict)``.
        """
        e = ai.size
        keep = np.nonzero((cost < penalty[ai]) & (demand[ai] > 0))[0]
        if keep.size == 0 or not np.any(demand > EPS):
            return np.zeros(e), demand.copy(), np.zeros(n), start, {
                'method': 'pricing', 'rounds': 0, 'groups': 0, 'arcs': 0,
                'pairs': int(keep.size)}
        ka, kn = ai[keep], ni[keep]
        scale = float(penalty[ka].max())
        kc = cost[keep] / scale
        pen = penalty / scale
        active = (np.zeros(keep.size, dtype=bool) if start is None
                  else start[keep].copy())
        # Every app begins with its cheapest pair.
        order = np.lexsort((kc, ka))
        first = np.ones(order.size, dtype=bool)
        first[1:] = ka[order[1:]] != ka[order[:-1]]
        active[order[first]] = True
        rounds = 0
        last = np.inf
        while True:
            rounds += 1
            idx = np.nonzero(active)[0]
            xa, mu, lam, groups, obj = _restricted(
                rc, ka[idx], kn[idx], kc[idx], pen, demand, capacity, a, n,
                deadline)
            reduced = kc + lam[kn] - mu[ka]
            viol = np.nonzero(~active & (reduced < -PRICING_TOL))[0]
            if not viol.size:
                break
            # Arcs without flow whose reduced cost is well above zero
            # are dropped, to keep the LP small. The objective never rises
            # from one round to the next (a dropped arc had no flow), and
            # arcs are dropped only after a round that lowered it, so no
            # set of arcs comes back; after PRUNE_ROUNDS rounds arcs are
            # only added, which bounds the rounds in any case.
            if rounds <= PRUNE_ROUNDS and obj < last - 1e-9 * max(
                    1.0, abs(last)):
                active[idx[(xa <= 0) & (reduced[idx] > PRUNE_COST)]] = False
            last = obj
            best = np.full(a, np.inf)
            np.minimum.at(best, ka[viol], reduced[viol])
            active[viol[reduced[viol] <= best[ka[viol]] + PRICING_TOL]] = True
        LOG.debug('Region LP, %s: %d rounds, last LP %d groups and %d of '
                  '%d pairs', rc, rounds, groups, idx.size, keep.size)
        xk = np.zeros(keep.size)
        xk[idx] = xa
        x, short, rent = _finish(ai, ni, cost, demand, capacity, keep, xk,
                                 mu * scale, lam * scale)
        # The next class starts from the pairs with flow in this one.
        arcs = np.zeros(e, dtype=bool)
        arcs[keep[idx[xa > 0]]] = True
        return x, short, rent, arcs, {
            'method': 'pricing', 'rounds': rounds, 'groups': groups,
            'arcs': int(idx.size), 'pairs': int(keep.size)}

    # -- the plan ---------------------------------------------------------

    def plan(self, problem, salt=None, solution=None):
        """Solve ``problem`` and return a :class:`PlanResult`.

        One ``reserve`` action per application and region that gets
        capacity (``parameters['resources']`` per class); one
        :class:`Shortfall` per application and class left short, with
        its reason. ``summary`` holds the arrays (allocation, shortfall,
        capacity prices, rents, demand prices) and the objective.
        """
        sol = solution if solution is not None else self.solve(problem)
        p = sol.problem
        classes = p.resource_classes
        ai, ni = np.nonzero(sol.allocation.max(axis=2) > EPS)
        cap_price = sol.capacity_price
        home = p.home[ai]
        # Every figure of every action at once, then plain Python lists:
        # the loop below only assembles dicts.
        amounts = sol.allocation[ai, ni]                          # (P, K)
        served = amounts > EPS
        unit = (cap_price[ni] + sol.transfer[ni, home]).tolist()
        benefit = (sol.penalty[ai] * amounts).tolist()
        share = (amounts.sum(axis=1) /
                 np.maximum(p.required[ai].sum(axis=1), EPS)).tolist()
        upper = p.demand[ai].tolist()
        required = p.required[ai].tolist()
        point = (p.demand_point[ai].tolist() if p.demand_point is not None
                 else [[None] * len(classes)] * len(ai))
        level = p.level
        served_l = served.tolist()
        amounts_l = amounts.tolist()
        result = actions.PlanResult()
        for i, (a_idx, n_idx, h) in enumerate(zip(ai.tolist(), ni.tolist(),
                                                  home.tolist())):
            on = [j for j, yes in enumerate(served_l[i]) if yes]
            where = ('its home region' if n_idx == h
                     else 'region %s, away from its home region %s'
                     % (p.regions[n_idx], p.regions[h]))
            reason = {
                'forecast': {
                    classes[j]: {'upper': upper[i][j],
                                 'required': required[i][j],
                                 'point': point[i][j], 'level': level}
                    for j in on},
                'constraint': 'predicted demand of app %s (tier %s) served '
                              'in %s' % (p.apps[a_idx], p.tiers[a_idx],
                                         where),
                'benefit': {classes[j]: benefit[i][j] for j in on},
                'price': {classes[j]: unit[i][j] for j in on},
                'share': share[i],
            }
            action = actions.PlannedAction(
                action_type=constants.ActionType.RESERVE,
                resource_id=p.apps[a_idx],
                resource_kind=constants.ResourceKind.APP,
                source=p.regions[h], destination=p.regions[n_idx],
                reason=reason,
                parameters={'resources': {classes[j]: amounts_l[i][j]
                                          for j in on},
                            'region': p.regions[n_idx]})
            if salt is not None:
                action.with_key(salt)
            result.actions.append(action)
        result.shortfalls = self._shortfalls(sol)
        result.summary = {
            'regions': p.regions, 'apps': p.apps,
            'resource_classes': classes,
            'allocation': sol.allocation, 'shortfall': sol.shortfall,
            'capacity_price': cap_price, 'rent': sol.rent,
            'demand_price': sol.demand_price,
            'objective': sol.objective, 'costs': dict(sol.costs),
            'unmet_total': {c: float(sol.shortfall[:, j].sum())
                            for j, c in enumerate(classes)},
        }
        return result

    def _shortfalls(self, sol):
        p = sol.problem
        # Solver round-off is already cleared: every unit left is real.
        ai, kj = np.nonzero(sol.shortfall > 0)
        if not ai.size:
            return []
        cost = (sol.unit_price[None, :, :] +
                sol.transfer[:, p.home, :].transpose(1, 0, 2))   # (A, N, K)
        cheapest = np.where(p.allowed[:, :, None], cost, np.inf).min(axis=1)
        n_allowed = p.allowed.sum(axis=1)
        out = []
        for a_idx, j in zip(ai.tolist(), kj.tolist()):
            app, rc = p.apps[a_idx], p.resource_classes[j]
            amount = float(sol.shortfall[a_idx, j])
            pen = float(sol.penalty[a_idx, j])
            if n_allowed[a_idx] == 0:
                why = ('app %s may not run in any region (its allowed '
                       'regions are empty), so none of its %s demand can '
                       'be served' % (app, rc))
            elif cheapest[a_idx, j] >= pen:
                why = ('serving %s of app %s costs at least %.6g per unit '
                       'in its allowed regions, not less than its SLA '
                       'penalty %.6g (tier %s)'
                       % (rc, app, cheapest[a_idx, j], pen,
                          p.tiers[a_idx]))
            else:
                names = [p.regions[i]
                         for i in np.nonzero(p.allowed[a_idx])[0][:5]]
                more = ', ...' if n_allowed[a_idx] > 5 else ''
                why = ('the %s capacity of the regions app %s may use (%s%s) '
                       'is taken by demand that is worth more; its SLA '
                       'penalty %.6g (tier %s) is at or below the price of '
                       'capacity there, %.6g of %.6g demanded is unmet'
                       % (rc, app, ', '.join(names), more, pen,
                          p.tiers[a_idx], amount,
                          float(p.required[a_idx, j])))
            out.append(actions.Shortfall(
                resource_id=app, resource_class=rc, amount=amount,
                reason=why, resource_kind=constants.ResourceKind.APP,
                region=p.regions[int(p.home[a_idx])]))
        return out


def demand_from_forecasts(forecasts, apps, resource_classes, level=None):
    """The demand arrays of a :class:`RegionProblem` from app forecasts.

    :param forecasts: ``{resource class: Forecast}``, each with one series
        per application (named by the application), for example the
        ``app`` level of :mod:`irra_openstack.forecast.hierarchy`.
    :param level: the SLA's confidence level; every forecast must be at
        it, since its upper bound is the demand to meet.
    :returns: ``(upper, point)``, (A, K) each: the peak over the horizon
        of the upper bound, and the point forecast at that step.
    :raises RegionLPError: a class or an app has no forecast, or a
        forecast is at another level.
    """
    apps = [str(a) for a in apps]
    upper = np.zeros((len(apps), len(resource_classes)))
    point = np.zeros_like(upper)
    for j, rc in enumerate(resource_classes):
        fc = forecasts.get(rc)
        if fc is None:
            raise RegionLPError(reason="there is no forecast of %s" % rc)
        if level is not None and abs(fc.level - level) > 1e-9:
            raise RegionLPError(
                reason="the forecast of %s is at level %g but the SLA "
                       "needs %g: forecast at the SLA's level"
                       % (rc, fc.level, level))
        index = {name: i for i, name in enumerate(fc.series)}
        missing = [a for a in apps if a not in index]
        if missing:
            raise RegionLPError(
                reason="the forecast of %s has no series for apps %s"
                       % (rc, ', '.join(missing[:5]) +
                          (', ...' if len(missing) > 5 else '')))
        rows = np.array([index[a] for a in apps], dtype=np.int64)
        if fc.horizon == 0 or rows.size == 0:
            continue
        peak = np.argmax(fc.upper[rows], axis=1)
        upper[:, j] = fc.upper[rows, peak]
        point[:, j] = fc.point[rows, peak]
    return np.maximum(upper, 0.0), np.maximum(point, 0.0)


def _groups(home, allowed, min_share, penalty):
    """Apps that the LP cannot tell apart, grouped.

    Two apps with the same home region, allowed regions, minimum shares
    and penalties have the same columns, so one variable per group and
    region is exact: any optimum splits among them in proportion to
    demand. Residency and latency rules are normally set per policy, so
    thousands of apps fall into a few hundred groups.

    :returns: ``(representative app of each group, group of each app)``.
    """
    if home.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.concatenate([home[:, None].astype(float), penalty,
                          allowed.astype(float), min_share], axis=1)
    _, rep, inverse = np.unique(key, axis=0, return_index=True,
                                return_inverse=True)
    return rep, inverse.reshape(-1)


def _restricted(rc, ai, ni, cost, penalty, demand, capacity, a, n,
                deadline):
    """The primal LP of one class over the arcs ``(ai, ni)`` only.

    Apps whose arcs cost the same and whose penalties are equal are one
    row (as in :func:`_groups`), its flows handed to them by
    :func:`_fill`. Only apps with arcs take part; the others are short
    of all their demand.

    :returns: ``(x over the arcs, mu (A,), lambda (N,), number of
        rows, objective)``; ``mu`` of an app without arcs is its
        penalty; the objective is in the units of ``cost``.
    """
    has = np.zeros(a, dtype=bool)
    has[ai] = True
    rows = np.nonzero(has)[0]
    key = np.full((a, n + 1), -1.0)
    key[ai, ni] = cost
    key[:, n] = penalty
    key = np.ascontiguousarray(key[rows])
    # Rows as opaque bytes: one sort finds equal rows.
    _, rep, group = np.unique(
        key.view(np.dtype((np.void, key.itemsize * (n + 1)))).ravel(),
        return_index=True, return_inverse=True)
    group = group.reshape(-1)
    g = rep.size
    g_demand = np.bincount(group, demand[rows], minlength=g)
    ga, gn = np.nonzero(key[rep, :n] >= 0)
    e = ga.size
    cols = np.arange(e + g)
    a_eq = sparse.csr_matrix(
        (np.ones(e + g), (np.concatenate([ga, np.arange(g)]), cols)),
        shape=(g, e + g))
    a_ub = sparse.csr_matrix((np.ones(e), (gn, cols[:e])),
                             shape=(n, e + g))
    options = {}
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RegionLPError(
                reason="the LP solver failed on resource class %s: time "
                       "limit reached" % rc)
        options['time_limit'] = left
    res = optimize.linprog(
        np.concatenate([key[rep, :n][ga, gn], key[rep, n]]), A_ub=a_ub,
        b_ub=capacity, A_eq=a_eq, b_eq=g_demand, bounds=(0, None),
        method='highs-ds', options=options)
    if res.status != 0:
        raise RegionLPError(
            reason="the LP solver failed on resource class %s: %s "
                   "(status %d)" % (rc, res.message, res.status))
    x = _fill(rows, group, demand[rows], ga, gn, res.x[:e], ai, ni, n)
    mu = penalty.copy()
    mu[rows] = res.eqlin.marginals[group]
    return x, mu, -res.ineqlin.marginals, g, res.fun


def _fill(rows, group, demand, ga, gn, flow, ai, ni, n):
    """Hand each group's flows to its apps, one app after another.

    The apps of a row of the restricted LP are not identical (they differ
    in pairs that LP does without), so, as a vertex of the full LP would,
    each is served in as few regions as the row's flows allow: the apps
    in index order fill the row's demand line, its regions' flows (in
    region order, then the shortfall) are laid on it, and an app gets the
    overlap of its stretch with each flow. At most one app per region of
    a row is split. Any split is optimal: the apps have the same columns
    in that LP.

    :param rows: the apps in the LP; ``group`` their row, ``demand``
        their demand.
    :param ga, gn, flow: each row's pairs (ordered by row) and flows.
    :returns: x over the arcs ``(ai, ni)``.
    """
    order = np.argsort(group, kind='stable')
    app, g_of = rows[order], group[order]
    end = np.cumsum(demand[order])
    start = np.concatenate([[0.0], end[:-1]])
    first = np.ones(app.size, dtype=bool)
    first[1:] = g_of[1:] != g_of[:-1]
    g_start = start[first]
    g_end = np.append(start[first][1:], end[-1])
    # Each flow's stretch of its row's line, cut at the row's end.
    flow = np.maximum(flow, 0.0)
    total = np.cumsum(flow)
    before = np.zeros(g_start.size)
    row_first = np.ones(ga.size, dtype=bool)
    row_first[1:] = ga[1:] != ga[:-1]
    before[ga[row_first]] = (total - flow)[row_first]
    f_end = np.minimum(g_start[ga] + (total - before[ga]), g_end[ga])
    f_start = np.concatenate([[0.0], f_end[:-1]])
    f_start[row_first] = g_start[ga[row_first]]
    f_end = np.maximum(f_end, f_start)
    # The apps whose stretch meets each flow's: from the first that ends
    # after it starts to the last that starts before it ends.
    lo = np.searchsorted(end, f_start, side='right')
    hi = np.searchsorted(start, f_end, side='left')
    count = np.where(f_end > f_start, np.maximum(hi - lo, 0), 0)
    seg = np.repeat(np.arange(ga.size), count)
    member = lo[seg] + np.arange(seg.size) - np.repeat(
        np.cumsum(count) - count, count)
    amount = (np.minimum(end[member], f_end[seg]) -
              np.maximum(start[member], f_start[seg]))
    code = ai.astype(np.int64) * n + ni
    sort = np.argsort(code, kind='stable')
    at = sort[np.searchsorted(code[sort], app[member].astype(np.int64) * n +
                              gn[seg])]
    x = np.zeros(ai.size)
    np.add.at(x, at, np.maximum(amount, 0.0))
    return x


def _finish(ai, ni, cost, demand, capacity, keep, xk, mu, lam):
    """The allocation, shortfall and rents of one class from an optimum.

    :param keep: the pairs the LP had; ``xk`` their allocation, ``mu``
        (A,) and ``lam`` (N,) the LP's duals.
    :returns: ``(x over the pairs, shortfall (A,), rent (N,))``.
    """
    a, n = demand.size, capacity.size
    x = np.zeros(ai.size)
    x[keep] = np.maximum(xk, 0.0)
    served = np.bincount(ai, x, minlength=a)
    # Round-off of the solver: never serve more than the demand.
    over = served > demand
    if np.any(over):
        x *= np.where(over, demand / np.maximum(served, EPS), 1.0)[ai]
        served = np.bincount(ai, x, minlength=a)
    shortfall = np.maximum(demand - served, 0.0)
    shortfall[shortfall < EPS * np.maximum(demand, 1.0)] = 0.0
    rent = np.maximum(lam, 0.0)
    # A region without spare capacity has a whole range of optimal
    # rents (its capacity term is zero); report the least one, the
    # value of one more unit there: max over its apps of mu - cost.
    empty = capacity <= EPS
    if np.any(empty):
        live = demand[ai[keep]] > EPS
        least = np.zeros(n)
        np.maximum.at(least, ni[keep][live],
                      (mu[ai[keep]] - cost[keep])[live])
        rent[empty] = least[empty]
    return x, shortfall, rent


def from_conf(conf):
    """Build the optimizer and its cost models from ``conf``."""
    group = plugins.register_plugin_opts(conf, 'irra.optimizers',
                                         RegionLPOptimizer.name)
    models = []
    for option in ('unit_price_model', 'transfer_model',
                   'sla_penalty_model'):
        name = getattr(group, option)
        cls = plugins.load_class('irra.cost_models', name)
        cost_group = plugins.register_plugin_opts(conf, 'irra.cost_models',
                                                  name)
        models.append(cls.from_conf(cost_group) if cost_group is not None
                      else cls())
    return RegionLPOptimizer(*models, time_limit=group.time_limit,
                             method=group.lp_method)
