"""``irra-manage bench api``: latency and throughput of listing forecasts.

The benchmark makes a sqlite database with ``resources`` forecasts (one
per VM, 12 steps each), starts ``irra-api`` on a free loopback port with
``workers`` processes (noauth2), and runs ``clients`` concurrent clients
for ``duration`` seconds after a warm-up. Each client lists a page of
forecasts (``GET /v1/forecasts?limit=PAGE&marker=M``, from a random
marker) as a system reader, then the next, on a new connection each time,
as an HTTP/1.0 client would. It reports p50/p90/p99 latency, throughput,
and whether p99 is within the target.

The clients are asyncio coroutines in this process: on a small machine
they share the CPUs with the server, so the figures are conservative.
"""

import asyncio
import datetime
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import sqlalchemy as sa

from irra_openstack.db import migration
from irra_openstack.db import models

TARGET_P99_MS = 100.0


def make_database(path, resources, steps=12):
    """A migrated sqlite file with one forecast run of ``resources``."""
    url = 'sqlite:///%s' % path
    engine = sa.create_engine(url)
    try:
        migration.upgrade(engine=engine)
        start = datetime.datetime(2026, 1, 1)
        point = [0.5 + 0.01 * i for i in range(steps)]
        packed = [models.pack_floats(v) for v in (
            point, [p - 0.1 for p in point], [p + 0.1 for p in point])]
        with engine.begin() as connection:
            run_id = connection.execute(
                models.ForecastRun.__table__.insert().values(
                    uuid='00000000-0000-4000-8000-00000000b0b0',
                    model_name='ridge', model_version='1', parameters={},
                    data_set='bench', horizon=steps * 300, step=300,
                    level=0.9, created_at=start)).inserted_primary_key[0]
            table = models.Forecast.__table__
            rows = [{'run_id': run_id, 'resource_id': 'vm-%05d' % i,
                     'resource_kind': 'vm', 'metric': 'cpu_util',
                     'start': start, 'step': 300} for i in range(resources)]
            # The arrays are bound as raw bytes, packed once.
            connection.execute(
                sa.insert(table).values(point=sa.bindparam(
                    'p', type_=sa.LargeBinary), lower=sa.bindparam(
                    'l', type_=sa.LargeBinary), upper=sa.bindparam(
                    'u', type_=sa.LargeBinary)),
                [dict(r, p=packed[0], l=packed[1], u=packed[2])
                 for r in rows])
    finally:
        engine.dispose()
    return url


def start_server(conf_path, workers, timeout=60):
    """Start irra-api; returns (process, base URL)."""
    process = subprocess.Popen(
        [sys.executable, '-m', 'irra_openstack.cmd.api', '--config-file',
         conf_path, '--port', '0', '--workers', str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if 'listening on' not in line:
        process.kill()
        process.wait()
        raise RuntimeError('irra-api did not start: %r' % line)
    return process, line.split()[3]


async def _get(host, port, path):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(('GET %s HTTP/1.0\r\nHost: %s:%d\r\n'
                      'X-Auth-Token: bench:*:reader\r\n'
                      'Accept: application/json\r\n\r\n' % (
                          path, host, port)).encode())
        data = await reader.read()
    finally:
        writer.close()
    status = int(data.split(b' ', 2)[1]) if data else 0
    return status


async def _client(host, port, resources, page, stop_at, record, rng):
    while time.monotonic() < stop_at:
        marker = rng.randint(0, max(resources - page, 0))
        path = '/v1/forecasts?limit=%d' % page
        if marker:
            path += '&marker=%d' % marker
        began = time.perf_counter()
        try:
            status = await _get(host, port, path)
        except OSError:
            status = 0
        record(time.perf_counter() - began, status)


async def _load(host, port, clients, resources, page, duration, record,
                seed):
    stop_at = time.monotonic() + duration
    await asyncio.gather(*[
        _client(host, port, resources, page, stop_at, record,
                random.Random(seed + i)) for i in range(clients)])


def _percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1,
                max(0, int(round(q / 100.0 * len(sorted_values))) - 1))
    return sorted_values[index]


def run(resources=10000, clients=50, workers=2, duration=20.0, warmup=3.0,
        page=20, seed=0):
    """Run the benchmark; returns the result as a dict."""
    tmp = tempfile.mkdtemp(prefix='irra-bench-api-')
    process = None
    try:
        db = os.path.join(tmp, 'irra.sqlite')
        made = time.perf_counter()
        url = make_database(db, resources)
        made = time.perf_counter() - made
        conf_path = os.path.join(tmp, 'irra.conf')
        with open(conf_path, 'w') as f:
            f.write('[database]\nconnection = %s\n[api]\n'
                    'auth_strategy = noauth2\n' % url)
        process, base = start_server(conf_path, workers)
        host, port = base.split('//')[1].split(':')
        port = int(port)
        warm = []
        asyncio.run(_load(host, port, clients, resources, page, warmup,
                          lambda t, s: warm.append(s), seed))
        latencies, statuses = [], {}

        def record(elapsed, status):
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1

        began = time.perf_counter()
        asyncio.run(_load(host, port, clients, resources, page, duration,
                          record, seed + 1000))
        elapsed = time.perf_counter() - began
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
    ordered = sorted(latencies)
    ok = statuses.get(200, 0)
    p99 = _percentile(ordered, 99) * 1000 if ordered else None
    return {
        'benchmark': 'GET /v1/forecasts (list, one page)',
        'resources': resources,
        'clients': clients,
        'workers': workers,
        'page_size': page,
        'duration_s': round(elapsed, 2),
        'warmup_s': warmup,
        'requests': len(latencies),
        'ok': ok,
        'errors': len(latencies) - ok,
        'statuses': {str(k): v for k, v in sorted(statuses.items())},
        'throughput_rps': round(ok / elapsed, 1) if elapsed else None,
        'latency_ms': {
            'p50': round(_percentile(ordered, 50) * 1000, 2),
            'p90': round(_percentile(ordered, 90) * 1000, 2),
            'p99': round(p99, 2),
            'max': round(ordered[-1] * 1000, 2),
            'mean': round(statistics.fmean(ordered) * 1000, 2),
        } if ordered else None,
        'target_p99_ms': TARGET_P99_MS,
        'target_met': p99 is not None and p99 <= TARGET_P99_MS
        and ok == len(latencies),
        'database': 'sqlite file (%.1f s to fill)' % made,
        'server': 'irra-api development server (wsgiref, a thread per '
                  'connection, %d processes), noauth2' % workers,
        'cpus': os.cpu_count(),
    }
