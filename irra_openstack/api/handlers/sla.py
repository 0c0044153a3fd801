"""/v1/slas and /v1/cost-models: create, list, show, update, delete."""

from irra_openstack.api.schemas import common
from irra_openstack.api.schemas import sla as schema
from irra_openstack.api import util
from irra_openstack.db import sla_api


def _view(row):
    view = dict(row)
    view['id'] = view.pop('uuid')
    view['created_at'] = util.isotime(row['created_at'])
    view['updated_at'] = util.isotime(row['updated_at'])
    return view


def _location(req, path, view):
    href = '%s/v1/%s/%s' % (req.application_url, path, view['id'])
    return {'Location': href}


# SLAs: owned by the project of the token that created them.

def list_slas(req):
    util.authorize(req, 'irra:sla:list')
    params = util.query(req, schema.SLA_LIST_QUERY)
    limit = util.limit_of(req, params)
    rows = sla_api.list_('sla', project_id=util.project_filter(req),
                         marker=params.get('marker'), limit=limit,
                         tier=params.get('tier'))
    items = [_view(r) for r in rows]
    return util.json_response(
        util.page(req, 'slas', items, limit, lambda s: s['id']))


def create_sla(req):
    util.authorize(req, 'irra:sla:create')
    util.query(req, common.NO_QUERY)
    body = util.json_body(req, schema.SLA_CREATE)
    body['project_id'] = util.context(req).project_id
    view = _view(sla_api.create('sla', body))
    return util.json_response(view, status=201,
                              headers=_location(req, 'slas', view))


def _get_sla(req, rule):
    row = sla_api.get('sla', req.urlvars['sla_id'])
    util.authorize(req, rule, {'project_id': row['project_id']})
    return row


def show_sla(req):
    util.query(req, common.NO_QUERY)
    return util.json_response(_view(_get_sla(req, 'irra:sla:show')))


def update_sla(req):
    util.query(req, common.NO_QUERY)
    row = _get_sla(req, 'irra:sla:update')
    body = util.json_body(req, schema.SLA_UPDATE)
    _before, after = sla_api.update('sla', row['uuid'], body)
    return util.json_response(_view(after))


def delete_sla(req):
    util.query(req, common.NO_QUERY)
    row = _get_sla(req, 'irra:sla:delete')
    sla_api.delete('sla', row['uuid'])
    return util.no_content()


# Cost models: shared by every project; administrators change them.

def list_cost_models(req):
    util.authorize(req, 'irra:cost_model:list')
    params = util.query(req, schema.COST_MODEL_LIST_QUERY)
    limit = util.limit_of(req, params)
    rows = sla_api.list_('cost_model', marker=params.get('marker'),
                         limit=limit, plugin=params.get('plugin'))
    items = [_view(r) for r in rows]
    return util.json_response(
        util.page(req, 'cost_models', items, limit, lambda c: c['id']))


def create_cost_model(req):
    util.authorize(req, 'irra:cost_model:create')
    util.query(req, common.NO_QUERY)
    body = util.json_body(req, schema.COST_MODEL_CREATE)
    view = _view(sla_api.create('cost_model', body))
    return util.json_response(view, status=201,
                              headers=_location(req, 'cost-models', view))


def show_cost_model(req):
    util.authorize(req, 'irra:cost_model:show')
    util.query(req, common.NO_QUERY)
    return util.json_response(_view(sla_api.get(
        'cost_model', req.urlvars['cost_model_id'])))


def update_cost_model(req):
    util.authorize(req, 'irra:cost_model:update')
    util.query(req, common.NO_QUERY)
    body = util.json_body(req, schema.COST_MODEL_UPDATE)
    _before, after = sla_api.update('cost_model',
                                    req.urlvars['cost_model_id'], body)
    return util.json_response(_view(after))


def delete_cost_model(req):
    util.authorize(req, 'irra:cost_model:delete')
    util.query(req, common.NO_QUERY)
    sla_api.delete('cost_model', req.urlvars['cost_model_id'])
    return util.no_content()
