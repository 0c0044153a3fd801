"""/v1/regions: what the database knows of each region.

``capacity`` and ``headroom`` are null until irra-rrm reports region
capacity; ``reserved`` sums the PENDING and ACTIVE reservations,
``market_position`` the trades, and ``latest_forecasts`` gives the id of
the newest region forecast of each metric.
"""

from irra_openstack.api.schemas import common
from irra_openstack.api.schemas import region as schema
from irra_openstack.api import util
from irra_openstack.db import market_api


def list_regions(req):
    util.authorize(req, 'irra:region:list')
    params = util.query(req, schema.LIST_QUERY)
    limit = util.limit_of(req, params)
    regions = market_api.region_list(marker=params.get('marker'),
                                     limit=limit)
    return util.json_response(
        util.page(req, 'regions', regions, limit, lambda r: r['name']))


def show_region(req):
    util.authorize(req, 'irra:region:show')
    util.query(req, common.NO_QUERY)
    return util.json_response(market_api.region_get(req.urlvars['region']))
