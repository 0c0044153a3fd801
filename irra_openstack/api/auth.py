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
import webob.dec

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


class NoAuthMiddleware:
    """noauth2: trusts the token and headers; never use in production."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        token = req.headers.get('X-Auth-Token')
        if not token:
            return errors.error_response(
                401, 'The request needs an X-Auth-Token header.',
                'irra.unauthorized',
                req.environ.get('openstack.request_id'))
        headers = req.headers
        if token == 'admin' and 'X-Roles' not in headers:
            headers['X-User-Id'] = headers.get('X-User-Id', 'admin')
            headers['X-Project-Id'] = headers.get('X-Project-Id', 'admin')
            headers['X-Roles'] = 'admin'
        elif token.count(':') == 2:
            user, project, roles = token.split(':')
            headers['X-User-Id'] = user
            if project == '*':
                headers.pop('X-Project-Id', None)
                headers['OpenStack-System-Scope'] = 'all'
            else:
                headers['X-Project-Id'] = project
                headers.pop('OpenStack-System-Scope', None)
            headers['X-Roles'] = roles
        roles = [r.strip() for r in headers.get('X-Roles', '').split(',')]
        headers['X-Roles'] = ','.join(expand_roles(roles))
        headers['X-Identity-Status'] = 'Confirmed'
        return req.get_response(self.application)


class ContextMiddleware:
    """Builds the oslo.context RequestContext of the request."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        if req.headers.get('X-Identity-Status') != 'Confirmed':
            return errors.error_response(
                401, 'The request was not authenticated.',
                'irra.unauthorized',
                req.environ.get('openstack.request_id'))
        req.environ[util.CONTEXT_KEY] = (
            oslo_context.RequestContext.from_environ(req.environ))
        return req.get_response(self.application)
