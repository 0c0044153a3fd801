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
    @common.args('--no-inputs', dest='inputs', action='store_false',
                 default=True,
                 help='Forecast the metric from its own history only. By '
                      'default irra also takes the inputs the service '
                      'gives it: for memory, the CPU use of the same VM '
                      '(when the trace has it and [planning] '
                      'cpu_as_memory_input is true).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def forecast(self, trace, fmt='auto', metric='cpu', horizon=12,
                 level=0.9, test_frac=0.3, series=None, seed=0, tile=None,
                 stride=None, ets_sample=200, methods=None, inputs=True,
                 json_out=None):
        """Score irra's forecaster against the baselines on a trace."""
        from irra_openstack.forecast import base
        from irra_openstack.forecast import bench

        wanted = bench.service_inputs(
            metric, self.conf.planning.cpu_as_memory_input) if inputs else []
        values, start, step, epoch_known, _names, exog = bench.load(
            trace, fmt, metric, inputs=wanted, series=series, seed=seed,
            tile=tile)
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
                               progress=progress, inputs=exog)
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
    @common.args('--rounds', type=int, default=3, metavar='N',
                 help='Rounds over the requests, each timing every request '
                      'with and without irra back to back (default 3).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def scheduler(self, hosts=1000, requests=200, refresh_hosts=10000,
                  seed=0, rounds=3, json_out=None):
        """Time Nova's scheduler with and without irra's filter and weigher.

        Needs nova installed (it runs Nova's own filter and weigher
        handlers on real HostState objects). The ratio is the median of
        per-request ratios over all rounds, with its spread.
        """
        import subprocess
        import sys

        if hosts < 2 or requests < 1 or rounds < 1 or refresh_hosts < 1:
            raise SystemExit('bench scheduler needs --hosts 2 or more and '
                             '--requests, --rounds and --refresh-hosts 1 or '
                             'more.')
        # In a process of its own: Nova's options and irra's share the
        # global cfg.CONF there, and some of their groups clash.
        done = subprocess.run(
            [sys.executable, '-m', 'irra_openstack.scheduler.bench',
             '--hosts', str(hosts), '--requests', str(requests),
             '--refresh-hosts', str(refresh_hosts), '--seed', str(seed),
             '--rounds', str(rounds)],
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
    @common.args('--parallel', type=int, default=4, metavar='N',
                 help='Requests in flight at once, for the batched pull '
                      'and the per-VM loop alike (default 4).')
    @common.args('--gnocchi-chunks', type=int, default=4, metavar='N',
                 help='Parts of each Gnocchi metric request, by UUID '
                      'range (default 4).')
    @common.args('--gnocchi-processes', type=int, default=4, metavar='N',
                 help="uWSGI processes of Gnocchi's API (default 4).")
    @common.args('--gnocchi-threads', type=int, default=1, metavar='N',
                 help="Threads per uWSGI process of Gnocchi's API "
                      '(default 1: concurrent requests spread over the '
                      'processes).')
    @common.args('--retries', type=int, default=2, metavar='N',
                 help='Retries of a failed request, for both ways '
                      '(default 2, as the datasources); the JSON counts '
                      'the failed attempts and their reasons.')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def datasource(self, vms=2000, hours=24.0, step=300,
                   metrics='cpu_util,mem_used', servers='gnocchi,prometheus',
                   parallel=4, gnocchi_chunks=4, gnocchi_processes=4,
                   gnocchi_threads=1, retries=2, json_out=None):
        """Batched vs per-VM pulls from real Gnocchi and Prometheus."""
        import sys

        from irra_openstack.datasources import bench as ds_bench

        if min(parallel, gnocchi_chunks, gnocchi_processes, gnocchi_threads,
               vms) < 1 or retries < 0:
            print('--parallel, --gnocchi-chunks, --gnocchi-processes, '
                  '--gnocchi-threads and --vms must be at least 1, '
                  '--retries at least 0', file=sys.stderr)
            return 1
        result = ds_bench.run(
            n_vms=vms, hours=hours, step=step,
            metrics=[m.strip() for m in metrics.split(',') if m.strip()],
            which=[s.strip() for s in servers.split(',') if s.strip()],
            progress=lambda msg: print(msg, file=sys.stderr),
            gnocchi_chunks=gnocchi_chunks,
            gnocchi_processes=gnocchi_processes,
            gnocchi_threads=gnocchi_threads, parallel=parallel,
            retries=retries)
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

    @common.args('--trace', required=True, metavar='PATH',
                 help='Trace file, folder or archive (any importable '
                      'format, or a canonical .irra file).')
    @common.args('--format', dest='fmt', default='auto', metavar='FMT',
                 help='Trace format (default: sniffed), e.g. gwa-t-12, '
                      'planetlab, irra.')
    @common.args('--hosts', type=int, default=24, metavar='N',
                 help='Identical compute hosts (default 24).')
    @common.args('--host-cpus', type=float, default=16.0, metavar='C',
                 help='Physical cores per host (default 16).')
    @common.args('--cpu-ratio', type=float, default=4.0, metavar='R',
                 help='vCPU allocation ratio (default 4).')
    @common.args('--host-ram-gb', type=float, default=None, metavar='GB',
                 help='RAM per host (default: twice the mean VM RAM per '
                      'host plus the largest VM\'s, so vCPUs bind first).')
    @common.args('--policies', default=','.join(
        ('irra', 'reactive', 'oracle', 'none',
         'watcher:workload_stabilization',
         'watcher:vm_workload_consolidation',
         'watcher:workload_balance')), metavar='A,B',
        help='Comma-separated policies: irra, reactive, oracle, none, '
             'watcher:<strategy> (default: all seven).')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the initial placement (default 0).')
    @common.args('--start-day', type=float, default=0.0, metavar='D',
                 help='Days of the trace to skip (default 0).')
    @common.args('--days', type=float, default=None, metavar='D',
                 help='Days to replay from there (default: all).')
    @common.args('--warmup-hours', type=float, default=1.0, metavar='H',
                 help='History before the first audit; not scored '
                      '(default 1).')
    @common.args('--audit-minutes', type=float, default=5.0, metavar='M',
                 help='Planning interval of irra and oracle (default 5: '
                      'every step of a 5-minute trace).')
    @common.args('--watcher-audit-minutes', type=float, default=15.0,
                 metavar='M',
                 help='Planning interval of the Watcher strategies '
                      '(default 15; a Watcher audit takes about 0.1 s on '
                      '200 VMs and seconds on 1,500).')
    @common.args('--reactive-audit-minutes', type=float, default=5.0,
                 metavar='M',
                 help='Planning interval of reactive (default 5, as in '
                      'CloudSim).')
    @common.args('--horizon', type=int, default=12, metavar='STEPS',
                 help='Steps that irra and oracle plan ahead (default 12).')
    @common.args('--threshold', type=float, default=0.8,
                 help='Share of a host\'s cores that irra and oracle let '
                      'the predicted upper bound reach (default 0.8).')
    @common.args('--reactive-threshold', type=float, default=0.8,
                 help='THR-MMT\'s utilisation threshold (default 0.8).')
    @common.args('--overload-threshold', type=float, default=1.0,
                 help='Share of a host\'s cores above which it counts as '
                      'overloaded in the metrics (default 1.0).')
    @common.args('--forecaster', default='auto', metavar='NAME',
                 help='irra.forecasters plugin of the irra policy '
                      '(default auto).')
    @common.args('--history-days', type=float, default=3.0, metavar='D',
                 help='Days of history the forecaster is fitted on at each '
                      'audit (default 3).')
    @common.args('--consolidate', dest='consolidate', action='store_true',
                 default=False,
                 help='irra and oracle also empty hosts when the forecast '
                      'allows (see --min-freed-hosts).')
    @common.args('--no-consolidate', dest='consolidate',
                 action='store_false', default=False,
                 help='irra and oracle only remove overloads; they do not '
                      'empty hosts (the default).')
    @common.args('--min-freed-hosts', type=int, default=1, metavar='N',
                 help='irra and oracle keep a consolidating plan only when '
                      'it frees N hosts or more, else they only remove '
                      'predicted overloads; 0 keeps every one (default 1).')
    @common.args('--max-moves-per-freed-host', type=float, default=5.0,
                 metavar='N',
                 help='irra and oracle also drop a consolidating plan of '
                      'more than N migrations per freed host; 0 for no '
                      'limit (default 5).')
    @common.args('--host-intervals', dest='host_intervals',
                 action='store_true', default=True,
                 help='irra calibrates each host\'s interval on its own '
                      'residuals (forecast.hierarchy) instead of adding '
                      'up its VMs\' upper bounds (the default).')
    @common.args('--no-host-intervals', dest='host_intervals',
                 action='store_false', default=True,
                 help='irra adds up its VMs\' upper bounds per host.')
    @common.args('--objective', default='risk',
                 choices=('threshold', 'risk'),
                 help='Objective of irra\'s and oracle\'s rebalancer: '
                      'threshold (keep every host\'s predicted upper '
                      'bound under --threshold with the fewest '
                      'migrations) or risk (from scenarios of the VMs\' '
                      'demand, see --scenarios, make only the '
                      'migrations that lower the expected '
                      'overloaded host-minutes by more than --move-cost '
                      'each; no consolidation). Default risk.')
    @common.args('--move-cost', type=float, default=1.0, metavar='MINUTES',
                 help='With --objective risk: expected overloaded '
                      'host-minutes a migration must save (default 1).')
    @common.args('--risk-level', type=float, default=None, metavar='R',
                 help='With --objective risk: share of a host\'s cores '
                      'above which it counts as overloaded in the risk '
                      '(default: --overload-threshold).')
    @common.args('--scenarios', default='floored',
                 choices=('floored', 'host_floored', 'confident', 'point',
                          'residuals'),
                 help='With --objective risk, what irra plans on: '
                      'floored (one scenario per VM, its point forecast '
                      'never below its demand of the last tick: a rise '
                      'the forecast sees is planned for, a fall is not '
                      'taken for granted), host_floored (the point '
                      'forecast, each host\'s sum of its VMs\' forecasts '
                      'never below the host\'s load of the last tick: a '
                      'VM\'s expected rise is offset by the expected '
                      'falls of the VMs beside it), confident (the same '
                      'as floored with the '
                      'lower bound of the forecast\'s interval: only a '
                      'rise the whole interval sees is planned for), '
                      'point (the point forecast alone, not floored) or '
                      'residuals (the point '
                      'forecast plus the back-test residuals of past '
                      'origins, one joint scenario per origin). Default '
                      'floored.')
    @common.args('--rise-minutes', type=float, default=0.0,
                 metavar='MINUTES',
                 help='With --scenarios floored, host_floored, '
                      'confident or point: irra '
                      'plans on the forecast of the next MINUTES only and '
                      'holds its value from there to the end of the '
                      'horizon, as the last value is held; a rise '
                      'expected later is left to a later audit (default '
                      '0: the whole horizon). The oracle always plans on '
                      'the whole actual future.')
    @common.args('--hysteresis-hours', type=float, default=0.0,
                 metavar='H',
                 help='With --objective risk: a VM that changed host in '
                      'the last H hours costs twice --move-cost to move '
                      'again (default 0: no hysteresis).')
    @common.args('--early-audits', dest='early_audits',
                 action='store_true', default=False,
                 help='irra and oracle also audit between their scheduled '
                      'audits, as soon as a host\'s actual load leaves '
                      'what the last plan expected (above the sum of its '
                      'VMs\' upper bounds and above --threshold).')
    @common.args('--no-early-audits', dest='early_audits',
                 action='store_false', default=False,
                 help='irra and oracle audit only every --audit-minutes '
                      '(the default).')
    @common.args('--refit-hours', type=float, default=24.0, metavar='H',
                 help='Refit irra\'s forecaster every H hours (sooner '
                      'while the history is short) and forecast at every '
                      'audit from the last fit; 0 refits at every audit '
                      '(default 24).')
    @common.args('--forecaster-threads', type=int, default=2, metavar='N',
                 help='Threads of irra\'s learned forecast models (gbm, '
                      'ridge, and auto\'s candidates), as the service\'s '
                      '[forecasters.gbm] threads; 0: one per core '
                      '(default 2).')
    @common.args('--plan-time-limit', type=float, default=1.0,
                 metavar='SECONDS',
                 help='Seconds the rebalancer\'s consolidation passes may '
                      'take per audit (irra and oracle; default 1).')
    @common.args('--bandwidth-gbps', type=float, default=1.0,
                 help='Live-migration bandwidth per host (default 1).')
    @common.args('--dirty-factor', type=float, default=1.3,
                 help='RAM copies per migration, for re-sent dirty pages '
                      '(default 1.3).')
    @common.args('--migration-overhead', type=float, default=0.1,
                 metavar='VCPU',
                 help='Extra vCPUs used on each end while a migration '
                      'runs (default 0.1).')
    @common.args('--overload-weight', type=float, default=1.0,
                 help='Weight of one overloaded host-minute in the '
                      'combined cost (default 1).')
    @common.args('--active-weight', type=float, default=1.0,
                 help='Weight of one active host-hour in the combined '
                      'cost (default 1).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def replay(self, trace, fmt='auto', hosts=24, host_cpus=16.0,
               cpu_ratio=4.0, host_ram_gb=None, policies=None, seed=0,
               start_day=0.0, days=None, warmup_hours=1.0,
               audit_minutes=5.0, watcher_audit_minutes=15.0,
               reactive_audit_minutes=5.0, horizon=12,
               threshold=0.8, reactive_threshold=0.8,
               overload_threshold=1.0, forecaster='auto',
               history_days=3.0, consolidate=False, min_freed_hosts=1,
               max_moves_per_freed_host=5.0, host_intervals=True,
               plan_time_limit=1.0, objective='risk', move_cost=1.0,
               risk_level=None, refit_hours=24.0, hysteresis_hours=0.0,
               early_audits=False, scenarios='floored', rise_minutes=0.0,
               forecaster_threads=2, bandwidth_gbps=1.0, dirty_factor=1.3,
               migration_overhead=0.1, overload_weight=1.0,
               active_weight=1.0, json_out=None):
        """Replay a trace under irra, reactive, oracle, none and Watcher."""
        from irra_openstack.engine import replay as replay_mod
        from irra_openstack.engine import replay_policies

        if forecaster_threads < 0:
            raise replay_mod.ReplayError(
                reason="--forecaster-threads must be 0 (one per core) or "
                       "more, got %d" % forecaster_threads)
        if rise_minutes < 0:
            raise replay_mod.ReplayError(
                reason="--rise-minutes must be 0 (the whole horizon) or "
                       "more, got %g" % rise_minutes)
        workload = replay_mod.load_workload(trace, fmt, start_day=start_day,
                                            days=days)
        step = workload.step

        def steps(minutes, what):
            n = int(round(minutes * 60.0 / step))
            if n < 1:
                raise replay_mod.ReplayError(
                    reason="%s (%g minutes) is shorter than the trace's "
                           "step (%d s)" % (what, minutes, step))
            return n

        ram = (host_ram_gb * 1024.0 if host_ram_gb else
               replay_mod.default_host_ram_mb(workload, hosts))
        cluster = replay_mod.Cluster(hosts, host_cpus, ram, cpu_ratio)
        names = [p.strip() for p in (policies or ','.join(
            replay_policies.DEFAULT_POLICIES)).split(',') if p.strip()]
        built = replay_policies.make_policies(
            names, step, audit_steps=steps(audit_minutes, '--audit-minutes'),
            reactive_audit_steps=steps(reactive_audit_minutes,
                                       '--reactive-audit-minutes'),
            watcher_audit_steps=steps(watcher_audit_minutes,
                                      '--watcher-audit-minutes'),
            horizon=horizon, threshold=threshold,
            reactive_threshold=reactive_threshold, forecaster=forecaster,
            history_steps=int(round(history_days * 86400 / step)),
            consolidate=consolidate, time_limit=plan_time_limit,
            min_freed=min_freed_hosts,
            max_moves_per_freed=max_moves_per_freed_host or None,
            host_intervals=host_intervals, objective=objective,
            move_cost=move_cost,
            risk_level=(overload_threshold if risk_level is None
                        else risk_level),
            refit_steps=int(round(refit_hours * 3600.0 / step)),
            hysteresis_steps=int(round(hysteresis_hours * 3600.0 / step)),
            early_audits=early_audits, scenarios=scenarios,
            rise_steps=(steps(rise_minutes, '--rise-minutes')
                        if rise_minutes else None),
            forecaster_threads=forecaster_threads)
        migration = replay_mod.MigrationModel(
            bandwidth_gbps=bandwidth_gbps, dirty_factor=dirty_factor,
            overhead_vcpu=migration_overhead)
        warmup = int(round(warmup_hours * 3600.0 / step))
        with common.Progress('bench replay', unit='tick') as progress:
            result = replay_mod.run(
                workload, cluster, built, seed=seed, warmup=warmup,
                migration=migration, overload_threshold=overload_threshold,
                overload_weight=overload_weight,
                active_weight=active_weight, progress=progress)
        result['trace'] = str(trace)
        result['setup'].update(horizon_steps=horizon,
                               plan_threshold=threshold,
                               reactive_threshold=reactive_threshold,
                               forecaster=forecaster,
                               consolidate=consolidate,
                               plan_time_limit=plan_time_limit,
                               min_freed_hosts=min_freed_hosts,
                               max_moves_per_freed_host=(
                                   max_moves_per_freed_host),
                               host_intervals=host_intervals,
                               objective=objective,
                               move_cost=move_cost,
                               risk_level=(overload_threshold
                                           if risk_level is None
                                           else risk_level),
                               refit_hours=refit_hours,
                               forecaster_threads=forecaster_threads,
                               hysteresis_hours=hysteresis_hours,
                               early_audits=early_audits,
                               scenarios=scenarios,
                               rise_minutes=rise_minutes,
                               start_day=start_day)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--regions', type=int, default=50, metavar='N',
                 help='Regions (default 50).')
    @common.args('--apps', type=int, default=5000, metavar='N',
                 help='Applications (default 5000).')
    @common.args('--classes', type=int, default=2, metavar='K',
                 help='Resource classes: VCPU, MEMORY_MB, then custom ones '
                      '(default 2).')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the random instance (default 0).')
    @common.args('--distinct', action='store_true',
                 help='Give every application random extra regions, so '
                      'that no two can be grouped (the worst case).')
    @common.args('--repeat', type=int, default=3, metavar='N',
                 help='Time the LP N times and report the fastest and the '
                      'median (default 3).')
    @common.args('--full-lp', action='store_true',
                 help='Also solve the LP with the "full" method (every '
                      'pair at once), timed in turn with the default one, '
                      'and compare the two.')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def region_lp(self, regions=50, apps=5000, classes=2, seed=0,
                  distinct=False, repeat=3, full_lp=False, json_out=None):
        """Region LP against a greedy allocator, and the market checks."""
        from irra_openstack.market import bench as market_bench

        for name, value in (('--regions', regions), ('--apps', apps),
                            ('--classes', classes), ('--repeat', repeat)):
            if value < 1:
                raise SystemExit('%s must be at least 1, got %d'
                                 % (name, value))
        result = market_bench.run(regions=regions, apps=apps,
                                  classes=classes, seed=seed,
                                  distinct=distinct, repeat=repeat,
                                  full_lp=full_lp)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--hosts', type=int, default=2000, metavar='N',
                 help='Hosts of the large instance (default 2000; 0 skips '
                      'it).')
    @common.args('--vms', type=int, default=20000, metavar='N',
                 help='VMs of the large instance (default 20000).')
    @common.args('--horizon', type=int, default=24, metavar='STEPS',
                 help='Forecast steps of the large instance (default 24).')
    @common.args('--load', type=float, default=0.7,
                 help='Sum of the VMs\' predicted CPU peaks over the '
                      'cores of the large instance (default 0.7).')
    @common.args('--small-instances', type=int, default=10, metavar='N',
                 help='Small instances solved by the MILP too (default '
                      '10; 0 skips them).')
    @common.args('--small-hosts', type=int, default=8, metavar='N',
                 help='Hosts per small instance (default 8).')
    @common.args('--small-vms', type=int, default=24, metavar='N',
                 help='VMs per small instance (default 24).')
    @common.args('--neighbourhood', type=int, default=3, metavar='N',
                 help='Hosts per MILP neighbourhood of the heuristic on '
                      'the small instances (default 3).')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the random instances (default 0).')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def rebalance(self, hosts=2000, vms=20000, horizon=24, load=0.7,
                  small_instances=10, small_hosts=8, small_vms=24,
                  neighbourhood=3, seed=0, json_out=None):
        """Host rebalancing: heuristic vs first fit, and vs the MILP."""
        from irra_openstack.optimizer import bench_rebalance

        for name, value in (('--hosts', hosts), ('--vms', vms),
                            ('--small-instances', small_instances),
                            ('--neighbourhood', neighbourhood)):
            if value < 0:
                raise SystemExit('%s must be at least 0, got %d'
                                 % (name, value))
        for name, value in (('--horizon', horizon),
                            ('--small-hosts', small_hosts),
                            ('--small-vms', small_vms)):
            if value < 1:
                raise SystemExit('%s must be at least 1, got %d'
                                 % (name, value))
        if not 0 < load <= 4:
            raise SystemExit('--load must be in (0, 4], got %g' % load)
        with common.Progress('bench rebalance', unit='instance') as prog:
            result = bench_rebalance.run(
                hosts=hosts, vms=vms, horizon=horizon,
                small_instances=small_instances, small_hosts=small_hosts,
                small_vms=small_vms, seed=seed, load=load,
                neighbourhood=neighbourhood, progress=prog)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)

    @common.args('--rounds', type=int, default=13, metavar='N',
                 help='Faults of each kind to inject (default 13: 52 '
                      'faults on each side).')
    @common.args('--seed', type=int, default=0, metavar='S',
                 help='Seed of the choice of servers and hosts (default '
                      '0).')
    @common.args('--servers', type=int, default=8, metavar='N',
                 help='Servers booted for the campaign (default 8).')
    @common.args('--timeout', type=float, default=8.0, metavar='SECONDS',
                 help='Seconds after which a live migration counts as hung '
                      '(default 8).')
    @common.args('--no-baseline', dest='baseline', action='store_false',
                 help='Skip the no-retry baseline.')
    @common.args('--json', dest='json_out', default=None, metavar='OUT',
                 help='Also write the result to this JSON file.')
    def faults(self, rounds=13, seed=0, servers=8, timeout=8.0,
               baseline=True, json_out=None):
        """Fault campaign over Nova's harness and Placement, vs a baseline."""
        import subprocess
        import sys
        import tempfile

        if rounds < 1 or servers < 2:
            raise SystemExit('--rounds must be at least 1 and --servers at '
                             'least 2, got %d and %d' % (rounds, servers))
        if timeout <= 0:
            raise SystemExit('--timeout must be positive, got %g' % timeout)
        # Nova's harness needs a process of its own (see fault_main).
        with tempfile.TemporaryDirectory(prefix='irra-faults-') as tmp:
            out = '%s/result.json' % tmp
            cmd = [sys.executable, '-m', 'irra_openstack.rrm.fault_main',
                   '--rounds', str(rounds), '--seed', str(seed),
                   '--servers', str(servers), '--timeout', str(timeout),
                   '--out', out] + ([] if baseline else ['--no-baseline'])
            errors = []
            with common.Progress('bench faults', unit='fault') as prog:
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                for line in proc.stderr:
                    if line.startswith('progress '):
                        done, total = line.split()[1:3]
                        prog(int(done), int(total))
                    elif line.startswith('error ') or errors:
                        errors.append(line.rstrip())
                proc.wait()
            if proc.returncode:
                raise SystemExit('bench faults: %s' % (
                    '\n'.join(errors)[6:] or 'the campaign process failed '
                    'with status %d' % proc.returncode))
            with open(out) as f:
                result = json.load(f)
        text = json.dumps(result, indent=2, sort_keys=True)
        if json_out:
            with open(json_out, 'w') as f:
                f.write(text + '\n')
        print(text)
