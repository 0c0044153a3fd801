"""The irra-rrm service: one region's RPC server, run under cotyledon.

:class:`RRMService` is a ``cotyledon.Service``. In its worker process it

1. configures irra's database from the service's configuration object;
2. builds the region's executors, reservation manager, notifier, wave
   runner and :class:`~irra_openstack.rrm.manager.RRMManager`;
3. reconciles the ONGOING actions of its region and resumes the plans with
   PENDING actions of its region (a restart loses nothing);
4. starts an oslo.messaging RPC server, topic ``irra-rrm``, server = the
   region name, with the manager as endpoint;
5. reconciles again every ``[rrm] reconcile_interval`` seconds; so does
   the reservation manager's leak reconciler, when the region has one
   (``[rrm] reservation_factory``), from start-up on.

oslo.messaging reads some options from the configuration object it is
given and others from the global ``cfg.CONF``; :func:`register_messaging_
opts` registers all of them on irra-rrm's private configuration object, so
nothing of irra's lands on the global one.
"""

import threading

import cotyledon
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
from oslo_messaging import opts as messaging_opts

from irra_openstack.conf import opts as conf_opts
from irra_openstack.conf import rrm as rrm_conf
from irra_openstack.db import api as db_api
from irra_openstack import exception
from irra_openstack.rrm import manager as rrm_manager
from irra_openstack.rrm import notifications
from irra_openstack.rrm import rpcapi
from irra_openstack.rrm import waves

LOG = logging.getLogger(__name__)

#: Exceptions that travel back to RPC callers as themselves.
ALLOWED_EXMODS = [
    'irra_openstack.exception',
    'irra_openstack.rrm.manager',
    'irra_openstack.rrm.waves',
    'irra_openstack.rrm.reservations',
    'irra_openstack.db.plan_api',
]


def _library_opts():
    """oslo.messaging's tracing and metrics options, if it has them.

    They are not in ``oslo_messaging.opts.list_opts()``, but the RPC client
    and server read them from the configuration object they are given.
    """
    found = []
    for module_name, attr, group in (
            ('oslo_messaging._tracing.client', 'oslo_messaging_tracing',
             'oslo_messaging_tracing'),
            ('oslo_messaging._metrics.client', 'oslo_messaging_metrics',
             'oslo_messaging_metrics')):
        try:
            module = __import__(module_name, fromlist=[attr])
        except ImportError:
            continue
        opts = getattr(module, attr, None)
        if opts:
            found.append((group, opts))
    return found


def register_messaging_opts(conf):
    """Register oslo.messaging's options on ``conf`` (a private object).

    Safe to call more than once.
    """
    conf_opts.set_lib_defaults()
    for group, opts in messaging_opts.list_opts() + _library_opts():
        conf.register_opts(opts, group=group)


def _check_transport(conf):
    url = conf.transport_url
    if not url:
        raise exception.ConfigError(
            reason='[DEFAULT] transport_url is not set; irra-rrm needs a '
                   'message broker, e.g. '
                   'rabbit://USER:PASSWORD@HOST:5672/')


def rpc_transport(conf):
    """The RPC transport of [DEFAULT] transport_url."""
    _check_transport(conf)
    return oslo_messaging.get_rpc_transport(
        conf, allowed_remote_exmods=ALLOWED_EXMODS)


def build_reservations(conf):
    """The reservation manager that [rrm] reservation_factory builds."""
    path = conf.rrm.reservation_factory
    if not path:
        return None
    factory = waves.import_object(path)
    return factory(conf, conf.rrm.region_name)


class Periodic:
    """Calls ``func`` every ``interval`` seconds in a thread, until stop."""

    def __init__(self, func, interval, name):
        self.func = func
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name,
                                        daemon=True)

    def start(self):
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                self.func()
            except Exception:
                LOG.exception('Periodic task %s failed', self._thread.name)

    def stop(self):
        self._stop.set()
        self._thread.join()


class RRMServer:
    """The RPC server of one region and everything behind it.

    Usable without cotyledon (tests run it in a thread of their own).

    :param conf: the service's configuration object, parsed, with irra's
        and oslo.messaging's options registered.
    :param executors: an executor registry to use instead of [rrm]'s.
    :param hooks: fault-injection hooks of the wave runner.
    """

    def __init__(self, conf, executors=None, hooks=None, transport=None):
        self.conf = conf
        self.region = conf.rrm.region_name
        self._transport = transport
        self._executors = executors
        self._hooks = hooks
        self.server = None
        self.manager = None
        self.notifier = None
        self._periodic = None
        self._reservation_reconciler = None

    def start(self):
        """Reconcile, resume, then listen. Returns once listening."""
        conf = self.conf
        db_api.configure(conf)
        if self._transport is None:
            self._transport = rpc_transport(conf)
        self.notifier = notifications.RRMNotifier(conf, self.region)
        runner = waves.WaveRunner.from_config(
            conf, notifier=self.notifier, executors=self._executors,
            hooks=self._hooks)
        reservations = build_reservations(conf)
        self.manager = rrm_manager.RRMManager(
            self.region, runner, reservations=reservations,
            notifier=self.notifier)
        if reservations is not None and hasattr(reservations, 'reconcile'):
            from irra_openstack.rrm import reservations as rrm_reservations

            # Its first pass, at once, is the start-up reconciliation.
            self._reservation_reconciler = \
                rrm_reservations.PeriodicReconciler(
                    reservations, conf.rrm.reconcile_interval).start()
        report = self.manager.reconcile_and_resume()
        LOG.info('irra-rrm %(region)s started: reconciled %(report)s',
                 {'region': self.region, 'report': report})
        target = oslo_messaging.Target(topic=rpcapi.TOPIC,
                                       server=self.region)
        self.server = oslo_messaging.get_rpc_server(
            self._transport, target, [self.manager], executor='threading')
        self.server.start()
        self._periodic = Periodic(self.manager.reconcile_and_resume,
                                  conf.rrm.reconcile_interval,
                                  'rrm-reconcile')
        self._periodic.start()
        # The line that tests and scripts wait for.
        LOG.info('irra-rrm %s is listening on topic %s', self.region,
                 rpcapi.TOPIC)

    def stop(self):
        """Stop listening, let running actions end, close everything."""
        if self.manager is not None:
            self.manager.stopping = True
            self.manager.runner.stop()
        if self._periodic is not None:
            self._periodic.stop()
        if self._reservation_reconciler is not None:
            self._reservation_reconciler.stop()
        if self.server is not None:
            self.server.stop()
            self.server.wait()
        if self.manager is not None:
            self.manager.stop()
        if self.notifier is not None:
            self.notifier.close()
        if self._transport is not None:
            self._transport.cleanup()
        db_api.dispose()


class RRMService(cotyledon.Service):
    """irra-rrm as a cotyledon service: one worker per region."""

    name = 'irra-rrm'

    def __init__(self, worker_id, conf):
        super().__init__(worker_id)
        self.conf = conf
        self._server = RRMServer(conf)
        self._done = threading.Event()

    def run(self):
        self._server.start()
        self._done.wait()

    def terminate(self):
        LOG.info('irra-rrm %s stopping', self.conf.rrm.region_name)
        self._server.stop()
        self._done.set()


def make_conf(argv, default_config_files=None):
    """irra-rrm's configuration object, parsed from ``argv``."""
    from irra_openstack import conf as irra_conf

    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    irra_conf.register_opts(conf)
    register_messaging_opts(conf)
    conf(argv, project='irra', prog='irra-rrm',
         default_config_files=default_config_files)
    # oslo.config checks a value when it is read: read [rrm] now, so that a
    # bad value is an error at start-up (cfg.Error), not in the worker.
    for opt in rrm_conf.rrm_opts:
        getattr(conf.rrm, opt.dest)
    return conf


def serve(conf):
    """Run irra-rrm under cotyledon until SIGTERM or SIGINT."""
    # Fail in the parent, with a clear message, on what would only fail in
    # the worker.
    _check_transport(conf)
    for option in ('executor_factory', 'reservation_factory'):
        path = getattr(conf.rrm, option)
        if path and not callable(waves.import_object(path)):
            raise exception.ConfigError(
                reason='[rrm] %s %s is not callable' % (option, path))
    db_api.configure(conf)
    db_api.dispose()
    manager = cotyledon.ServiceManager()
    manager.add(RRMService, workers=1, args=(conf,))
    manager.run()
