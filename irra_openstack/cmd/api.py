"""irra-api: a development server for irra's REST API.

``irra-api [--config-file F] [--host H] [--port P] [--workers N]`` serves
:mod:`irra_openstack.api` with the standard library's WSGI server: the
parent process binds the socket, N worker processes accept on it, each
answering with a thread per connection. It is meant for development, tests
and benchmarks; in production run ``irra_openstack.api.wsgi:application``
in uWSGI, mod_wsgi or gunicorn.

SIGTERM or SIGINT stops the workers and the parent.
"""

import os
import signal
import socketserver
import sys
import time
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import conf as irra_conf
from irra_openstack.db import api as db_api
from irra_openstack import exception
from irra_openstack import version

LOG = logging.getLogger(__name__)

cli_opts = [
    cfg.HostAddressOpt('host', help='Address to listen on (default: '
                                    '[api] bind_host).'),
    cfg.PortOpt('port', help='Port to listen on (default: [api] '
                             'bind_port; 0 picks a free port).'),
    cfg.IntOpt('workers', min=1, help='Worker processes (default: [api] '
                                      'workers).'),
]


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


class _Handler(simple_server.WSGIRequestHandler):

    def log_message(self, fmt, *args):
        # One line per request: formatted only when debug logging is on.
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug('%s - %s', self.address_string(), fmt % args)


def _serve(server, conf):
    from irra_openstack.api import deploy

    app = deploy.loadapp(conf)
    server.set_app(app)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass


def _spawn(server, conf):
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = 0
        try:
            _serve(server, conf)
        except Exception:
            LOG.exception('Worker %d failed', os.getpid())
            code = 1
        finally:
            os._exit(code)
    return pid


def serve(conf):
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    host = conf.host or conf.api.bind_host
    port = conf.port if conf.port is not None else conf.api.bind_port
    workers = conf.workers or conf.api.workers
    # Fails early, in the parent, when [database] connection is missing;
    # each worker then makes its own engine, after the fork.
    db_api.configure(conf)
    db_api.dispose()
    try:
        server = _Server((host, port), _Handler)
    except OSError as exc:
        raise exception.IrraError('Cannot listen on %s:%s: %s.' % (
            host, port, exc.strerror or exc))
    host, port = server.server_address[:2]
    # The line that tests and scripts wait for.
    print('irra-api listening on http://%s:%d with %d worker(s)' % (
        host, port, workers), flush=True)
    if workers == 1:
        _serve(server, conf)
        return 0
    children = {_spawn(server, conf) for _ in range(workers)}
    stopping = []

    def _stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopping:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid and pid in children:
            children.discard(pid)
            if os.waitstatus_to_exitcode(status) != 0:
                LOG.error('Worker %d failed; stopping irra-api', pid)
                stopping.append(None)
                break
            LOG.warning('Worker %d ended; starting another', pid)
            children.add(_spawn(server, conf))
        time.sleep(0.2)
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    server.server_close()
    return 1 if None in stopping else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = irra_conf.CONF
    irra_conf.register_opts(conf)
    conf.register_cli_opts(cli_opts)
    logging.register_options(conf)
    try:
        conf(argv, project='irra', prog='irra-api',
             version=version.version_string(),
             default_config_files=[
                 f for f in cfg.find_config_files(project='irra')
                 if os.path.exists(f)])
    except cfg.Error as exc:
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1
    logging.setup(conf, 'irra')
    try:
        return serve(conf)
    except exception.IrraError as exc:
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
