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
:func:`scipy.optimize.linprog`), the variables are

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

Duals and prices
----------------
HiGHS returns ``eqlin.marginals`` = d(objective)/d(d[a]) = ``mu[a]``: the
marginal cost of one more unit of ``a``'s demand, never above its
penalty. ``ineqlin.marginals`` = d(objective)/d(cap[n]) <= 0; the
*scarcity rent* of region ``n`` is ``lambda[n] = -nu[n] >= 0``, and its
capacity price, the clearing price of the marketplace, is ``price[n] +
lambda[n]``. Where ``x[a, n]`` is above its minimum share, complementary
slackness gives ``mu[a] = price[n] + lambda[n] + transfer[n, home[a]]``.

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
    """

    name = 'region_lp'
    description = ('Least-cost region allocation by linear programming '
                   '(HiGHS), with explicit shortfalls and dual prices.')

    def __init__(self, unit_price, transfer, sla_penalty, time_limit=None):
        self.unit_price = unit_price
        self.transfer = transfer
        self.sla_penalty = sla_penalty
        self.time_limit = time_limit

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
        ]

    def __repr__(self):
        return '<RegionLPOptimizer>'

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
        for j in range(k):
            cx = price[ni, j] + transfer[ni, g_home[ai], j]
            pen = penalty[rep, j]
            rest = g_demand[:, j] - np.bincount(ai, lower[:, j],
                                                minlength=g)
            spare = p.capacity[:, j] - floor[:, j]
            xv, sv, lam = self._solve_class(
                p.resource_classes[j], ai, ni, cx, pen,
                np.maximum(rest, 0.0), np.maximum(spare, 0.0), g, n)
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
            objective=sum(parts.values()), costs=parts, lower=lower_full)

    def _solve_class(self, rc, ai, ni, cost, penalty, demand, capacity,
                     a, n):
        """One resource class, through its dual LP.

        The dual of the (shifted) allocation LP has one variable per app
        (``mu <= penalty``) and per region (``lambda >= 0``) and one row
        ``mu[a] - lambda[n] <= cost[a, n]`` per allowed pair; HiGHS's
        interior point method with crossover solves it several times
        faster than the simplex solves the primal, and the row marginals
        of its optimal basis are the primal allocation: ``x = -marginal``
        (the primal objective is minus the dual's, and its derivative by
        ``cost[a, n]`` is ``x[a, n]``), likewise ``s = -marginal`` of the
        bound ``mu <= penalty``.

        A pair costing at least the app's penalty is left out: serving
        there is never cheaper than the shortfall, and its dual row is
        implied by ``mu <= penalty`` and ``lambda >= 0``.

        :returns: ``(x over the pairs, shortfall (A,), rent (N,))``.
        """
        e = ai.size
        keep = np.nonzero(cost < penalty[ai])[0]
        x = np.zeros(e)
        if keep.size == 0 or not np.any(demand > EPS):
            return x, demand.copy(), np.zeros(n)
        rows = np.arange(keep.size)
        matrix = sparse.csr_matrix(
            (np.concatenate([np.ones(keep.size), -np.ones(keep.size)]),
             (np.concatenate([rows, rows]),
              np.concatenate([ai[keep], a + ni[keep]]))),
            shape=(keep.size, a + n))
        bounds = np.empty((a + n, 2))
        bounds[:a, 0] = -np.inf
        bounds[:a, 1] = penalty
        bounds[a:, 0] = 0.0
        bounds[a:, 1] = np.inf
        options = {}
        if self.time_limit:
            options['time_limit'] = float(self.time_limit)
        res = optimize.linprog(
            np.concatenate([-demand, capacity]), A_ub=matrix,
            b_ub=cost[keep], bounds=bounds, method='highs-ipm',
            options=options)
        if res.status != 0:
            raise RegionLPError(
                reason="the LP solver failed on resource class %s: %s "
                       "(status %d)" % (rc, res.message, res.status))
        x[keep] = np.maximum(-res.ineqlin.marginals, 0.0)
        served = np.bincount(ai, x, minlength=a)
        # Round-off of the solver: never serve more than the demand.
        over = served > demand
        if np.any(over):
            x *= np.where(over, demand / np.maximum(served, EPS), 1.0)[ai]
            served = np.bincount(ai, x, minlength=a)
        shortfall = np.maximum(demand - served, 0.0)
        shortfall[shortfall < EPS * np.maximum(demand, 1.0)] = 0.0
        rent = np.maximum(res.x[a:], 0.0)
        # A region without spare capacity has a whole range of optimal
        # rents (its capacity term is zero); report the least one, the
        # value of one more unit there: max over its apps of mu - cost.
        empty = capacity <= EPS
        if np.any(empty):
            live = demand[ai[keep]] > EPS
            least = np.zeros(n)
            np.maximum.at(least, ni[keep][live],
                          (res.x[:a][ai[keep]] - cost[keep])[live])
            rent[empty] = least[empty]
        return x, shortfall, rent

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
    return RegionLPOptimizer(*models, time_limit=group.time_limit)
