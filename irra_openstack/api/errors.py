"""The errors of irra-api, and the one format every error body has.

Every error response is JSON::

    {"errors": [{"status": 404,
                 "code": "irra.not_found",
                 "title": "Not Found",
                 "detail": "Plan 0b3... was not found.",
                 "request_id": "req-..."}]}

``detail`` is a sentence meant for a person; ``code`` is stable and meant
for programs. No traceback is ever in a response: an unexpected error is
logged with its traceback and answered with a 500 that names the request id
to look for in the log.
"""

import json

import webob

#: The reason phrases of the status codes irra-api answers with.
TITLES = {
    304: 'Not Modified',
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    406: 'Not Acceptable',
    409: 'Conflict',
    413: 'Request Entity Too Large',
    415: 'Unsupported Media Type',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
}


class APIError(Exception):
    """An error that irra-api answers with; ``status`` is its HTTP code."""

    status = 500
    code = 'irra.error'

    def __init__(self, detail, code=None, headers=None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.headers = headers or {}


class BadRequest(APIError):
    status = 400
    code = 'irra.bad_request'


class Unauthorized(APIError):
    status = 401
    code = 'irra.unauthorized'


class Forbidden(APIError):
    status = 403
    code = 'irra.policy_denied'


class NotFound(APIError):
    status = 404
    code = 'irra.not_found'


class MethodNotAllowed(APIError):
    status = 405
    code = 'irra.method_not_allowed'


class NotAcceptable(APIError):
    status = 406
    code = 'irra.not_acceptable'


class Conflict(APIError):
    status = 409
    code = 'irra.conflict'


class UnsupportedMediaType(APIError):
    status = 415
    code = 'irra.unsupported_media_type'


def error_response(status, detail, code, request_id=None, headers=None):
    """A webob response with the error body of ``status``."""
    body = {'errors': [{
        'status': status,
        'code': code,
        'title': TITLES.get(status, 'Error'),
        'detail': detail,
        'request_id': request_id,
    }]}
    response = webob.Response(
        status=status, content_type='application/json', charset='utf-8',
        body=json.dumps(body).encode('utf-8'))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
