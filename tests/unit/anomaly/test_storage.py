"""Anomaly records in the database (sqlite, through the migrations)."""

from oslo_db import exception as db_exception

from irra_openstack.anomaly import base
from irra_openstack.db import anomaly_api
from irra_openstack.db import api
from irra_openstack.db import models
from tests.unit.db import base as db_base

T0 = 1700000000


def _anomaly(**kwargs):
    fields = dict(resource_id='host-1', resource_kind='host',
                  detector='residual', kind='interval',
                  metrics=('cpu', 'memory'), severity=2.5, start=T0,
                  end=T0 + 1800, observed={'cpu': 90.0},
                  expected={'cpu': 60.0}, steps=6,
                  root_cause={'children': [{'id': 'vm-1', 'share': 1.0}]},
                  details={'direction': 'above'}, project_id='p1')
    fields.update(kwargs)
    return base.Anomaly(**fields)


class StorageTest(db_base.DBTestCase):

    def test_round_trip(self):
        stored = anomaly_api.store_anomalies([_anomaly()])
        self.assertIsNotNone(stored[0].uuid)
        got = anomaly_api.get_anomaly(stored[0].uuid)
        want = _anomaly().to_dict()
        have = got.to_dict()
        want.pop('uuid')
        self.assertEqual(stored[0].uuid, have.pop('uuid'))
        self.assertEqual(want, have)
        with api.read_session() as session:
            row = session.query(models.Anomaly).one()
            self.assertEqual(2.5, row.severity)
            self.assertEqual('cpu', row.metric)
            self.assertEqual(anomaly_api.to_datetime(T0), row.started_at)
            self.assertEqual(anomaly_api.to_datetime(T0 + 1800),
                             row.ended_at)

    def test_overlapping_records_merge(self):
        anomaly_api.store_anomalies([_anomaly()])
        later = _anomaly(start=T0 + 1800, end=T0 + 3600, severity=4.0,
                         ongoing=True)
        merged = anomaly_api.store_anomalies([later])[0]
        self.assertEqual((T0, T0 + 3600, 4.0, True),
                         (merged.start, merged.end, merged.severity,
                          merged.ongoing))
        self.assertEqual(1, len(anomaly_api.list_anomalies()))
        # Another metric, or not touching: a new record.
        anomaly_api.store_anomalies([
            _anomaly(metrics=('memory',)),
            _anomaly(start=T0 + 7200, end=T0 + 7500)])
        self.assertEqual(3, len(anomaly_api.list_anomalies()))
        anomaly_api.store_anomalies([_anomaly()], merge=False)
        self.assertEqual(4, len(anomaly_api.list_anomalies()))

    def test_list_filters(self):
        anomaly_api.store_anomalies([
            _anomaly(),
            _anomaly(resource_id='vm-2', resource_kind='vm', severity=0.5,
                     start=T0 + 7200, end=T0 + 7500, project_id='p2'),
            _anomaly(detector='isolation_forest', kind='multivariate',
                     start=T0 + 9000, end=T0 + 9300)])
        self.assertEqual(3, len(anomaly_api.list_anomalies()))
        ids = lambda xs: [a.resource_id for a in xs]  # noqa: E731
        self.assertEqual(['vm-2'], ids(anomaly_api.list_anomalies(
            resource_kind='vm')))
        self.assertEqual(2, len(anomaly_api.list_anomalies(
            min_severity=1.0)))
        self.assertEqual(['host-1'], ids(anomaly_api.list_anomalies(
            detector='isolation_forest')))
        self.assertEqual(2, len(anomaly_api.list_anomalies(
            since=T0 + 1800)))
        self.assertEqual(1, len(anomaly_api.list_anomalies(
            until=T0 + 1)))
        self.assertEqual(['vm-2'], ids(anomaly_api.list_anomalies(
            project_id='p2')))
        newest = anomaly_api.list_anomalies(limit=1)
        self.assertEqual(T0 + 9000, newest[0].start)
        self.assertEqual(2, anomaly_api.purge_anomalies(T0 + 8000))
        self.assertEqual(1, len(anomaly_api.list_anomalies()))

    def test_not_found(self):
        self.assertRaises(anomaly_api.AnomalyNotFound,
                          anomaly_api.get_anomaly, 'nope')

    def test_database_checks_severity(self):
        with api.write_session() as session:
            session.add(models.Anomaly(
                resource_id='x', resource_kind='vm', kind='interval',
                detector='residual', severity=1.0,
                started_at=anomaly_api.to_datetime(T0)))
        self.assertRaises(
            db_exception.DBConstraintError, self._bad_severity)

    def _bad_severity(self):
        with api.write_session() as session:
            session.add(models.Anomaly(
                resource_id='x', resource_kind='vm', kind='interval',
                detector='residual', severity=-1.0,
                started_at=anomaly_api.to_datetime(T0)))
