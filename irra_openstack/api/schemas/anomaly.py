"""Schemas of /v1/anomalies."""

from irra_openstack.api.schemas import common

LIST_QUERY = common.list_query(
    resource_kind=common.resource_kind,
    resource_id=common.name,
    detector=common.name,
    metric=common.name,
    min_severity=common.number)
