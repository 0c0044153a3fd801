"""The planning cycle storing its plan on PostgreSQL and MariaDB."""

import os

import fixtures

from irra_openstack.datasources import base as ds_base
from irra_openstack.datasources import replay
from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.db import plan_api
from irra_openstack.engine import cycle
from irra_openstack.optimizer import waves
from irra_openstack import plugins
from tests.functional.db import base
from tests.unit.engine import test_cycle as helpers


class _CycleOnDatabase:

    def setUp(self):
        super().setUp()
        migration.upgrade()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'region.irra')
        helpers.write_trace(path)
        self.cycle = cycle.PlanningCycle(
            datasource=replay.ReplayDatasource(
                [ds_base.Region(helpers.REGION, path)]),
            inventory=helpers.inventory,
            forecaster=plugins.load(
                'irra.forecasters', 'seasonal_naive', step=helpers.STEP,
                horizon=72, season=helpers.DAY, level=0.9, floor=0.0),
            rebalancer='rebalance', scheduler='annealing',
            region=helpers.REGION, plan_api=plan_api, history=2 * 86400)
        self.now = helpers.T0 + 2 * 86400 + 6 * 3600

    def test_plan_and_actions_round_trip(self):
        result = self.cycle.run(self.now)
        self.assertTrue(result.actions)
        plan, rows = plan_api.plan_actions(result.plan['uuid'])
        self.assertEqual(constants.PlanState.PENDING, plan['state'])
        self.assertEqual(result.summary['actions'],
                         plan['scope']['summary']['actions'])
        self.assertEqual([a.key for a in result.actions],
                         [r['idempotency_key'] for r in rows])
        state = waves.ScheduleState.from_records(rows)
        self.assertEqual([(a.wave, a.depends_on, a.reason['forecast'])
                          for a in result.actions],
                         [(a.wave, a.depends_on, a.reason['forecast'])
                          for a in state.actions])
        # The same actions cannot be stored twice, not even in a new plan.
        self.assertRaises(plan_api.DuplicateAction,
                          plan_api.plan_create_with_actions,
                          {'region': helpers.REGION}, 'manual', None,
                          result.actions)
        self.assertEqual(1, len(plan_api.plan_list()))
        # A second cycle makes a new plan with new keys.
        again = self.cycle.run(self.now)
        self.assertNotEqual(result.plan['uuid'], again.plan['uuid'])
        self.assertEqual(2, len(plan_api.plan_list()))


class PostgreSQLTest(_CycleOnDatabase, base.BackendTestCase):
    BACKEND = 'postgresql'


class MariaDBTest(_CycleOnDatabase, base.BackendTestCase):
    BACKEND = 'mysql'
