"""Options of irra-api, group [api].

The middleware that irra-api loads has options of its own, in their own
groups: keystonemiddleware's [keystone_authtoken], oslo.middleware's [cors],
[oslo_middleware] (max_request_body_size) and [healthcheck]; the sample
configuration file gets those through their libraries' generator
namespaces.
"""

from oslo_config import cfg

GROUP = 'api'

api_opts = [
    cfg.StrOpt(
        'auth_strategy',
        default='keystone',
        choices=[('keystone', 'Tokens are validated by keystonemiddleware '
                              'auth_token, configured in '
                              '[keystone_authtoken].'),
                 ('noauth2', 'No authentication, for tests and '
                             'development only: the token "admin" is an '
                             'administrator, and the X-Project-Id, '
                             'X-User-Id, X-Roles and OpenStack-System-Scope '
                             'headers (or a token "USER:PROJECT:ROLE,...") '
                             'say who the caller is.')],
        help='How irra-api authenticates its callers.'),
    cfg.IntOpt(
        'max_limit',
        default=1000,
        min=1,
        help='The largest number of items that one page of a list '
             'returns, whatever "limit" a request asks for.'),
    cfg.IntOpt(
        'default_limit',
        default=100,
        min=1,
        help='The number of items in one page of a list when a request '
             'gives no "limit" (at most max_limit).'),
    cfg.HostAddressOpt(
        'bind_host',
        default='127.0.0.1',
        help='Address that the development server irra-api listens on. '
             'In production, run irra_openstack.api.wsgi:application in a '
             'WSGI server (uWSGI, mod_wsgi, gunicorn) instead.'),
    cfg.PortOpt(
        'bind_port',
        default=8790,
        help='Port that the development server irra-api listens on.'),
    cfg.IntOpt(
        'workers',
        default=1,
        min=1,
        help='Number of processes of the development server irra-api.'),
]


def register_opts(conf):
    """Register the [api] options on ``conf``."""
    conf.register_opts(api_opts, group=GROUP)


def list_opts():
    """The [api] options, for the sample configuration file."""
    return {GROUP: api_opts}
