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


#: The filters of :func:`forecast_list`: (argument, table, column).
_FORECAST_FILTERS = (('resource_kind', 'forecasts', 'resource_kind'),
                     ('resource_id', 'forecasts', 'resource_id'),
                     ('metric', 'forecasts', 'metric'),
                     ('model_name', 'forecast_runs', 'model_name'),
                     ('run_uuid', 'forecast_runs', 'uuid'))

#: The list statements, built once per set of filters (see
#: :func:`_forecast_list_statement`).
_LIST_STATEMENTS = {}


def _forecast_list_statement(filters, with_marker, with_limit,
                             with_run_metadata):
    """The SELECT of a forecast page, with bound parameters.

    The same statement object is executed for every request that uses the
    same filters: SQLAlchemy then finds its compiled form in the cache and
    needs no per-request mapping of the result's columns.
    """
    key = (filters, with_marker, with_limit, with_run_metadata)
    statement = _LIST_STATEMENTS.get(key)
    if statement is not None:
        return statement
    table = models.Forecast
    run = models.ForecastRun
    columns = _forecast_columns(False)
    if not with_run_metadata:
        columns = [c for c in columns
                   if c.key not in ('parameters', 'data_set', 'mae',
                                    'interval_coverage', 'accuracy',
                                    'model_version')]
    statement = sa.select(*columns).join(run, table.run_id == run.id)
    tables = {'forecasts': table, 'forecast_runs': run}
    for name, table_name, column in _FORECAST_FILTERS:
        if name in filters:
            statement = statement.where(
                getattr(tables[table_name], column) == sa.bindparam(name))
    if with_marker:
        statement = statement.where(table.id > sa.bindparam('marker'))
    statement = statement.order_by(table.id)
    if with_limit:
        statement = statement.limit(sa.bindparam('limit'))
    _LIST_STATEMENTS[key] = statement
    return statement


def forecast_list(resource_kind=None, resource_id=None, metric=None,
                  model_name=None, run_uuid=None, marker=None, limit=None,
                  context=None, with_run_metadata=True):
    """A page of forecasts, without their values, in id order.

    The marker is a forecast id. ``with_run_metadata=False`` leaves out
    the run's model version, parameters, data set and accuracy, for
    callers that do not show them.
    """
    values = {'resource_kind': resource_kind, 'resource_id': resource_id,
              'metric': metric, 'model_name': model_name,
              'run_uuid': run_uuid}
    params = {name: value for name, value in values.items()
              if value is not None}
    statement = _forecast_list_statement(
        frozenset(params), marker is not None, limit is not None,
        bool(with_run_metadata))
    if marker is not None:
        params['marker'] = int(marker)
    if limit is not None:
        params['limit'] = int(limit)
    # A Core connection, not an ORM session: this is the API's busiest
    # read, and it maps no objects.
    with api.context_manager.reader.connection.using(
            context or api.DBContext()) as connection:
        result = connection.execute(statement, params)
        keys = tuple(result.keys())
        return [dict(zip(keys, row)) for row in result]


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
