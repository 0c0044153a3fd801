"""Marker and limit paging of the lists that irra-api serves.

Lists are in ascending ``id`` order, which is creation order and never
changes, so that a marker (the external id of the last item of a page) gives
the next page exactly, even while rows are added.
"""

import sqlalchemy as sa

from irra_openstack import exception


class MarkerNotFound(exception.IrraError):
    msg_fmt = "The marker %(marker)s is not an item of this list."


def marker_id(session, model, column, marker):
    """The ``id`` of the row whose ``column`` is ``marker``.

    :raises MarkerNotFound: there is no such row.
    """
    row_id = session.execute(
        sa.select(model.id).where(column == marker)).scalar()
    if row_id is None:
        raise MarkerNotFound(marker=marker)
    return row_id


def page_query(session, model, query, marker=None, limit=None,
               marker_column=None):
    """``query`` restricted to the page after ``marker``, in id order."""
    if marker is not None:
        column = marker_column if marker_column is not None else model.uuid
        query = query.where(model.id > marker_id(session, model, column,
                                                 marker))
    query = query.order_by(model.id)
    if limit is not None:
        query = query.limit(int(limit))
    return query


def as_dict(row, fields):
    """The named attributes of a row, as a plain dict."""
    return {name: getattr(row, name) for name in fields}
