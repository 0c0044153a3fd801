"""GET /v1/anomalies and /v1/anomalies/{anomaly_id}."""

from irra_openstack.api.schemas import anomaly as schema
from irra_openstack.api.schemas import common
from irra_openstack.api import util
from irra_openstack.db import readonly_api


def _view(row, with_report):
    anomaly = {
        'id': row['uuid'],
        'resource_kind': row['resource_kind'],
        'resource_id': row['resource_id'],
        'kind': row['kind'],
        'metric': row['metric'],
        'detector': row['detector'],
        'severity': row['severity'],
        'started_at': util.isotime(row['started_at']),
        'ended_at': util.isotime(row['ended_at']),
        'project_id': row['project_id'],
        'created_at': util.isotime(row['created_at']),
        'updated_at': util.isotime(row['updated_at']),
    }
    if with_report:
        anomaly['root_cause'] = row.get('root_cause')
    return anomaly


def list_anomalies(req):
    util.authorize(req, 'irra:anomaly:list')
    params = util.query(req, schema.LIST_QUERY)
    limit = util.limit_of(req, params)
    rows = readonly_api.anomaly_list(
        project_id=util.project_filter(req),
        resource_kind=params.get('resource_kind'),
        resource_id=params.get('resource_id'),
        detector=params.get('detector'), metric=params.get('metric'),
        min_severity=params.get('min_severity'),
        marker=params.get('marker'), limit=limit)
    items = [_view(row, False) for row in rows]
    return util.json_response(
        util.page(req, 'anomalies', items, limit, lambda a: a['id']))


def show_anomaly(req):
    util.query(req, common.NO_QUERY)
    row = readonly_api.anomaly_get(req.urlvars['anomaly_id'])
    util.authorize(req, 'irra:anomaly:show',
                   {'project_id': row['project_id']})
    return util.json_response(_view(row, True))
