"""Reservations: as irra-api lists, shows and releases them.

Also as the reservation manager of irra-rrm creates them and changes their
state.
"""

import contextlib

from oslo_db import exception as db_exception
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


# The functions below are the reservation manager's (irra-rrm): they create
# reservations and move them through their states. Every change of state is
# a compare-and-set on the row, so that a reservation ends exactly once even
# when two processes race.

class ReservationExists(exception.IrraError):
    msg_fmt = ("A reservation with consumer %(consumer_uuid)s exists "
               "already.")


_LIVE = (constants.ReservationState.PENDING,
         constants.ReservationState.ACTIVE)


def reservation_create(values, context=None):
    """Insert a reservation (normally PENDING) and return it as a dict.

    :raises ReservationExists: a reservation with the same consumer UUID
        (or UUID) exists; the caller reads it and carries on from its
        state, which is what makes a repeated request idempotent.
    """
    try:
        with api.write_session(context) as session:
            row = models.Reservation(**values)
            session.add(row)
            session.flush()
            return paging_api.as_dict(row, FIELDS)
    except db_exception.DBDuplicateEntry:
        raise ReservationExists(consumer_uuid=values.get('consumer_uuid'))


def reservation_get_by_consumer(consumer_uuid, context=None):
    """The reservation held by Placement consumer ``consumer_uuid``.

    :raises ReservationNotFound: there is none.
    """
    table = models.Reservation
    with api.read_session(context) as session:
        row = session.scalars(sa.select(table).where(
            table.consumer_uuid == consumer_uuid)).first()
        if row is None:
            raise ReservationNotFound(uuid='of consumer %s' % consumer_uuid)
        return paging_api.as_dict(row, FIELDS)


def reservation_list_by_consumers(consumer_uuids, context=None):
    """The reservations that irra knows among ``consumer_uuids``.

    :returns: {consumer UUID: reservation dict}, whatever their state.
    """
    consumer_uuids = list(consumer_uuids)
    if not consumer_uuids:
        return {}
    table = models.Reservation
    found = {}
    with api.read_session(context) as session:
        # In chunks: some databases limit the size of an IN list.
        for start in range(0, len(consumer_uuids), 500):
            chunk = consumer_uuids[start:start + 500]
            for row in session.scalars(sa.select(table).where(
                    table.consumer_uuid.in_(chunk))):
                found[row.consumer_uuid] = paging_api.as_dict(row, FIELDS)
    return found


def reservation_list_live(region, expired_before=None, context=None):
    """The PENDING and ACTIVE reservations of ``region``.

    With ``expired_before`` (a naive UTC datetime), only those whose
    expiry is at or before it.
    """
    table = models.Reservation
    query = sa.select(table).where(table.region == region,
                                   table.state.in_(_LIVE))
    if expired_before is not None:
        query = query.where(table.expires_at <= expired_before)
    with api.read_session(context) as session:
        return [paging_api.as_dict(row, FIELDS)
                for row in session.scalars(query.order_by(table.id))]


def reservation_transition(uuid, from_states, to_state, context=None):
    """Compare-and-set the state of reservation ``uuid``.

    :returns: True if the row was in one of ``from_states`` and is now
        ``to_state``; False if another process changed it first.
    :raises ReservationNotFound: there is no such reservation.
    """
    with transition_guard(uuid, from_states, to_state, context,
                          strict=False) as (changed, _row):
        return changed


@contextlib.contextmanager
def transition_guard(uuid, from_states, to_state, context=None,
                     strict=True):
    """Change the state inside a transaction that the caller's block joins.

    The compare-and-set runs first and its row stays locked (on PostgreSQL
    and MySQL) until the block ends: a concurrent transition of the same
    reservation waits, then finds the new state and fails. If the block
    raises, the transaction rolls back and the state is what it was. This
    is how a change in Placement and the change of state in irra's
    database happen exactly once together.

    Yields ``(changed, reservation dict as it was before)``.

    :raises ReservationEnded: with ``strict``, when the reservation is not
        in one of ``from_states``.
    """
    table = models.Reservation
    with api.write_session(context) as session:
        row = _row(session, uuid)
        before = paging_api.as_dict(row, FIELDS)
        result = session.execute(
            sa.update(table)
            .where(table.id == row.id, table.state.in_(tuple(from_states)))
            .values(state=to_state, updated_at=timeutils.utcnow())
            .execution_options(synchronize_session=False))
        changed = result.rowcount == 1
        if not changed:
            session.refresh(row)
            if strict:
                raise ReservationEnded(uuid=uuid, state=row.state)
            before = paging_api.as_dict(row, FIELDS)
        yield changed, before
