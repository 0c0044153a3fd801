"""The route table of irra-api, and the WSGI app that dispatches it.

Each path maps HTTP methods to handler functions. Paths are templates:
``{name}`` matches one path segment, given to the handler in
``req.urlvars``. A path that exists but not for a method is a 405 with an
``Allow`` header; a path added by a later microversion is a 404 below it.
"""

import re

from oslo_log import log as logging
import webob
import webob.dec

from irra_openstack.api import errors
from irra_openstack.api.handlers import anomaly
from irra_openstack.api.handlers import forecast
from irra_openstack.api.handlers import headroom
from irra_openstack.api.handlers import market
from irra_openstack.api.handlers import plan
from irra_openstack.api.handlers import region
from irra_openstack.api.handlers import reservation
from irra_openstack.api.handlers import root
from irra_openstack.api.handlers import sla
from irra_openstack.api import microversion
from irra_openstack.api import util
from irra_openstack.db import market_api
from irra_openstack.db import paging_api
from irra_openstack.db import plan_api
from irra_openstack.db import readonly_api
from irra_openstack.db import reservation_api
from irra_openstack.db import sla_api
from irra_openstack import exception

LOG = logging.getLogger(__name__)

ROUTES = {
    '/': {'GET': root.versions},
    '/v1': {'GET': root.version_v1},
    '/v1/regions': {'GET': region.list_regions},
    '/v1/regions/{region}': {'GET': region.show_region},
    '/v1/forecasts': {'GET': forecast.list_forecasts},
    '/v1/forecasts/{forecast_id}': {'GET': forecast.show_forecast},
    '/v1/anomalies': {'GET': anomaly.list_anomalies},
    '/v1/anomalies/{anomaly_id}': {'GET': anomaly.show_anomaly},
    '/v1/plans': {'GET': plan.list_plans, 'POST': plan.create_plan},
    '/v1/plans/{plan_id}': {'GET': plan.show_plan},
    '/v1/plans/{plan_id}/approve': {'POST': plan.approve_plan},
    '/v1/plans/{plan_id}/cancel': {'POST': plan.cancel_plan},
    '/v1/plans/{plan_id}/actions': {'GET': plan.list_actions},
    '/v1/plans/{plan_id}/actions/{action_id}': {'GET': plan.show_action},
    '/v1/plans/{plan_id}/actions/{action_id}/skip': {
        'POST': plan.skip_action},
    '/v1/plans/{plan_id}/actions/{action_id}/retry': {
        'POST': plan.retry_action},
    '/v1/reservations': {'GET': reservation.list_reservations},
    '/v1/reservations/{reservation_id}': {
        'GET': reservation.show_reservation,
        'DELETE': reservation.delete_reservation},
    '/v1/market/offers': {'GET': market.list_offers},
    '/v1/market/bids': {'GET': market.list_bids},
    '/v1/market/trades': {'GET': market.list_trades},
    '/v1/market/prices': {'GET': market.list_prices},
    '/v1/slas': {'GET': sla.list_slas, 'POST': sla.create_sla},
    '/v1/slas/{sla_id}': {'GET': sla.show_sla, 'PATCH': sla.update_sla,
                          'DELETE': sla.delete_sla},
    '/v1/cost-models': {'GET': sla.list_cost_models,
                        'POST': sla.create_cost_model},
    '/v1/cost-models/{cost_model_id}': {
        'GET': sla.show_cost_model, 'PATCH': sla.update_cost_model,
        'DELETE': sla.delete_cost_model},
    '/v1/headroom': {'GET': headroom.show_headroom},
}

#: Paths that appeared after 1.0, with the version that added them.
MIN_VERSIONS = {
    '/v1/headroom': '1.2',
}

#: Paths that need no token: the version documents.
PUBLIC_PATHS = ('/', '/v1')

#: irra's data-access errors, and the HTTP error each one is.
ERROR_MAP = (
    ((plan_api.PlanNotFound, plan_api.ActionNotFound,
      reservation_api.ReservationNotFound, sla_api.NotFound,
      readonly_api.ForecastNotFound, readonly_api.AnomalyNotFound,
      readonly_api.HeadroomNotFound, market_api.RegionNotFound),
     errors.NotFound),
    ((plan_api.StateConflict, reservation_api.ReservationEnded,
      sla_api.DuplicateName), errors.Conflict),
    ((paging_api.MarkerNotFound,), errors.BadRequest),
)

_SEGMENT = re.compile(r'\{(\w+)\}')


def _compile(template):
    pattern = _SEGMENT.sub(r'(?P<\1>[^/]+)', re.escape(template)
                           .replace(r'\{', '{').replace(r'\}', '}'))
    return re.compile('^%s$' % pattern)


class Router:
    """The WSGI app of the route table; sets the microversion headers."""

    def __init__(self, state, routes=None):
        self.state = state
        self.routes = [(_compile(path), path, methods)
                       for path, methods in (routes or ROUTES).items()]

    def _match(self, path):
        for regex, template, methods in self.routes:
            match = regex.match(path)
            if match:
                return template, methods, match.groupdict()
        return None, None, None

    def _dispatch(self, req):
        req.environ[util.APP_KEY] = self.state
        version = microversion.from_header(
            req.headers.get(microversion.HEADER))
        req.environ[microversion.ENV_KEY] = version
        template, methods, urlvars = self._match(req.path_info)
        if template is None or (
                template in MIN_VERSIONS and
                version < microversion.Version.parse(
                    MIN_VERSIONS[template])):
            raise errors.NotFound('The resource %s was not found.' %
                                  req.path_info)
        handler = methods.get(req.method)
        if handler is None:
            allow = ', '.join(sorted(methods))
            raise errors.MethodNotAllowed(
                'The method %s is not allowed on %s; use %s.' % (
                    req.method, req.path_info, allow),
                headers={'Allow': allow})
        req.urlvars = urlvars
        return handler(req)

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            response = self._dispatch(req)
        except Exception as exc:
            response = error_response(req, exc)
        version = req.environ.get(microversion.ENV_KEY)
        if version is not None:
            response.headers[microversion.HEADER] = '%s %s' % (
                microversion.SERVICE_TYPE, version)
            response.headers.add('Vary', microversion.HEADER)
        return response


def error_response(req, exc):
    """The error response of an exception, in irra's error format.

    Unexpected exceptions are logged with their traceback and answered
    with a 500 that shows only the request id.
    """
    request_id = req.environ.get('openstack.request_id')
    if isinstance(exc, exception.IrraError):
        for classes, error_class in ERROR_MAP:
            if isinstance(exc, classes):
                exc = error_class(str(exc))
                break
    if isinstance(exc, errors.APIError):
        if exc.status >= 500:
            LOG.error('%s %s failed: %s', req.method, req.path, exc.detail)
        return errors.error_response(exc.status, exc.detail, exc.code,
                                     request_id, exc.headers)
    LOG.exception('Unexpected error in %s %s (request %s)', req.method,
                  req.path, request_id)
    return errors.error_response(
        500, 'The server failed to answer the request; its log has the '
             'details under request id %s.' % request_id,
        'irra.internal_error', request_id)
