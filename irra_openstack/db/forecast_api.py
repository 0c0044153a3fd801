"""Database functions of continuous learning: model versions and accuracy.

Every function takes an optional enginefacade ``context`` (a request
context, or None for :class:`irra_openstack.db.api.DBContext`) and returns
plain dicts, detached from any session.
"""

import datetime

import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import models

_VERSION_FIELDS = ('uuid', 'model_name', 'data_set', 'version',
                   'parameters', 'training_start', 'training_end',
                   'content_hash', 'path', 'library_versions', 'created_at')
_ACCURACY_FIELDS = ('id', 'model_name', 'model_version', 'data_set',
                    'metric', 'level', 'window_start', 'window_end',
                    'n_points', 'abs_error_sum', 'naive_abs_error_sum',
                    'n_inside', 'width_sum', 'created_at')


def _as_dict(row, fields):
    return {name: getattr(row, name) for name in fields}


def model_version_create(values, context=None):
    """Record a saved model version.

    :param values: the columns of :class:`.models.ForecastModelVersion`.
    :raises oslo_db.exception.DBDuplicateEntry: that model, data set and
        version are already recorded.
    :returns: the row as a dict.
    """
    with api.write_session(context) as session:
        row = models.ForecastModelVersion(**values)
        session.add(row)
        session.flush()
        return _as_dict(row, _VERSION_FIELDS)


def model_version_get(model_name, data_set, version=None, context=None):
    """A model version as a dict (the newest when ``version`` is None).

    :returns: the dict, or None when there is no such version.
    """
    table = models.ForecastModelVersion
    query = sa.select(table).where(table.model_name == model_name,
                                   table.data_set == data_set)
    if version is not None:
        query = query.where(table.version == int(version))
    query = query.order_by(table.version.desc()).limit(1)
    with api.read_session(context) as session:
        row = session.scalars(query).first()
        return None if row is None else _as_dict(row, _VERSION_FIELDS)


def model_version_list(model_name=None, data_set=None, context=None):
    """Recorded model versions, oldest first, optionally filtered."""
    table = models.ForecastModelVersion
    query = sa.select(table)
    if model_name is not None:
        query = query.where(table.model_name == model_name)
    if data_set is not None:
        query = query.where(table.data_set == data_set)
    query = query.order_by(table.model_name, table.data_set, table.version)
    with api.read_session(context) as session:
        return [_as_dict(row, _VERSION_FIELDS)
                for row in session.scalars(query)]


def model_version_delete(model_name, data_set, version, context=None):
    """Forget one model version; returns whether it was recorded."""
    table = models.ForecastModelVersion
    with api.write_session(context) as session:
        result = session.execute(sa.delete(table).where(
            table.model_name == model_name, table.data_set == data_set,
            table.version == int(version)))
        return result.rowcount > 0


def accuracy_add(values, context=None):
    """Record one evaluation of forecasts against their actuals.

    :param values: the columns of :class:`.models.ForecastAccuracy`.
    :returns: the row as a dict.
    """
    with api.write_session(context) as session:
        row = models.ForecastAccuracy(**values)
        session.add(row)
        session.flush()
        return _as_dict(row, _ACCURACY_FIELDS)


def _accuracy_filter(query, model_name, data_set, since, metric,
                     model_version):
    table = models.ForecastAccuracy
    query = query.where(table.model_name == model_name,
                        table.data_set == data_set)
    if since is not None:
        query = query.where(table.window_end >= since)
    if metric is not None:
        query = query.where(table.metric == metric)
    if model_version is not None:
        query = query.where(table.model_version == model_version)
    return query


def accuracy_rolling(model_name, data_set, since=None, metric=None,
                     model_version=None, context=None):
    """Rolling accuracy of a model on a data set since a time.

    Ratios of sums over the evaluations whose window ends at or after
    ``since`` (all of them when None):

    * ``mae``: ``sum(abs_error_sum) / sum(n_points)``;
    * ``rel_mae``: the same sum over the naive forecast's, over the
      evaluations that have a naive figure (None when there is none or
      the naive error is 0);
    * ``coverage``: ``sum(n_inside) / sum(n_points)``;
    * ``mean_width``: ``sum(width_sum) / sum(n_points)``.

    :returns: a dict with those and ``n_points`` and ``n_evaluations``;
        the ratios are None when ``n_points`` is 0.
    """
    table = models.ForecastAccuracy
    has_naive = table.naive_abs_error_sum.isnot(None)
    zero = sa.literal(0.0, sa.Double())
    query = sa.select(
        sa.func.count(table.id),
        sa.func.coalesce(sa.func.sum(table.n_points), 0),
        sa.func.sum(table.abs_error_sum),
        sa.func.sum(table.n_inside),
        sa.func.sum(table.width_sum),
        sa.func.sum(sa.case((has_naive, table.abs_error_sum),
                            else_=zero)),
        sa.func.sum(sa.case((has_naive, table.naive_abs_error_sum),
                            else_=zero)))
    query = _accuracy_filter(query, model_name, data_set, since, metric,
                             model_version)
    with api.read_session(context) as session:
        count, n_points, abs_sum, inside, width, abs_n, naive = \
            session.execute(query).one()
    n_points = int(n_points or 0)
    result = {'n_evaluations': int(count or 0), 'n_points': n_points,
              'mae': None, 'rel_mae': None, 'coverage': None,
              'mean_width': None}
    if n_points:
        result['mae'] = float(abs_sum) / n_points
        result['coverage'] = float(inside) / n_points
        result['mean_width'] = float(width) / n_points
        if naive is not None and float(naive) > 0:
            result['rel_mae'] = float(abs_n) / float(naive)
    return result


def accuracy_list(model_name, data_set, since=None, metric=None,
                  limit=None, context=None):
    """Evaluations of a model on a data set, newest first."""
    table = models.ForecastAccuracy
    query = _accuracy_filter(sa.select(table), model_name, data_set, since,
                             metric, None)
    query = query.order_by(table.window_end.desc(), table.id.desc())
    if limit is not None:
        query = query.limit(int(limit))
    with api.read_session(context) as session:
        return [_as_dict(row, _ACCURACY_FIELDS)
                for row in session.scalars(query)]


def accuracy_purge(before, context=None):
    """Delete evaluations whose window ended before ``before``.

    :returns: how many were deleted.
    """
    if not isinstance(before, datetime.datetime):
        raise TypeError('before must be a datetime')
    table = models.ForecastAccuracy
    with api.write_session(context) as session:
        return session.execute(sa.delete(table).where(
            table.window_end < before)).rowcount
