"""irra-manage bench: benchmarks that need no cloud."""

import json

from irra_openstack.cmd import common


class BenchCommands:
    """Benchmarks of irra's models on real traces."""

    def __init__(self, conf):
        self.conf = conf

    @common.args('--trace', required=True, metavar='PATH',
                 help='Trace file, folder or archive (any importable '
                      'format, or a canonical .irra file).')
    @common.args('--format', dest='fmt', default='auto', metavar='FMT',
                 help='Trace format (default: sniffed), e.g. azure-wide, '
                      'gwa-t-12, irra.')
    @common.args('--metric', default='cpu', choices=['cpu', 'memory'],
                 help='cpu (cpu_util) or memory (mem_util).')
    @common.args('--horizon', type=int, default=12, metavar='STEPS',
                 help='Forecast horizon in steps of the trace (default 12, '
                      'one hour of 5-minute steps).')
    @common.args('--level', type=float, default=0.9,
                 help='Nominal coverage of the intervals (default 0.9).')
    @common.args('--test-frac', type=float, default=0.3,
                 help='Share of the whole days held out as the test part '
                      '(default 0.3).')
    @common.args('--series', type=int, default=None, metavar='N',
                 help='Use a random sample of N series.')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the sample and the models (default 0).')
    @common.args('--tile', type=int, default=None, metavar='N',
                 help='Repeat the series up to N series (speed run).')
    @common.args('--stride', type=int, default=None, metavar='STEPS',
                 help='Steps between test origins (default: the '
                      'horizon).')
    @common.args('--ets-sample', type=int, default=200, metavar='N',
                 help='Fit ETS on at most N series and extrapolate its '
                      'time (default 200).')
    @common.args('--methods', default=None, metavar='A,B',
                 help='Comma-separated subset of irra, naive, '
                      'seasonal_naive, ets, gbm_uncalibrated.')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def forecast(self, trace, fmt='auto', metric='cpu', horizon=12,
                 level=0.9, test_frac=0.3, series=None, seed=0, tile=None,
                 stride=None, ets_sample=200, methods=None, json_out=None):
        """Score irra's forecaster against the baselines on a trace."""
        from irra_openstack.forecast import base
        from irra_openstack.forecast import bench

        values, start, step, epoch_known, _names = bench.load_series(
            trace, fmt, metric, series=series, seed=seed, tile=tile)
        fc = self.conf.forecast

        def make_irra():
            for name, value in (('step', step),
                                ('horizon', horizon * step),
                                ('level', level)):
                self.conf.set_override(name, value, group='forecast')
            if fc.season % step:
                self.conf.set_override('season', 86400, group='forecast')
            if fc.history % step:
                self.conf.set_override('history', 14 * 86400,
                                       group='forecast')
            return base.from_conf(self.conf, floor=0.0)

        if methods:
            methods = [m.strip() for m in methods.split(',') if m.strip()]
        with common.Progress('bench forecast', unit='origin') as progress:
            result = bench.run(values, start, step, epoch_known, horizon,
                               make_irra, level=level, test_frac=test_frac,
                               stride=stride, ets_sample=ets_sample,
                               seed=seed, methods=methods,
                               progress=progress)
        result['trace'] = str(trace)
        result['metric'] = bench.METRICS.get(metric, metric)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--hosts', type=int, default=1000, metavar='N',
                 help='Compute hosts (HostState objects) per request '
                      '(default 1000).')
    @common.args('--requests', type=int, default=200, metavar='N',
                 help='Scheduling requests timed (default 200).')
    @common.args('--refresh-hosts', type=int, default=10000, metavar='N',
                 help='Hosts of the snapshot whose refresh is timed '
                      '(default 10000).')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the synthetic hosts and requests.')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def scheduler(self, hosts=1000, requests=200, refresh_hosts=10000,
                  seed=0, json_out=None):
        """Time Nova's scheduler with and without irra's filter and weigher.

        Needs nova installed (it runs Nova's own filter and weigher
        handlers on real HostState objects).
        """
        import subprocess
        import sys

        # In a process of its own: Nova's options and irra's share the
        # global cfg.CONF there, and some of their groups clash.
        done = subprocess.run(
            [sys.executable, '-m', 'irra_openstack.scheduler.bench',
             '--hosts', str(hosts), '--requests', str(requests),
             '--refresh-hosts', str(refresh_hosts), '--seed', str(seed)],
            stdout=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit('The scheduler benchmark failed (exit status '
                             '%d); its errors are above.' % done.returncode)
        text = json.dumps(json.loads(done.stdout), indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--vms', type=int, default=2000, metavar='N',
                 help='VMs in the region (default 2000).')
    @common.args('--hours', type=float, default=24.0,
                 help='Hours pulled (default 24).')
    @common.args('--step', type=int, default=300, metavar='SECONDS',
                 help='Step of the grid (default 300).')
    @common.args('--metrics', default='cpu_util,mem_used', metavar='A,B',
                 help='Metrics pulled (default cpu_util,mem_used; also '
                      'disk_read_bps, net_in_bps).')
    @common.args('--servers', default='gnocchi,prometheus', metavar='A,B',
                 help='Real servers to start and load (default both).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def datasource(self, vms=2000, hours=24.0, step=300,
                   metrics='cpu_util,mem_used', servers='gnocchi,prometheus',
                   json_out=None):
        """Batched vs per-VM pulls from real Gnocchi and Prometheus."""
        import sys

        from irra_openstack.datasources import bench as ds_bench

        result = ds_bench.run(
            n_vms=vms, hours=hours, step=step,
            metrics=[m.strip() for m in metrics.split(',') if m.strip()],
            which=[s.strip() for s in servers.split(',') if s.strip()],
            progress=lambda msg: print(msg, file=sys.stderr))
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--resources', type=int, default=10000, metavar='N',
                 help='Forecasts in the database (default 10000).')
    @common.args('--clients', type=int, default=50, metavar='N',
                 help='Concurrent clients (default 50).')
    @common.args('--workers', type=int, default=2, metavar='N',
                 help='irra-api worker processes (default 2).')
    @common.args('--duration', type=float, default=20.0, metavar='SECONDS',
                 help='Measured seconds, after a 3 s warm-up (default 20).')
    @common.args('--page', type=int, default=20, metavar='N',
                 help='Forecasts per listed page (default 20).')
    @common.args('--db', dest='db', default='auto',
                 choices=('auto', 'postgresql', 'sqlite'),
                 help='PostgreSQL on 127.0.0.1:5432 (user postgres) or a '
                      'sqlite file; auto: PostgreSQL when it answers.')
    @common.args('--server', default='auto',
                 choices=('auto', 'uwsgi', 'irra-api'),
                 help='uWSGI (pyuwsgi) or the irra-api development '
                      'server; auto: uWSGI when installed.')
    @common.args('--client', default='auto', choices=('auto', 'wrk', 'python'),
                 help='wrk or asyncio clients in this process; auto: wrk '
                      'when installed.')
    @common.args('--threads', type=int, default=2, metavar='N',
                 help='Threads per uWSGI worker (default 2).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def api(self, resources=10000, clients=50, workers=2, duration=20.0,
            page=20, db='auto', server='auto', client='auto',
            threads=2, json_out=None):
        """p50/p99 latency and throughput of listing forecasts via irra-api."""
        from irra_openstack.api import bench as api_bench

        result = api_bench.run(resources=resources, clients=clients,
                               workers=workers, duration=duration,
                               page=page, database=db, server=server,
                               client=client, threads=threads)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)
