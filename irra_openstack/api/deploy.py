"""Building irra-api's WSGI application from a configuration object.

From the outside in, a request goes through:

1. oslo.middleware ``RequestId``: every response gets an
   ``X-OpenStack-Request-Id``;
2. oslo.middleware ``CORS`` ([cors] options);
3. oslo.middleware ``RequestBodySizeLimiter`` ([oslo_middleware]
   max_request_body_size; a larger body is a 413);
4. :class:`FaultWrapper`: any exception becomes a JSON error, never a
   traceback;
5. oslo.middleware ``Healthcheck`` on ``/healthcheck`` ([healthcheck]), and
   the version documents ``/`` and ``/v1``, need no token; everything else
   goes through
6. authentication: keystonemiddleware ``auth_token`` ([keystone_authtoken])
   or noauth2 (:mod:`irra_openstack.api.auth`);
7. :class:`irra_openstack.api.auth.ContextMiddleware`;
8. the route table (:mod:`irra_openstack.api.router`).
"""

from oslo_log import log as logging
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import request_id
from oslo_middleware import sizelimit
from oslo_policy import policy as oslo_policy
import webob
import webob.dec

from irra_openstack.api import auth
from irra_openstack.api import microversion
from irra_openstack.api import router
from irra_openstack.db import api as db_api
from irra_openstack import notifications
from irra_openstack import policies

LOG = logging.getLogger(__name__)

#: Where oslo.middleware's health check answers, without a token.
HEALTHCHECK_PATH = '/healthcheck'


class AppState:
    """What every request of one application shares."""

    def __init__(self, conf, enforcer, notifier):
        self.conf = conf
        self.enforcer = enforcer
        self.notifier = notifier


class FaultWrapper:
    """Turns any exception below it into a 500 in irra's error format."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            return req.get_response(self.application)
        except Exception as exc:
            return router.error_response(req, exc)


class PublicPaths:
    """Sends the health check and version documents past authentication."""

    def __init__(self, authenticated, public, health):
        self.authenticated = authenticated
        self.public = public
        self.health = health

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '') or '/'
        if path == HEALTHCHECK_PATH:
            return self.health(environ, start_response)
        if path.rstrip('/') in ('', '/v1'):
            environ['PATH_INFO'] = path.rstrip('/') or '/'
            return self.public(environ, start_response)
        return self.authenticated(environ, start_response)


def _auth(conf, application):
    strategy = conf.api.auth_strategy
    if strategy == 'noauth2':
        LOG.warning('irra-api runs with auth_strategy = noauth2: tokens are '
                    'not checked. Never do this in production.')
        return auth.NoAuthMiddleware(application)
    from keystonemiddleware import auth_token

    return auth_token.AuthProtocol(application,
                                   {'oslo_config_config': conf})


def make_enforcer(conf):
    """An oslo.policy enforcer with irra's defaults, on ``conf``."""
    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def loadapp(conf, notifier=None, configure_db=True):
    """The WSGI application of irra-api, configured by ``conf``.

    ``conf`` must have irra's options registered and be parsed.
    """
    if configure_db:
        db_api.configure(conf)
    state = AppState(conf, make_enforcer(conf),
                     notifier or notifications.Notifier(conf))
    app = router.Router(state)
    authenticated = _auth(conf, auth.ContextMiddleware(app))
    app = PublicPaths(authenticated, app, healthcheck.Healthcheck(None, conf))
    app = FaultWrapper(app)
    app = sizelimit.RequestBodySizeLimiter(app, conf)
    cors.set_defaults(
        allow_headers=['X-Auth-Token', 'X-OpenStack-Request-Id',
                       microversion.HEADER, 'Content-Type'],
        expose_headers=['X-OpenStack-Request-Id', microversion.HEADER,
                        'ETag'],
        allow_methods=['GET', 'POST', 'PATCH', 'DELETE'])
    app = cors.CORS(app, conf)
    app = request_id.RequestId(app)
    return app
