"""Who the caller is: keystonemiddleware, or noauth2 for tests.

With ``[api] auth_strategy = keystone`` keystonemiddleware's auth_token
validates the token and sets the X-* identity headers. With ``noauth2``
(tests and development only) a token is still required, but not checked:

* ``X-Auth-Token: admin`` is an administrator of the project "admin";
* a token ``USER:PROJECT:ROLE,ROLE`` is that user with those roles in that
  project, or in the system scope when PROJECT is ``*``;
* any other token takes the identity from the X-User-Id, X-Project-Id,
  X-Roles and OpenStack-System-Scope headers, as keystonemiddleware would
  have set them.

As Keystone does, roles imply others: admin implies member, member
implies reader. Then :class:`ContextMiddleware` builds the request context
from the headers, whichever strategy set them.
"""

from oslo_context import context as oslo_context

from irra_openstack.api import errors
from irra_openstack.api import util

#: Keystone's default role implications.
IMPLIED_ROLES = {'admin': ('member', 'reader'), 'member': ('reader',)}


def expand_roles(roles):
    """``roles`` with the roles they imply, in a stable order."""
    result = []
    for role in roles:
        for name in (role,) + IMPLIED_ROLES.get(role, ()):
            if name and name not in result:
                result.append(name)
    return result


def _unauthorized(environ, start_response, detail):
    response = errors.error_response(
        401, detail, 'irra.unauthorized',
        environ.get('openstack.request_id'))
    return response(environ, start_response)


class NoAuthMiddleware:
    """noauth2: trusts the token and headers; never use in production.

    It works on the WSGI environ, where a header ``X-Roles`` is
    ``HTTP_X_ROLES``.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if not token:
            return _unauthorized(environ, start_response,
                                 'The request needs an X-Auth-Token header.')
        if token == 'admin' and 'HTTP_X_ROLES' not in environ:
            environ.setdefault('HTTP_X_USER_ID', 'admin')
            environ.setdefault('HTTP_X_PROJECT_ID', 'admin')
            environ['HTTP_X_ROLES'] = 'admin'
        elif token.count(':') == 2:
            user, project, roles = token.split(':')
            environ['HTTP_X_USER_ID'] = user
            if project == '*':
                environ.pop('HTTP_X_PROJECT_ID', None)
                environ['HTTP_OPENSTACK_SYSTEM_SCOPE'] = 'all'
            else:
                environ['HTTP_X_PROJECT_ID'] = project
                environ.pop('HTTP_OPENSTACK_SYSTEM_SCOPE', None)
            environ['HTTP_X_ROLES'] = roles
        roles = [r.strip() for r in environ.get('HTTP_X_ROLES', '').split(',')]
        environ['HTTP_X_ROLES'] = ','.join(expand_roles(roles))
        environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
        return self.application(environ, start_response)


class ContextMiddleware:
    """Builds the oslo.context RequestContext of the request."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            return _unauthorized(environ, start_response,
                                 'The request was not authenticated.')
        environ[util.CONTEXT_KEY] = (
            oslo_context.RequestContext.from_environ(environ))
        return self.application(environ, start_response)
