"""Generated data with known anomalies, for the anomaly tests."""

import numpy as np

from irra_openstack.anomaly import rootcause
from irra_openstack import frame
from irra_openstack import plugins

STEP = 300
DAY = 288
HISTORY = 3 * DAY
HORIZON = 12
METRICS = ('cpu', 'memory')


def hierarchy(seed=1, shift=None, n_vm=6, per_host=3):
    """VMs with daily cycles, summed into hosts.

    :param shift: ``(vm, metric, first, last, amount)``: add ``amount``
        to that VM's metric at horizon steps ``first..last``.
    :returns: dict with the VM and host frames, the aggregation matrix,
        host forecasts and VM expected values for the horizon.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(HISTORY + HORIZON)
    base = rng.uniform(20, 50, (n_vm, len(METRICS), 1))
    amp = rng.uniform(5, 15, (n_vm, len(METRICS), 1))
    values = (base + amp * np.sin(2 * np.pi * t / DAY) +
              rng.normal(0, 1, (n_vm, len(METRICS), t.size)))
    if shift is not None:
        vm, metric, first, last, amount = shift
        values[vm, METRICS.index(metric),
               HISTORY + first:HISTORY + last + 1] += amount
    vms = ['vm%d' % i for i in range(n_vm)]
    vm_frame = frame.MetricFrame(start=0, step=STEP, resources=vms,
                                 metrics=METRICS, values=values)
    matrix, hosts = rootcause.aggregation_matrix(
        vms, {v: 'host%d' % (i // per_host) for i, v in enumerate(vms)})
    host_values = np.asarray(matrix @ values.reshape(n_vm, -1)).reshape(
        len(hosts), len(METRICS), -1)
    host_frame = frame.MetricFrame(start=0, step=STEP, resources=hosts,
                                   metrics=METRICS, values=host_values,
                                   kind='host')
    host_fc, vm_point = {}, []
    for metric in METRICS:
        for fr, out in ((host_frame, 'host'), (vm_frame, 'vm')):
            model = plugins.load('irra.forecasters', 'seasonal_naive',
                                 step=STEP, horizon=HORIZON, level=0.9,
                                 season=DAY)
            hist = fr.metric(metric)[:, :HISTORY]
            model.fit(hist, 0)
            fc = model.predict(hist, 0, series=fr.resources, metric=metric)
            if out == 'host':
                host_fc[metric] = fc
            else:
                vm_point.append(fc.point)
    return {'vm_frame': vm_frame, 'host_frame': host_frame,
            'matrix': matrix, 'hosts': hosts, 'vms': vms,
            'host_forecasts': host_fc,
            'vm_expected': np.stack(vm_point, axis=1),
            'window_start': HISTORY * STEP}


def multivariate(seed=2, n_res=20, days=2, window=12, break_relation=True):
    """Resources whose metrics all follow one load; one point breaks it.

    :returns: ``(frame, resource index, step index in the window)`` of
        the injected outlier: memory at the level of a quiet hour while
        the load, and every other metric, is at its peak. Each metric on
        its own stays within its usual range.
    """
    rng = np.random.default_rng(seed)
    metrics = ('cpu', 'memory', 'disk', 'network', 'request_rate')
    length = days * DAY + window
    t = np.arange(length)
    load = (rng.uniform(0.5, 2, (n_res, 1)) *
            (1.2 + np.sin(2 * np.pi * t / DAY + rng.uniform(0, 6,
                                                            (n_res, 1)))))
    load += rng.normal(0, 0.05, load.shape)
    coef = rng.uniform(0.5, 3, (n_res, len(metrics), 1))
    offset = rng.uniform(5, 50, (n_res, len(metrics), 1))
    values = (offset + coef * load[:, None, :] +
              rng.normal(0, 0.05, (n_res, len(metrics), length)) * coef)
    hist = days * DAY
    res = int(np.argmax(load[:, hist:].max(axis=1)))
    step = int(np.argmax(load[res, hist:]))
    if break_relation and hist:
        quiet = np.percentile(load[res, :hist], 10)
        values[res, 1, hist + step] = offset[res, 1, 0] + \
            coef[res, 1, 0] * quiet
    fr = frame.MetricFrame(start=0, step=STEP,
                           resources=['vm%d' % i for i in range(n_res)],
                           metrics=metrics, values=values)
    return fr, res, step
