"""Real Gnocchi and Prometheus servers on loopback, for tests and benchmarks.

:class:`GnocchiServer` runs Gnocchi from its own virtualenv (its
dependencies conflict with irra's) with an indexer database it creates on
the machine's PostgreSQL, file storage in a private folder, the API under
uWSGI and ``gnocchi-metricd``. :class:`PrometheusServer` runs Debian's
``prometheus``, backfilled with ``promtool tsdb create-blocks-from
openmetrics`` before it starts. Both listen on 127.0.0.1 only, on a free
port, and :meth:`stop` removes what they made.

When a part is missing the error says how to get it.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import numpy as np
from oslo_log import log as logging

from irra_openstack import exception

LOG = logging.getLogger(__name__)

PG_URL = os.environ.get('IRRA_TEST_POSTGRESQL',
                        'postgresql://postgres@127.0.0.1:5432')
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class ServerError(exception.IrraError):
    msg_fmt = "%(reason)s"


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait_http(url, timeout, proc=None, log=None, headers=None):
    import requests

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(reason="%s exited with %s before answering; "
                              "log: %s" % (proc.args[0], proc.returncode,
                                           _tail(log)))
        try:
            r = requests.get(url, timeout=2, headers=headers)
            if r.status_code < 500:
                return
            last = 'HTTP %d' % r.status_code
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise ServerError(reason="%s did not answer within %d s (%s); log: %s"
                      % (url, timeout, last, _tail(log)))


def _tail(path, n=1500):
    if not path or not os.path.exists(path):
        return '(no log)'
    with open(path, 'rb') as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - n))
        return f.read().decode(errors='replace')


def _stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _proc_stats():
    """``{pid: (ppid, cpu seconds)}`` of every process, from /proc."""
    tick = float(os.sysconf('SC_CLK_TCK'))
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                text = f.read()
        except OSError:         # gone meanwhile
            continue
        # The command name is in parentheses and may hold spaces.
        rest = text[text.rindex(')') + 2:].split()
        out[int(name)] = (int(rest[1]),
                          (int(rest[11]) + int(rest[12])) / tick)
    return out


def tree_cpu_seconds(*pids):
    """CPU seconds used so far by processes and all their descendants.

    User + system time from Linux's /proc; the CPU of children that
    already exited is not counted. For the benchmarks' server-side CPU.
    """
    stats = _proc_stats()
    children = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [p for p in pids if p], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def find_gnocchi_bin():
    """The ``bin`` folder of a virtualenv with Gnocchi and uWSGI."""
    candidates = [os.environ.get('IRRA_GNOCCHI_VENV'),
                  os.path.join(_REPO, '.tox', 'gnocchi-server'),
                  '/tmp/venv-gnocchi']
    for c in candidates:
        if c and os.access(os.path.join(c, 'bin', 'gnocchi-upgrade'),
                           os.X_OK) and os.access(
                os.path.join(c, 'bin', 'uwsgi'), os.X_OK):
            return os.path.join(c, 'bin')
    raise ServerError(
        reason="Gnocchi is not installed: no virtualenv with gnocchi-upgrade "
               "and uwsgi in $IRRA_GNOCCHI_VENV, .tox/gnocchi-server or "
               "/tmp/venv-gnocchi. Install it with "
               "'tools/install-gnocchi.sh' (or: python3 -m venv "
               "/tmp/venv-gnocchi && /tmp/venv-gnocchi/bin/pip install "
               "'gnocchi[postgresql,file]' uwsgi).")


def _pg_connect(dbname='postgres'):
    try:
        import psycopg2
    except ImportError:
        raise ServerError(reason="psycopg2 is missing: pip install "
                          "psycopg2-binary")
    try:
        conn = psycopg2.connect(PG_URL + '/' + dbname, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise ServerError(
            reason="PostgreSQL is not reachable at %s (%s). Start it with: "
                   "pg_ctlcluster --skip-systemctl-redirect "
                   "$(ls /etc/postgresql) main start"
                   % (PG_URL, str(exc).strip()))
    conn.autocommit = True
    return conn


class GnocchiServer:
    """A private Gnocchi: PostgreSQL indexer, file storage, API, metricd.

    ``auth_mode = basic``: the user ``admin`` (no password) is admin.

    :param api_processes: uWSGI processes of the API.
    :param api_threads: threads per API process. 1 (the default): a busy
        process takes no other request, so concurrent requests spread
        over the processes; with more, a process that is already
        building an answer can accept a second one, which then shares
        its interpreter lock while another process stays idle.
    :param parallel_operations: Gnocchi's ``parallel_operations``, the
        threads with which one request reads its metrics. 1 (the
        default) reads them in the request's own thread: the file
        storage is read from the page cache, and a pool of threads per
        request only added CPU time (about a fifth of a large
        aggregates request's, measured).
    """

    ADMIN_AUTH = 'Basic ' + base64.b64encode(b'admin:').decode()

    def __init__(self, root=None, workers=1, api_processes=2,
                 api_threads=1, parallel_operations=1):
        self.root = root or tempfile.mkdtemp(prefix='irra-gnocchi-')
        self.dbname = 'irra_gnocchi_%s' % uuid.uuid4().hex[:12]
        self.port = None
        self.workers = workers
        self.api_processes = api_processes
        self.api_threads = api_threads
        self.parallel_operations = parallel_operations
        self._api = self._metricd = None
        self._db_made = False

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def cpu_seconds(self):
        """CPU seconds used so far by the API and its indexer.

        uWSGI and its workers, and the PostgreSQL backends connected to
        the indexer database now (pooled: they last).
        """
        pids = []
        if self._db_made:
            conn = _pg_connect()
            try:
                with conn.cursor() as cur:
                    cur.execute('SELECT pid FROM pg_stat_activity WHERE '
                                'datname = %s AND pid <> '
                                'pg_backend_pid()', (self.dbname,))
                    pids = [row[0] for row in cur.fetchall()]
            finally:
                conn.close()
        return tree_cpu_seconds(self._api and self._api.pid, *pids)

    def session(self):
        """A keystoneauth session that authenticates as Gnocchi's admin."""
        from keystoneauth1 import http_basic
        from keystoneauth1 import session

        return session.Session(auth=http_basic.HTTPBasicAuth(
            endpoint=self.url, username='admin', password=''))

    def start(self, timeout=120):
        bin_dir = find_gnocchi_bin()
        conn = _pg_connect()
        try:
            with conn.cursor() as cur:
                cur.execute('CREATE DATABASE %s' % self.dbname)
            self._db_made = True
        finally:
            conn.close()
        self.port = free_port()
        conf = os.path.join(self.root, 'gnocchi.conf')
        with open(conf, 'w') as f:
            f.write(
                '[DEFAULT]\ndebug = false\n'
                'parallel_operations = %d\n'
                '[api]\nauth_mode = basic\n'
                '[indexer]\nurl = %s/%s\n'
                '[storage]\ndriver = file\nfile_basepath = %s\n'
                '[incoming]\ndriver = file\nfile_basepath = %s\n'
                '[metricd]\nworkers = %d\nmetric_processing_delay = 1\n'
                'metric_cleanup_delay = 3600\n'
                % (self.parallel_operations,
                   PG_URL.replace('postgresql://',
                                  'postgresql+psycopg2://'),
                   self.dbname, os.path.join(self.root, 'storage'),
                   os.path.join(self.root, 'incoming'), self.workers))
        env = dict(os.environ, VIRTUAL_ENV=os.path.dirname(bin_dir))
        env.pop('PYTHONPATH', None)
        log = os.path.join(self.root, 'upgrade.log')
        with open(log, 'w') as out:
            try:
                # gnocchi-upgrade retries forever on a database it cannot
                # use: a timeout turns that into an error.
                subprocess.run(
                    [os.path.join(bin_dir, 'gnocchi-upgrade'),
                     '--config-file', conf, '--sacks-number', '8'],
                    stdout=out, stderr=subprocess.STDOUT, env=env,
                    timeout=timeout, check=True)
            except subprocess.TimeoutExpired:
                raise ServerError(reason="gnocchi-upgrade did not finish in "
                                  "%d s; log: %s" % (timeout, _tail(log)))
            except subprocess.CalledProcessError as exc:
                raise ServerError(reason="gnocchi-upgrade failed (%s); log: "
                                  "%s" % (exc.returncode, _tail(log)))
        self._api_log = os.path.join(self.root, 'api.log')
        self._api = subprocess.Popen(
            [os.path.join(bin_dir, 'uwsgi'), '--http',
             '127.0.0.1:%d' % self.port, '--http-keepalive',
             '--so-keepalive', '--add-header', 'Connection: Keep-Alive',
             '--master', '--die-on-term', '--http-timeout', '900',
             '--processes', str(self.api_processes),
             '--threads', str(self.api_threads), '--enable-threads',
             '--lazy-apps', '--need-app', '--wsgi', 'gnocchi.rest.wsgi',
             '--pyargv', '--config-file %s' % conf, '-H',
             os.path.dirname(bin_dir), '--buffer-size', '65535',
             '--logto', self._api_log, '--disable-logging'],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self._metricd_log = os.path.join(self.root, 'metricd.log')
        self._metricd = subprocess.Popen(
            [os.path.join(bin_dir, 'gnocchi-metricd'), '--config-file',
             conf], env=env, stdout=open(self._metricd_log, 'w'),
            stderr=subprocess.STDOUT, start_new_session=True)
        _wait_http(self.url + '/v1/status', timeout, self._api,
                   self._api_log, headers={'Authorization': self.ADMIN_AUTH})
        return self

    def stop(self):
        _stop(self._api)
        _stop(self._metricd)
        if self._db_made:
            try:
                conn = _pg_connect()
                with conn.cursor() as cur:
                    cur.execute(
                        'SELECT pg_terminate_backend(pid) FROM '
                        'pg_stat_activity WHERE datname = %s',
                        (self.dbname,))
                    cur.execute('DROP DATABASE IF EXISTS %s' % self.dbname)
                conn.close()
            except Exception:  # noqa: best effort at cleanup
                LOG.warning('could not drop database %s', self.dbname)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- loading -----------------------------------------------------------

    def _http(self):
        import requests

        if not hasattr(self, '_rs'):
            self._rs = requests.Session()
            self._rs.headers['Authorization'] = self.ADMIN_AUTH
        return self._rs

    def call(self, method, path, body=None, ok=(200, 201, 202, 204)):
        r = self._http().request(method, self.url + path, json=body,
                                 timeout=120)
        if r.status_code not in ok:
            raise ServerError(reason="Gnocchi %s %s: HTTP %d %s"
                              % (method, path, r.status_code, r.text[:300]))
        return r.json() if r.content else None

    def setup_ceilometer_types(self, step, points):
        """Ceilometer's resource types and an archive policy.

        The policy ``irra`` keeps ``points`` points of ``step`` seconds
        with mean and last; it is the default for every metric.
        """
        for name, attrs in (
                ('instance', {'flavor_id': {'type': 'string',
                                            'required': False},
                              'host': {'type': 'string',
                                       'required': False},
                              'display_name': {'type': 'string',
                                               'required': False}}),
                ('instance_disk', {'name': {'type': 'string',
                                            'required': False},
                                   'instance_id': {'type': 'uuid',
                                                   'required': False}}),
                ('instance_network_interface', {
                    'name': {'type': 'string', 'required': False},
                    'instance_id': {'type': 'uuid', 'required': False}}),
                ('nova_compute', {'host_name': {'type': 'string',
                                                'required': False}})):
            self.call('POST', '/v1/resource_type',
                      {'name': name, 'attributes': attrs})
        self.call('POST', '/v1/archive_policy', {
            'name': 'irra', 'back_window': 0,
            'aggregation_methods': ['mean', 'last'],
            'definition': [{'granularity': '%ds' % step,
                            'points': int(points)}]})
        self.call('POST', '/v1/archive_policy_rule', {
            'name': 'irra-all', 'metric_pattern': '*',
            'archive_policy_name': 'irra'})

    def create_resources(self, rtype, resources):
        """``resources``: [(id, attributes dict, [metric names])]."""
        for rid, attrs, metrics in resources:
            body = dict(attrs, id=rid,
                        metrics={m: {'archive_policy_name': 'irra'}
                                 for m in metrics})
            self.call('POST', '/v1/resource/%s' % rtype, body)

    def push(self, measures, chunk=400):
        """``measures``: {resource id: {metric: (times, values)}}."""
        items = list(measures.items())
        for i in range(0, len(items), chunk):
            body = {}
            for rid, mets in items[i:i + chunk]:
                body[rid] = {}
                for name, (times, values) in mets.items():
                    ok = np.isfinite(values)
                    stamps = np.asarray(times)[ok].astype(
                        'datetime64[s]').astype(str)
                    body[rid][name] = [
                        {'timestamp': t, 'value': float(v)}
                        for t, v in zip(stamps, np.asarray(values)[ok])]
            self.call('POST', '/v1/batch/resources/metrics/measures', body)

    def wait_processed(self, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.call('GET', '/v1/status')
            if st['storage']['summary']['measures'] == 0:
                return
            if self._metricd.poll() is not None:
                raise ServerError(reason="gnocchi-metricd exited: %s"
                                  % _tail(self._metricd_log))
            time.sleep(0.5)
        raise ServerError(reason="gnocchi-metricd did not process the "
                          "measures in %d s" % timeout)


class PrometheusServer:
    """A private Prometheus, backfilled from OpenMetrics text."""

    def __init__(self, root=None):
        self.root = root or tempfile.mkdtemp(prefix='irra-prometheus-')
        self.port = None
        self._proc = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def cpu_seconds(self):
        """CPU seconds used so far by the server."""
        return tree_cpu_seconds(self._proc and self._proc.pid)

    @staticmethod
    def binaries():
        prom, tool = shutil.which('prometheus'), shutil.which('promtool')
        if not (prom and tool):
            raise ServerError(
                reason="Prometheus is not installed (prometheus and "
                       "promtool not on PATH). Install it with: apt-get "
                       "install -y prometheus (Debian package; the tests "
                       "start their own server, not the system service).")
        return prom, tool

    def backfill(self, openmetrics_path):
        _prom, tool = self.binaries()
        data = os.path.join(self.root, 'data')
        os.makedirs(data, exist_ok=True)
        log = os.path.join(self.root, 'backfill.log')
        with open(log, 'w') as out:
            rc = subprocess.run(
                [tool, 'tsdb', 'create-blocks-from', 'openmetrics',
                 openmetrics_path, data], stdout=out,
                stderr=subprocess.STDOUT, timeout=600).returncode
        if rc:
            raise ServerError(reason="promtool backfill failed: %s"
                              % _tail(log))
        return self

    def start(self, timeout=60):
        prom, _tool = self.binaries()
        self.port = free_port()
        conf = os.path.join(self.root, 'prometheus.yml')
        with open(conf, 'w') as f:
            f.write('global:\n  scrape_interval: 1h\nscrape_configs: []\n')
        self._log = os.path.join(self.root, 'prometheus.log')
        self._proc = subprocess.Popen(
            [prom, '--config.file', conf,
             '--storage.tsdb.path', os.path.join(self.root, 'data'),
             '--storage.tsdb.retention.time', '100y',
             '--web.listen-address', '127.0.0.1:%d' % self.port,
             '--query.max-samples', '200000000'],
            stdout=open(self._log, 'w'), stderr=subprocess.STDOUT,
            start_new_session=True)
        _wait_http(self.url + '/-/ready', timeout, self._proc, self._log)
        return self

    def stop(self):
        _stop(self._proc)
        shutil.rmtree(self.root, ignore_errors=True)


class PlacementServer:
    """A private Placement (openstack-placement) on sqlite, noauth2.

    The token ``admin`` is an admin; keystoneauth's ``admin_token``
    (:class:`keystoneauth1.token_endpoint.Token`) talks to it.
    """

    def __init__(self, root=None):
        self.root = root or tempfile.mkdtemp(prefix='irra-placement-')
        self.port = None
        self._proc = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    @staticmethod
    def find_bin():
        for c in (os.environ.get('IRRA_PLACEMENT_VENV'),
                  os.path.join(_REPO, '.tox', 'placement-server'),
                  '/tmp/venv-placement'):
            if c and os.access(os.path.join(c, 'bin', 'uwsgi'), os.X_OK) \
                    and os.path.exists(os.path.join(c, 'bin',
                                                    'placement-manage')):
                return os.path.join(c, 'bin')
        raise ServerError(
            reason="Placement is not installed: no virtualenv with "
                   "openstack-placement and uwsgi in $IRRA_PLACEMENT_VENV, "
                   ".tox/placement-server or /tmp/venv-placement. Install "
                   "it with: python3 -m venv /tmp/venv-placement && "
                   "/tmp/venv-placement/bin/pip install openstack-placement "
                   "uwsgi")

    def start(self, timeout=60):
        bin_dir = self.find_bin()
        self.port = free_port()
        with open(os.path.join(self.root, 'placement.conf'), 'w') as f:
            f.write('[DEFAULT]\ndebug = false\n[api]\nauth_strategy = '
                    'noauth2\n[placement_database]\nconnection = '
                    'sqlite:///%s\nsync_on_startup = true\n'
                    % os.path.join(self.root, 'placement.sqlite'))
        env = dict(os.environ, OS_PLACEMENT_CONFIG_DIR=self.root,
                   VIRTUAL_ENV=os.path.dirname(bin_dir))
        env.pop('PYTHONPATH', None)
        self._log = os.path.join(self.root, 'placement.log')
        self._proc = subprocess.Popen(
            [os.path.join(bin_dir, 'uwsgi'), '--http',
             '127.0.0.1:%d' % self.port, '--http-keepalive',
             '--so-keepalive', '--add-header', 'Connection: Keep-Alive',
             '--master', '--die-on-term',
             '--processes', '1', '--need-app', '--module',
             'placement.wsgi.api:application', '-H',
             os.path.dirname(bin_dir), '--logto', self._log],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        _wait_http(self.url + '/', timeout, self._proc, self._log)
        return self

    def stop(self):
        _stop(self._proc)
        shutil.rmtree(self.root, ignore_errors=True)


def write_openmetrics(path, families):
    """Write OpenMetrics text for promtool.

    ``families``: [(metric name, [(labels dict, times, values)])]; NaN
    values are left out (gaps).
    """
    with open(path, 'w') as f:
        for name, series in families:
            f.write('# TYPE %s gauge\n' % name)
            for labels, times, values in series:
                lab = ','.join('%s="%s"' % kv for kv in sorted(
                    labels.items()))
                ok = np.isfinite(values)
                head = '%s{%s} ' % (name, lab)
                t = np.asarray(times)[ok].astype(np.int64)
                v = np.asarray(values)[ok]
                f.write(''.join('%s%r %d\n' % (head, float(x), int(y))
                                for x, y in zip(v, t)))
        f.write('# EOF\n')


def dump(obj):
    return json.dumps(obj, sort_keys=True)


if __name__ == '__main__':  # pragma: no cover - manual smoke test
    g = GnocchiServer().start()
    print(g.url)
    input('enter to stop')
    g.stop()
    sys.exit(0)
