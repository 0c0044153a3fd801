"""Real-shaped measures for real servers, and the datasource benchmark.

:func:`make_truth` draws a real-shaped workload (a daily cycle, noise,
bursts, gaps, VMs that start or stop in mid-window, a restarted VM whose
CPU counter resets). :func:`to_measures` turns it into what Ceilometer
would have sent: cumulative counters (CPU ns, bytes) sampled once per step
with a phase and jitter, per-disk and per-interface devices, and gauges.
:func:`load_gnocchi` and :func:`load_prometheus` put the measures into real
servers (:mod:`.servers`). :func:`expected` says what a datasource must
read back, by the rules of :mod:`.base`, written independently of it.

:func:`run` is ``irra-manage bench datasource``: it loads both servers and
times the batched pull against the per-VM loop on the same data.
"""

import dataclasses
import os
import time
import uuid

import numpy as np

from irra_openstack.datasources import base
from irra_openstack.datasources import gnocchi
from irra_openstack.datasources import prometheus
from irra_openstack.datasources import servers
from irra_openstack import frame as frame_mod

#: Metrics of the truth (irra names) and how Ceilometer reports them.
METRICS = ('cpu_util', 'mem_used', 'disk_read_bps', 'net_in_bps')


@dataclasses.dataclass
class Truth:
    """The workload of one region."""

    region: str
    frame: frame_mod.MetricFrame       # observed values (NaN: no sample)
    underlying: np.ndarray             # (R, M, T) values, gaps filled
    vcpus: np.ndarray                  # (R,)
    phase: np.ndarray                  # (R,) seconds after each step
    jitter: np.ndarray                 # (R, T) seconds
    reset_at: dict                     # {resource index: step}
    n_nics: int = 2


def make_truth(region, n_vms, n_steps, start, step=300, seed=0,
               gap_rate=0.03, churn=True, reset=True):
    rng = np.random.default_rng(seed)
    t = start + step * np.arange(n_steps)
    day = 2 * np.pi * ((t % 86400) / 86400.0)
    level = rng.uniform(5, 60, n_vms)[:, None]
    amp = rng.uniform(0.1, 0.8, n_vms)[:, None]
    cpu = level * (1 + amp * np.sin(day - rng.uniform(0, 6.28, n_vms)[
        :, None])) + rng.gamma(2.0, 2.0, (n_vms, n_steps))
    bursts = rng.random((n_vms, n_steps)) < 0.01
    cpu = np.clip(np.where(bursts, cpu * 2.5, cpu), 0.5, 100.0)
    vcpus = rng.choice([1, 2, 4, 8], n_vms).astype(float)
    ram = vcpus * 2048
    mem = np.clip(ram[:, None] * (0.3 + 0.4 * cpu / 100.0)
                  + rng.normal(0, 20, (n_vms, n_steps)), 64, None)
    disk = np.abs(rng.lognormal(11, 1.0, (n_vms, n_steps)) * cpu / 50)
    net = np.abs(rng.lognormal(10, 1.2, (n_vms, n_steps)) * cpu / 50)
    under = np.stack([cpu, mem, disk, net], axis=1).round(3)
    observed = under.copy()
    gaps = rng.random((n_vms, n_steps)) < gap_rate
    observed[np.repeat(gaps[:, None, :], 4, axis=1)] = np.nan
    alive = np.ones((n_vms, n_steps), bool)
    if churn and n_vms >= 4 and n_steps >= 8:
        alive[0, :n_steps // 3] = False          # appears in mid-window
        alive[1, 2 * n_steps // 3:] = False      # disappears
    observed[np.repeat(~alive[:, None, :], 4, axis=1)] = np.nan
    under[np.repeat(~alive[:, None, :], 4, axis=1)] = np.nan
    resets = {}
    if reset and n_vms >= 3 and n_steps >= 8:
        k = n_steps // 2
        observed[2, :, k - 1:k + 1] = under[2, :, k - 1:k + 1]
        resets[2] = k
    names = [str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.vm%d.%d' % (
        region, i, seed))) for i in range(n_vms)]
    frame = frame_mod.MetricFrame(
        start=start, step=step, resources=names, metrics=METRICS,
        values=observed, kind='vm',
        units={m: base.unit_of(m) for m in METRICS},
        attributes={n: {'vcpus': int(v), 'ram_mb': int(r)}
                    for n, v, r in zip(names, vcpus, ram)})
    return Truth(region=region, frame=frame, underlying=under, vcpus=vcpus,
                 phase=rng.uniform(5, 60, n_vms),
                 jitter=rng.uniform(-4, 4, (n_vms, n_steps)),
                 reset_at=resets)


def _counters(truth):
    """Cumulative counters (value x seconds) of the underlying values.

    A VM that is not alive adds nothing; the VM in ``reset_at`` restarts
    its counters from zero at the start of that step.
    """
    inc = np.nan_to_num(truth.underlying) * truth.frame.step
    c = np.cumsum(inc, axis=2)
    for r, k in truth.reset_at.items():
        c[r, :, k:] -= c[r, :, k - 1:k]
    return c


def to_measures(truth):
    """``(times, cpu_ns, mem_mb, disk_bytes, net_bytes_per_nic)``.

    Arrays are (R, T) (net: (R, nics, T)); NaN where no sample was sent.
    Samples are sent ``phase`` (5-60 s, per VM) plus a jitter of a few
    seconds after the start of each step, as a polling agent does.
    """
    f = truth.frame
    times = (f.times[None, :] + truth.phase[:, None]
             + truth.jitter).round(3)
    c = _counters(truth)
    sent = ~np.isnan(f.values[:, 0, :])
    cpu_ns = np.where(sent, c[:, 0, :] / 100.0 * truth.vcpus[:, None]
                      * 1e9, np.nan)
    mem = np.where(sent, f.values[:, 1, :], np.nan)
    disk = np.where(sent, c[:, 2, :], np.nan)
    share = np.array([0.6, 0.4])[:truth.n_nics]
    net = np.where(sent[:, None, :],
                   c[:, 3, None, :] * share[None, :, None], np.nan)
    return times, cpu_ns, mem, disk, net


def expected(truth):
    """What a datasource must read back, by the rules of :mod:`.base`.

    Gauges: the observed value. Counters: the mean of the underlying values
    since the previous sample (a reset makes the step's value its own).
    Written as plain loops, independently of :func:`base.counter_to_rate`.
    """
    f = truth.frame
    out = f.values.copy()
    sent = ~np.isnan(f.values[:, 0, :])
    for r in range(f.n_resources):
        prev = None
        for k in range(f.n_steps):
            if not sent[r, k]:
                continue
            for m in (0, 2, 3):
                if prev is None:
                    out[r, m, k] = np.nan
                elif truth.reset_at.get(r) == k:
                    out[r, m, k] = truth.underlying[r, m, k] / (k - prev)
                else:
                    out[r, m, k] = np.mean(
                        truth.underlying[r, m, prev + 1:k + 1])
            prev = k
    return out


# -- loading real servers ------------------------------------------------

def load_gnocchi(server, truths, vcpus_metric=True, metrics=METRICS):
    """Put the truths' measures into a :class:`servers.GnocchiServer`.

    Only the devices that ``metrics`` need are created (disks for
    ``disk_read_bps``, interfaces for ``net_in_bps``).
    """
    for truth in truths:
        f = truth.frame
        times, cpu_ns, mem, disk, net = to_measures(truth)
        inst, disks, nics = [], [], []
        measures = {}
        for i, vm in enumerate(f.resources):
            mets = ['cpu', 'memory.usage'] + (['vcpus'] if vcpus_metric
                                              else [])
            inst.append((vm, {'host': 'cmp-%d' % (i % 7)}, mets))
            measures[vm] = {'cpu': (times[i], cpu_ns[i]),
                            'memory.usage': (times[i], mem[i])}
            if vcpus_metric:
                measures[vm]['vcpus'] = (times[i], np.where(
                    np.isnan(mem[i]), np.nan, truth.vcpus[i]))
            did = str(uuid.uuid5(uuid.NAMESPACE_URL, vm + '/vda'))
            disks.append((did, {'instance_id': vm, 'name': 'vda'},
                          ['disk.device.read.bytes']))
            measures[did] = {'disk.device.read.bytes': (times[i], disk[i])}
            for n in range(truth.n_nics):
                nid = str(uuid.uuid5(uuid.NAMESPACE_URL, vm + '/tap%d' % n))
                nics.append((nid, {'instance_id': vm, 'name': 'tap%d' % n},
                             ['network.incoming.bytes']))
                measures[nid] = {'network.incoming.bytes': (times[i],
                                                            net[i, n])}
        if 'disk_read_bps' not in metrics:
            disks = []
        if 'net_in_bps' not in metrics:
            nics = []
        keep = {r[0] for r in inst + disks + nics}
        server.create_resources('instance', inst)
        server.create_resources('instance_disk', disks)
        server.create_resources('instance_network_interface', nics)
        server.push({k: v for k, v in measures.items() if k in keep})
    server.wait_processed()


def prometheus_families(truth, time_shift=0):
    """OpenMetrics families of one region, as sg-core exposes Ceilometer."""
    f = truth.frame
    times, cpu_ns, mem, disk, net = to_measures(truth)
    times = times + time_shift
    fam = {'ceilometer_cpu': [], 'ceilometer_memory_usage': [],
           'ceilometer_vcpus': [], 'ceilometer_disk_device_read_bytes': [],
           'ceilometer_network_incoming_bytes': []}
    for i, vm in enumerate(f.resources):
        fam['ceilometer_cpu'].append(({'resource': vm}, times[i],
                                      cpu_ns[i]))
        fam['ceilometer_memory_usage'].append(({'resource': vm}, times[i],
                                               mem[i]))
        fam['ceilometer_vcpus'].append(({'resource': vm}, times[i],
                                        np.where(np.isnan(mem[i]), np.nan,
                                                 truth.vcpus[i])))
        fam['ceilometer_disk_device_read_bytes'].append(
            ({'resource': vm + '-vda', 'vm_instance': vm}, times[i],
             disk[i]))
        for n in range(truth.n_nics):
            fam['ceilometer_network_incoming_bytes'].append(
                ({'resource': '%s-tap%d' % (vm, n), 'vm_instance': vm},
                 times[i], net[i, n]))
    return list(fam.items())


_FAMILIES = {'cpu_util': ('ceilometer_cpu', 'ceilometer_vcpus'),
             'mem_used': ('ceilometer_memory_usage',),
             'disk_read_bps': ('ceilometer_disk_device_read_bytes',),
             'net_in_bps': ('ceilometer_network_incoming_bytes',)}


def load_prometheus(truth, time_shift=0, metrics=METRICS):
    """A started :class:`servers.PrometheusServer` holding one region."""
    server = servers.PrometheusServer()
    wanted = {f for m in metrics for f in _FAMILIES[m]}
    try:
        path = os.path.join(server.root, 'in.om')
        servers.write_openmetrics(path, [
            fam for fam in prometheus_families(truth, time_shift)
            if fam[0] in wanted])
        server.backfill(path)
        os.unlink(path)
        server.start()
    except Exception:
        server.stop()
        raise
    return server


# -- the benchmark -------------------------------------------------------

def _measure(pull, server_cpu):
    """Run ``pull()``; its result and what it cost.

    Wall seconds, the CPU seconds of this process (all its threads: the
    client's requests and decoding) and of the server
    (``server_cpu()``, its processes' total so far), and the 1-minute
    load average before and after: the machine is shared, and the
    timings scale with its load.
    """
    load0 = os.getloadavg()[0]
    s0, c0, w0 = server_cpu(), time.process_time(), time.monotonic()
    result = pull()
    wall = time.monotonic() - w0
    cost = {'wall_seconds': round(wall, 3),
            'client_cpu_seconds': round(time.process_time() - c0, 3),
            'server_cpu_seconds': round(server_cpu() - s0, 3),
            'loadavg_1min': [round(load0, 2),
                             round(os.getloadavg()[0], 2)]}
    return result, cost


def _reasons(result, n=5):
    """The most frequent reasons of a pull's failed attempts."""
    top = sorted(result.failure_reasons.items(), key=lambda kv: -kv[1])
    return dict(top[:n])


def _compare(ds, truth, metrics, server_cpu=lambda: 0.0):
    f = truth.frame
    step = f.step
    res = {r: [] for r in ds.regions}
    res[truth.region] = list(f.resources)
    # The vCPU counts come from the inventory (Nova's flavors), as in
    # the engine's cycle, for both ways.
    attrs = {r: {'vcpus': int(v)} for r, v in zip(f.resources,
                                                  truth.vcpus)}
    parallel = ds.parallel

    def batched_pull():
        return ds.fetch(f.start, f.end, step, metrics=metrics,
                        attributes=attrs)

    # The first pull after loading pays for the server's cold caches;
    # it is reported, and then both ways are timed on warm caches.
    cold, cold_cost = _measure(batched_pull, server_cpu)
    batched, batched_cost = _measure(batched_pull, server_cpu)
    # The per-VM loop runs with the same client concurrency as the
    # batched pull: at most ``parallel`` requests in flight, from one
    # pool of the (metric, VM) requests.
    loop, loop_cost = _measure(
        lambda: ds.fetch_per_resource(f.start, f.end, step, res,
                                      metrics=metrics, attributes=attrs),
        server_cpu)
    try:
        # The batched pull one metric at a time is reported too.
        ds.parallel = 1
        sequential, sequential_cost = _measure(batched_pull, server_cpu)
    finally:
        ds.parallel = parallel
    region = ds.regions[truth.region]
    jobs = sum(len(ds.query_parts(region, ds.metrics[m])) for m in metrics)
    in_flight = min(parallel, jobs)
    exp = expected(truth)
    mi = [METRICS.index(m) for m in metrics]
    errs = {}
    for label, r in (('batched', batched), ('per_vm', loop)):
        fr = r.frames.get(truth.region)
        if fr is None:
            errs[label] = None
            continue
        got = fr.select(resources=f.resources).values
        want = exp[:, mi, :]
        both = ~np.isnan(got) & ~np.isnan(want)
        errs[label] = {
            'max_rel_error': float(np.max(np.abs(got[both] - want[both])
                                          / np.maximum(np.abs(want[both]),
                                                       1e-9)))
            if both.any() else None,
            'values': int(both.sum()),
            'missing_mismatch': int((np.isnan(got) != np.isnan(want)).sum()),
        }
    out = {
        'batched': {'requests': batched.requests,
                    'seconds': round(batched.seconds, 3),
                    'cold_seconds': round(cold.seconds, 3),
                    'one_metric_at_a_time_seconds': round(
                        sequential.seconds, 3),
                    'cost': batched_cost,
                    'cold_cost': cold_cost,
                    'one_metric_at_a_time_cost': sequential_cost,
                    'parallel': parallel,
                    'in_flight': in_flight,
                    'complete': batched.complete,
                    'failed_attempts': batched.failed_attempts,
                    'failure_reasons': _reasons(batched),
                    'missing': [str(m)[:300] for m in batched.missing[:5]],
                    'accuracy': errs['batched']},
        'per_vm': {'requests': loop.requests,
                   'seconds': round(loop.seconds, 3),
                   'cost': loop_cost,
                   'parallel': parallel,
                   'in_flight': min(parallel, len(metrics) * f.n_resources),
                   'complete': loop.complete,
                   'failed_attempts': loop.failed_attempts,
                   'failure_reasons': _reasons(loop),
                   'missing': [str(m)[:300] for m in loop.missing[:5]],
                   'accuracy': errs['per_vm']},
    }
    out['request_ratio'] = round(loop.requests / max(batched.requests, 1),
                                 1)
    out['speedup'] = round(loop.seconds / max(batched.seconds, 1e-9), 1)
    # CPU seconds (client and server together) the per-VM loop used for
    # each one the batched pull used: the speedup less the machine's load.
    cpu = {k: c['client_cpu_seconds'] + c['server_cpu_seconds']
           for k, c in (('batched', batched_cost), ('per_vm', loop_cost))}
    out['cpu_ratio'] = round(cpu['per_vm'] / max(cpu['batched'], 1e-9), 1)
    out['targets_met'] = bool(out['request_ratio'] >= 10
                              and out['speedup'] >= 5
                              and max(batched.seconds, cold.seconds) <= 30
                              and batched.complete and loop.complete)
    return out


def run(n_vms=2000, hours=24, step=300, metrics=('cpu_util', 'mem_used'),
        which=('gnocchi', 'prometheus'), progress=print, seed=0,
        gnocchi_chunks=4, gnocchi_processes=4, gnocchi_threads=1,
        parallel=4, retries=2):
    """Load real servers and compare the batched pull with per-VM queries.

    :param gnocchi_chunks: parts of each Gnocchi metric request (the
        datasource's ``chunks``), so that several API processes share it.
    :param gnocchi_processes: uWSGI processes of Gnocchi's API.
    :param gnocchi_threads: threads per API process.
    :param parallel: requests in flight, for both ways.
    :param retries: retries of a failed request (the datasources'
        default, 2), for both ways. Every failed attempt is reported
        (``failed_attempts``, ``failure_reasons``), and its time counts.

    :returns: a JSON-able dict.
    """
    n_steps = int(hours * 3600 // step)
    now = int(time.time()) // step * step
    start = now - n_steps * step - 2 * 3600
    truth = make_truth('bench', n_vms, n_steps, start, step, seed=seed,
                       churn=False, reset=True)
    truth.frame = truth.frame.replace(attributes={})
    result = {'vms': n_vms, 'steps': n_steps, 'step': step,
              'metrics': list(metrics), 'hours': hours,
              'targets': {'request_ratio': 10, 'speedup': 5,
                          'batched_seconds_max': 30},
              'parallel': parallel, 'retries': retries,
              # The machine is shared: its load says how far the wall
              # times are from what the CPU times would allow.
              'machine': {'cpus': os.cpu_count(),
                          'loadavg_at_start': [round(x, 2) for x in
                                               os.getloadavg()]}}
    if 'gnocchi' in which:
        g = servers.GnocchiServer(api_processes=gnocchi_processes,
                                  api_threads=gnocchi_threads)
        try:
            t0 = time.monotonic()
            g.start()
            g.setup_ceilometer_types(step, n_steps + 48)
            load_gnocchi(g, [truth], metrics=metrics)
            progress('gnocchi loaded in %.0f s' % (time.monotonic() - t0))
            ds = gnocchi.GnocchiDatasource(
                [base.Region('bench', g.url, session=g.session())],
                timeout=600, retries=retries, chunks=gnocchi_chunks,
                parallel=parallel)
            result['gnocchi_chunks'] = gnocchi_chunks
            result['gnocchi_api_processes'] = gnocchi_processes
            result['gnocchi_api_threads'] = gnocchi_threads
            result['gnocchi_parallel_operations'] = g.parallel_operations
            result['gnocchi'] = _compare(ds, truth, metrics,
                                         g.cpu_seconds)
            progress('gnocchi: %s' % result['gnocchi'])
        finally:
            g.stop()
    if 'prometheus' in which:
        t0 = time.monotonic()
        p = load_prometheus(truth, metrics=metrics)
        try:
            progress('prometheus loaded in %.0f s'
                     % (time.monotonic() - t0))
            ds = prometheus.PrometheusDatasource(
                [base.Region('bench', p.url)], timeout=600,
                retries=retries,
                parallel=parallel)
            result['prometheus'] = _compare(ds, truth, metrics,
                                            p.cpu_seconds)
            progress('prometheus: %s' % result['prometheus'])
        finally:
            p.stop()
    result['machine']['loadavg_at_end'] = [round(x, 2) for x in
                                           os.getloadavg()]
    return result
