"""``irra-manage bench api``: latency and throughput of listing forecasts.

The benchmark fills a database with ``resources`` forecasts (one per VM,
12 steps each), serves irra-api on a free loopback port with ``workers``
processes (noauth2, as Placement's performance jobs run), and runs
``clients`` concurrent clients for ``duration`` seconds after a warm-up.
Each client lists a page of forecasts (``GET /v1/forecasts?limit=PAGE
&marker=M``, from a random marker) as a system reader, then the next, over
one keep-alive HTTP/1.1 connection, as an OpenStack client's session does.
Every request goes through the whole middleware stack, noauth2, policy and
query validation. The result has p50/p90/p99 latency, throughput, whether
p99 is within the target, and the CPU time that the server processes used
per request.

What runs, in the order tried (``auto``), each choice named in the result:

* database: PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trusted), in
  a database made for the run and dropped after it; or a sqlite file;
* server: uWSGI (the ``uwsgi`` program beside this Python, from the
  ``pyuwsgi`` package, or on the PATH) with its HTTP router in front of
  ``workers`` processes, as irra-api runs in production; or ``irra-api``,
  the development server;
* client: ``wrk`` (C, epoll: it takes little of the CPU that the server
  needs on a small machine), with a Lua script for the random markers and
  the percentiles; or asyncio coroutines in this process.
"""

import asyncio
import datetime
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from irra_openstack.db import migration
from irra_openstack.db import models

TARGET_P99_MS = 100.0

#: The PostgreSQL server that ``database='postgresql'`` uses.
POSTGRESQL_SERVER = 'postgresql+psycopg2://postgres@127.0.0.1:5432'

TOKEN = 'bench:*:reader'

_WRK_SCRIPT = r'''
math.randomseed(%(seed)d)
local resources, page = %(resources)d, %(page)d
request = function()
  local marker = math.random(0, math.max(resources - page, 0))
  local path = "/v1/forecasts?limit=" .. page
  if marker > 0 then path = path .. "&marker=" .. marker end
  return wrk.format("GET", path, {["X-Auth-Token"] = "%(token)s",
                                  ["Accept"] = "application/json"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "IRRA-BENCH %%d %%d %%d %%d %%d %%d %%d %%.3f %%.3f %%.3f %%.3f " ..
    "%%.3f %%.3f\n",
    summary.requests, summary.duration, e.status, e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, latency.min))
end
'''


def make_database(url, resources, steps=12):
    """Migrate the database at ``url``; one forecast run of ``resources``."""
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
        if engine.dialect.name == 'postgresql':
            with engine.connect().execution_options(
                    isolation_level='AUTOCOMMIT') as connection:
                connection.exec_driver_sql('VACUUM ANALYZE')
    finally:
        engine.dispose()
    return url


class _PostgreSQLDatabase:
    """A database made on the PostgreSQL server for one run."""

    def __init__(self, server=POSTGRESQL_SERVER):
        self.server = server
        self.name = 'irra_bench_api_%s' % uuid.uuid4().hex[:12]
        self.url = '%s/%s' % (server, self.name)

    def _admin(self, sql):
        engine = sa.create_engine('%s/postgres' % self.server,
                                  isolation_level='AUTOCOMMIT')
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def create(self):
        self._admin('CREATE DATABASE %s' % self.name)
        return self.url

    def backend_pids(self):
        """The pids of the server processes connected to the database."""
        engine = sa.create_engine('%s/postgres' % self.server)
        try:
            with engine.connect() as connection:
                return [row[0] for row in connection.execute(sa.text(
                    'SELECT pid FROM pg_stat_activity WHERE datname = '
                    ':name'), {'name': self.name})]
        finally:
            engine.dispose()

    def drop(self):
        self._admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % self.name)


def _postgresql_reachable(server=POSTGRESQL_SERVER):
    try:
        with socket.create_connection(('127.0.0.1', 5432), timeout=1):
            pass
        engine = sa.create_engine('%s/postgres' % server)
        try:
            with engine.connect():
                return True
        finally:
            engine.dispose()
    except Exception:
        return False


def find_uwsgi():
    """The uwsgi program beside this Python or on the PATH, or None."""
    beside = os.path.join(os.path.dirname(sys.executable), 'uwsgi')
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which('uwsgi')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait_http(port, process, log_path, timeout=60):
    """Wait until the server answers ``GET /`` on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=2) \
                    as s:
                s.sendall(b'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
                if s.recv(64).startswith(b'HTTP/1.'):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait()
    with open(log_path, errors='replace') as f:
        tail = f.read()[-2000:]
    raise RuntimeError('The server did not start:\n%s' % tail)


def start_uwsgi(conf_path, workers, threads, log_path, uwsgi=None):
    """uWSGI's HTTP router and ``workers`` processes; (process, port)."""
    port = _free_port()
    env = dict(os.environ, IRRA_CONFIG_FILES=conf_path)
    with open(log_path, 'w') as log:
        process = subprocess.Popen(
            [uwsgi or find_uwsgi(),
             '--http', '127.0.0.1:%d' % port, '--http-keepalive',
             '--master', '--processes', str(workers),
             '--threads', str(threads), '--lazy-apps',
             '--module', 'irra_openstack.api.wsgi:application',
             '--disable-logging', '--die-on-term', '--need-app',
             '--listen', '128'],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    _wait_http(port, process, log_path)
    return process, port


def start_irra_api(conf_path, workers, log_path):
    """irra-api, the development server; (process, port)."""
    port = _free_port()
    with open(log_path, 'w') as log:
        process = subprocess.Popen(
            [sys.executable, '-m', 'irra_openstack.cmd.api', '--config-file',
             conf_path, '--port', str(port), '--workers', str(workers)],
            stdout=log, stderr=subprocess.STDOUT)
    _wait_http(port, process, log_path)
    return process, port


def _tree_cpu_seconds(pid):
    """CPU seconds (user + system) of ``pid`` and its live children."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open('/proc/%d/stat' % current) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            # A child belongs to the thread that forked it.
            for task in os.listdir('/proc/%d/task' % current):
                with open('/proc/%d/task/%s/children' % (current, task)) \
                        as f:
                    pending.extend(int(p) for p in f.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_wrk(port, clients, resources, page, duration, seed, tmp,
            wrk='wrk'):
    """Run wrk once; returns (result dict, client CPU seconds)."""
    script = os.path.join(tmp, 'list-%d.lua' % seed)
    with open(script, 'w') as f:
        f.write(_WRK_SCRIPT % {'seed': seed, 'resources': resources,
                               'page': page, 'token': TOKEN})
    threads = max(1, min(2, clients))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # wrk takes whole seconds.
    finished = subprocess.run(
        [wrk, '-t%d' % threads, '-c%d' % clients,
         '-d%ds' % max(1, round(duration)), '--timeout', '10s', '-s', script,
         'http://127.0.0.1:%d' % port],
        capture_output=True, text=True)
    output = finished.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime -
           before.ru_utime - before.ru_stime)
    line = [w for w in output.splitlines() if w.startswith('IRRA-BENCH ')]
    if finished.returncode or not line:
        raise RuntimeError('wrk failed (exit code %d):\n%s%s' % (
            finished.returncode, output, finished.stderr))
    values = line[0].split()[1:]
    (requests, duration_us, non_2xx, connect, read, write,
     timeout) = (int(v) for v in values[:7])
    p50, p90, p99, worst, mean, best = (float(v) / 1000.0
                                        for v in values[7:])
    failed = non_2xx + connect + read + write + timeout
    return {
        'requests': requests,
        'ok': requests - non_2xx,
        'errors': failed,
        'statuses': {'2xx/3xx': requests - non_2xx, '4xx/5xx': non_2xx},
        'socket_errors': {'connect': connect, 'read': read,
                          'write': write, 'timeout': timeout},
        'elapsed': duration_us / 1e6,
        'latency_ms': {'p50': round(p50, 2), 'p90': round(p90, 2),
                       'p99': round(p99, 2), 'max': round(worst, 2),
                       'mean': round(mean, 2), 'min': round(best, 2)},
    }, cpu


async def _keepalive_client(port, resources, page, stop_at, record, rng):
    """One client: requests over one HTTP/1.1 connection until stop_at."""
    reader = writer = None
    while time.monotonic() < stop_at:
        marker = rng.randint(0, max(resources - page, 0))
        path = '/v1/forecasts?limit=%d' % page
        if marker:
            path += '&marker=%d' % marker
        began = time.perf_counter()
        status = 0
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    '127.0.0.1', port)
            writer.write(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n'
                          'X-Auth-Token: %s\r\n'
                          'Accept: application/json\r\n\r\n' % (
                              path, port, TOKEN)).encode())
            head = await reader.readuntil(b'\r\n\r\n')
            status = int(head.split(b' ', 2)[1])
            # An HTTP/1.0 server closes the connection unless it says
            # keep-alive; an HTTP/1.1 one keeps it unless it says close.
            length, close = 0, head.startswith(b'HTTP/1.0')
            for line in head.split(b'\r\n')[1:]:
                name, _, value = line.partition(b':')
                name = name.strip().lower()
                if name == b'content-length':
                    length = int(value)
                elif name == b'connection':
                    close = value.strip().lower() != b'keep-alive'
            await reader.readexactly(length)
            if close:
                writer.close()
                reader = writer = None
        except (OSError, ValueError, asyncio.IncompleteReadError):
            status = 0
            if writer is not None:
                writer.close()
            reader = writer = None
        record(time.perf_counter() - began, status)
    if writer is not None:
        writer.close()


def run_python_client(port, clients, resources, page, duration, seed):
    """The asyncio client; returns (result dict, its CPU seconds)."""
    latencies, statuses = [], {}

    def record(elapsed, status):
        latencies.append(elapsed)
        statuses[status] = statuses.get(status, 0) + 1

    async def load():
        stop_at = time.monotonic() + duration
        await asyncio.gather(*[
            _keepalive_client(port, resources, page, stop_at, record,
                              random.Random(seed + i))
            for i in range(clients)])

    cpu = time.process_time()
    began = time.perf_counter()
    asyncio.run(load())
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    ordered = sorted(latencies)
    ok = statuses.get(200, 0)
    return {
        'requests': len(latencies),
        'ok': ok,
        'errors': len(latencies) - ok,
        'statuses': {str(k): v for k, v in sorted(statuses.items())},
        'elapsed': elapsed,
        'latency_ms': {
            'p50': round(_percentile(ordered, 50) * 1000, 2),
            'p90': round(_percentile(ordered, 90) * 1000, 2),
            'p99': round(_percentile(ordered, 99) * 1000, 2),
            'max': round(ordered[-1] * 1000, 2),
            'mean': round(statistics.fmean(ordered) * 1000, 2),
            'min': round(ordered[0] * 1000, 2),
        } if ordered else None,
    }, cpu


def _percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1,
                max(0, int(round(q / 100.0 * len(sorted_values))) - 1))
    return sorted_values[index]


def _choose(choice, options, available):
    if choice != 'auto':
        if choice not in options:
            raise ValueError('%r is not one of %s' % (
                choice, ', '.join(options)))
        return choice
    for option in options:
        if available(option):
            return option
    return options[-1]


def run(resources=10000, clients=50, workers=2, duration=20.0, warmup=3.0,
        page=20, seed=0, database='auto', server='auto', client='auto',
        threads=2):
    """Run the benchmark; returns the result as a dict.

    :param database: ``postgresql``, ``sqlite`` or ``auto``.
    :param server: ``uwsgi``, ``irra-api`` or ``auto``.
    :param client: ``wrk``, ``python`` or ``auto``.
    :param threads: threads of each uWSGI worker process.
    """
    database = _choose(database, ('postgresql', 'sqlite'),
                       lambda o: _postgresql_reachable())
    server = _choose(server, ('uwsgi', 'irra-api'),
                     lambda o: find_uwsgi() is not None)
    client = _choose(client, ('wrk', 'python'),
                     lambda o: shutil.which('wrk') is not None)
    tmp = tempfile.mkdtemp(prefix='irra-bench-api-')
    process = pg = None
    try:
        made = time.perf_counter()
        if database == 'postgresql':
            pg = _PostgreSQLDatabase()
            url = make_database(pg.create(), resources)
        else:
            url = make_database('sqlite:///%s' % os.path.join(
                tmp, 'irra.sqlite'), resources)
        made = time.perf_counter() - made
        conf_path = os.path.join(tmp, 'irra.conf')
        with open(conf_path, 'w') as f:
            f.write('[database]\nconnection = %s\n[api]\n'
                    'auth_strategy = noauth2\n' % url)
        log_path = os.path.join(tmp, 'server.log')
        if server == 'uwsgi':
            process, port = start_uwsgi(conf_path, workers, threads,
                                        log_path)
        else:
            process, port = start_irra_api(conf_path, workers, log_path)

        def load(length, run_seed):
            if client == 'wrk':
                return run_wrk(port, clients, resources, page, length,
                               run_seed, tmp)
            return run_python_client(port, clients, resources, page,
                                     length, run_seed)

        load(warmup, seed)
        # PostgreSQL's backends of the pooled connections (on this
        # machine) work for the server too.
        backends = pg.backend_pids() if pg is not None else []
        server_cpu = _tree_cpu_seconds(process.pid)
        db_cpu = sum(_tree_cpu_seconds(p) for p in backends)
        load_before = os.getloadavg()
        measured, client_cpu = load(duration, seed + 1000)
        server_cpu = _tree_cpu_seconds(process.pid) - server_cpu
        db_cpu = sum(_tree_cpu_seconds(p) for p in backends) - db_cpu
        load_after = os.getloadavg()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if pg is not None:
            pg.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    latency = measured['latency_ms']
    ok, requests = measured['ok'], measured['requests']
    elapsed = measured['elapsed']
    p99 = latency['p99'] if latency else None
    if database == 'postgresql':
        database = 'PostgreSQL 127.0.0.1:5432, pooled by oslo.db'
    else:
        database = 'sqlite file (oslo.db: a connection per request)'
    client_text = '%s, %d HTTP/1.1 connections, kept alive where the ' \
        'server allows' % ('wrk' if client == 'wrk' else
                           'asyncio clients in the bench process', clients)
    if server == 'uwsgi':
        server = ('uWSGI HTTP router (keep-alive) + %d processes x %d '
                  'threads' % (workers, threads))
    else:
        server = 'irra-api development server, %d processes' % workers
    return {
        'benchmark': 'GET /v1/forecasts (list, one page)',
        'resources': resources,
        'clients': clients,
        'workers': workers,
        'page_size': page,
        'duration_s': round(elapsed, 2),
        'warmup_s': warmup,
        'requests': requests,
        'ok': ok,
        'errors': measured['errors'],
        'statuses': measured['statuses'],
        'throughput_rps': round(ok / elapsed, 1) if elapsed else None,
        'latency_ms': latency,
        'target_p99_ms': TARGET_P99_MS,
        'target_met': (p99 is not None and p99 <= TARGET_P99_MS and
                       measured['errors'] == 0),
        'cpu_ms_per_request': {
            'server': round(server_cpu * 1000 / requests, 3)
            if requests else None,
            'client': round(client_cpu * 1000 / requests, 3)
            if requests else None,
            'database': round(db_cpu * 1000 / requests, 3)
            if requests and backends else None,
        },
        'database': '%s (%.1f s to fill)' % (database, made),
        'server': server + ', noauth2',
        'client': client_text,
        'load_average': {'before': [round(v, 2) for v in load_before],
                         'after': [round(v, 2) for v in load_after]},
        'cpus': os.cpu_count(),
    }
