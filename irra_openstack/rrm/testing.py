"""A private RabbitMQ node, irra-rrm processes and a journal executor.

The machinery of the irra-rrm process tests and of the ``broker_restart``
and ``rrm_crash`` kinds of ``irra-manage bench faults``
(:mod:`irra_openstack.rrm.fault_broker`); shipped because the benchmark is.

:class:`PrivateRabbit` runs a RabbitMQ node of its own (its own node name,
ports, Erlang cookie, database and logs in a directory it is given, bound
to 127.0.0.1), so that it can be stopped and started without touching the
machine's broker. :class:`RRMProcess` runs ``irra-rrm`` (the console
script's ``main``, through ``python -m irra_openstack.cmd.rrm``) with a
configuration file of its own, in a process group of its own, so that it
can be SIGKILLed and started again.

:class:`JournalExecutor` stands for a hypervisor-side operation that, once
started, goes on by itself (as a Nova live migration does when the
irra-rrm that asked for it dies): ``execute`` writes ``start KEY`` to the
journal, works for ``IRRA_RRM_TEST_ACTION_SECONDS``, then writes ``done
KEY``. ``reconcile`` reads the journal, like the Nova executor reads the
migration records: an action with a ``start`` line went through (the
operation went on without its irra-rrm), one without never reached the
"hypervisor" and FAILED. irra-rrm loads it by class path (``[rrm]
executors = live_migrate:irra_openstack.rrm.testing.JournalExecutor``).
The journal is one file per region in ``IRRA_RRM_TEST_DIR``; every line is
one ``write()`` on a file opened with O_APPEND and is fsync'd, so it
survives a SIGKILL, and counting ``start`` lines counts executions.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.executor import base

State = constants.ActionState

#: Where RabbitMQ's own scripts are (the ones in /usr/sbin switch user).
RABBITMQ_BIN = os.environ.get('IRRA_TEST_RABBITMQ_BIN',
                              '/usr/lib/rabbitmq/bin')
#: The directory that holds the irra_openstack package.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class ProcessError(exception.IrraError):
    msg_fmt = '%(reason)s'


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def port_open(port):
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.2):
    """Call ``predicate`` until it is true; ProcessError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ProcessError(reason='Gave up waiting %d s for %s'
                               % (timeout, what))
        time.sleep(interval)


def rabbit_missing():
    """Why a private RabbitMQ node cannot run here, or None."""
    server = os.path.join(RABBITMQ_BIN, 'rabbitmq-server')
    if not os.path.exists(server):
        return ('RabbitMQ is not installed (%s is missing); install the '
                'rabbitmq-server package (apt-get install rabbitmq-server) '
                'or set IRRA_TEST_RABBITMQ_BIN.' % server)
    return None


class PrivateRabbit:
    """A RabbitMQ node of its own, on free loopback ports.

    :param directory: an empty directory for the node's files (the caller
        removes it).
    """

    def __init__(self, directory):
        why = rabbit_missing()
        if why:
            raise ProcessError(reason=why)
        self.dir = directory
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
        except ProcessError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise ProcessError(reason='RabbitMQ node %s exited (%s): %s' % (
                self.node, self.process.returncode, self.output()))
        done = self._ctl('await_startup')
        if done.returncode:
            raise ProcessError(reason='RabbitMQ node %s did not start: %s'
                               % (self.node, done.stderr))

    def output(self):
        """The end of the node's output of its last start."""
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
        """Stop the node and start it again (same ports, same data)."""
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


class RRMProcess:
    """``irra-rrm --config-file CONFIG`` in a process group of its own.

    :param env: extra environment variables.
    :param pythonpath: directories put first on the process's PYTHONPATH
        (e.g. a source tree whose modules ``[rrm] executors`` names).
    """

    def __init__(self, region, config, env=None, pythonpath=()):
        self.region = region
        self.config = config
        self.dir = os.path.dirname(config)
        self.extra_env = dict(env or {})
        self.pythonpath = [ROOT] + list(pythonpath)
        self.process = None
        self.runs = 0

    def start(self):
        """Start the process (it does not wait until it answers)."""
        env = dict(os.environ, **self.extra_env)
        env['PYTHONPATH'] = os.pathsep.join(
            self.pythonpath +
            [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        self.log = os.path.join(self.dir, 'irra-rrm-%s-%d.log'
                                % (self.region, self.runs))
        self.runs += 1
        with open(self.log, 'w') as out:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'irra_openstack.cmd.rrm',
                 '--config-file', self.config],
                cwd=self.pythonpath[-1], env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def output(self):
        """The end of the process's log of its last start."""
        with open(self.log) as f:
            return f.read()[-3000:]

    def alive(self):
        """Whether the process runs."""
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
        """SIGTERM the process group (SIGKILL if it does not end)."""
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


def journal_path(directory, region):
    """The journal file of ``region`` in ``directory``."""
    return os.path.join(directory, 'journal-%s' % region)


def read_journal(directory, region):
    """[(event, key)] of a region's journal, in order."""
    path = journal_path(directory, region)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(line.split()[:2]) for line in f if line.strip()]


class JournalExecutor(base.Executor):
    """Live migrations that only write a journal (see the module)."""

    name = 'journal'
    action_types = (constants.ActionType.LIVE_MIGRATE,)

    def __init__(self, directory, region, seconds):
        self.path = journal_path(directory, region)
        self.region = region
        self.seconds = seconds

    @classmethod
    def from_config(cls, conf, region):
        """Built from IRRA_RRM_TEST_DIR and IRRA_RRM_TEST_ACTION_SECONDS."""
        return cls(os.environ['IRRA_RRM_TEST_DIR'], region,
                   float(os.environ.get('IRRA_RRM_TEST_ACTION_SECONDS',
                                        '1')))

    def _write(self, event, key):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o644)
        try:
            os.write(fd, ('%s %s %d\n' % (event, key, os.getpid())).encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _events(self, key):
        if not os.path.exists(self.path):
            return set()
        with open(self.path) as f:
            return {line.split()[0] for line in f
                    if line.split()[1:2] == [key]}

    def execute(self, action):
        key = action['idempotency_key']
        self._write('start', key)
        time.sleep(self.seconds)
        self._write('done', key)
        return base.Outcome(state=State.SUCCEEDED,
                            destination=action['destination'])

    def reconcile(self, action):
        key = action['idempotency_key']
        self._write('reconcile', key)
        if 'start' in self._events(key):
            return base.Outcome(state=State.SUCCEEDED,
                                destination=action['destination'],
                                details={'reconciled': True})
        # Claimed, but the process stopped before the work began: like the
        # real executors, say so, and the runner starts it under its claim.
        return base.Outcome(state=State.PENDING,
                            details={'started': False})
