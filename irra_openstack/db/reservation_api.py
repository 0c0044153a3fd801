"""Reservations, as irra-api lists, shows and releases them."""

from oslo_utils import timeutils
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import constants
from irra_openstack.db import models
from irra_openstack.db import paging_api
from irra_openstack import exception

FIELDS = ('uuid', 'consumer_uuid', 'region', 'project_id', 'resources',
          'provider_uuids', 'expires_at', 'state', 'created_at',
          'updated_at')


class ReservationNotFound(exception.IrraError):
    msg_fmt = "Reservation %(uuid)s was not found."


class ReservationEnded(exception.IrraError):
    msg_fmt = ("Reservation %(uuid)s is %(state)s already; only a PENDING "
               "or ACTIVE reservation can be released.")


def reservation_list(project_id=None, region=None, state=None, marker=None,
                     limit=None, context=None):
    """A page of reservations; ``project_id`` None means every project's."""
    table = models.Reservation
    query = sa.select(table)
    for column, value in ((table.project_id, project_id),
                          (table.region, region), (table.state, state)):
        if value is not None:
            query = query.where(column == value)
    with api.read_session(context) as session:
        query = paging_api.page_query(session, table, query, marker, limit)
        return [paging_api.as_dict(row, FIELDS)
                for row in session.scalars(query)]


def _row(session, uuid):
    row = session.execute(sa.select(models.Reservation).where(
        models.Reservation.uuid == uuid)).scalars().first()
    if row is None:
        raise ReservationNotFound(uuid=uuid)
    return row


def reservation_get(uuid, context=None):
    """:raises ReservationNotFound: there is no such reservation."""
    with api.read_session(context) as session:
        return paging_api.as_dict(_row(session, uuid), FIELDS)


def reservation_release(uuid, context=None):
    """Mark a PENDING or ACTIVE reservation RELEASED, exactly once.

    :raises ReservationEnded: it has ended already (or just did).
    :returns: (before, after) as dicts.
    """
    table = models.Reservation
    with api.write_session(context) as session:
        row = _row(session, uuid)
        before = paging_api.as_dict(row, FIELDS)
        result = session.execute(
            sa.update(table)
            .where(table.id == row.id,
                   table.state.in_((constants.ReservationState.PENDING,
                                    constants.ReservationState.ACTIVE)))
            .values(state=constants.ReservationState.RELEASED,
                    updated_at=timeutils.utcnow())
            .execution_options(synchronize_session=False))
        session.refresh(row)
        if result.rowcount != 1:
            raise ReservationEnded(uuid=uuid, state=row.state)
        return before, paging_api.as_dict(row, FIELDS)
