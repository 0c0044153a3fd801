"""What irra-api reads but never writes: forecasts, anomalies, headroom.

The engine writes these tables (see :mod:`.forecast_api`,
:mod:`.anomaly_api` and :mod:`.headroom_api`); the functions here read them
in pages, for the API, and return plain dicts.
"""

import json
import zlib

import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import models
from irra_openstack.db import paging_api
from irra_openstack import exception

_RUN_FIELDS = ('model_name', 'model_version', 'parameters', 'data_set',
               'horizon', 'level', 'mae', 'interval_coverage', 'accuracy')
ANOMALY_FIELDS = ('uuid', 'resource_id', 'resource_kind', 'kind', 'metric',
                  'detector', 'severity', 'started_at', 'ended_at',
                  'project_id', 'created_at', 'updated_at')


class ForecastNotFound(exception.IrraError):
    msg_fmt = "Forecast %(id)s was not found."


class AnomalyNotFound(exception.IrraError):
    msg_fmt = "Anomaly %(uuid)s was not found."


class HeadroomNotFound(exception.IrraError):
    msg_fmt = "No headroom snapshot has been published yet."


class HeadroomUnreadable(exception.IrraError):
    msg_fmt = "The headroom snapshot %(generation)s cannot be read."


def _forecast_columns(with_values):
    table = models.Forecast
    run = models.ForecastRun
    columns = [table.id, table.resource_kind, table.resource_id,
               table.metric, table.start, table.step,
               run.uuid.label('run_uuid'),
               run.created_at.label('run_created_at')]
    columns += [getattr(run, name) for name in _RUN_FIELDS]
    if with_values:
        columns += [table.point, table.lower, table.upper]
    return columns


def forecast_list(resource_kind=None, resource_id=None, metric=None,
                  model_name=None, run_uuid=None, marker=None, limit=None,
                  context=None):
    """A page of forecasts, without their values, in id order.

    The marker is a forecast id.
    """
    table = models.Forecast
    query = sa.select(*_forecast_columns(False)).join(
        models.ForecastRun, table.run_id == models.ForecastRun.id)
    for column, value in ((table.resource_kind, resource_kind),
                          (table.resource_id, resource_id),
                          (table.metric, metric),
                          (models.ForecastRun.model_name, model_name),
                          (models.ForecastRun.uuid, run_uuid)):
        if value is not None:
            query = query.where(column == value)
    if marker is not None:
        query = query.where(table.id > int(marker))
    query = query.order_by(table.id)
    if limit is not None:
        query = query.limit(int(limit))
    # A Core connection, not an ORM session: this is the API's busiest
    # read, and it maps no objects.
    with api.context_manager.reader.connection.using(
            context or api.DBContext()) as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def forecast_get(forecast_id, context=None):
    """One forecast with its point, lower and upper values.

    :raises ForecastNotFound: there is none.
    """
    table = models.Forecast
    query = sa.select(*_forecast_columns(True)).join(
        models.ForecastRun, table.run_id == models.ForecastRun.id).where(
        table.id == int(forecast_id))
    with api.read_session(context) as session:
        row = session.execute(query).first()
    if row is None:
        raise ForecastNotFound(id=forecast_id)
    return dict(row._mapping)


def anomaly_list(project_id=None, resource_kind=None, resource_id=None,
                 detector=None, metric=None, min_severity=None, marker=None,
                 limit=None, context=None):
    """A page of anomalies; ``project_id`` None means every project's."""
    table = models.Anomaly
    query = sa.select(table)
    for column, value in ((table.project_id, project_id),
                          (table.resource_kind, resource_kind),
                          (table.resource_id, resource_id),
                          (table.detector, detector),
                          (table.metric, metric)):
        if value is not None:
            query = query.where(column == value)
    if min_severity is not None:
        query = query.where(table.severity >= float(min_severity))
    with api.read_session(context) as session:
        query = paging_api.page_query(session, table, query, marker, limit)
        return [paging_api.as_dict(row, ANOMALY_FIELDS)
                for row in session.scalars(query)]


def anomaly_get(uuid, context=None):
    """One anomaly with its root-cause document.

    :raises AnomalyNotFound: there is none.
    """
    with api.read_session(context) as session:
        row = session.execute(sa.select(models.Anomaly).where(
            models.Anomaly.uuid == uuid)).scalars().first()
        if row is None:
            raise AnomalyNotFound(uuid=uuid)
        anomaly = paging_api.as_dict(row, ANOMALY_FIELDS)
        anomaly['root_cause'] = row.root_cause
        return anomaly


def headroom_generation(context=None):
    """The newest snapshot's generation, or None: a cheap ETag check."""
    table = models.HeadroomSnapshot
    with api.read_session(context) as session:
        return session.execute(sa.select(sa.func.max(table.generation))
                               ).scalar()


def headroom_latest(context=None):
    """The newest headroom snapshot, its document decoded.

    :raises HeadroomNotFound: none was published.
    :raises HeadroomUnreadable: its data is not zlib-compressed JSON.
    """
    table = models.HeadroomSnapshot.__table__
    with api.read_session(context) as session:
        row = session.execute(sa.select(table).order_by(
            table.c.generation.desc()).limit(1)).first()
    if row is None:
        raise HeadroomNotFound()
    try:
        document = json.loads(zlib.decompress(row.data).decode('utf-8'))
    except (zlib.error, UnicodeDecodeError, ValueError):
        raise HeadroomUnreadable(generation=row.generation)
    return {'generation': row.generation, 'created_at': row.created_at,
            'horizon': row.horizon, 'host_count': row.host_count,
            'format': row.format, 'snapshot': document}
