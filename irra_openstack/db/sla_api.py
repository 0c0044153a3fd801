"""SLAs and cost models: create, list, show, update, delete."""

from oslo_db import exception as db_exception
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import models
from irra_openstack.db import paging_api
from irra_openstack import exception

SLA_FIELDS = ('uuid', 'name', 'project_id', 'tier', 'confidence_level',
              'headroom', 'penalty', 'created_at', 'updated_at')
COST_MODEL_FIELDS = ('uuid', 'name', 'plugin', 'parameters', 'created_at',
                     'updated_at')


class NotFound(exception.IrraError):
    msg_fmt = "%(what)s %(uuid)s was not found."


class DuplicateName(exception.IrraError):
    msg_fmt = "There is already %(what)s named %(name)s."


_KINDS = {
    'sla': (models.SLA, SLA_FIELDS, 'SLA'),
    'cost_model': (models.CostModel, COST_MODEL_FIELDS, 'cost model'),
}
_ARTICLES = {'SLA': 'an SLA', 'cost model': 'a cost model'}


def _row(session, kind, uuid):
    model, _fields, what = _KINDS[kind]
    row = session.execute(sa.select(model).where(
        model.uuid == uuid)).scalars().first()
    if row is None:
        raise NotFound(what=what[0].upper() + what[1:], uuid=uuid)
    return row


def create(kind, values, context=None):
    """Create an SLA (kind 'sla') or a cost model ('cost_model').

    :raises DuplicateName: the name is taken.
    """
    model, fields, what = _KINDS[kind]
    try:
        with api.write_session(context) as session:
            row = model(**values)
            session.add(row)
            session.flush()
            return paging_api.as_dict(row, fields)
    except db_exception.DBDuplicateEntry:
        raise DuplicateName(what=_ARTICLES[what],
                            name=values.get('name'))


def get(kind, uuid, context=None):
    """:raises NotFound: there is none."""
    _model, fields, _what = _KINDS[kind]
    with api.read_session(context) as session:
        return paging_api.as_dict(_row(session, kind, uuid), fields)


def list_(kind, project_id=None, marker=None, limit=None, context=None,
          **filters):
    """A page; ``project_id`` None means every project's (SLAs only)."""
    model, fields, _what = _KINDS[kind]
    query = sa.select(model)
    if project_id is not None:
        query = query.where(model.project_id == project_id)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    with api.read_session(context) as session:
        query = paging_api.page_query(session, model, query, marker, limit)
        return [paging_api.as_dict(row, fields)
                for row in session.scalars(query)]


def update(kind, uuid, values, context=None):
    """Change some columns; returns (before, after).

    :raises NotFound, DuplicateName: as the names say.
    """
    _model, fields, what = _KINDS[kind]
    try:
        with api.write_session(context) as session:
            row = _row(session, kind, uuid)
            before = paging_api.as_dict(row, fields)
            for name, value in values.items():
                setattr(row, name, value)
            session.flush()
            return before, paging_api.as_dict(row, fields)
    except db_exception.DBDuplicateEntry:
        raise DuplicateName(what=_ARTICLES[what],
                            name=values.get('name'))


def delete(kind, uuid, context=None):
    """:raises NotFound: there is none."""
    with api.write_session(context) as session:
        session.delete(_row(session, kind, uuid))
