"""Benchmark of the region LP against a greedy allocator, and the market.

``irra-manage bench region_lp`` builds a random but realistic instance:

- regions scattered on a plane in geographic zones; the transfer cost
  between two regions grows with their distance;
- unit prices that differ by region (0.6 to 1.4 per vCPU, memory priced
  per MiB at a similar cost per GiB-hour as cloud price lists);
- applications with heavy-tailed demand (lognormal vCPUs, memory
  correlated with it), homed in regions with Zipf-like popularity, of
  three SLA tiers;
- residency and latency policies: an application may run only in its home
  region (data residency), in its home zone, or within a latency radius
  of home; a third of the zone-bound applications keep at least half of
  their demand at home;
- capacity per region around its home demand, so that some regions are
  short and others have room, and total capacity slightly above total
  demand.

With ``distinct`` every application also gets its own random extra
regions, so that no two are alike and the LP cannot group them: the
worst case for its size.

The baseline serves applications one by one, highest SLA penalty first,
each in its cheapest allowed regions with room (after every minimum
share is placed): what a simple operator script would do. Both are
scored with the same objective.

With ``full_lp`` the same LP is also solved by the ``full`` method (every
pair at once), timed in turn with the default method in the same run, and
the two optima and rents are compared.
"""

import time

import numpy as np

from irra_openstack.market import clearing
from irra_openstack.market import cost
from irra_openstack.optimizer import region_lp

CLASSES = ('VCPU', 'MEMORY_MB')
TIERS = ('gold', 'silver', 'bronze')
PENALTIES = {'gold': 40.0, 'silver': 12.0, 'bronze': 4.0}
MIB_PER_VCPU = 4096.0


def instance(regions=50, apps=5000, classes=2, seed=0, distinct=False):
    """A random, realistic problem and the optimizer to solve it."""
    rng = np.random.default_rng(seed)
    classes = list(CLASSES[:classes]) + [
        'CUSTOM_CLASS_%d' % i for i in range(max(0, classes - 2))]
    k = len(classes)
    n_zones = max(1, regions // 10)
    zone = np.arange(regions) % n_zones
    centre = rng.uniform(0, 100, (n_zones, 2))
    where = centre[zone] + rng.normal(0, 8, (regions, 2))
    distance = np.linalg.norm(where[:, None] - where[None, :], axis=2)
    names = ['region-%02d' % i for i in range(regions)]
    popularity = 1.0 / np.arange(1, regions + 1) ** 0.8
    home = rng.choice(regions, size=apps, p=popularity / popularity.sum())
    vcpu = rng.lognormal(2.0, 1.0, apps)
    demand = np.empty((apps, k))
    demand[:, 0] = vcpu
    if k > 1:
        demand[:, 1] = vcpu * MIB_PER_VCPU * rng.uniform(0.5, 2.0, apps)
    for j in range(2, k):
        demand[:, j] = vcpu * rng.uniform(0.5, 2.0, apps)
    point = demand / rng.uniform(1.1, 1.5, (apps, 1))
    tiers = rng.choice(TIERS, size=apps, p=[0.2, 0.5, 0.3])
    policy = rng.choice(3, size=apps, p=[0.2, 0.5, 0.3])
    allowed = np.zeros((apps, regions), dtype=bool)
    allowed[np.arange(apps), home] = True
    same_zone = zone[None, :] == zone[home][:, None]
    near = distance[home] < 30.0
    allowed |= (policy == 1)[:, None] & same_zone
    allowed |= (policy == 2)[:, None] & near
    if distinct:
        allowed |= rng.random((apps, regions)) < 0.1
    min_share = np.zeros((apps, regions))
    anchored = (policy == 1) & (rng.random(apps) < 1 / 3)
    min_share[np.nonzero(anchored)[0], home[anchored]] = 0.5
    home_demand = np.zeros((regions, k))
    np.add.at(home_demand, home, demand)
    total = demand.sum(axis=0)
    capacity = (0.6 * home_demand * rng.uniform(0.5, 1.5, (regions, 1)) +
                0.45 * total / regions * rng.uniform(0.5, 1.5,
                                                     (regions, 1)))
    # Room for the minimum shares at home, always.
    floor = np.zeros((regions, k))
    np.add.at(floor, home[anchored], 0.5 * demand[anchored])
    capacity = np.maximum(capacity, floor * 1.05)
    base = rng.uniform(0.6, 1.4, regions)
    prices = {}
    for i, name in enumerate(names):
        prices['%s/*' % name] = float(base[i])
        prices['%s/MEMORY_MB' % name] = float(base[i] / MIB_PER_VCPU * 0.5)
    transfer = {'%s>%s' % (names[i], names[j]): float(0.05 + 0.01 *
                                                      distance[i, j])
                for i in range(regions) for j in range(i + 1, regions)}
    factors = {'MEMORY_MB': 1.0 / MIB_PER_VCPU}
    optimizer = region_lp.RegionLPOptimizer(
        cost.UnitPriceCost(default=1.0, prices=prices),
        cost.TransferCost(default=0.5, costs=transfer,
                          class_factors=factors),
        cost.SLAPenaltyCost(penalties=PENALTIES, class_factors=factors))
    problem = region_lp.RegionProblem(
        names, ['app-%05d' % i for i in range(apps)], classes, demand,
        capacity, home, list(tiers), allowed=allowed, min_share=min_share,
        demand_point=point, level=0.95)
    return problem, optimizer


def greedy(problem, optimizer):
    """The baseline: highest penalty first, cheapest allowed region first.

    :returns: ``(allocation (A, N, K), shortfall (A, K), objective)``.
    """
    p = problem
    k = len(p.resource_classes)
    price = optimizer.unit_price.coefficients(p.regions, p.resource_classes)
    transfer = optimizer.transfer.coefficients(p.regions,
                                               p.resource_classes)
    penalty = optimizer.sla_penalty.coefficients(
        p.regions, p.resource_classes, tiers=p.tiers)
    demand = p.required
    alloc = p.min_share[:, :, None] * demand[:, None, :]
    left = p.capacity - alloc.sum(axis=0)
    rest = demand - alloc.sum(axis=1)
    cost_an = price[None, :, :] + transfer[:, p.home, :].transpose(1, 0, 2)
    order = np.argsort(-penalty.sum(axis=1), kind='stable')
    for i in order:
        regions = np.nonzero(p.allowed[i])[0]
        for j in range(k):
            need = rest[i, j]
            if need <= 0:
                continue
            for r in regions[np.argsort(cost_an[i, regions, j])]:
                if cost_an[i, r, j] >= penalty[i, j]:
                    break
                take = min(need, left[r, j])
                if take > 0:
                    alloc[i, r, j] += take
                    left[r, j] -= take
                    need -= take
                    if need <= 0:
                        break
            rest[i, j] = need
    shortfall = np.maximum(rest, 0.0)
    objective = float((alloc * cost_an).sum() + (shortfall * penalty).sum())
    return alloc, shortfall, objective


def feasible(problem, allocation, shortfall, tolerance=1e-6):
    """Whether an allocation respects every constraint of ``problem``."""
    p = problem
    d = p.required
    scale = max(1.0, float(np.abs(d).max(initial=0.0)))
    tol = tolerance * scale
    return bool(
        np.all(allocation >= -tol) and np.all(shortfall >= -tol) and
        np.allclose(allocation.sum(axis=1) + shortfall, d, atol=tol) and
        np.all(allocation.sum(axis=0) <= p.capacity + tol) and
        not np.any(allocation[~p.allowed] > tol) and
        np.all(allocation >= p.min_share[:, :, None] * d[:, None, :] - tol))


def _timed(func, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run(regions=50, apps=5000, classes=2, seed=0, distinct=False,
        repeat=3, full_lp=False):
    """Run the benchmark; returns a JSON-ready dict.

    Our LP is timed ``repeat`` times (the best and median are reported:
    the machine may be shared); the greedy baseline once. With
    ``full_lp``, the ``full`` method is timed ``repeat`` times too, each
    run right after one of ours.
    """
    problem, optimizer = instance(regions, apps, classes, seed, distinct)
    full = (region_lp.RegionLPOptimizer(
        optimizer.unit_price, optimizer.transfer, optimizer.sla_penalty,
        method='full') if full_lp else None)
    walls, cpus, f_walls, f_cpus = [], [], [], []
    for _ in range(max(1, repeat)):
        sol, wall, cpu = _timed(optimizer.solve, problem)
        walls.append(wall)
        cpus.append(cpu)
        if full is not None:
            f_sol, wall, cpu = _timed(full.solve, problem)
            f_walls.append(wall)
            f_cpus.append(cpu)
    plan, plan_wall, _ = _timed(optimizer.plan, problem, 'bench', sol)
    (g_alloc, g_short, g_obj), g_wall, g_cpu = _timed(greedy, problem,
                                                      optimizer)
    market, m_wall, _ = _timed(clearing.Marketplace(optimizer).run,
                               problem, sol)
    properties = clearing.check(market)
    rep, _inverse = region_lp._groups(
        problem.home, problem.allowed, problem.min_share, sol.penalty)
    ours = {
        'objective': sol.objective,
        'costs': sol.costs,
        'unmet': float(sol.shortfall.sum(axis=0)[0]),
        'seconds': float(np.min(walls)),
        'seconds_median': float(np.median(walls)),
        'cpu_seconds': float(np.min(cpus)),
        'cpu_seconds_median': float(np.median(cpus)),
        'plan_seconds': plan_wall,
        'actions': len(plan.actions),
        'shortfalls': len(plan.shortfalls),
        'feasible': feasible(problem, sol.allocation, sol.shortfall),
        'lp_groups': int(rep.size),
        'lp_method': optimizer.method,
        'lp_solver': sol.solver,
    }
    baseline = {
        'objective': g_obj,
        'unmet': float(g_short.sum(axis=0)[0]),
        'seconds': g_wall,
        'cpu_seconds': g_cpu,
        'feasible': feasible(problem, g_alloc, g_short),
    }
    result = {
        'instance': {
            'regions': regions, 'apps': apps, 'classes': classes,
            'seed': seed, 'distinct': bool(distinct),
            'allowed_pairs': int(problem.allowed.sum()),
            'demand_vcpu': float(problem.required[:, 0].sum()),
            'capacity_vcpu': float(problem.capacity[:, 0].sum()),
        },
        'irra': ours,
        'greedy': baseline,
        'ratio': {
            'cost_greedy_over_irra': (g_obj / sol.objective
                                      if sol.objective else None),
            'seconds_irra_over_greedy': (ours['seconds'] / g_wall
                                         if g_wall else None),
        },
        'market': {
            'properties': properties,
            'all_hold': all(properties.values()),
            'trades': len(market.trades),
            'traded_vcpu': float(sum(t.quantity for t in market.trades
                                     if t.resource_class == 'VCPU')),
            'saving_vs_no_trade': market.saving,
            'cost_no_trade': market.cost_no_trade,
            'regions_losing': int((market.surplus < -1e-6 * max(
                1.0, market.cost_no_trade)).sum()),
            'seconds': m_wall,
        },
        'target_seconds': 2.0,
    }
    if full is not None:
        scale = max(1.0, abs(f_sol.objective))
        result['full_lp'] = {
            'objective': f_sol.objective,
            'seconds': float(np.min(f_walls)),
            'seconds_median': float(np.median(f_walls)),
            'cpu_seconds': float(np.min(f_cpus)),
            'cpu_seconds_median': float(np.median(f_cpus)),
            'objective_rel_diff': abs(sol.objective - f_sol.objective) /
            scale,
            'rent_max_abs_diff': float(np.abs(sol.rent - f_sol.rent).max(
                initial=0.0)),
            'feasible': feasible(problem, f_sol.allocation, f_sol.shortfall),
        }
        result['ratio']['seconds_irra_over_full_lp'] = (
            ours['seconds'] / result['full_lp']['seconds']
            if result['full_lp']['seconds'] else None)
    return result
