"""/v1/reservations: list, show, and release (DELETE)."""

from irra_openstack.api.schemas import common
from irra_openstack.api.schemas import reservation as schema
from irra_openstack.api import util
from irra_openstack.db import reservation_api


def _view(row):
    return {
        'id': row['uuid'],
        'consumer_uuid': row['consumer_uuid'],
        'region': row['region'],
        'project_id': row['project_id'],
        'resources': row['resources'],
        'provider_uuids': row['provider_uuids'],
        'expires_at': util.isotime(row['expires_at']),
        'state': row['state'],
        'created_at': util.isotime(row['created_at']),
        'updated_at': util.isotime(row['updated_at']),
    }


def list_reservations(req):
    util.authorize(req, 'irra:reservation:list')
    params = util.query(req, schema.LIST_QUERY)
    limit = util.limit_of(req, params)
    rows = reservation_api.reservation_list(
        project_id=util.project_filter(req), region=params.get('region'),
        state=params.get('state'), marker=params.get('marker'), limit=limit)
    items = [_view(r) for r in rows]
    return util.json_response(
        util.page(req, 'reservations', items, limit, lambda r: r['id']))


def _get(req, rule):
    row = reservation_api.reservation_get(req.urlvars['reservation_id'])
    util.authorize(req, rule, {'project_id': row['project_id']})
    return row


def show_reservation(req):
    util.query(req, common.NO_QUERY)
    return util.json_response(_view(_get(req, 'irra:reservation:show')))


def delete_reservation(req):
    """Release a reservation: it becomes RELEASED, exactly once.

    irra-rrm gives the capacity back to Placement when it sees the
    ``irra.reservation.release`` notification or the state.
    """
    util.query(req, common.NO_QUERY)
    row = _get(req, 'irra:reservation:delete')
    before, after = reservation_api.reservation_release(row['uuid'])
    util.app_state(req).notifier.reservation_release(util.context(req),
                                                     before, after)
    return util.no_content()
