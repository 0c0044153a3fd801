"""``irra-manage bench rebalance``: host rebalancing, timed and compared.

Two parts, each side by side in one run:

- **large**: one synthetic cluster (default 2,000 hosts and 20,000 VMs,
  a 24-step horizon, server groups, three zones). irra's heuristic
  against a first-fit baseline in the style of THR-MMT (Beloglazov and
  Buyya): VMs leave each overloaded host least memory first, each to the
  first host (by index) where its peak fits on top of the host's peak —
  peaks, not steps. Both obey the same hard rules (through the same
  constraint checks), so the difference is the policy. Figures: seconds,
  migrations, overloaded hosts left, hosts used.
- **small**: N small clusters solved by the exact MILP, irra's heuristic
  (greedy moves plus MILP neighbourhoods of ``--neighbourhood`` hosts)
  and the greedy moves alone, in consolidation mode (hosts used, the 3 %
  target) and in rebalancing mode (migrations).

Ratios are ours over the reference (baseline or MILP): below 1 is better
for seconds, migrations and hosts.
"""

import time

import numpy as np

from irra_openstack.optimizer import _packing
from irra_openstack.optimizer import model as cluster
from irra_openstack.optimizer import rebalance


def first_fit(problem):
    """The THR-MMT-style baseline; returns the final VM placement."""
    p = problem
    state = _packing.State(p)
    mem = p.flavor[:, 1]
    for h in np.flatnonzero(state.overloaded()):
        items = state.items_on(h)
        items = items[~p.frozen[items]]
        for i in items[np.argsort(mem[items], kind='stable')]:
            xu, xa, xn = state.host_excess(h)
            if not (xu.max() > 0 or xa.max() > 0 or xn > 0):
                break
            found = state.candidates(int(i), usage=False)
            if isinstance(found, _packing.Blocked):
                continue
            idx = found[0]
            fits = np.all(state.peak[idx] + p.usage[i].max(axis=0) <=
                          p.limit[idx], axis=1)
            if fits.any():
                state.move(int(i), int(idx[np.argmax(fits)]))
    return p.vm_host_of(state.item_host)


def _figures(problem, vm_host, seconds):
    ev = problem.evaluate(vm_host)
    return {'seconds': round(seconds, 4), 'migrations': ev['migrations'],
            'overloaded_after': ev['overloaded'],
            'hosts_used': ev['hosts_used'],
            'soft_violations': ev['soft_violations']}


def _ratio(a, b):
    return round(a / b, 4) if b else None


def run_large(hosts, vms, horizon, seed, load, time_limit):
    m = cluster.ClusterModel.random(hosts, vms, horizon=horizon, seed=seed,
                                    load=load, n_groups=vms // 40, n_azs=3)
    started = time.perf_counter()
    res = rebalance.HostRebalancer(method='heuristic',
                                   time_limit=time_limit).plan(m)
    ours = time.perf_counter() - started
    problem = _packing.Problem(m)
    irra = _figures(problem, res.summary['vm_host'], ours)
    irra['shortfalls'] = len(res.shortfalls)
    started = time.perf_counter()
    base = first_fit(_packing.Problem(m))
    base_s = time.perf_counter() - started
    ff = _figures(problem, base, base_s)
    return {
        'hosts': hosts, 'vms': vms, 'horizon': horizon, 'load': load,
        'overloaded_before': int(m.overloaded().sum()),
        'irra': irra, 'first_fit': ff,
        'ratio_irra_over_first_fit': {
            k: _ratio(irra[k], ff[k])
            for k in ('seconds', 'migrations', 'overloaded_after',
                      'hosts_used')},
        'target_seconds': 10.0,
        'meets_target': bool(ours <= 10.0),
    }


def run_small(n, hosts, vms, seed, neighbourhood, progress=None):
    out = {}
    for mode, consolidate, load in (('consolidate', True, 0.4),
                                    ('rebalance', False, 0.6)):
        sums = {k: {'hosts_used': 0, 'migrations': 0, 'overloaded_after': 0,
                    'seconds': 0.0, 'soft_violations': 0}
                for k in ('exact', 'heuristic', 'greedy')}
        gaps = []
        for k in range(n):
            m = cluster.ClusterModel.random(hosts, vms, horizon=6,
                                            seed=seed + k, load=load,
                                            n_groups=2)
            for name, kw in (('exact', {'method': 'exact'}),
                             ('heuristic', {'method': 'heuristic',
                                            'neighbourhood': neighbourhood}),
                             ('greedy', {'method': 'heuristic',
                                         'neighbourhood': 0})):
                started = time.perf_counter()
                res = rebalance.HostRebalancer(
                    consolidate=consolidate, time_limit=60, **kw).plan(m)
                took = time.perf_counter() - started
                s = sums[name]
                for key in ('hosts_used', 'migrations', 'overloaded_after',
                            'soft_violations'):
                    s[key] += res.summary[key]
                s['seconds'] += took
                if name == 'exact' and res.summary['optimality_gap'] \
                        is not None:
                    gaps.append(res.summary['optimality_gap'])
            if progress:
                progress(k + 1 + (n if not consolidate else 0), 2 * n)
        for s in sums.values():
            s['seconds'] = round(s['seconds'], 4)
        ex = sums['exact']
        entry = {'load': load, 'exact': ex, 'heuristic': sums['heuristic'],
                 'greedy': sums['greedy'],
                 'largest_milp_gap': max(gaps) if gaps else None}
        for name in ('heuristic', 'greedy'):
            entry['ratio_%s_over_exact' % name] = {
                k: _ratio(sums[name][k], ex[k])
                for k in ('hosts_used', 'migrations', 'seconds')}
        if consolidate:
            entry['heuristic_within_3pct_hosts'] = bool(
                sums['heuristic']['hosts_used'] <= ex['hosts_used'] * 1.03)
        out[mode] = entry
    return {'instances': n, 'hosts': hosts, 'vms': vms,
            'neighbourhood': neighbourhood, **out}


def run(hosts=2000, vms=20000, horizon=24, small_instances=10,
        small_hosts=8, small_vms=24, seed=0, load=0.7, neighbourhood=3,
        time_limit=10.0, progress=None):
    """The whole benchmark, as one JSON-ready dict."""
    result = {'seed': seed}
    if hosts and vms:
        result['large'] = run_large(hosts, vms, horizon, seed, load,
                                    time_limit)
    if small_instances:
        result['small'] = run_small(small_instances, small_hosts, small_vms,
                                    seed, neighbourhood, progress=progress)
    return result
