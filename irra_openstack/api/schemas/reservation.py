"""Schemas of /v1/reservations."""

from irra_openstack.api.schemas import common
from irra_openstack.db import constants

LIST_QUERY = common.list_query(
    region=common.name,
    state={'type': 'string', 'enum': list(constants.ReservationState.ALL)})
