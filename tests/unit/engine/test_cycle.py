"""The planning cycle on a replayed trace, stored in a sqlite database."""

import os

import fixtures
import numpy as np

from irra_openstack.datasources import base as ds_base
from irra_openstack.datasources import inventory as inv_mod
from irra_openstack.datasources import replay
from irra_openstack.db import constants
from irra_openstack.db import plan_api
from irra_openstack.engine import cycle
from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack.optimizer import actions as actions_mod
from irra_openstack.optimizer import model as model_mod
from irra_openstack.optimizer import waves
from irra_openstack import plugins
from irra_openstack.traces import api as traces_api
from tests.unit.db import base as db_base

STEP = 300
DAY = 86400 // STEP
T0 = 1700000000 - 1700000000 % 86400
REGION = 'RegionOne'


def write_trace(path, n_days=3, seed=0, noise=1.0, idle_from=None):
    """8 VMs; vm0-vm4 (on h0) are busy every afternoon.

    From ``idle_from`` (seconds after T0) on, vm0-vm4 are idle.
    """
    rng = np.random.default_rng(seed)
    n = n_days * DAY
    t = np.arange(n)
    daily = 0.5 + 0.5 * np.sin(2 * np.pi * (t % DAY) / DAY)
    cpu = np.empty((8, n))
    cpu[:5] = 40 + 55 * daily + rng.normal(0, 2 * noise, (5, n))
    cpu[5:] = 10 + rng.normal(0, noise, (3, n))
    if idle_from is not None:
        cpu[:5, idle_from // STEP:] = 1.0
    mem = np.full((8, n), 2048.0) + rng.normal(0, 10 * noise, (8, n))
    values = np.stack([np.clip(cpu, 0, 100), mem], axis=1)
    f = frame_mod.MetricFrame(
        start=T0, step=STEP, resources=['vm%d' % i for i in range(8)],
        metrics=['cpu_util', 'mem_used'], values=values,
        units={'cpu_util': '%', 'mem_used': 'MB'})
    traces_api.write_trace(f, path)


def node(name, vcpus=16, ram=32768, disk=500, cpu_ratio=1.0):
    cap = {'VCPU': {'total': vcpus, 'reserved': 0,
                    'allocation_ratio': cpu_ratio},
           'MEMORY_MB': {'total': ram, 'reserved': 0,
                         'allocation_ratio': 1.0},
           'DISK_GB': {'total': disk, 'reserved': 0,
                       'allocation_ratio': 1.0}}
    return inv_mod.ComputeNode(uuid='uuid-' + name, name=name, generation=1,
                               capacity=cap)


def server(i, host):
    return inv_mod.Server(
        id='vm%d' % i, name='vm%d' % i, project_id='p', status='ACTIVE',
        host=host, hypervisor_hostname=host, availability_zone='nova',
        vcpus=4, ram_mb=4096, disk_gb=20, flavor='m1.medium')


def inventory(region=REGION):
    hosts = ['h0'] * 5 + ['h1'] * 3
    return inv_mod.Inventory(
        region=region, servers=[server(i, h) for i, h in enumerate(hosts)],
        compute_nodes=[node('h0', cpu_ratio=2.0), node('h1', cpu_ratio=2.0),
                       node('h2', cpu_ratio=2.0)])


class CycleTest(db_base.DBTestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.trace = os.path.join(tmp, 'region.irra')
        write_trace(self.trace)
        self.datasource = replay.ReplayDatasource(
            [ds_base.Region(REGION, self.trace)])
        # The afternoon peak of the last day is ahead of "now".
        self.now = T0 + 2 * 86400 + 6 * 3600

    def forecaster(self):
        return plugins.load('irra.forecasters', 'seasonal_naive',
                            step=STEP, horizon=72, season=DAY, level=0.9,
                            floor=0.0)

    def make(self, **kw):
        args = dict(datasource=self.datasource, inventory=inventory,
                    forecaster=self.forecaster(), rebalancer='rebalance',
                    scheduler='annealing', region=REGION, plan_api=plan_api,
                    history=2 * 86400, threshold=0.8,
                    automation_level='manual')
        args.update(kw)
        return cycle.PlanningCycle(**args)

    def test_cycle_plans_waves_and_stores_them(self):
        c = self.make()
        result = c.run(self.now)
        model = result.model
        self.assertEqual(['h0', 'h1', 'h2'], model.host_names)
        self.assertEqual([0] * 5 + [1] * 3, model.vm_host.tolist())
        np.testing.assert_allclose([4, 4096, 20], model.flavor[0])
        # cpu_util is % of the VM's vCPUs: the busy VMs peak near 4 VCPU.
        peak = model.usage_upper[:5, :, 0].max()
        self.assertGreater(peak, 3.5)
        self.assertLessEqual(model.usage_point[:5, :, 0].max(), peak)
        # h0 (5 busy VMs, 16 cores, 80 %) is predicted overloaded.
        self.assertEqual([True, False, False], model.overloaded().tolist())
        self.assertTrue(result.actions)
        self.assertEqual({'h0'}, {a.source for a in result.actions})
        final = model.vm_host.copy()
        for a in result.actions:
            final[model.vm_ids.index(a.resource_id)] = \
                model.host_names.index(a.destination)
        self.assertFalse(model.overloaded(final).any())
        # Stored: one plan, its actions, keys salted with its UUID.
        plan = result.plan
        self.assertEqual(constants.PlanState.PENDING, plan['state'])
        self.assertEqual(REGION, plan['scope']['region'])
        self.assertEqual(len(result.actions),
                         plan['action_counts'][constants.ActionState.PENDING])
        _, rows = plan_api.plan_actions(plan['uuid'])
        self.assertEqual(len(result.actions), len(rows))
        for a, row in zip(result.actions, rows):
            self.assertEqual(actions_mod.idempotency_key(
                a.action_type, a.resource_id, a.source, a.destination,
                plan['uuid']), row['idempotency_key'])
            reason = row['reason']
            fc = reason['forecast']
            self.assertLessEqual(fc['lower'], fc['point'])
            self.assertLessEqual(fc['point'], fc['upper'])
            self.assertEqual(0.9, fc['level'])
            self.assertIn('threshold', fc)
            self.assertTrue(reason['constraint'])
            self.assertGreater(reason['benefit']['amount'], 0)
            self.assertEqual(row['reason']['wave'],
                             reason['schedule']['wave'])
            self.assertGreater(reason['schedule']['expected_seconds'], 0)
        # One migration leaves h0 per wave (Nova's default limit).
        waves_used = [a.wave for a in result.actions]
        self.assertEqual(len(waves_used), len(set(waves_used)))
        self.assertEqual(len(result.actions),
                         result.summary['waves']['actions'])
        self.assertEqual(1, result.summary['overloaded_hosts'])

    def test_forecast_floored_at_the_last_observed_value(self):
        # At the afternoon peak, seasonal naive expects yesterday's
        # decline: the busy VMs' point forecast is raised to their last
        # value (cpu_util is % of 4 vCPUs), and nothing else changes.
        c = self.make()
        frame, _ = c.collect(self.now)
        inv = inventory()
        forecasts = c.forecast(frame)
        floored, _, figures = c.build_model(inv, frame, forecasts)
        c.floor_at_last = False
        plain, _, plain_figures = c.build_model(inv, frame, forecasts)
        self.assertNotIn('cpu_util_floored_at_last', plain_figures)
        last = frame.metric('cpu_util')[:, -1] / 100.0 * 4
        order = [frame.resources.index(v) for v in plain.vm_ids]
        cpu = model_mod.RESOURCE_CLASSES.index('VCPU')
        want = np.maximum(plain.usage_point[:, :, cpu],
                          last[order][:, None])
        np.testing.assert_allclose(want, floored.usage_point[:, :, cpu])
        np.testing.assert_allclose(
            np.maximum(plain.usage_upper[:, :, cpu], want),
            floored.usage_upper[:, :, cpu])
        raised = (plain.usage_point[:, :, cpu] <
                  last[order][:, None]).any(axis=1)
        self.assertEqual(int(raised.sum()),
                         figures['cpu_util_floored_at_last'])
        self.assertTrue(raised[:5].all())
        # The options group turns it off.
        self.flags(group='planning', floor_at_last_value=False)
        self.assertFalse(cycle.from_conf(
            self.conf, self.datasource, inventory, REGION,
            forecaster=self.forecaster()).floor_at_last)

    def test_rise_from_the_lower_bound(self):
        # rise_from='lower': a VM plans on the larger of its interval's
        # lower bound and its last value, whatever its point forecast;
        # the upper bound is never below that.
        c = self.make()
        frame, _ = c.collect(self.now)
        inv = inventory()
        forecasts = c.forecast(frame)
        c.floor_at_last = False
        plain, lower, _ = c.build_model(inv, frame, forecasts)
        c.floor_at_last = True
        c.rise_from = 'lower'
        model, _, figures = c.build_model(inv, frame, forecasts)
        cpu = model_mod.RESOURCE_CLASSES.index('VCPU')
        last = frame.metric('cpu_util')[:, -1] / 100.0 * 4
        order = [frame.resources.index(v) for v in plain.vm_ids]
        want = np.maximum(lower[:, :, cpu],
                          last[order][:, None])
        np.testing.assert_allclose(want, model.usage_point[:, :, cpu])
        self.assertTrue(np.all(model.usage_upper[:, :, cpu] >= want))
        # The summary counts the VMs raised to their last value.
        raised = (lower[:, :, cpu] < last[order][:, None]).any(axis=1)
        self.assertEqual(int(raised.sum()),
                         figures['cpu_util_floored_at_last'])
        # Somewhere the point forecast is above both: that rise is not
        # planned for.
        self.assertTrue(np.any(plain.usage_point[:, :, cpu] > want + 1e-9))
        # From the options; a bad value is a clear error.
        self.flags(group='planning', planned_rise='lower')
        self.assertEqual('lower', cycle.from_conf(
            self.conf, self.datasource, inventory, REGION,
            forecaster=self.forecaster()).rise_from)
        exc = self.assertRaises(cycle.CycleError, self.make,
                                rise_from='median')
        self.assertIn("rise_from must be one of point, lower", str(exc))

    def test_risk_objective_plans_on_the_floored_forecast(self):
        # The rebalancer's risk objective plans on the point forecast:
        # floored, the busy h0 stays above its cores over more of the
        # horizon than on yesterday's decline, and the plan removes it.
        from irra_openstack.optimizer import rebalance

        risks = {}
        for floor in (False, True):
            c = self.make(rebalancer=rebalance.HostRebalancer(
                objective='risk'), floor_at_last=floor)
            result = c.run(self.now)
            summary = result.summary['rebalance']
            self.assertEqual('risk', summary['method'])
            risks[floor] = summary['risk_before']
            self.assertTrue(result.actions)
            self.assertEqual({'h0'}, {a.source for a in result.actions})
            self.assertLess(summary['risk_after'], summary['risk_before'])
            for a in result.actions:
                self.assertIn('overload risk', a.reason['constraint'])
        self.assertGreater(risks[True], risks[False])

    def test_last_observed(self):
        values = np.array([[[1.0, 2.0, np.nan]], [[3.0, np.nan, np.nan]],
                           [[np.nan, np.nan, np.nan]]])
        f = frame_mod.MetricFrame(start=0, step=STEP,
                                  resources=['a', 'b', 'c'],
                                  metrics=['cpu_util'], values=values)
        np.testing.assert_array_equal(
            [2.0, 3.0, np.nan, np.nan],
            cycle.last_observed(f, 'cpu_util', ['a', 'b', 'c', 'gone'], 3))
        # A value older than ``within`` steps does not count.
        np.testing.assert_array_equal(
            [2.0, np.nan], cycle.last_observed(f, 'cpu_util', ['a', 'b'],
                                               2))
        self.assertTrue(np.isnan(
            cycle.last_observed(f, 'mem_used', ['a'], 3)).all())

    def test_memory_is_forecast_with_the_cpu_as_an_input(self):
        from irra_openstack.forecast import ridge

        seen = []

        class Recording(ridge.RidgeForecaster):
            def fit(self, history, start, exog=None):
                seen.append(None if exog is None else exog.shape)
                return super().fit(history, start, exog=exog)

        for flag, want in ((True, [None, (8, 1, 2 * DAY)]),
                           (False, [None, None])):
            del seen[:]
            fc = Recording(STEP, 12, season=DAY, floor=0.0)
            c = self.make(forecaster=fc, cpu_as_memory_input=flag)
            frame, _ = c.collect(self.now)
            out = c.forecast(frame)
            # CPU from its own history; memory with the VM's CPU use.
            self.assertEqual(want, seen)
            for metric in ('cpu_util', 'mem_used'):
                self.assertEqual(metric, out[metric].metric)
                self.assertTrue(np.isfinite(out[metric].point).all())

    def test_replan_from_stored_records(self):
        result = self.make().run(self.now)
        _, rows = plan_api.plan_actions(result.plan['uuid'])
        state = waves.ScheduleState.from_records(rows)
        first = state.actions[0]
        state.states[first.key] = constants.ActionState.FAILED
        sched = waves.AnnealingWaveScheduler(seed=1)
        again = sched.replan(state, [first.key], result.model)
        self.assertNotIn(first.key, [a.key for a in again.actions])
        self.assertEqual(len(rows) - 1, len(again.actions))
        self.assertIn(first.key, again.shortfalls[0].reason)

    def test_nothing_to_do_stores_nothing(self):
        c = self.make(threshold=1.0)
        light = inventory()
        light.compute_nodes = [node(n, vcpus=64) for n in ('h0', 'h1')]
        c.inventory = light
        result = c.run(self.now)
        self.assertEqual([], result.actions)
        self.assertIsNone(result.plan)
        self.assertEqual([], plan_api.plan_list())
        result = self.make(threshold=1.0, inventory=light,
                           store_empty=True).run(self.now)
        self.assertEqual(1, len(plan_api.plan_list()))

    def test_bad_input(self):
        self.assertRaisesRegex(cycle.CycleError, 'threshold',
                               self.make, threshold=[0.8, 0.8])
        self.assertRaisesRegex(cycle.CycleError, 'give both',
                               self.make, region_lp=object())
        c = self.make(region='Elsewhere')
        self.assertRaisesRegex(cycle.CycleError,
                               'no metrics from region Elsewhere',
                               c.run, self.now)
        c = self.make(inventory=inv_mod.Inventory(REGION, [], []))
        self.assertRaisesRegex(cycle.CycleError, 'no compute node',
                               c.run, self.now)
        c = self.make(rebalancer='no-such-thing')
        self.assertRaisesRegex(exception.PluginError, 'no-such-thing',
                               c.run, self.now)

    def test_region_lp_actions_join_the_plan(self):
        seen = []

        class OneReservation:
            def plan(self, problem, salt=None):
                seen.append((problem, salt))
                return actions_mod.PlanResult(
                    actions=[actions_mod.PlannedAction(
                        constants.ActionType.RESERVE, 'h2',
                        resource_kind=constants.ResourceKind.HOST,
                        reason={'forecast': {}, 'constraint': 'surge',
                                'benefit': {'amount': 1.0}, 'price': 0.5},
                        parameters={'resources': {'VCPU': 4}})],
                    summary={'objective': 12.5, 'prices': [1, 2]})

        def problem(model, forecasts):
            return (model.n_hosts, sorted(forecasts))

        result = self.make(region_lp=OneReservation(),
                           region_problem=problem).run(self.now)
        self.assertEqual([((3, ['cpu_util', 'mem_used']),
                           result.plan['uuid'])], seen)
        reserve = [a for a in result.actions
                   if a.action_type == constants.ActionType.RESERVE]
        self.assertEqual(1, len(reserve))
        self.assertIsNone(reserve[0].wave)
        self.assertEqual({'objective': 12.5}, result.summary['region_lp'])
        _, rows = plan_api.plan_actions(result.plan['uuid'])
        self.assertIn(reserve[0].key, [r['idempotency_key'] for r in rows])

    def test_duplicate_keys_are_refused(self):
        result = self.make().run(self.now)
        _, rows = plan_api.plan_actions(result.plan['uuid'])
        again = [dict(r, reason={}) for r in rows]
        self.assertRaises(plan_api.DuplicateAction,
                          plan_api.plan_create_with_actions,
                          {'region': REGION}, 'manual', None, again)
        self.assertEqual(1, len(plan_api.plan_list()))

    def test_from_conf(self):
        self.flags(group='planning', wave_scheduler='greedy',
                   history=2 * 86400, threshold=0.8,
                   automation_level='full')
        plugins.register_plugin_opts(self.conf, 'irra.schedulers', 'greedy')
        self.flags(group='schedulers.greedy', max_concurrent_per_host=2,
                   maintenance_windows=['00:00-23:59'])
        c = cycle.from_conf(self.conf, self.datasource, inventory, REGION,
                            plan_api=plan_api, forecaster=self.forecaster())
        self.assertIsInstance(c.scheduler, waves.GreedyWaveScheduler)
        self.assertEqual(2, c.scheduler.constraints.max_concurrent_per_host)
        result = c.run(self.now)
        self.assertEqual('automatic', result.plan['automation_level'])
        self.assertEqual('greedy', result.summary['waves']['scheduler'])
        per_wave = {}
        for a in result.actions:
            per_wave[a.wave] = per_wave.get(a.wave, 0) + 1
        self.assertEqual(2, max(per_wave.values()))


class AdjustTest(db_base.DBTestCase):
    """Replanning a stored plan when actuals or actions go wrong."""

    now = T0 + 2 * 86400 + 6 * 3600

    def cycle(self, **trace):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'region.irra')
        write_trace(path, **trace)
        return cycle.PlanningCycle(
            datasource=replay.ReplayDatasource(
                [ds_base.Region(REGION, path)]),
            inventory=inventory,
            forecaster=plugins.load(
                'irra.forecasters', 'seasonal_naive', step=STEP,
                horizon=72, season=DAY, level=0.9, floor=0.0),
            rebalancer='rebalance', scheduler=waves.AnnealingWaveScheduler(
                seed=0), region=REGION, plan_api=plan_api,
            history=2 * 86400)

    def test_nothing_to_change(self):
        c = self.cycle(noise=0.0)
        plan = c.run(self.now).plan
        _, before = plan_api.plan_actions(plan['uuid'])
        got = c.adjust(plan['uuid'], self.now + 3600)
        self.assertEqual(([], [], [], [], None),
                         (got.deviating, got.failed, got.rescheduled,
                          got.skipped, got.result))
        _, after = plan_api.plan_actions(plan['uuid'])
        self.assertEqual(before, after)

    def test_failed_action_replans_the_rest(self):
        c = self.cycle(noise=0.0)
        result = c.run(self.now)
        first = min(result.actions, key=lambda a: a.wave)
        # Actions are claimed only once their plan is approved.
        plan_api.plan_transition(result.plan['uuid'],
                                 (constants.PlanState.PENDING,),
                                 constants.PlanState.APPROVED, 'approve')
        self.assertIsNotNone(plan_api.action_claim(first.key))
        plan_api.action_finish(first.key, constants.ActionState.FAILED,
                               error='boom')
        got = c.adjust(result.plan['uuid'], self.now + 600)
        self.assertEqual([first.key], got.failed)
        self.assertEqual([], got.deviating)
        self.assertEqual(len(result.actions) - 1, len(got.rescheduled))
        _, rows = plan_api.plan_actions(result.plan['uuid'])
        by = {r['idempotency_key']: r for r in rows}
        self.assertEqual(constants.ActionState.FAILED,
                         by[first.key]['state'])
        for key in got.rescheduled:
            self.assertEqual(constants.ActionState.PENDING,
                             by[key]['state'])
            self.assertGreater(by[key]['reason']['wave'], first.wave)
            self.assertEqual(by[key]['reason']['wave'],
                             by[key]['reason']['schedule']['wave'])
        self.assertIn(first.key, got.result.shortfalls[0].reason)

    def test_actuals_outside_the_interval(self):
        # The busy VMs go idle an hour after the plan was made.
        c = self.cycle(noise=0.0,
                       idle_from=self.now - T0 + 3600)
        result = c.run(self.now)
        self.assertTrue(result.actions)
        got = c.adjust(result.plan['uuid'], self.now + 2 * 3600)
        self.assertEqual(sorted(a.key for a in result.actions),
                         sorted(got.deviating))
        _, rows = plan_api.plan_actions(result.plan['uuid'])
        for r in rows:
            if r['state'] == constants.ActionState.PENDING:
                self.assertEqual('actuals left the forecast interval',
                                 r['reason']['replanned'])
        # Before the drop, the actuals were inside the interval.
        self.assertEqual([], c.adjust(result.plan['uuid'],
                                      self.now + 1800).deviating)
