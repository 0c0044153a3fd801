"""Building irra-api's WSGI application from a configuration object.

From the outside in, a request goes through:

1. oslo.middleware ``RequestId``: every response gets an
   ``X-OpenStack-Request-Id``;
2. oslo.middleware ``CORS`` ([cors] options), for the requests it can
   act on: an ``OPTIONS`` (preflight) request, or one with an ``Origin``;
3. oslo.middleware ``RequestBodySizeLimiter`` ([oslo_middleware]
   max_request_body_size; a larger body is a 413), for the requests that
   have a body: with a ``Content-Length`` or a ``Transfer-Encoding``;
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

import sys

from oslo_log import log as logging
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import request_id
from oslo_middleware import sizelimit
from oslo_policy import policy as oslo_policy
import webob

from irra_openstack.api import auth
from irra_openstack.api import check_signatures
from irra_openstack.api import router
from irra_openstack.conf import opts as conf_opts
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

    def __call__(self, environ, start_response):
        try:
            return self.application(environ, start_response)
        except Exception as exc:
            response = router.error_response(webob.Request(environ), exc)
            # exc_info lets the error replace a response whose headers
            # were given but not sent yet.
            return response(environ, _with_exc_info(start_response,
                                                    sys.exc_info()))


def _with_exc_info(start_response, exc_info):
    def start(status, headers, _exc_info=None):
        return start_response(status, headers, exc_info)
    return start


class When:
    """Runs ``middleware`` on the requests ``needed(environ)`` selects.

    The other requests go straight to ``application``: for them the
    middleware would have done nothing, and skipping it saves the cost of
    its request and response objects.
    """

    def __init__(self, needed, middleware, application):
        self.needed = needed
        self.middleware = middleware
        self.application = application

    def __call__(self, environ, start_response):
        if self.needed(environ):
            return self.middleware(environ, start_response)
        return self.application(environ, start_response)


def cors_applies(environ):
    """Whether oslo.middleware's CORS can change the response.

    It answers preflight (``OPTIONS``) requests and decorates the responses
    of requests with an ``Origin`` header; to any other request it adds
    nothing.
    """
    return (environ.get('REQUEST_METHOD') == 'OPTIONS' or
            'HTTP_ORIGIN' in environ)


def has_body(environ):
    """Whether the request has a body that the size limiter must watch.

    Without a ``Content-Length`` or a ``Transfer-Encoding`` a request has
    no body (RFC 9112, section 6.3).
    """
    return bool(environ.get('CONTENT_LENGTH') or
                'HTTP_TRANSFER_ENCODING' in environ)


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
    check_signatures.install()
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
    app = When(has_body, sizelimit.RequestBodySizeLimiter(app, conf), app)
    conf_opts.set_lib_defaults()
    app = When(cors_applies, cors.CORS(app, conf), app)
    app = request_id.RequestId(app)
    return app
