"""Helpers of the handlers: JSON in and out, validation, paging, policy."""

import datetime
import json
import math
import urllib.parse

import jsonschema
from oslo_policy import policy as oslo_policy
import webob

from irra_openstack.api import errors

#: Keys of the WSGI environ that the application sets.
CONTEXT_KEY = 'irra.context'
APP_KEY = 'irra.app'


def context(req):
    """The oslo.context RequestContext of a request."""
    return req.environ[CONTEXT_KEY]


def app_state(req):
    """The :class:`irra_openstack.api.deploy.AppState` of the app."""
    return req.environ[APP_KEY]


def isotime(moment):
    """A naive UTC datetime as ISO 8601 text with a Z, or None."""
    if moment is None:
        return None
    if isinstance(moment, (int, float)):
        moment = datetime.datetime.fromtimestamp(
            moment, datetime.timezone.utc).replace(tzinfo=None)
    return moment.replace(tzinfo=None).isoformat(timespec='seconds') + 'Z'


def parse_isotime(text):
    """ISO 8601 text (with Z or an offset) as a naive UTC datetime."""
    value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def finite_or_none(values):
    """A list of floats with NaN and infinities as None (JSON null)."""
    if values is None:
        return None
    return [v if v is not None and math.isfinite(v) else None
            for v in values]


def json_response(body, status=200, headers=None):
    response = webob.Response(
        status=status, content_type='application/json', charset='utf-8',
        body=json.dumps(body, separators=(',', ':')).encode('utf-8'))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content():
    response = webob.Response(status=204)
    response.headers.pop('Content-Type', None)
    return response


def _schema_error(exc):
    path = '/'.join(str(p) for p in exc.absolute_path)
    where = ('"%s"' % path) if path else 'the body'
    message = exc.message
    if len(message) > 300:
        message = message[:300] + '...'
    return '%s: %s' % (where, message)


#: Validators by schema id: building one costs more than validating.
_VALIDATORS = {}


def _validator(schema):
    key = id(schema)
    cached = _VALIDATORS.get(key)
    if cached is None or cached[0] is not schema:
        cached = (schema, jsonschema.Draft202012Validator(
            schema,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER))
        _VALIDATORS[key] = cached
    return cached[1]


def validate(schema, document, what='body'):
    """Check ``document`` against a JSON schema, or raise a 400."""
    validator = _validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise errors.BadRequest(
            'Invalid %s: %s' % (what, _schema_error(error)),
            code='irra.invalid_%s' % what)


def json_body(req, schema):
    """The JSON body of a request, checked against ``schema``."""
    content_type = (req.content_type or '').lower()
    if content_type != 'application/json':
        raise errors.UnsupportedMediaType(
            'The body must be JSON, with the Content-Type '
            '"application/json" (not "%s").' % (req.content_type or ''))
    try:
        document = json.loads(req.body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.BadRequest('The body is not valid JSON: %s.' % exc,
                                code='irra.invalid_json')
    validate(schema, document, 'body')
    return document


def query(req, schema):
    """The query parameters of a request, one value each, checked.

    Every parameter may be given once; the values are strings that the
    schema checks (patterns and enums), and the handler converts.
    """
    params = {}
    for name in req.GET.keys():
        values = req.GET.getall(name)
        if len(values) > 1:
            raise errors.BadRequest(
                'Invalid query: "%s" is given %d times; give it once.' % (
                    name, len(values)), code='irra.invalid_query')
        params[name] = values[0]
    validate(schema, params, 'query')
    return params


def limit_of(req, params):
    """The page size that a list request asks for, within max_limit."""
    conf = app_state(req).conf.api
    if 'limit' in params:
        return min(int(params['limit']), conf.max_limit)
    return min(conf.default_limit, conf.max_limit)


def page(req, key, items, limit, marker_of):
    """A list body: the items and, when the page is full, a next link.

    :param marker_of: the marker of an item, for the next page.
    """
    body = {key: items}
    links = []
    if len(items) >= limit and items:
        params = [(k, v) for k, v in req.GET.items() if k != 'marker']
        params.append(('marker', str(marker_of(items[-1]))))
        if not any(k == 'limit' for k, _ in params):
            params.append(('limit', str(limit)))
        links.append({'rel': 'next',
                      'href': '%s%s?%s' % (req.application_url, req.path_info,
                                           urllib.parse.urlencode(params))})
    body['links'] = links
    return body


def authorize(req, rule, target=None):
    """Enforce the policy ``rule`` for the request, or raise a 403."""
    ctx = context(req)
    target = dict(target or {})
    target.setdefault('project_id', ctx.project_id)
    enforcer = app_state(req).enforcer
    try:
        enforcer.authorize(rule, target, ctx, do_raise=True)
    except oslo_policy.InvalidScope:
        raise errors.Forbidden(
            'Policy does not allow %s with a token of this scope.' % rule)
    except oslo_policy.PolicyNotAuthorized:
        raise errors.Forbidden('Policy does not allow %s.' % rule)


def allowed(req, rule, target=None):
    """Whether the policy ``rule`` allows the request (no exception)."""
    ctx = context(req)
    target = dict(target or {})
    target.setdefault('project_id', ctx.project_id)
    try:
        return app_state(req).enforcer.authorize(rule, target, ctx)
    except oslo_policy.InvalidScope:
        return False


def project_filter(req):
    """None when the caller sees every project, else their project id.

    Whoever the ``irra:all_projects`` rule allows (system readers and
    administrators by default) sees every project's resources; anyone else
    sees only their own project's.
    """
    if allowed(req, 'irra:all_projects'):
        return None
    return context(req).project_id or ''
