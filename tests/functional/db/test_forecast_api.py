"""Model versions and rolling accuracy on sqlite, PostgreSQL and MariaDB."""

import datetime

from oslo_db import exception as db_exception

from irra_openstack.db import forecast_api
from irra_openstack.db import migration
from tests.functional.db import base

T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 250000)


class _ForecastApi:

    def setUp(self):
        super().setUp()
        migration.upgrade()

    def _version(self, version):
        return forecast_api.model_version_create({
            'model_name': 'auto', 'data_set': 'r1/cpu', 'version': version,
            'parameters': {'horizon': 12}, 'training_start': T0,
            'training_end': T0, 'content_hash': 'a' * 64,
            'path': '/x/v%06d/model.pkl' % version,
            'library_versions': {'numpy': '2.0'}})

    def test_versions(self):
        self._version(1)
        self._version(2)
        self.assertRaises(db_exception.DBDuplicateEntry, self._version, 2)
        self.assertRaises(db_exception.DBConstraintError, self._version, 0)
        latest = forecast_api.model_version_get('auto', 'r1/cpu')
        self.assertEqual(2, latest['version'])
        self.assertEqual(T0, latest['training_end'])
        self.assertEqual({'numpy': '2.0'}, latest['library_versions'])
        self.assertTrue(forecast_api.model_version_delete('auto', 'r1/cpu',
                                                          2))
        self.assertEqual([1], [v['version'] for v in
                               forecast_api.model_version_list('auto')])

    def test_rolling_accuracy(self):
        rows = [(10, 5.0, 10.0, 9), (30, 30.0, None, 20),
                (60, 30.0, 20.0, 50)]
        for hours, (n, err, naive, inside) in enumerate(rows):
            when = T0 + datetime.timedelta(hours=hours)
            forecast_api.accuracy_add({
                'model_name': 'auto', 'data_set': 'r1/cpu', 'level': 0.9,
                'window_start': when, 'window_end': when, 'n_points': n,
                'abs_error_sum': err, 'naive_abs_error_sum': naive,
                'n_inside': inside, 'width_sum': 2.0 * n})
        fig = forecast_api.accuracy_rolling('auto', 'r1/cpu')
        self.assertEqual(3, fig['n_evaluations'])
        self.assertEqual(100, fig['n_points'])
        self.assertAlmostEqual(0.65, fig['mae'])
        # Only the evaluations with a naive figure count for relMAE.
        self.assertAlmostEqual(35.0 / 30.0, fig['rel_mae'])
        self.assertAlmostEqual(0.79, fig['coverage'])
        self.assertAlmostEqual(2.0, fig['mean_width'])
        fig = forecast_api.accuracy_rolling(
            'auto', 'r1/cpu', since=T0 + datetime.timedelta(hours=1))
        self.assertEqual(90, fig['n_points'])
        self.assertRaises(db_exception.DBConstraintError,
                          forecast_api.accuracy_add, {
                              'model_name': 'auto', 'data_set': 'd',
                              'level': 0.9, 'window_start': T0,
                              'window_end': T0, 'n_points': 1,
                              'abs_error_sum': 0.0, 'n_inside': 2,
                              'width_sum': 0.0})


class SqliteForecastApiTest(_ForecastApi, base.BackendTestCase):
    BACKEND = 'sqlite'


class PostgresqlForecastApiTest(_ForecastApi, base.BackendTestCase):
    BACKEND = 'postgresql'


class MysqlForecastApiTest(_ForecastApi, base.BackendTestCase):
    BACKEND = 'mysql'
