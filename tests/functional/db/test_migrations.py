"""Migrations and models on sqlite, PostgreSQL and MariaDB.

The sync test runs the migrations to head and compares the schema they
built with the models (oslo.db's ModelsMigrationsSync, on alembic's
compare_metadata). The other tests check what only a real server shows:
constraints enforced, JSON, packed floats and microsecond times kept.
"""

import datetime
import math

from oslo_db import exception as db_exception
from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.db import models
from tests.functional.db import base

T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456)


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):
    """The migrations at head build exactly the models' schema."""

    def get_engine(self):
        """The engine of this test's own database."""
        return api.get_engine()

    def get_metadata(self):
        """The models' metadata."""
        return models.Base.metadata

    def db_sync(self, engine):
        """Run the migrations to head."""
        self.assertEqual(migration.head(), migration.upgrade(engine=engine))

    def test_constraint_names(self):
        """Check and unique constraints, which the sync test skips."""
        migration.upgrade()
        inspector = sa.inspect(api.get_engine())
        for table in models.Base.metadata.sorted_tables:
            expected = sorted(
                c.name for c in table.constraints
                if isinstance(c, (sa.CheckConstraint, sa.UniqueConstraint)))
            found = sorted(
                [c['name'] for c in
                 inspector.get_check_constraints(table.name)
                 # MariaDB adds a json_valid() check to each JSON column.
                 if c['name'] not in table.columns] +
                [c['name'] for c in
                 inspector.get_unique_constraints(table.name)])
            self.assertEqual(expected, found, table.name)


class _BackendBehaviour:
    """What the schema promises, on a real backend."""

    def setUp(self):
        super().setUp()
        self.assertIsNone(migration.version())
        migration.upgrade()

    def _add(self, *objs):
        with api.write_session() as session:
            session.add_all(objs)

    def _plan(self, **kw):
        return models.Plan(scope={'regions': ['r1']}, **kw)

    def _action(self, plan, key, **kw):
        return models.Action(plan=plan, idempotency_key=key,
                             action_type=constants.ActionType.LIVE_MIGRATE,
                             resource_id='vm-1', **kw)

    def test_version_is_head_and_upgrade_is_idempotent(self):
        self.assertEqual(migration.head(), migration.version())
        self.assertEqual(migration.head(), migration.upgrade())

    def test_round_trip(self):
        point = [float(i) / 3 for i in range(2000)] + [float('nan')]
        run = models.ForecastRun(model_name='naive', horizon=3600, step=300,
                                 level=0.9, parameters={'a': [1, 2]},
                                 mae=1 / 3)
        run.forecasts.append(models.Forecast(
            resource_id='vm-1', resource_kind='vm', metric='cpu',
            start=T0, step=300, point=point))
        plan = self._plan()
        self._add(run, plan, self._action(plan, 'k', reason={'x': 'é'},
                                          started_at=T0))
        with api.read_session() as session:
            run = session.scalars(sa.select(models.ForecastRun)).one()
            self.assertEqual({'a': [1, 2]}, run.parameters)
            self.assertEqual(1 / 3, run.mae)
            series = run.forecasts[0]
            self.assertEqual(T0, series.start)
            self.assertEqual(point[:-1], series.point[:-1])
            self.assertTrue(math.isnan(series.point[-1]))
            action = session.scalars(sa.select(models.Action)).one()
            self.assertEqual({'x': 'é'}, action.reason)
            self.assertEqual(T0, action.started_at)

    def test_idempotency_key_unique(self):
        plan = self._plan()
        self._add(plan, self._action(plan, 'same'))
        self.assertRaises(db_exception.DBDuplicateEntry, self._add,
                          self._action(self._plan(), 'same'))

    def test_invalid_states_rejected(self):
        for name, obj in [
                ('ck_actions_state',
                 self._action(self._plan(), 'k', state='DONE')),
                ('ck_plans_state', self._plan(state='RUNNING')),
                ('ck_reservations_state',
                 models.Reservation(consumer_uuid='c', region='r',
                                    resources={}, expires_at=T0,
                                    state='HELD'))]:
            exc = self.assertRaises(db_exception.DBConstraintError,
                                    self._add, obj)
            # oslo.db's PostgreSQL filter matches the name greedily: when
            # the failing row (in the DETAIL line) holds a double quote, the
            # name runs on up to that quote. Cut it at the first quote.
            self.assertEqual(name, exc.check_name.split('"')[0])

    def test_every_action_state_accepted(self):
        plan = self._plan()
        self._add(plan, *[self._action(plan, s, state=s)
                          for s in constants.ActionState.ALL])

    def test_plan_delete_cascades(self):
        plan = self._plan()
        self._add(plan, self._action(plan, 'k'))
        with api.write_session() as session:
            session.execute(sa.delete(models.Plan))
        with api.read_session() as session:
            self.assertEqual([], session.scalars(
                sa.select(models.Action)).all())


class SqliteSyncTest(_ModelsMigrationsSync, base.BackendTestCase):
    BACKEND = 'sqlite'


class PostgresqlSyncTest(_ModelsMigrationsSync, base.BackendTestCase):
    BACKEND = 'postgresql'


class MysqlSyncTest(_ModelsMigrationsSync, base.BackendTestCase):
    BACKEND = 'mysql'


class SqliteBehaviourTest(_BackendBehaviour, base.BackendTestCase):
    BACKEND = 'sqlite'


class PostgresqlBehaviourTest(_BackendBehaviour, base.BackendTestCase):
    BACKEND = 'postgresql'


class MysqlBehaviourTest(_BackendBehaviour, base.BackendTestCase):
    BACKEND = 'mysql'
