"""A small HTTP client of irra-api on a keystoneauth session."""

from keystoneauth1 import exceptions as ks_exceptions
from osc_lib import exceptions

#: The microversion the CLI speaks.
DEFAULT_MICROVERSION = '1.2'


class Client:
    """irra-api v1 over an authenticated keystoneauth session."""

    def __init__(self, session, endpoint, microversion=DEFAULT_MICROVERSION):
        if not endpoint:
            raise exceptions.CommandError(
                'No irra endpoint: irra (service type resource-allocation) '
                'is not in the service catalog; give one with '
                '--os-endpoint (with --os-auth-type admin_token or none) '
                'or the IRRA_ENDPOINT environment variable.')
        self.session = session
        self.endpoint = endpoint.rstrip('/')
        if self.endpoint.endswith('/v1'):
            self.endpoint = self.endpoint[:-3]
        self.microversion = microversion

    def request(self, method, path, params=None, body=None):
        """The decoded JSON answer of a request, or None for a 204.

        :raises osc_lib.exceptions.CommandError: the API refused it, or
            cannot be reached; the message is irra-api's.
        """
        url = self.endpoint + path
        headers = {'OpenStack-API-Version': 'irra %s' % self.microversion,
                   'Accept': 'application/json'}
        kwargs = {'headers': headers, 'raise_exc': False}
        if params:
            kwargs['params'] = params
        if body is not None:
            kwargs['json'] = body
        try:
            response = self.session.request(url, method, **kwargs)
        except ks_exceptions.ConnectFailure as exc:
            raise exceptions.CommandError(
                'Cannot reach irra-api at %s: %s' % (self.endpoint, exc))
        except ks_exceptions.ClientException as exc:
            raise exceptions.CommandError('irra-api request failed: %s' %
                                          exc)
        if response.status_code >= 400:
            raise exceptions.CommandError(self._error(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise exceptions.CommandError(
                'irra-api answered %s %s with a body that is not JSON.' % (
                    method, path))

    @staticmethod
    def _error(response):
        try:
            error = response.json()['errors'][0]
            return '%s (HTTP %s, request %s)' % (
                error['detail'], response.status_code, error.get(
                    'request_id'))
        except (ValueError, KeyError, IndexError, TypeError):
            return 'irra-api answered HTTP %s: %s' % (
                response.status_code, response.text[:200])

    def get(self, path, params=None):
        return self.request('GET', path, params=params)

    def post(self, path, body=None):
        return self.request('POST', path, body=body)

    def patch(self, path, body):
        return self.request('PATCH', path, body=body)

    def delete(self, path):
        return self.request('DELETE', path)

    def list(self, path, key, params=None, limit=None, marker=None):
        """Every item of a list, following the next links.

        With ``limit``, only one page of at most ``limit`` items.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if marker:
            params['marker'] = marker
        if limit:
            params['limit'] = limit
            return self.get(path, params)[key]
        items = []
        while True:
            body = self.get(path, params)
            items.extend(body[key])
            links = [link for link in body.get('links', [])
                     if link.get('rel') == 'next']
            if not links or not body[key]:
                return items
            params = dict(params, marker=_marker(body[key][-1]))


def _marker(item):
    return item.get('id', item.get('name'))
