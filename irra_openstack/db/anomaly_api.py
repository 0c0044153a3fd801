"""Storing and listing anomaly records (the ``anomalies`` table).

The records are :class:`irra_openstack.anomaly.base.Anomaly`. Times are
POSIX seconds in the records and naive UTC in the database. The columns
hold what the table has (resource, detector, kind, main metric, severity,
``started_at``, ``ended_at`` - the exclusive end, the time just after the
last anomalous step - and project); the ``root_cause`` JSON column holds::

    {"report": <root-cause report or null>,
     "metrics": [...], "observed": {...}, "expected": {...},
     "steps": 6, "ongoing": false, "details": {...}}

Detection runs every cycle over a window that overlaps the previous one, so
the same anomaly is seen again. :func:`store_anomalies` therefore merges a
new record into a stored one of the same resource, detector, kind and main
metric whose time span overlaps or touches it: the span becomes the union,
the severity the larger, and the report and details the newer.
"""

import calendar
import datetime

from oslo_log import log as logging
import sqlalchemy as sa

from irra_openstack.anomaly import base as anomaly_base
from irra_openstack.db import api
from irra_openstack.db import models
from irra_openstack import exception

LOG = logging.getLogger(__name__)


class AnomalyNotFound(exception.IrraError):
    msg_fmt = "Anomaly %(uuid)s was not found."


def to_datetime(seconds):
    """POSIX seconds as a naive UTC datetime."""
    return datetime.datetime.fromtimestamp(
        int(seconds), datetime.timezone.utc).replace(tzinfo=None)


def to_seconds(moment):
    """A naive UTC datetime (or POSIX seconds) as POSIX seconds."""
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc)
        return calendar.timegm(moment.utctimetuple())
    return int(moment)


def _document(anomaly):
    return {
        'report': anomaly.root_cause,
        'metrics': list(anomaly.metrics),
        'observed': dict(anomaly.observed),
        'expected': dict(anomaly.expected),
        'steps': anomaly.steps,
        'ongoing': anomaly.ongoing,
        'details': dict(anomaly.details),
    }


def _record(row):
    """The Anomaly of a database row."""
    doc = row.root_cause or {}
    return anomaly_base.Anomaly(
        resource_id=row.resource_id, resource_kind=row.resource_kind,
        detector=row.detector, kind=row.kind,
        metrics=tuple(doc.get('metrics') or
                      ([row.metric] if row.metric else [])),
        severity=row.severity, start=to_seconds(row.started_at),
        end=to_seconds(row.ended_at if row.ended_at is not None
                       else row.started_at),
        observed=doc.get('observed'), expected=doc.get('expected'),
        steps=doc.get('steps', 1), ongoing=doc.get('ongoing', False),
        root_cause=doc.get('report'), details=doc.get('details'),
        project_id=row.project_id, uuid=row.uuid)


def store_anomalies(anomalies, context=None, merge=True):
    """Store anomaly records, merging them into overlapping stored ones.

    :param anomalies: :class:`~irra_openstack.anomaly.base.Anomaly`
        records.
    :param merge: when False, always insert new rows.
    :returns: the stored records (with their ``uuid``), in the order given;
        a merged record is returned as it is now stored.
    """
    stored = []
    inserted = merged = 0
    with api.write_session(context) as session:
        for anomaly in anomalies:
            started = to_datetime(anomaly.start)
            ended = to_datetime(anomaly.end)
            row = None
            if merge:
                row = session.execute(
                    sa.select(models.Anomaly).where(
                        models.Anomaly.resource_kind ==
                        anomaly.resource_kind,
                        models.Anomaly.resource_id == anomaly.resource_id,
                        models.Anomaly.detector == anomaly.detector,
                        models.Anomaly.kind == anomaly.kind,
                        (models.Anomaly.metric.is_(None)
                         if anomaly.metric is None else
                         models.Anomaly.metric == anomaly.metric),
                        models.Anomaly.started_at <= ended,
                        models.Anomaly.ended_at >= started,
                    ).order_by(models.Anomaly.ended_at.desc()).limit(1)
                ).scalars().first()
            if row is None:
                row = models.Anomaly(
                    resource_id=anomaly.resource_id,
                    resource_kind=anomaly.resource_kind,
                    kind=anomaly.kind, metric=anomaly.metric,
                    detector=anomaly.detector, severity=anomaly.severity,
                    started_at=started, ended_at=ended,
                    root_cause=_document(anomaly),
                    project_id=anomaly.project_id)
                session.add(row)
                inserted += 1
            else:
                row.started_at = min(row.started_at, started)
                row.ended_at = max(row.ended_at, ended)
                row.severity = max(row.severity, anomaly.severity)
                doc = _document(anomaly)
                old = row.root_cause or {}
                doc['steps'] = max(int(old.get('steps', 0)), anomaly.steps)
                row.root_cause = doc
                if anomaly.project_id:
                    row.project_id = anomaly.project_id
                merged += 1
            session.flush()
            stored.append(_record(row))
    if inserted or merged:
        LOG.debug('Stored %d new anomalies, merged %d', inserted, merged)
    return stored


def list_anomalies(context=None, resource_kind=None, resource_id=None,
                   detector=None, metric=None, since=None, until=None,
                   min_severity=None, project_id=None, limit=None):
    """Stored anomalies, most recent start first.

    :param since: only anomalies still going on at or after this time
        (POSIX seconds or datetime): ``ended_at > since``.
    :param until: only anomalies started before this time.
    :param min_severity: only anomalies at least this severe.
    :param limit: at most this many.
    """
    query = sa.select(models.Anomaly)
    for column, value in ((models.Anomaly.resource_kind, resource_kind),
                          (models.Anomaly.resource_id, resource_id),
                          (models.Anomaly.detector, detector),
                          (models.Anomaly.metric, metric),
                          (models.Anomaly.project_id, project_id)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(models.Anomaly.ended_at >
                            to_datetime(to_seconds(since)))
    if until is not None:
        query = query.where(models.Anomaly.started_at <
                            to_datetime(to_seconds(until)))
    if min_severity is not None:
        query = query.where(models.Anomaly.severity >= float(min_severity))
    query = query.order_by(models.Anomaly.started_at.desc(),
                           models.Anomaly.id.desc())
    if limit is not None:
        query = query.limit(int(limit))
    with api.read_session(context) as session:
        return [_record(row) for row in session.execute(query).scalars()]


def get_anomaly(uuid, context=None):
    """The stored anomaly ``uuid``.

    :raises AnomalyNotFound: there is none.
    """
    with api.read_session(context) as session:
        row = session.execute(sa.select(models.Anomaly).where(
            models.Anomaly.uuid == uuid)).scalars().first()
        if row is None:
            raise AnomalyNotFound(uuid=uuid)
        return _record(row)


def purge_anomalies(before, context=None):
    """Delete the anomalies that ended before ``before``; returns how many."""
    with api.write_session(context) as session:
        result = session.execute(sa.delete(models.Anomaly).where(
            models.Anomaly.ended_at < to_datetime(to_seconds(before))))
        count = result.rowcount
    LOG.info('Purged %d anomalies that ended before %s', count,
             to_datetime(to_seconds(before)))
    return count
