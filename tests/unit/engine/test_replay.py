"""The replay simulator: metrics, migrations, fairness between policies."""

import os
import tempfile
import types

import numpy as np

from irra_openstack.db import constants
from irra_openstack.engine.peers import reactive
from irra_openstack.engine import replay
from irra_openstack.engine import replay_policies
from irra_openstack.optimizer import actions
from irra_openstack.optimizer import model as model_mod
from tests import base


def workload(cpu, vcpus=None, ram=None):
    cpu = np.asarray(cpu, dtype=float)
    v = cpu.shape[0]
    return replay.Workload(
        vm_ids=['vm%d' % i for i in range(v)], cpu=cpu,
        vcpus=np.ones(v) if vcpus is None else vcpus,
        ram_mb=np.full(v, 1024.0) if ram is None else ram)


class Scripted(replay.Policy):
    """Plays fixed decisions at given ticks, and records what it saw."""

    def __init__(self, script=None, sees_future=False, horizon=0,
                 audit_steps=1):
        super().__init__('scripted', audit_steps)
        self.script = script or {}
        self.sees_future = sees_future
        self.horizon = horizon
        self.views = []

    def plan(self, view):
        self.views.append(view)
        return self.script.get(view.tick, replay.Decision())


class MetricsTest(base.TestCase):

    def test_hand_checked_metrics(self):
        # Host 0 (2 cores) runs vm0 and vm1; host 1 runs the idle vm2.
        w = workload([[1.0, 1.0, 1.0, 1.0],
                      [0.5, 1.5, 1.5, 0.0],
                      [0.0, 0.0, 0.0, 0.0]])
        cluster = replay.Cluster(2, 2.0, 8192.0, cpu_ratio=2.0)
        out = replay.simulate(w, cluster, replay.NoMigration('none'),
                              [0, 0, 1], record=True)
        np.testing.assert_allclose(out['host_load'][:, 0],
                                   [1.5, 2.5, 2.5, 1.0])
        # Ticks 1 and 2 of host 0 are above 100 % of 2 cores: 2 x 5 min.
        self.assertEqual(10.0, out['overload_host_minutes'])
        # Two VMs sit on it then: 2 VMs x 2 ticks x 5 min.
        self.assertEqual(20.0, out['sla_violation_vm_minutes'])
        # Both hosts hold a VM for 4 ticks of 5 minutes.
        self.assertAlmostEqual(2 * 4 * 5 / 60.0, out['active_host_hours'])
        self.assertEqual(0, out['migrations'])
        self.assertEqual(0.0, out['gb_migrated'])
        self.assertEqual(4, out['audits'])

    def test_daily_breakdown(self):
        # 5-minute ticks, 288 a day, 700 ticks after a warm-up of 4: days
        # 0 and 1 and a part of day 2. vm0 overloads host 0 at two ticks
        # of day 0 and one of day 2; vm1 moves on day 1.
        cpu = np.zeros((2, 704))
        cpu[0, [14, 15, 4 + 2 * 288 + 20]] = 2.5
        w = workload(cpu)
        cluster = replay.Cluster(2, 2.0, 8192.0, cpu_ratio=2.0)
        policy = Scripted({4 + 300: replay.Decision(moves=[(1, 1)])})
        out = replay.simulate(w, cluster, policy, [0, 0], warmup=4)
        self.assertEqual([10.0, 0.0, 5.0],
                         out['daily']['overload_host_minutes'])
        self.assertEqual([0, 1, 0], out['daily']['migrations'])
        self.assertEqual(out['overload_host_minutes'],
                         sum(out['daily']['overload_host_minutes']))

    def test_threshold_and_warmup(self):
        w = workload([[0.9, 1.7, 1.9, 0.5]])
        cluster = replay.Cluster(1, 2.0, 4096.0)
        out = replay.simulate(w, cluster, replay.NoMigration('none'), [0],
                              overload_threshold=0.9, warmup=2)
        # Only ticks 2 and 3 are scored; 1.9 > 0.9 x 2, 0.5 is not.
        self.assertEqual(5.0, out['overload_host_minutes'])
        self.assertAlmostEqual(2 * 5 / 60.0, out['active_host_hours'])
        self.assertEqual(2, out['audits'])

    def test_warmup_longer_than_trace(self):
        w = workload([[1.0, 1.0]])
        cluster = replay.Cluster(1, 2.0, 4096.0)
        self.assertRaises(replay.ReplayError, replay.simulate, w, cluster,
                          replay.NoMigration('none'), [0], warmup=2)

    def test_combined_cost_and_ratios(self):
        results = {
            'irra': {'overload_host_minutes': 10.0,
                     'active_host_hours': 20.0, 'migrations': 5},
            'oracle': {'overload_host_minutes': 5.0,
                       'active_host_hours': 20.0, 'migrations': 4},
            'watcher:workload_stabilization': {
                'overload_host_minutes': 40.0, 'active_host_hours': 30.0,
                'migrations': 20},
            'watcher:workload_balance': {
                'overload_host_minutes': 30.0, 'active_host_hours': 30.0,
                'migrations': 8},
            'watcher:vm_workload_consolidation': {
                'error': 'not installed'},
        }
        out = replay.compare(results, overload_weight=2.0)
        self.assertEqual('watcher:workload_balance', out['best_watcher'])
        self.assertEqual(40.0, results['irra']['combined_cost'])
        r = out['ratios']['irra']
        self.assertAlmostEqual(10 / 30.0, r[
            'overload_host_minutes_vs_best_watcher'], places=4)
        self.assertAlmostEqual(40 / 30.0,
                               r['combined_cost_vs_oracle'], places=4)
        self.assertEqual(0.25, r['migrations_vs_workload_stabilization'])
        self.assertEqual({'overload_le_half_best_watcher': True,
                          'active_hours_le_best_watcher': True,
                          'migrations_le_half_workload_stabilization': True,
                          'combined_cost_within_10pct_of_oracle': False},
                         out['targets'])
        self.assertEqual({'overload_host_minutes': 2.0,
                          'active_host_hours': 1.0},
                         out['combined_cost_weights'])


class MigrationTest(base.TestCase):

    def test_short_migration_costs_one_tick_on_both_ends(self):
        # vm0 (1 vCPU, 1 GiB) moves from host 0 to host 1 at tick 0.
        w = workload([[1.0, 1.0, 1.0], [0.95, 0.95, 0.95],
                      [0.5, 0.5, 0.5]])
        cluster = replay.Cluster(2, 2.0, 8192.0, cpu_ratio=2.0)
        policy = Scripted({0: replay.Decision(moves=[(0, 1)])})
        out = replay.simulate(w, cluster, policy, [0, 0, 1], record=True)
        # 1024 MiB x 8 / 1000 Mbit/s x 1.3 = 10.6 s < one tick: the VM
        # counts on its source during tick 0, with 0.1 vCPU on each end.
        np.testing.assert_allclose(out['host_load'],
                                   [[2.05, 0.6], [0.95, 1.5],
                                    [0.95, 1.5]])
        self.assertEqual(1, out['migrations'])
        self.assertEqual(1.0, out['gb_migrated'])
        # 2.05 > 2 cores: the migration itself overloads tick 0.
        self.assertEqual(5.0, out['overload_host_minutes'])
        self.assertEqual(10.0, out['sla_violation_vm_minutes'])

    def test_long_migration_stays_on_source(self):
        # 30,000 MiB: 30000 x 8 / 1000 x 1.3 = 312 s, past one tick.
        w = workload([[1.0] * 4, [0.0] * 4],
                     ram=np.array([30000.0, 1024.0]))
        cluster = replay.Cluster(2, 4.0, 65536.0)
        policy = Scripted({0: replay.Decision(moves=[(0, 1)])})
        out = replay.simulate(w, cluster, policy, [0, 1], record=True)
        np.testing.assert_allclose(out['host_load'][:, 0],
                                   [1.1, 1.1, 0.0, 0.0])
        np.testing.assert_allclose(out['host_load'][:, 1],
                                   [0.1, 0.1, 1.0, 1.0])
        self.assertAlmostEqual(30000 / 1024.0, out['gb_migrated'],
                               places=3)
        # While it migrates the VM cannot be moved again.
        self.assertTrue(policy.views[1].migrating[0])
        self.assertFalse(policy.views[2].migrating[0])

    def test_same_source_migrations_queue(self):
        # Two 30,000 MiB VMs leave host 0 at tick 0: one link, one after
        # the other, the second done only after 624 s (in tick 2).
        w = workload([[1.0] * 4, [1.0] * 4],
                     ram=np.array([30000.0, 30000.0]))
        cluster = replay.Cluster(3, 4.0, 65536.0)
        policy = Scripted({0: replay.Decision(moves=[(0, 1), (1, 2)])})
        out = replay.simulate(w, cluster, policy, [0, 0], record=True)
        np.testing.assert_allclose(out['host_load'][:, 2],
                                   [0.1, 0.1, 0.1, 1.0])
        np.testing.assert_allclose(out['host_load'][:, 1],
                                   [0.1, 0.1, 1.0, 1.0])

    def test_moves_respect_placement_rules(self):
        # Host 1 has room for one 2-vCPU VM at ratio 1; the second waits
        # and is dropped at the next audit; a move onto a disabled host
        # is refused.
        w = workload([[0.1] * 3, [0.1] * 3, [0.1] * 3],
                     vcpus=np.array([2.0, 2.0, 2.0]))
        cluster = replay.Cluster(3, 4.0, 65536.0)
        policy = Scripted({
            0: replay.Decision(moves=[(0, 1), (1, 1)], disable=[2]),
            1: replay.Decision(moves=[(2, 2)]),
        })
        out = replay.simulate(w, cluster, policy, [0, 0, 1])
        self.assertEqual(1, out['migrations'])
        self.assertEqual(2, out['rejected_moves'])
        np.testing.assert_array_equal([1, 0, 1], out['final_placement'])

    def test_pingpong_migrations(self):
        # vm0 goes 0 -> 1 and back to 0: one ping-pong; vm1 goes 0 -> 1
        # -> 2: none; vm2 comes back to 0 only after more than a day.
        w = workload([[0.1] * 6] * 3)
        w.step = 86400 // 2
        cluster = replay.Cluster(3, 4.0, 65536.0, cpu_ratio=4.0)
        policy = Scripted({
            0: replay.Decision(moves=[(0, 1), (1, 1), (2, 1)]),
            1: replay.Decision(moves=[(0, 0), (1, 2)]),
            4: replay.Decision(moves=[(2, 0)]),
        })
        out = replay.simulate(w, cluster, policy, [0, 0, 0])
        self.assertEqual(6, out['migrations'])
        self.assertEqual(1, out['pingpong_migrations'])

    def test_wave_after_room_is_freed(self):
        # Swap: vm0 -> host 1 waits until vm1 has left host 1.
        w = workload([[0.1] * 3, [0.1] * 3],
                     vcpus=np.array([4.0, 4.0]))
        cluster = replay.Cluster(3, 4.0, 65536.0)
        policy = Scripted({0: replay.Decision(moves=[(0, 1), (1, 2)])})
        out = replay.simulate(w, cluster, policy, [0, 1])
        self.assertEqual(2, out['migrations'])
        np.testing.assert_array_equal([1, 2], out['final_placement'])


class FairnessTest(base.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(3)
        self.w = workload(rng.uniform(0, 1, (12, 20)))
        self.cluster = replay.Cluster(4, 4.0, 16384.0)

    def test_same_initial_placement_for_every_policy(self):
        a, b = Scripted(), Scripted(sees_future=True, horizon=2)
        replay.run(self.w, self.cluster, {'a': a, 'b': b}, seed=7)
        np.testing.assert_array_equal(a.views[0].vm_host,
                                      b.views[0].vm_host)
        np.testing.assert_array_equal(
            replay.initial_placement(self.w, self.cluster, 7),
            a.views[0].vm_host)
        # Spread: every host got 3 of the 12 one-vCPU VMs.
        np.testing.assert_array_equal([3, 3, 3, 3],
                                      np.bincount(a.views[0].vm_host))

    def test_only_the_oracle_sees_the_future(self):
        past, oracle = Scripted(), Scripted(sees_future=True, horizon=3)
        replay.run(self.w, self.cluster, {'p': past, 'o': oracle},
                   warmup=2)
        for view in past.views:
            self.assertIsNone(view.future)
            self.assertEqual(view.tick, view.history.shape[1])
            np.testing.assert_array_equal(self.w.cpu[:, :view.tick],
                                          view.history)
            self.assertFalse(view.history.flags.writeable)
        for view in oracle.views:
            np.testing.assert_array_equal(
                self.w.cpu[:, view.tick:view.tick + 3], view.future)
            self.assertEqual(view.tick, view.history.shape[1])

    def test_placement_that_does_not_fit(self):
        cluster = replay.Cluster(1, 4.0, 16384.0)
        exc = self.assertRaises(replay.ReplayError, replay.run, self.w,
                                cluster, {'none': replay.NoMigration('n')})
        self.assertIn('--hosts', str(exc))

    def test_warmup_longer_than_trace_is_one_error(self):
        exc = self.assertRaises(replay.ReplayError, replay.run, self.w,
                                self.cluster,
                                {'none': replay.NoMigration('n')},
                                warmup=20)
        self.assertIn('--warmup-hours', str(exc))

    def test_error_entries(self):
        out = replay.run(self.w, self.cluster, {
            'none': replay.NoMigration('none'),
            'watcher:x': replay.ReplayError(reason='not installed')})
        self.assertEqual({'error': 'Replay failed: not installed'},
                         out['policies']['watcher:x'])
        self.assertIn('overload_host_minutes', out['policies']['none'])

    def test_watcher_missing_is_an_error_entry(self):
        from irra_openstack.engine.peers import watcher

        def missing(name):
            raise watcher.WatcherMissing(reason='No module named watcher')

        self.patch(watcher, 'strategy_class', missing)
        built = replay_policies.make_policies(
            ['none', 'watcher:workload_balance'], 300)
        out = replay.run(self.w, self.cluster, built)
        error = out['policies']['watcher:workload_balance']['error']
        self.assertIn('pip install python-watcher==17.0.0', error)
        self.assertIn('overload_host_minutes', out['policies']['none'])

    def test_irra_and_oracle_share_the_optimiser_settings(self):
        built = replay_policies.make_policies(
            ['irra', 'oracle'], 300, audit_steps=3, horizon=6,
            threshold=0.85, time_limit=0.25, forecaster='naive',
            consolidate=True, objective='threshold')
        irra, oracle = built['irra'], built['oracle']
        self.assertFalse(irra.sees_future)
        self.assertTrue(oracle.sees_future)
        for attr in ('audit_steps', 'horizon', 'threshold', 'min_freed',
                     'max_moves_per_freed', 'objective'):
            self.assertEqual(getattr(irra, attr), getattr(oracle, attr),
                             attr)
        for reb in ('rebalancer', 'fixer'):
            a, b = getattr(irra, reb), getattr(oracle, reb)
            self.assertEqual(
                (a.threshold, a.consolidate, a.method, a.time_limit,
                 a.best_effort, a.neighbourhood),
                (b.threshold, b.consolidate, b.method, b.time_limit,
                 b.best_effort, b.neighbourhood), reb)
            self.assertTrue(a.best_effort)
        self.assertEqual((3, 6, 0.85), (irra.audit_steps, irra.horizon,
                                        irra.threshold))
        self.assertTrue(irra.rebalancer.consolidate)
        self.assertFalse(irra.fixer.consolidate)

    def test_risk_objective_shared_by_irra_and_oracle(self):
        built = replay_policies.make_policies(
            ['irra', 'oracle'], 300, forecaster='naive', objective='risk',
            move_cost=1.5, risk_level=0.95, consolidate=True,
            refit_steps=24)
        irra, oracle = built['irra'], built['oracle']
        settings = [(p.objective, p.audit_steps, p.horizon, p.fixer,
                     p.rebalancer.objective, p.rebalancer.move_cost,
                     p.rebalancer.risk_level, p.rebalancer.lead_steps,
                     p.rebalancer.time_limit, p.rebalancer.consolidate)
                    for p in (irra, oracle)]
        self.assertEqual(settings[0], settings[1])
        # No consolidation with the risk objective; one lead step (a
        # move started at an audit changes the load from the next tick).
        self.assertEqual(('risk', 1.5, 0.95, 1, False, None),
                         (settings[0][4], settings[0][5], settings[0][6],
                          settings[0][7], settings[0][9], settings[0][3]))
        self.assertEqual(24, irra.refit_steps)

    def test_defaults(self):
        built = replay_policies.make_policies(['irra', 'oracle'], 300,
                                              forecaster='naive')
        irra, oracle = built['irra'], built['oracle']
        self.assertTrue(irra.host_intervals)
        for p in (irra, oracle):
            # Every step.
            self.assertEqual(1, p.audit_steps)
            self.assertFalse(p.rebalancer.consolidate)
            self.assertTrue(p.rebalancer.best_effort)
            self.assertIsNone(p.fixer)
            self.assertEqual(('risk', 1.0, 1.0, 1),
                             (p.objective, p.rebalancer.move_cost,
                              p.rebalancer.risk_level,
                              p.rebalancer.lead_steps))
        self.assertEqual('floored', irra.scenarios)
        # auto, refitted once a day (288 steps of 5 minutes).
        irra = replay_policies.make_policies(['irra'], 300)['irra']
        self.assertEqual('auto', irra.forecaster.name)
        self.assertEqual(288, irra.refit_steps)
        every = replay_policies.make_policies(['irra'], 300,
                                              forecaster='naive',
                                              refit_steps=0)['irra']
        self.assertIsNone(every.refit_steps)

    def test_watcher_audits_on_their_own_interval(self):
        from irra_openstack.engine.peers import watcher

        self.patch(watcher, 'strategy_class', lambda name: object)
        self.patch(watcher, '_datasource_class', lambda: None)
        names = ['irra', 'oracle', 'none', 'watcher:workload_balance']
        built = replay_policies.make_policies(names, 300,
                                              forecaster='naive')
        self.assertEqual([1, 1, 1, 3],
                         [built[n].audit_steps for n in names])
        built = replay_policies.make_policies(
            names, 300, forecaster='naive', audit_steps=2,
            watcher_audit_steps=None)
        self.assertEqual([2, 2, 2, 2],
                         [built[n].audit_steps for n in names])

    def test_forecaster_threads(self):
        # The threads reach auto's learned candidates, or the learned
        # model itself; a baseline has no threads to set.
        auto = replay_policies.make_policies(
            ['irra'], 300, forecaster_threads=2)['irra'].forecaster
        threads = {c.name: getattr(c, 'threads', None)
                   for c in auto.candidates}
        self.assertEqual({'naive': None, 'seasonal_naive': None,
                          'ridge': 2, 'gbm': 2}, threads)
        gbm = replay_policies.make_forecaster(300, 4, name='gbm', threads=0)
        self.assertEqual(0, gbm.threads)
        self.assertEqual(
            {}, replay_policies.thread_kwargs('seasonal_naive', 2))
        # Without threads, the plugins' own default (one); other
        # arguments of a candidate are kept beside the threads.
        self.assertEqual(1, replay_policies.make_forecaster(
            300, 4, name='ridge').threads)
        auto = replay_policies.make_forecaster(
            300, 4, name='auto', threads=2,
            candidate_kwargs={'gbm': {'max_iter': 7}})
        gbm = auto.candidates[auto.names.index('gbm')]
        self.assertEqual((2, 7), (gbm.threads, gbm.max_iter))

    def test_unknown_policy(self):
        exc = self.assertRaises(replay.ReplayError,
                                replay_policies.make_policies, ['magic'],
                                300)
        self.assertIn('unknown policy', str(exc))


class FixedForecaster:
    """Stands in for a forecaster: the same forecast at every audit."""

    min_residuals = 1

    def __init__(self, point, lower, upper):
        self.forecast = types.SimpleNamespace(point=point, lower=lower,
                                              upper=upper)

    def fit(self, history, start):
        pass

    def predict(self, history, start):
        return self.forecast


class StandInRebalancer(object):
    """Records the models it gets; moves the first VM to the last host."""

    def __init__(self):
        self.models = []

    def plan(self, model):
        self.models.append(model)
        a = actions.PlannedAction(
            action_type=constants.ActionType.LIVE_MIGRATE,
            resource_id=model.vm_ids[0],
            source=model.host_names[model.vm_host[0]],
            destination=model.host_names[-1])
        return actions.PlanResult(actions=[a])


class RebalancerPolicyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(5)
        self.w = workload(rng.uniform(0, 1, (6, 30)))
        self.cluster = replay.Cluster(3, 4.0, 16384.0)

    def test_oracle_plans_on_the_true_future(self):
        reb = StandInRebalancer()
        policy = replay_policies.RebalancerPolicy('oracle', reb, horizon=4,
                                                  audit_steps=5)
        self.assertTrue(policy.sees_future)
        replay.simulate(self.w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                        warmup=3)
        self.assertEqual(6, len(reb.models))
        for k, model in enumerate(reb.models):
            t = 3 + 5 * k
            known = min(4, 30 - t)
            np.testing.assert_allclose(model.usage_upper[:, :known, 0],
                                       self.w.cpu[:, t:t + known])
            # Past the end of the trace, its last value repeats.
            np.testing.assert_allclose(
                model.usage_upper[:, known:, 0],
                np.repeat(self.w.cpu[:, -1:], 4 - known, axis=1))
            np.testing.assert_allclose(model.threshold[:, 0], 0.8)
            np.testing.assert_allclose(model.capacity[:, 0], 4.0)

    def test_irra_forecasts_from_the_past(self):
        reb = StandInRebalancer()
        fc = replay_policies.make_forecaster(300, 4, season_steps=0,
                                             calibration_steps=10)
        policy = replay_policies.RebalancerPolicy(
            'irra', reb, horizon=4, audit_steps=5, forecaster=fc)
        self.assertFalse(policy.sees_future)
        out = replay.simulate(self.w, self.cluster, policy,
                              [0, 0, 1, 1, 2, 2], warmup=12)
        model = reb.models[0]
        self.assertEqual((6, 4, 3), model.usage_upper.shape)
        # Naive with an interval: the upper bound is at least the last
        # value seen, and is the same whatever the future holds.
        last = self.w.cpu[:, 11]
        self.assertTrue(np.all(model.usage_upper[:, 0, 0] >= last - 1e-9))
        changed = self.w.cpu.copy()
        changed[:, 12:] = 0.0
        reb2 = StandInRebalancer()
        policy2 = replay_policies.RebalancerPolicy(
            'irra', reb2, horizon=4, audit_steps=5,
            forecaster=replay_policies.make_forecaster(
                300, 4, season_steps=0, calibration_steps=10))
        replay.simulate(workload(changed), self.cluster, policy2,
                        [0, 0, 1, 1, 2, 2], warmup=12)
        np.testing.assert_allclose(model.usage_upper,
                                   reb2.models[0].usage_upper)
        # The stand-in's move of vm0 to host 2 was applied.
        self.assertEqual(2, out['final_placement'][0])
        self.assertGreaterEqual(out['migrations'], 1)

    def test_consolidation_kept_only_when_it_frees_a_host(self):
        class Empty(object):
            def plan(self, model):
                return actions.PlanResult()

        def policy():
            return replay_policies.RebalancerPolicy(
                'oracle', StandInRebalancer(), horizon=2, fixer=Empty())

        # vm0 shares host 0 with vm1: moving it frees nothing, so the
        # fixer's plan (nothing to fix) is used.
        v = replay.AuditView(
            tick=2, step=300, history=self.w.cpu[:, :2],
            vm_host=np.array([0, 0, 1, 1, 2, 2]),
            migrating=np.zeros(6, dtype=bool),
            vm_ids=['vm%d' % i for i in range(6)], vcpus=self.w.vcpus,
            ram_mb=self.w.ram_mb, cluster=self.cluster,
            disabled=np.zeros(3, dtype=bool), future=self.w.cpu[:, 2:4])
        self.assertEqual([], policy().plan(v).moves)
        # Alone on host 0, moving it frees the host: kept.
        v.vm_host = np.array([0, 1, 1, 1, 2, 2])
        self.assertEqual([(0, 2)], policy().plan(v).moves)
        # Unless one move per freed host is more than allowed.
        strict = replay_policies.RebalancerPolicy(
            'oracle', StandInRebalancer(), horizon=2, fixer=Empty(),
            max_moves_per_freed=0.5)
        self.assertEqual([], strict.plan(v).moves)

    def test_host_intervals_narrower_than_summed_bounds(self):
        rng = np.random.default_rng(9)
        w = workload(rng.uniform(0, 1, (6, 80)))

        def run(host_intervals):
            reb = StandInRebalancer()
            fc = replay_policies.make_forecaster(300, 3, season_steps=0,
                                                 calibration_steps=40)
            policy = replay_policies.RebalancerPolicy(
                'irra', reb, horizon=3, audit_steps=100, forecaster=fc,
                host_intervals=host_intervals)
            replay.simulate(w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                            warmup=70)
            return reb.models[0].usage_upper[:, :, 0]

        summed, calibrated = run(False), run(True)
        self.assertTrue(np.all(calibrated <= summed + 1e-9))
        # Independent VMs: the host's own interval is narrower than the
        # sum of its VMs' upper bounds.
        self.assertLess(calibrated.sum(), summed.sum())

    def test_refit_schedule(self):
        # Refit every 12 steps, sooner while the history is short: fits
        # at ticks 3 (3 steps of history), 6, 12, 24 and 36; forecasts
        # at every audit.
        reb = StandInRebalancer()
        fc = replay_policies.make_forecaster(300, 2, name='naive',
                                             calibration_steps=10)
        policy = replay_policies.RebalancerPolicy(
            'irra', reb, horizon=2, audit_steps=3, forecaster=fc,
            refit_steps=12)
        fits = []
        real_fit = fc.fit

        def fit(history, start):
            fits.append(history.shape[1])
            return real_fit(history, start)

        fc.fit = fit
        w = workload(np.random.default_rng(1).uniform(0, 1, (6, 40)))
        replay.simulate(w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                        warmup=3)
        self.assertEqual([3, 6, 12, 24, 36], fits)
        self.assertEqual(5, policy.fits)
        self.assertEqual(13, len(reb.models))

    def test_scenario_residuals(self):
        nan = np.nan
        # 2 VMs, 3 origins, 3 steps; the last origin is partly unknown.
        res = np.array([[[1, 2, 3], [4, 5, 6], [7, nan, nan]],
                        [[0, 0, 1], [1, 1, 1], [2, nan, nan]]], float)
        old = replay_policies.MIN_SCENARIOS
        self.addCleanup(setattr, replay_policies, 'MIN_SCENARIOS', old)
        replay_policies.MIN_SCENARIOS = 2
        # Enough whole origins: only they are used.
        np.testing.assert_array_equal(
            res[:, :2], replay_policies.scenario_residuals(res))
        # Too few: each step takes the origins where it is known, in
        # turn (steps 1 and 2 cycle over the two whole origins).
        replay_policies.MIN_SCENARIOS = 3
        out = replay_policies.scenario_residuals(res)
        self.assertEqual((2, 3, 3), out.shape)
        np.testing.assert_array_equal(res[:, :, 0], out[:, :, 0])
        np.testing.assert_array_equal([[2, 5, 2], [0, 1, 0]], out[:, :, 1])
        np.testing.assert_array_equal([[3, 6, 3], [1, 1, 1]], out[:, :, 2])
        # A step known from no origin takes the nearest earlier one's.
        res[:, :2, 2] = nan
        out = replay_policies.scenario_residuals(res)
        np.testing.assert_array_equal(out[:, :, 1], out[:, :, 2])
        # No origin: the point forecast alone.
        out = replay_policies.scenario_residuals(np.full((2, 0, 3), nan))
        np.testing.assert_array_equal(np.zeros((2, 1, 3)), out)

    def test_risk_scenarios(self):
        # The oracle's one scenario is the actual future; irra's are its
        # point forecast plus the back-test residuals, at least 0.
        rng = np.random.default_rng(2)
        w = workload(rng.uniform(0, 1, (6, 60)))
        for name in ('oracle', 'irra'):
            reb = StandInRebalancer()
            fc = None if name == 'oracle' else \
                replay_policies.make_forecaster(300, 4, name='naive',
                                                calibration_steps=20)
            policy = replay_policies.RebalancerPolicy(
                name, reb, horizon=4, audit_steps=100, forecaster=fc,
                objective='risk', scenarios='residuals')
            replay.simulate(w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                            warmup=50)
            (model,) = reb.models
            scen = model.samples()[..., 0]
            if name == 'oracle':
                np.testing.assert_allclose(scen[:, 0], w.cpu[:, 50:54])
                self.assertEqual(1, scen.shape[1])
                continue
            self.assertGreaterEqual(scen.shape[1], 2)
            self.assertTrue(np.all(scen >= 0))
            # Naive: a residual is actual minus the value before the
            # origin; every scenario of step 0 is last value + residual.
            last = w.cpu[:, 49]
            res = scen[:, :, 0] - last[:, None]
            pos = scen[:, :, 0] > 0
            self.assertTrue(np.all(np.abs(res[pos]) <= 1.0 + 1e-9))
            np.testing.assert_allclose(model.samples()[..., 1],
                                       np.broadcast_to(
                                           w.ram_mb[:, None, None],
                                           scen.shape))

    def test_floored_scenario(self):
        # The default: one scenario per VM, its point forecast, never
        # below its demand of the last tick. Seasonal naive forecasts
        # the value one season back: it is below the last value for the
        # VMs that rose, and kept for those that fell.
        season = 4
        cpu = np.tile([[0.2, 0.9, 0.5, 0.1]], (6, 15))
        cpu[::2] = np.tile([[0.9, 0.2, 0.1, 0.5]], (3, 15))
        w = workload(cpu)
        reb = StandInRebalancer()
        fc = replay_policies.make_forecaster(300, 4, name='seasonal_naive',
                                             season_steps=season,
                                             calibration_steps=8)
        policy = replay_policies.RebalancerPolicy(
            'irra', reb, horizon=4, audit_steps=100, forecaster=fc,
            objective='risk')
        self.assertEqual(replay_policies.FLOORED, policy.scenarios)
        replay.simulate(w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                        warmup=42)
        (model,) = reb.models
        scen = model.samples()[..., 0]
        self.assertEqual((6, 1, 4), scen.shape)
        last = cpu[:, 41]
        seasonal = cpu[:, 42:46]         # the same values, a season on
        np.testing.assert_allclose(
            scen[:, 0], np.maximum(seasonal, last[:, None]))
        # Both kinds of VM are there: a forecast kept, and one floored.
        self.assertTrue(np.any(seasonal > last[:, None]))
        self.assertTrue(np.any(seasonal < last[:, None]))
        self.assertTrue(np.all(model.usage_upper[:, :, 0] >=
                               scen[:, 0] - 1e-12))

    def test_floored_scenario_with_nan(self):
        # A VM without a last value keeps its forecast; a VM without a
        # forecast plans on its last value; neither gives NaN.
        point = np.array([[1.0, 2.0], [np.nan, np.nan], [0.5, 0.5]])
        policy = replay_policies.RebalancerPolicy(
            'irra', StandInRebalancer(), horizon=2,
            forecaster=FixedForecaster(point, point - 1.0, point + 1.0),
            objective='risk')
        history = np.array([[0.5, np.nan], [0.2, 3.0], [0.1, 0.7]])
        view = types.SimpleNamespace(history=history, step=300, tick=2)
        upper, scen = policy._upper(view)
        np.testing.assert_allclose([[1.0, 2.0], [3.0, 3.0], [0.7, 0.7]],
                                   scen[:, 0])
        self.assertTrue(np.isfinite(upper).all())
        self.assertTrue(np.all(upper >= scen[:, 0]))

    def test_confident_and_point_scenarios(self):
        # With 'confident' a VM plans on the lower bound of its forecast
        # where that is above its last demand, else on its last demand:
        # a rise the point forecast alone sees is not planned for.
        point = np.array([[1.0, 2.0], [0.6, 0.8], [np.nan, 0.4]])
        lower = np.array([[0.8, 1.5], [0.1, 0.3], [np.nan, 0.2]])
        fixed = FixedForecaster(point, lower, point + 1.0)
        history = np.array([[0.1, 0.9], [0.2, 0.5], [0.3, 0.7]])
        view = types.SimpleNamespace(history=history, step=300, tick=2)
        plans = {}
        for name in ('floored', 'confident', 'point'):
            policy = replay_policies.RebalancerPolicy(
                'irra', StandInRebalancer(), horizon=2,
                forecaster=fixed, objective='risk', scenarios=name)
            upper, scen = policy._upper(view)
            self.assertEqual((3, 1, 2), scen.shape)
            self.assertTrue(np.isfinite(upper).all())
            self.assertTrue(np.all(upper >= scen[:, 0]))
            plans[name] = scen[:, 0]
        # VM 0: the whole interval is above 0.9 at the second step.
        # VM 1: the point forecast rises above 0.5, its lower bound does
        # not. VM 2: no forecast at the first step, its last value.
        np.testing.assert_allclose([[0.9, 1.5], [0.5, 0.5], [0.7, 0.7]],
                                   plans['confident'])
        np.testing.assert_allclose([[1.0, 2.0], [0.6, 0.8], [0.7, 0.7]],
                                   plans['floored'])
        # 'point' takes falls for granted too.
        np.testing.assert_allclose([[1.0, 2.0], [0.6, 0.8], [0.7, 0.4]],
                                   plans['point'])

    def test_rise_steps_hold_the_near_forecast(self):
        # With rise_steps=2 the forecast of the first two steps is
        # planned on and its second step held to the end of the horizon:
        # the rise VM 0's forecast expects at the last step is left out.
        point = np.array([[0.5, 0.6, 0.7, 3.0], [0.2, 0.9, 0.1, 0.1],
                          [np.nan, np.nan, 0.9, 0.9]])
        lower = point - 0.1
        fixed = FixedForecaster(point, lower, point + 1.0)
        history = np.array([[0.1, 0.4], [0.2, 0.3], [0.3, 0.5]])
        view = types.SimpleNamespace(history=history, step=300, tick=2)
        plans = {}
        for name, steps in (('floored', 2), ('confident', 2),
                            ('point', 2), ('floored', None),
                            ('floored', 4), ('floored', 9)):
            policy = replay_policies.RebalancerPolicy(
                'irra', StandInRebalancer(), horizon=4,
                forecaster=fixed, objective='risk', scenarios=name,
                rise_steps=steps)
            upper, scen = policy._upper(view)
            self.assertTrue(np.isfinite(scen).all())
            self.assertTrue(np.all(upper >= scen[:, 0]))
            plans[name, steps] = scen[:, 0]
        np.testing.assert_allclose(
            [[0.5, 0.6, 0.6, 0.6], [0.3, 0.9, 0.9, 0.9],
             [0.5, 0.5, 0.5, 0.5]], plans['floored', 2])
        np.testing.assert_allclose(
            [[0.4, 0.5, 0.5, 0.5], [0.3, 0.8, 0.8, 0.8],
             [0.5, 0.5, 0.5, 0.5]], plans['confident', 2])
        np.testing.assert_allclose(
            [[0.5, 0.6, 0.6, 0.6], [0.2, 0.9, 0.9, 0.9],
             [0.5, 0.5, 0.5, 0.5]], plans['point', 2])
        # The whole horizon (or more) is the plain scenario.
        for steps in (4, 9):
            np.testing.assert_allclose(plans['floored', None],
                                       plans['floored', steps])
        self.assertEqual(3.0, plans['floored', None][0, 3])
        exc = self.assertRaises(
            replay.ReplayError, replay_policies.RebalancerPolicy, 'irra',
            StandInRebalancer(), horizon=4, rise_steps=0)
        self.assertIn("rise_steps must be 1 or more, got 0", str(exc))

    def test_unknown_scenarios(self):
        exc = self.assertRaises(
            replay.ReplayError, replay_policies.RebalancerPolicy, 'irra',
            StandInRebalancer(), horizon=4, scenarios='dreams')
        self.assertIn("scenarios must be one of floored, host_floored, "
                      "confident, point, residuals",
                      str(exc))

    def test_host_floor_raises_host_sums_to_the_last_load(self):
        # Host 0: VMs 0 and 1 last used 1 and 3 (4 in all); their
        # forecasts sum to 3 at step 0 (raised by 1, shared 1:3) and to 6
        # at step 1 (kept: a rise of VM 0 the host's sum sees). Host 1:
        # VM 2 forecast above its last demand, kept. Host 2: both VMs
        # last used 0, and the deficit (none here) would be shared evenly.
        point = np.array([[2.0, 5.0], [1.0, 1.0], [3.0, 1.0],
                          [0.0, 0.5], [0.0, 0.0]])
        last = np.array([1.0, 3.0, 2.0, 0.0, 0.0])
        vm_host = np.array([0, 0, 1, 2, 2])
        out = model_mod.host_floor(point, last, vm_host)
        np.testing.assert_allclose(
            [[2.25, 5.0], [1.75, 1.0], [3.0, 2.0], [0.0, 0.5],
             [0.0, 0.0]], out)
        sums = np.zeros((3, 2))
        np.add.at(sums, vm_host, out)
        seen = np.bincount(vm_host, last, 3)
        self.assertTrue(np.all(sums >= seen[:, None] - 1e-12))
        # Per-VM flooring would plan host 0 on 2 + 3 = 5 at step 0, above
        # both its forecast (3) and its last load (4).
        self.assertEqual(4.0, sums[0, 0])
        # A host whose VMs last used nothing keeps its forecasts.
        np.testing.assert_allclose(point[3:], out[3:])

    def test_host_floored_scenario(self):
        # The policy floors each host's sum of forecasts at the host's
        # last load: VMs 0 and 1 share host 0 (last 0.4 + 0.3 = 0.7);
        # VM 2 has no forecast and plans on its last demand.
        point = np.array([[0.5, 0.1], [0.1, 0.1], [np.nan, np.nan]])
        fixed = FixedForecaster(point, point - 0.1, point + 1.0)
        history = np.array([[0.1, 0.4], [0.2, 0.3], [0.3, 0.5]])
        view = types.SimpleNamespace(history=history, step=300, tick=2,
                                     vm_host=[0, 0, 1])
        policy = replay_policies.RebalancerPolicy(
            'irra', StandInRebalancer(), horizon=2, forecaster=fixed,
            objective='risk', scenarios='host_floored')
        upper, scen = policy._upper(view)
        # Host 0 at step 0: 0.6 against 0.7, raised by 0.1 shared 4:3;
        # at step 1: 0.2, raised by 0.5.
        np.testing.assert_allclose(
            [[0.5 + 0.1 * 4 / 7, 0.1 + 0.5 * 4 / 7],
             [0.1 + 0.1 * 3 / 7, 0.1 + 0.5 * 3 / 7],
             [0.5, 0.5]], scen[:, 0])
        self.assertTrue(np.all(upper >= scen[:, 0] - 1e-12))

    def test_host_floored_without_data(self):
        # A VM whose last tick is missing counts 0 in its host's last
        # load; one with neither a forecast nor a last value plans on 0.
        # Nothing NaN reaches the plan.
        point = np.array([[0.5, 0.1], [np.nan, np.nan]])
        fixed = FixedForecaster(point, point - 0.1, point + 1.0)
        history = np.array([[0.1, np.nan], [np.nan, np.nan]])
        view = types.SimpleNamespace(history=history, step=300, tick=2,
                                     vm_host=[0, 0])
        policy = replay_policies.RebalancerPolicy(
            'irra', StandInRebalancer(), horizon=2, forecaster=fixed,
            objective='risk', scenarios='host_floored')
        upper, scen = policy._upper(view)
        np.testing.assert_allclose([[0.5, 0.1], [0.0, 0.0]], scen[:, 0])
        self.assertTrue(np.isfinite(upper).all())
        # No VM at all: an empty plan, not an error.
        self.assertEqual((0, 3), model_mod.host_floor(
            np.zeros((0, 3)), np.zeros(0), np.zeros(0, dtype=int)).shape)

    def test_hysteresis_penalty(self):
        # VMs that changed host in the last 6 steps cost twice move_cost.
        reb = StandInRebalancer()
        reb.move_cost = 2.0
        policy = replay_policies.RebalancerPolicy(
            'oracle', reb, horizon=2, audit_steps=3, objective='risk',
            hysteresis_steps=6)
        replay.simulate(self.w, self.cluster, policy, [0, 0, 1, 1, 2, 2],
                        warmup=3)
        # The stand-in moves vm0 to host 2 at the first audit (tick 3); it
        # is seen moved at tick 6 and penalised until tick 11.
        pens = [m.move_penalty for m in reb.models]
        np.testing.assert_array_equal([0, 0, 0, 0, 0, 0], pens[0])
        np.testing.assert_array_equal([2, 0, 0, 0, 0, 0], pens[1])
        np.testing.assert_array_equal([2, 0, 0, 0, 0, 0], pens[2])
        np.testing.assert_array_equal([0, 0, 0, 0, 0, 0], pens[3])
        plain = replay_policies.RebalancerPolicy(
            'oracle', StandInRebalancer(), horizon=2, audit_steps=3,
            objective='risk')
        replay.simulate(self.w, self.cluster, plain, [0, 0, 1, 1, 2, 2],
                        warmup=3)
        self.assertIsNone(plain.rebalancer.models[1].move_penalty)

    def test_oracle_risk_moves_only_for_real_overloads(self):
        # Two hosts of 2 cores at 80-95 % that never pass 100 %: the
        # threshold objective (0.8) moves VMs, the risk objective none;
        # when one VM's burst overloads its host, it moves.
        rng = np.random.default_rng(7)
        calm = rng.uniform(0.8, 0.95, (4, 30))
        w = workload(np.vstack([calm, np.zeros((2, 30))]))
        cluster = replay.Cluster(3, 2.0, 16384.0, cpu_ratio=4.0)
        place = [0, 0, 1, 1, 2, 2]

        def run(objective, cpu):
            built = replay_policies.make_policies(
                ['oracle'], 300, audit_steps=3, horizon=6,
                objective=objective, move_cost=1.0, time_limit=1.0)
            return replay.simulate(workload(cpu), cluster,
                                   built['oracle'], place, warmup=1)

        self.assertGreater(run('threshold', w.cpu)['migrations'], 0)
        self.assertEqual(0, run('risk', w.cpu)['migrations'])
        burst = w.cpu.copy()
        burst[0, 10:] = 1.5
        hot = run('risk', burst)
        self.assertGreaterEqual(hot['migrations'], 1)
        none = replay.simulate(workload(burst), cluster,
                               replay.NoMigration('none'), place, warmup=1)
        self.assertLess(hot['overload_host_minutes'],
                        none['overload_host_minutes'])

    def test_unknown_destination(self):
        result = actions.PlanResult(actions=[actions.PlannedAction(
            action_type=constants.ActionType.LIVE_MIGRATE,
            resource_id='vm0', destination='elsewhere')])
        self.assertRaises(replay.ReplayError, replay.moves_from_plan,
                          result, {'vm0': 0}, {'host-0': 0})


class ReactiveTest(base.TestCase):

    def view(self, last, vm_host, ram, cores=4.0, hosts=3):
        last = np.asarray(last, dtype=float)
        return replay.AuditView(
            tick=1, step=300, history=last[:, None], vm_host=vm_host,
            migrating=np.zeros(len(last), dtype=bool),
            vm_ids=['vm%d' % i for i in range(len(last))],
            vcpus=np.ones(len(last)), ram_mb=np.asarray(ram, dtype=float),
            cluster=replay.Cluster(hosts, cores, 65536.0, cpu_ratio=4.0),
            disabled=np.zeros(hosts, dtype=bool))

    def test_moves_least_ram_first_from_overloaded_hosts(self):
        # Host 0 at 3.6 / 4 = 0.9 > 0.8: it must shed 0.4 vCPU. The VMs
        # in order of RAM: vm1 (512 MiB, 0.2), vm2 (1024, 0.3): both go.
        policy = reactive.ThresholdMMT()
        d = policy.plan(self.view([3.1, 0.2, 0.3, 1.0, 0.5],
                                  [0, 0, 0, 1, 2],
                                  [4096, 512, 1024, 2048, 2048]))
        moved = [v for v, dest in d.moves]
        self.assertEqual([2, 1], moved)            # busiest first
        # Each to the least-loaded host that stays under the threshold.
        self.assertEqual([(2, 2), (1, 2)], d.moves)

    def test_nothing_to_do_under_threshold(self):
        policy = reactive.ThresholdMMT()
        d = policy.plan(self.view([1.0, 1.0, 1.0], [0, 1, 2],
                                  [1024] * 3))
        self.assertEqual([], d.moves)

    def test_no_destination_under_threshold(self):
        policy = reactive.ThresholdMMT()
        d = policy.plan(self.view([3.5, 3.4], [0, 1], [1024, 1024],
                                  hosts=2))
        self.assertEqual([], d.moves)

    def test_reactive_in_replay_reduces_overload(self):
        # Two busy VMs start together on host 0 of 2 cores.
        w = workload([[1.5] * 10, [1.5] * 10, [0.1] * 10])
        cluster = replay.Cluster(2, 2.0, 8192.0, cpu_ratio=2.0)
        none = replay.simulate(w, cluster, replay.NoMigration('none'),
                               [0, 0, 1], warmup=1)
        thr = replay.simulate(w, cluster, reactive.ThresholdMMT(),
                              [0, 0, 1], warmup=1)
        self.assertEqual(45.0, none['overload_host_minutes'])
        self.assertLess(thr['overload_host_minutes'],
                        none['overload_host_minutes'])
        self.assertGreaterEqual(thr['migrations'], 1)


class LoadTest(base.TestCase):

    def test_planetlab_folder(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(__import__('shutil').rmtree, tmp)
        day = os.path.join(tmp, '20110303')
        os.mkdir(day)
        for name, values in (('a_x', [10] * 288),
                             ('b_y', list(range(288)))):
            with open(os.path.join(day, name), 'w') as f:
                f.write('\n'.join(str(min(v, 100)) for v in values) +
                        '\n')
        w = replay.load_workload(tmp, 'planetlab')
        self.assertEqual(2, w.n_vms)
        self.assertEqual(288, w.n_steps)
        np.testing.assert_array_equal([1.0, 1.0], w.vcpus)
        np.testing.assert_array_equal([870.0, 1740.0], w.ram_mb)
        i = w.vm_ids.index([x for x in w.vm_ids if 'a' in x][0])
        np.testing.assert_allclose(w.cpu[i], 0.1)
        half = replay.load_workload(tmp, 'planetlab', start_day=0.5,
                                    days=0.25)
        self.assertEqual(72, half.n_steps)
        self.assertRaises(replay.ReplayError, replay.load_workload, tmp,
                          'planetlab', start_day=2)

    def test_bench_replay_command(self):
        # irra-manage bench replay on a small PlanetLab-format day: the
        # risk options reach irra and oracle, and are in the setup.
        import io
        import json

        import fixtures
        from oslo_config import cfg

        from irra_openstack.cmd import manage

        tmp = tempfile.mkdtemp()
        self.addCleanup(__import__('shutil').rmtree, tmp)
        day = os.path.join(tmp, '20110303')
        os.mkdir(day)
        rng = np.random.default_rng(0)
        for k in range(8):
            values = np.clip(rng.normal(60, 20, 288), 0, 100).astype(int)
            with open(os.path.join(day, 'vm_%d' % k), 'w') as f:
                f.write('\n'.join(str(v) for v in values) + '\n')
        out = os.path.join(tmp, 'out.json')
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
        rc = manage.main(['bench', 'replay', '--trace', tmp, '--format',
                          'planetlab', '--hosts', '2', '--host-cpus', '4',
                          '--cpu-ratio', '4', '--days', '0.25',
                          '--policies', 'irra,oracle,none',
                          '--forecaster', 'naive', '--move-cost', '2',
                          '--refit-hours', '1', '--hysteresis-hours', '2',
                          '--scenarios', 'residuals',
                          '--forecaster-threads', '1',
                          '--json', out], conf=cfg.ConfigOpts())
        self.assertEqual(0, rc)
        with open(out) as f:
            result = json.load(f)
        setup = result['setup']
        self.assertEqual(('risk', 2.0, 1.0, 1.0, 2.0, 'residuals', 1),
                         (setup['objective'], setup['move_cost'],
                          setup['risk_level'], setup['refit_hours'],
                          setup['hysteresis_hours'], setup['scenarios'],
                          setup['forecaster_threads']))
        for name in ('irra', 'oracle', 'none'):
            self.assertIn('pingpong_migrations', result['policies'][name])
        # By default irra and oracle audit at every 5-minute step.
        self.assertEqual({'irra': 5.0, 'oracle': 5.0, 'none': 5.0},
                         setup['audit_minutes'])

    def test_ffill(self):
        out = replay._ffill(np.array([[np.nan, 1.0, np.nan, 3.0]]))
        np.testing.assert_array_equal([[0.0, 1.0, 1.0, 3.0]], out)

    def test_bad_workload(self):
        self.assertRaises(replay.ReplayError, workload,
                          [[1.0, np.nan]])
        self.assertRaises(replay.ReplayError, workload, [[1.0]],
                          vcpus=np.array([0.0]))


class Empty(object):
    """A rebalancer that never moves anything."""

    def plan(self, model):
        return actions.PlanResult(actions=[])


class EarlyAuditTest(base.TestCase):

    def test_policy_may_audit_between_scheduled_audits(self):
        class Watching(Scripted):
            def __init__(self):
                super().__init__(audit_steps=10)
                self.asked = []

            def early_audit(self, tick, last, vm_host):
                self.asked.append((tick, np.array(last)))
                return tick == 14

        w = workload(np.arange(40.0).reshape(2, 20))
        policy = Watching()
        out = replay.simulate(w, replay.Cluster(2, 100.0, 16384.0), policy,
                              [0, 1], warmup=2)
        self.assertEqual([2, 12, 14], [v.tick for v in policy.views])
        self.assertEqual(3, out['audits'])
        self.assertEqual(1, out['early_audits'])
        # Asked only between the scheduled audits, with the demand of the
        # last tick only.
        asked = [t for t, _ in policy.asked]
        self.assertEqual([t for t in range(3, 20) if t != 12], asked)
        for t, last in policy.asked:
            np.testing.assert_array_equal(w.cpu[:, t - 1], last)

    def _run(self, name, early):
        cpu = np.full((4, 40), 0.5)
        cpu[0, 25:] = 3.9           # vm0 jumps, on host 0 with vm1
        fc = None
        if name == 'irra':
            fc = replay_policies.make_forecaster(300, 4, season_steps=0,
                                                 calibration_steps=10)
        policy = replay_policies.RebalancerPolicy(
            name, Empty(), horizon=4, audit_steps=10, forecaster=fc,
            early_audits=early)
        out = replay.simulate(workload(cpu), replay.Cluster(2, 4.0, 16384.0),
                              policy, [0, 0, 1, 1], warmup=12)
        return out

    def test_irra_audits_when_a_host_leaves_what_it_expected(self):
        out = self._run('irra', True)
        # Scheduled at 12, 22, 32; the jump at tick 25 is seen at 26,
        # beyond the plan of tick 22, whose horizon still covers it.
        self.assertEqual(1, out['early_audits'])
        self.assertEqual(4, out['audits'])
        self.assertEqual(0, self._run('irra', False)['early_audits'])

    def test_oracle_is_never_surprised(self):
        out = self._run('oracle', True)
        self.assertEqual(0, out['early_audits'])
        self.assertEqual(3, out['audits'])
