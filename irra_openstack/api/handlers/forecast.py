"""GET /v1/forecasts and /v1/forecasts/{forecast_id}."""

from irra_openstack.api import errors
from irra_openstack.api import microversion
from irra_openstack.api.schemas import forecast as schema
from irra_openstack.api import util
from irra_openstack.db import readonly_api


def _isotime(moment, texts):
    """:func:`util.isotime`, remembered in ``texts``.

    The forecasts of a page mostly share their run's creation time, and
    often their start.
    """
    text = texts.get(moment)
    if text is None:
        text = texts[moment] = util.isotime(moment)
    return text


def _view(req, row, with_values, with_model=None, texts=None):
    """The JSON of a forecast row.

    :param with_model: whether the request's microversion shows the
        ``model`` object (worked out from ``req`` when None).
    :param texts: a dict that remembers timestamps as text, shared by the
        rows of one response.
    """
    if with_model is None:
        with_model = microversion.at_least(req, '1.1')
    if texts is None:
        texts = {}
    forecast = {
        'id': row['id'],
        'run_id': row['run_uuid'],
        'resource_kind': row['resource_kind'],
        'resource_id': row['resource_id'],
        'metric': row['metric'],
        'start': _isotime(row['start'], texts),
        'step': row['step'],
        'horizon': row['horizon'],
        'level': row['level'],
        'model_name': row['model_name'],
        'created_at': _isotime(row['run_created_at'], texts),
    }
    if with_model:
        forecast['model'] = {
            'name': row['model_name'],
            'version': row['model_version'],
            'parameters': row['parameters'],
            'data_set': row['data_set'],
            'mae': row['mae'],
            'interval_coverage': row['interval_coverage'],
            'accuracy': row['accuracy'],
        }
    if with_values:
        forecast['point'] = util.finite_or_none(row['point'])
        forecast['lower'] = util.finite_or_none(row['lower'])
        forecast['upper'] = util.finite_or_none(row['upper'])
    return forecast


def list_forecasts(req):
    util.authorize(req, 'irra:forecast:list')
    params = util.query(req, schema.LIST_QUERY)
    limit = util.limit_of(req, params)
    with_model = microversion.at_least(req, '1.1')
    rows = readonly_api.forecast_list(
        resource_kind=params.get('resource_kind'),
        resource_id=params.get('resource_id'),
        metric=params.get('metric'),
        model_name=params.get('model_name'),
        run_uuid=params.get('run'),
        marker=params.get('marker'), limit=limit,
        with_run_metadata=with_model)
    texts = {}
    items = [_view(req, row, False, with_model, texts) for row in rows]
    return util.json_response(
        util.page(req, 'forecasts', items, limit, lambda f: f['id']))


def show_forecast(req):
    util.authorize(req, 'irra:forecast:show')
    util.query(req, {'type': 'object', 'additionalProperties': False})
    forecast_id = req.urlvars['forecast_id']
    if not forecast_id.isdigit() or len(forecast_id) > 18:
        raise errors.NotFound('Forecast %s was not found.' % forecast_id)
    row = readonly_api.forecast_get(int(forecast_id))
    return util.json_response(_view(req, row, True))
