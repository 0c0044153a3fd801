"""Schemas of /v1/forecasts."""

from irra_openstack.api.schemas import common

LIST_QUERY = common.list_query(
    marker_schema={'type': 'string', 'pattern': '^[1-9][0-9]{0,17}$',
                   'description': 'The id of the last forecast of the '
                                  'previous page.'},
    resource_kind=common.resource_kind,
    resource_id=common.name,
    metric=common.name,
    model_name=common.name,
    run=common.uuid)
