"""Schemas of /v1/regions."""

from irra_openstack.api.schemas import common

LIST_QUERY = common.list_query(marker_schema=dict(
    common.name, description='The name of the last region of the previous '
                             'page.'))
