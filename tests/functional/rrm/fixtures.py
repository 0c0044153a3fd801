"""A private RabbitMQ node and irra-rrm processes, for functional tests.

:class:`PrivateRabbit` runs a RabbitMQ node of its own (its own node name,
ports, Erlang cookie, database and logs in a temporary directory, bound to
127.0.0.1), so that a test can stop and start it without touching the
machine's broker. :class:`RRMProcess` runs ``irra-rrm`` (the console
script's ``main``, through ``python -m irra_openstack.cmd.rrm``) with a
configuration file of its own, in a process group of its own, so that a
test can SIGKILL it and start it again.

Both are meant for the fault benchmark too.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import fixtures

#: Where RabbitMQ's own scripts are (the ones in /usr/sbin switch user).
RABBITMQ_BIN = os.environ.get('IRRA_TEST_RABBITMQ_BIN',
                              '/usr/lib/rabbitmq/bin')
#: The root of the source tree (for PYTHONPATH: tests.* executors).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.2):
    """Call ``predicate`` until it is true; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('Gave up waiting %d s for %s'
                                 % (timeout, what))
        time.sleep(interval)


class PrivateRabbit(fixtures.Fixture):
    """A RabbitMQ node of the test's own, on free loopback ports."""

    def _setUp(self):
        server = os.path.join(RABBITMQ_BIN, 'rabbitmq-server')
        if not os.path.exists(server):
            raise AssertionError(
                'RabbitMQ is not installed (%s is missing); install the '
                'rabbitmq-server package (apt-get install rabbitmq-server) '
                'or set IRRA_TEST_RABBITMQ_BIN.' % server)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.dist_port = free_port()
        self.node = 'irra-test-%s@localhost' % uuid.uuid4().hex[:8]
        with open(os.path.join(self.dir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.default = 127.0.0.1:%d\n'
                    'loopback_users.guest = true\n' % self.port)
        with open(os.path.join(self.dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        self.env = dict(
            os.environ, HOME=self.dir, RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, 'log'),
            RABBITMQ_PID_FILE=os.path.join(self.dir, 'pid'),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, 'rabbitmq'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir,
                                                       'enabled_plugins'),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                '-kernel inet_dist_use_interface {127,0,0,1}'),
            ERL_EPMD_ADDRESS='127.0.0.1')
        self.url = 'rabbit://guest:guest@127.0.0.1:%d/' % self.port
        self.process = None
        self.starts = 0
        self.addCleanup(self.stop)
        self.start()

    def _ctl(self, *args, timeout=120):
        return subprocess.run(
            [os.path.join(RABBITMQ_BIN, 'rabbitmqctl'), '-n', self.node] +
            list(args), env=self.env, capture_output=True, text=True,
            timeout=timeout)

    def start(self):
        """Start the node and wait until it accepts AMQP connections."""
        log = open(os.path.join(self.dir, 'server-%d.out' % self.starts),
                   'w')
        self.starts += 1
        self.process = subprocess.Popen(
            [os.path.join(RABBITMQ_BIN, 'rabbitmq-server')], env=self.env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        try:
            wait_for(lambda: (self.process.poll() is not None or
                              port_open(self.port)), 120,
                     'RabbitMQ node %s on port %d' % (self.node, self.port))
        except AssertionError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise AssertionError('RabbitMQ node %s exited (%s): %s' % (
                self.node, self.process.returncode, self.output()))
        done = self._ctl('await_startup')
        if done.returncode:
            raise AssertionError('RabbitMQ node %s did not start: %s'
                                 % (self.node, done.stderr))

    def output(self):
        path = os.path.join(self.dir, 'server-%d.out' % (self.starts - 1))
        with open(path) as f:
            return f.read()[-2000:]

    def stop(self):
        """Stop the node (rabbitmqctl stop), or kill it if that fails."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self._ctl('stop', timeout=60)
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def restart(self):
        self.stop()
        self.start()


def write_config(path, region, transport_url, connection, executors,
                 extra=None):
    """An irra-rrm configuration file for ``region``."""
    sections = {
        'DEFAULT': {'transport_url': transport_url, 'debug': 'false'},
        'database': {'connection': connection, 'max_retries': '5'},
        'rrm': {'region_name': region, 'executors': executors,
                'poll_interval': '0.2', 'reconcile_interval': '2',
                'max_parallel_actions': '2', 'max_parallel_per_host': '1'},
        'oslo_messaging_rabbit': {'rabbit_retry_interval': '1',
                                  'rabbit_retry_backoff': '1',
                                  'rabbit_interval_max': '2'},
    }
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for key, value in values.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')
    return path


class RRMProcess(fixtures.Fixture):
    """``irra-rrm --config-file CONFIG`` in a process group of its own.

    :param env: extra environment variables.
    """

    def __init__(self, region, config, env=None):
        super().__init__()
        self.region = region
        self.config = config
        self.extra_env = dict(env or {})
        self.process = None
        self.runs = 0

    def _setUp(self):
        self.dir = os.path.dirname(self.config)
        self.addCleanup(self.stop)
        self.start()

    def start(self):
        env = dict(os.environ, **self.extra_env)
        env['PYTHONPATH'] = os.pathsep.join(
            [ROOT] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                      if p])
        self.log = os.path.join(self.dir, 'irra-rrm-%s-%d.log'
                                % (self.region, self.runs))
        self.runs += 1
        with open(self.log, 'w') as out:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'irra_openstack.cmd.rrm',
                 '--config-file', self.config],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self):
        with open(self.log) as f:
            return f.read()[-3000:]

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL the whole process group: the master and its worker."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        # cotyledon's worker notices its master's death and exits; make
        # sure nothing of the group is left.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self):
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
