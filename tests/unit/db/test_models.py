"""Round trips and constraints of the models, on a migrated sqlite database."""

import datetime
import math

from oslo_db import exception as db_exception
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import constants
from irra_openstack.db import models
from tests.unit.db import base

T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456)


def _plan(**kw):
    return models.Plan(scope={'regions': ['r1', 'r2']}, **kw)


def _action(plan, key='k1', **kw):
    values = dict(idempotency_key=key, action_type='live_migrate',
                  resource_id='vm-1', source='h1', destination='h2')
    values.update(kw)
    return models.Action(plan=plan, **values)


class FloatPackingTest(base.base.TestCase):
    """pack_floats/unpack_floats: 8 bytes a value, NaN kept."""

    def test_round_trip(self):
        values = [0.0, -1.5, 1e300, float('inf'), 3.25]
        data = models.pack_floats(values)
        self.assertEqual(8 * len(values), len(data))
        self.assertEqual(values, models.unpack_floats(data))

    def test_little_endian(self):
        self.assertEqual(b'\x00\x00\x00\x00\x00\x00\xf0\x3f',
                         models.pack_floats([1.0]))

    def test_nan_kept(self):
        self.assertTrue(math.isnan(
            models.unpack_floats(models.pack_floats([float('nan')]))[0]))

    def test_truncated_data_rejected(self):
        self.assertRaises(ValueError, models.unpack_floats, b'\x00' * 7)


class ModelRoundTripTest(base.DBTestCase):
    """What is written comes back the same, defaults included."""

    def test_forecast_run_with_series(self):
        point = [1.0, 2.5, float('nan'), 4.0]
        with api.write_session() as session:
            run = models.ForecastRun(
                model_name='seasonal_naive', model_version='1.0',
                parameters={'season': 86400}, data_set='azure-v1',
                horizon=3600, step=300, level=0.9, mae=0.25,
                interval_coverage=0.91, accuracy={'rmse': 0.5})
            run.forecasts.append(models.Forecast(
                resource_id='vm-1', resource_kind='vm', metric='cpu_util',
                start=T0, step=300, point=point,
                lower=[0.5] * 4, upper=[5.0] * 4))
            session.add(run)
        with api.read_session() as session:
            run = session.scalars(sa.select(models.ForecastRun)).one()
            self.assertTrue(run.uuid)
            self.assertIsInstance(run.created_at, datetime.datetime)
            self.assertEqual({'season': 86400}, run.parameters)
            self.assertEqual({'rmse': 0.5}, run.accuracy)
            self.assertEqual(0.91, run.interval_coverage)
            series = run.forecasts[0]
            self.assertEqual(T0, series.start)
            self.assertEqual(point[:2] + point[3:],
                             series.point[:2] + series.point[3:])
            self.assertTrue(math.isnan(series.point[2]))
            self.assertEqual([0.5] * 4, series.lower)
            self.assertEqual([5.0] * 4, series.upper)

    def test_series_values_are_stored_packed(self):
        with api.write_session() as session:
            run = models.ForecastRun(model_name='naive', horizon=600,
                                     step=300, level=0.9)
            run.forecasts.append(models.Forecast(
                resource_id='h1', resource_kind='host', metric='mem',
                start=T0, step=300, point=[1.0, 2.0]))
            session.add(run)
        with api.read_session() as session:
            raw = session.execute(sa.text(
                'SELECT point FROM forecasts')).scalar_one()
        self.assertEqual(models.pack_floats([1.0, 2.0]), raw)

    def test_plan_and_actions_defaults(self):
        with api.write_session() as session:
            plan = _plan(project_id='p1')
            _action(plan, 'k1', reason={'overload': {'host': 'h1',
                                                     'peak': 0.97}})
            _action(plan, 'k2')
            session.add(plan)
        with api.read_session() as session:
            plan = session.scalars(sa.select(models.Plan)).one()
            self.assertEqual(constants.PlanState.PENDING, plan.state)
            self.assertEqual(constants.AutomationLevel.APPROVAL,
                             plan.automation_level)
            self.assertEqual({'regions': ['r1', 'r2']}, plan.scope)
            self.assertEqual(['k1', 'k2'],
                             [a.idempotency_key for a in plan.actions])
            first = plan.actions[0]
            self.assertEqual(constants.ActionState.PENDING, first.state)
            self.assertEqual(0, first.attempts)
            self.assertEqual('vm', first.resource_kind)
            self.assertEqual({'overload': {'host': 'h1', 'peak': 0.97}},
                             first.reason)
            self.assertNotEqual(first.uuid, plan.actions[1].uuid)

    def test_updated_at_set_on_update(self):
        with api.write_session() as session:
            session.add(_plan())
        with api.write_session() as session:
            plan = session.scalars(sa.select(models.Plan)).one()
            self.assertIsNone(plan.updated_at)
            plan.state = constants.PlanState.ONGOING
        with api.read_session() as session:
            plan = session.scalars(sa.select(models.Plan)).one()
            self.assertIsNotNone(plan.updated_at)

    def test_other_tables(self):
        with api.write_session() as session:
            plan = _plan()
            session.add_all([
                plan,
                models.Anomaly(
                    resource_id='h1', resource_kind='host', kind='interval',
                    metric='cpu_util', detector='conformal', severity=3.5,
                    started_at=T0, root_cause={'vms': ['vm-1']},
                    project_id='p1'),
                models.Reservation(
                    consumer_uuid='c0ffee00-0000-4000-8000-000000000001',
                    region='r1', resources={'VCPU': 8, 'MEMORY_MB': 16384},
                    provider_uuids=['p-1'], expires_at=T0),
                models.MarketTrade(buyer_region='r1', seller_region='r2',
                                   resource_class='VCPU', quantity=16,
                                   price=0.04, plan=plan),
                models.SLA(name='gold', tier='gold', confidence_level=0.99,
                           headroom=0.2, penalty=100.0),
                models.CostModel(name='flat', plugin='flat',
                                 parameters={'VCPU': 0.03}),
            ])
        with api.read_session() as session:
            anomaly = session.scalars(sa.select(models.Anomaly)).one()
            self.assertEqual({'vms': ['vm-1']}, anomaly.root_cause)
            self.assertIsNone(anomaly.ended_at)
            reservation = session.scalars(sa.select(models.Reservation)).one()
            self.assertEqual(constants.ReservationState.PENDING,
                             reservation.state)
            self.assertEqual({'VCPU': 8, 'MEMORY_MB': 16384},
                             reservation.resources)
            self.assertEqual(['p-1'], reservation.provider_uuids)
            trade = session.scalars(sa.select(models.MarketTrade)).one()
            self.assertEqual(16.0, trade.quantity)
            self.assertIsNotNone(trade.plan_id)
            sla = session.scalars(sa.select(models.SLA)).one()
            self.assertEqual((0.99, 0.2, 100.0),
                             (sla.confidence_level, sla.headroom,
                              sla.penalty))
            cost = session.scalars(sa.select(models.CostModel)).one()
            self.assertEqual({'VCPU': 0.03}, cost.parameters)

    def test_deleting_a_plan(self):
        """Its actions go with it; its trades stay, without the plan."""
        with api.write_session() as session:
            plan = _plan()
            _action(plan)
            session.add(models.MarketTrade(
                buyer_region='r1', seller_region='r2', resource_class='VCPU',
                quantity=1, price=1.0, plan=plan))
            session.add(plan)
        with api.write_session() as session:
            session.execute(sa.delete(models.Plan))
        with api.read_session() as session:
            self.assertEqual(0, session.scalar(
                sa.select(sa.func.count()).select_from(models.Action)))
            trade = session.scalars(sa.select(models.MarketTrade)).one()
            self.assertIsNone(trade.plan_id)


class ConstraintTest(base.DBTestCase):
    """The database itself refuses what the schema forbids."""

    def _add(self, *objs):
        with api.write_session() as session:
            session.add_all(objs)

    def _assert_check_fails(self, name, *objs):
        exc = self.assertRaises(db_exception.DBConstraintError, self._add,
                                *objs)
        self.assertEqual(name, exc.check_name)

    def test_idempotency_key_used_twice(self):
        plan = _plan()
        self._add(plan, _action(plan, 'same-key'))
        exc = self.assertRaises(db_exception.DBDuplicateEntry, self._add,
                                _action(_plan(), 'same-key'))
        self.assertEqual(['idempotency_key'], exc.columns)

    def test_unique_names_and_consumers(self):
        self._add(models.SLA(name='gold', tier='gold',
                             confidence_level=0.9))
        self.assertRaises(db_exception.DBDuplicateEntry, self._add,
                          models.SLA(name='gold', tier='silver',
                                     confidence_level=0.9))
        self._add(models.CostModel(name='flat', plugin='flat'))
        self.assertRaises(db_exception.DBDuplicateEntry, self._add,
                          models.CostModel(name='flat', plugin='other'))
        values = dict(consumer_uuid='c1', region='r1', resources={},
                      expires_at=T0)
        self._add(models.Reservation(**values))
        self.assertRaises(db_exception.DBDuplicateEntry, self._add,
                          models.Reservation(**values))

    def test_invalid_action_state(self):
        self._assert_check_fails('ck_actions_state',
                                 _action(_plan(), state='DONE'))

    def test_invalid_plan_state_and_level(self):
        self._assert_check_fails('ck_plans_state', _plan(state='running'))
        self._assert_check_fails('ck_plans_automation_level',
                                 _plan(automation_level='yolo'))

    def test_invalid_reservation_state(self):
        self._assert_check_fails(
            'ck_reservations_state',
            models.Reservation(consumer_uuid='c1', region='r1',
                               resources={}, expires_at=T0, state='HELD'))

    def test_invalid_resource_kind(self):
        self._assert_check_fails(
            'ck_anomalies_resource_kind',
            models.Anomaly(resource_id='x', resource_kind='rack',
                           kind='interval', detector='d', severity=1,
                           started_at=T0))

    def test_negative_attempts_and_same_region_trade(self):
        self._assert_check_fails('ck_actions_attempts',
                                 _action(_plan(), attempts=-1))
        self._assert_check_fails(
            'ck_market_trades_regions',
            models.MarketTrade(buyer_region='r1', seller_region='r1',
                               resource_class='VCPU', quantity=1, price=1))

    def test_action_without_plan(self):
        self.assertRaises(db_exception.DBError, self._add,
                          models.Action(plan_id=12345, idempotency_key='k',
                                        action_type='reserve',
                                        resource_id='x'))

    def test_every_constant_is_accepted(self):
        """The constants and the migration's literal lists agree."""
        plan = _plan()
        objs = [plan]
        for i, state in enumerate(constants.ActionState.ALL):
            objs.append(_action(plan, 'a%d' % i, state=state))
        for i, kind in enumerate(constants.ResourceKind.ALL):
            objs.append(_action(plan, 'k%d' % i, resource_kind=kind))
        objs.extend(_plan(state=s) for s in constants.PlanState.ALL)
        objs.extend(_plan(automation_level=level)
                    for level in constants.AutomationLevel.ALL)
        objs.extend(models.Reservation(consumer_uuid='c%d' % i, region='r',
                                       resources={}, expires_at=T0,
                                       state=state)
                    for i, state in enumerate(
                        constants.ReservationState.ALL))
        self._add(*objs)
        with api.read_session() as session:
            self.assertEqual(
                len(constants.ActionState.ALL) +
                len(constants.ResourceKind.ALL),
                session.scalar(sa.select(sa.func.count()).select_from(
                    models.Action)))
