"""Migration waves: constraints, cost, cycles, windows and replanning."""

import hypothesis
from hypothesis import strategies as st
import numpy as np

from irra_openstack.db import constants
from irra_openstack.optimizer import actions as actions_mod
from irra_openstack.optimizer import explain
from irra_openstack.optimizer import model as model_mod
from irra_openstack.optimizer import waves
from irra_openstack import plugins
from tests import base

LIVE = constants.ActionType.LIVE_MIGRATE
S = constants.ActionState


def make_model(rng, n_hosts=6, n_vms=30, horizon=12, full=False):
    cap = np.tile([32.0, 65536.0, 2000.0], (n_hosts, 1))
    flavor = np.stack([rng.choice([1, 2, 4, 8], n_vms),
                       rng.choice([2048, 4096, 8192, 16384], n_vms),
                       rng.choice([20, 40, 80], n_vms)], 1).astype(float)
    vm_host = rng.integers(0, n_hosts, n_vms)
    usage = flavor[:, None, :] * rng.uniform(0.1, 1.0, (n_vms, horizon, 1))
    return model_mod.ClusterModel(
        host_names=['h%d' % i for i in range(n_hosts)], capacity=cap,
        allocation_ratio=np.ones((n_hosts, 3)),
        reserved=np.zeros((n_hosts, 3)),
        vm_ids=['vm%d' % i for i in range(n_vms)], flavor=flavor,
        vm_host=vm_host, usage_upper=usage,
        threshold=np.full((n_hosts, 3), 0.5),
        max_instances=np.where(rng.random(n_hosts) < 0.3, n_vms // 3, 0))


def random_actions(rng, model, n):
    out = []
    for v in rng.choice(model.n_vms, min(n, model.n_vms), replace=False):
        d = int(rng.integers(model.n_hosts))
        if d == model.vm_host[v]:
            continue
        out.append(actions_mod.PlannedAction(
            LIVE, model.vm_ids[v], source=model.host_names[model.vm_host[v]],
            destination=model.host_names[d],
            reason={'constraint': 'test'}))
    return out


def tiny(capacity_mem, placement, flavors_mem, n_hosts=None):
    """Hosts with only memory mattering; everything else is roomy."""
    n_hosts = n_hosts or len(capacity_mem)
    cap = np.array([[64.0, m, 1000.0] for m in capacity_mem])
    flavor = np.array([[1.0, m, 10.0] for m in flavors_mem])
    v = len(flavors_mem)
    return model_mod.ClusterModel(
        host_names=['h%d' % i for i in range(n_hosts)], capacity=cap,
        allocation_ratio=np.ones((n_hosts, 3)),
        reserved=np.zeros((n_hosts, 3)),
        vm_ids=['vm%d' % i for i in range(v)], flavor=flavor,
        vm_host=np.array(placement), usage_upper=np.repeat(
            flavor[:, None, :] * 0.5, 6, axis=1))


def move(model, vm, dst):
    v = model.vm_ids.index(vm)
    return actions_mod.PlannedAction(
        LIVE, vm, source=model.host_names[model.vm_host[v]],
        destination=dst)


def check_constraints(test, result, model, c, first_wave=0,
                      vm_host=None):
    """Every constraint, recomputed independently of the scheduler."""
    migs = [a for a in result.actions
            if a.action_type in waves.MIGRATIONS and a.wave is not None
            and a.wave >= first_wave]
    if not migs:
        return
    hosts = {n: i for i, n in enumerate(model.host_names)}
    vms = {v: i for i, v in enumerate(model.vm_ids)}
    lim_in = c.max_incoming_per_host or c.max_concurrent_per_host
    n_waves = max(a.wave for a in migs) + 1
    cap = np.concatenate([model.placement_capacity(), np.where(
        model.max_instances > 0, model.max_instances,
        np.inf)[:, None]], axis=1)
    vm_host = model.vm_host if vm_host is None else vm_host
    alloc0 = np.concatenate([model.host_allocated(vm_host), np.bincount(
        vm_host[vm_host >= 0], minlength=model.n_hosts)[:, None]], axis=1)
    keys = {a.key: a for a in result.actions}
    hb = c.host_bandwidth if c.host_bandwidth is not None else np.full(
        model.n_hosts, c.migration_bandwidth)
    for k in range(first_wave, n_waves):
        wave = [a for a in migs if a.wave == k]
        outs = [a.source for a in wave]
        ins = [a.destination for a in wave]
        for h in set(outs):
            test.assertLessEqual(outs.count(h), c.max_concurrent_per_host)
        for h in set(ins):
            test.assertLessEqual(ins.count(h), lim_in)
        if c.region_bandwidth:
            bw = sum(min(hb[hosts[a.source]], hb[hosts[a.destination]],
                         c.region_bandwidth) for a in wave)
            test.assertLessEqual(bw, c.region_bandwidth + 1e-6)
        alloc = alloc0.copy()
        for a in migs:
            f = np.append(model.flavor[vms[a.resource_id]], 1.0)
            if a.wave <= k:
                alloc[hosts[a.destination]] += f
            if a.wave < k:
                alloc[hosts[a.source]] -= f
        for h in set(ins):
            test.assertTrue(
                np.all(alloc[hosts[h]] <= cap[hosts[h]] + 1e-6),
                'wave %d overfills %s: %s > %s'
                % (k, h, alloc[hosts[h]], cap[hosts[h]]))
    for a in migs:
        for dep in a.depends_on:
            if dep in keys and keys[dep].wave is not None:
                test.assertLess(keys[dep].wave, a.wave)
        explain.validate(dict({'constraint': '', 'forecast': {},
                               'benefit': {}}, **a.reason))
        test.assertEqual(a.wave, a.reason['schedule']['wave'])
    # A VM's hops run in order, each from where the last one ended.
    by_vm = {}
    for a in sorted(migs, key=lambda a: a.wave):
        if a.resource_id in by_vm:
            test.assertEqual(by_vm[a.resource_id].destination, a.source)
            test.assertLess(by_vm[a.resource_id].wave, a.wave)
        by_vm[a.resource_id] = a
    if c.windows:
        wins = c.relative_windows()
        for a in migs:
            s = a.reason['schedule']
            lo, hi = s['start'], s['start'] + s['wave_seconds']
            test.assertTrue(any(w0 - 1e-3 <= lo and hi <= w1 + 1e-3
                                for w0, w1 in wins),
                            'wave %d [%g, %g] outside %s'
                            % (a.wave, lo, hi, wins))


class RandomInstancesTest(base.TestCase):

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(seed=st.integers(0, 10 ** 6),
                      n_hosts=st.integers(2, 8),
                      n_actions=st.integers(0, 25),
                      per_host=st.integers(1, 3),
                      region_bw=st.sampled_from([0.0, 1500.0, 4000.0]),
                      windows=st.booleans())
    def test_constraints_hold_and_annealing_not_worse(
            self, seed, n_hosts, n_actions, per_host, region_bw, windows):
        rng = np.random.default_rng(seed)
        model = make_model(rng, n_hosts=n_hosts)
        acts = random_actions(rng, model, n_actions)
        c = waves.WaveConstraints(
            max_concurrent_per_host=per_host, region_bandwidth=region_bw,
            host_bandwidth=rng.uniform(500, 2000, n_hosts),
            windows=((0, 120), (300, 500), (900, 5000)) if windows
            else ())
        greedy = waves.GreedyWaveScheduler(c).schedule(acts, model)
        annealed = waves.AnnealingWaveScheduler(
            c, iterations=30, seed=seed).schedule(acts, model)
        for result in (greedy, annealed):
            check_constraints(self, result, model, c)
            # Every action is scheduled or reported.
            scheduled = {a.resource_id for a in result.actions
                         if a.wave is not None}
            reported = {s.resource_id for s in result.shortfalls}
            self.assertEqual({a.resource_id for a in acts},
                             scheduled | reported)
        # Both start from the same list schedule: the same shortfalls, and
        # the annealing keeps the best schedule it saw.
        self.assertEqual([s.reason for s in greedy.shortfalls],
                         [s.reason for s in annealed.shortfalls])
        self.assertLessEqual(annealed.summary['cost']['total'],
                             greedy.summary['cost']['total'] + 1e-6)

    def test_annealing_improves_and_is_deterministic(self):
        rng = np.random.default_rng(7)
        model = make_model(rng, n_hosts=8, n_vms=50)
        acts = random_actions(rng, model, 30)
        c = waves.WaveConstraints(region_bandwidth=3000.0)
        greedy = waves.GreedyWaveScheduler(c).schedule(acts, model)
        a1 = waves.AnnealingWaveScheduler(c, seed=3).schedule(acts, model)
        a2 = waves.AnnealingWaveScheduler(c, seed=3).schedule(acts, model)
        self.assertEqual([(a.key, a.wave) for a in a1.actions],
                         [(a.key, a.wave) for a in a2.actions])
        self.assertLess(a1.summary['cost']['total'],
                        greedy.summary['cost']['total'])
        self.assertEqual(greedy.summary['cost']['total'],
                         a1.summary['greedy_cost'])
        check_constraints(self, a1, model, c)
        # The cost the summary reports is the cost of the schedule.
        p = waves._Problem([a for a in a1.actions], model, c)
        w = np.array([a.wave for a in a1.actions])
        self.assertAlmostEqual(a1.summary['cost']['total'],
                               waves.schedule_cost(p, w)[0], places=2)


class DependencyTest(base.TestCase):

    def test_move_in_waits_for_room(self):
        # h0 is full with vm0 (8 GiB); vm1 moves h1 -> h0 and needs vm0
        # to leave first (h0 -> h2).
        model = tiny([8192, 8192, 8192], [0, 1], [8192, 8192])
        into = move(model, 'vm1', 'h0')
        out = move(model, 'vm0', 'h2')
        for sched in (waves.GreedyWaveScheduler(),
                      waves.AnnealingWaveScheduler(seed=1)):
            r = sched.schedule([into, out], model)
            by = {a.resource_id: a for a in r.actions}
            self.assertLess(by['vm0'].wave, by['vm1'].wave)
            self.assertEqual((by['vm0'].key,), by['vm1'].depends_on)
            self.assertEqual([], r.shortfalls)
            self.assertIn('vm0 leaves h0',
                          by['vm1'].reason['schedule']['waits_for'][0])

    def test_no_dependency_when_room(self):
        model = tiny([16384, 8192, 8192], [0, 1], [8192, 8192])
        r = waves.GreedyWaveScheduler(waves.WaveConstraints(
            max_concurrent_per_host=2)).schedule(
            [move(model, 'vm1', 'h0'), move(model, 'vm0', 'h2')], model)
        self.assertEqual({0}, {a.wave for a in r.actions})
        self.assertEqual([(), ()], [a.depends_on for a in r.actions])

    def test_per_host_limit_makes_waves(self):
        model = tiny([65536] * 4, [0, 0, 0], [1024] * 3)
        acts = [move(model, 'vm%d' % i, 'h%d' % (i + 1)) for i in range(3)]
        r = waves.GreedyWaveScheduler().schedule(acts, model)
        self.assertEqual([0, 1, 2], sorted(a.wave for a in r.actions))
        r = waves.GreedyWaveScheduler(waves.WaveConstraints(
            max_concurrent_per_host=3)).schedule(acts, model)
        self.assertEqual([0, 0, 0], [a.wave for a in r.actions])

    def test_region_bandwidth_makes_waves(self):
        model = tiny([65536] * 6, [0, 1, 2], [1024] * 3)
        acts = [move(model, 'vm%d' % i, 'h%d' % (i + 3)) for i in range(3)]
        c = waves.WaveConstraints(migration_bandwidth=1000.0,
                                  region_bandwidth=2000.0)
        r = waves.GreedyWaveScheduler(c).schedule(acts, model)
        self.assertEqual(2, r.summary['waves'])
        check_constraints(self, r, model, c)


class CycleTest(base.TestCase):

    def test_swap_is_staged_through_a_host_with_room(self):
        # h0 and h1 are full and swap their VMs; h2 has room.
        model = tiny([8192, 8192, 8192], [0, 1], [8192, 8192])
        acts = [move(model, 'vm0', 'h1'), move(model, 'vm1', 'h0')]
        c = waves.WaveConstraints()
        r = waves.AnnealingWaveScheduler(c, seed=2).schedule(acts, model)
        self.assertEqual([], r.shortfalls)
        self.assertEqual(3, len(r.actions))
        self.assertEqual(1, r.summary['staged'] // 2)
        staged = [a for a in r.actions if a.reason.get('staging')]
        self.assertEqual({'h2'}, {staged[0].destination} | {
            staged[1].source})
        self.assertIn('cycle h', staged[0].reason['staging'])
        check_constraints(self, r, model, c)
        # The VMs end where the rebalancer wanted them.
        final = {}
        for a in sorted(r.actions, key=lambda a: a.wave):
            final[a.resource_id] = a.destination
        self.assertEqual({'vm0': 'h1', 'vm1': 'h0'}, final)

    def test_staging_host_respects_the_vm_zone(self):
        # The only host with room is in another availability zone.
        model = tiny([8192, 8192, 8192], [0, 1], [8192, 8192])
        model.host_az = ['az1', 'az1', 'az2']
        model.vm_az = ['az1', 'az1']
        acts = [move(model, 'vm0', 'h1'), move(model, 'vm1', 'h0')]
        r = waves.GreedyWaveScheduler().schedule(acts, model)
        self.assertEqual(2, len(r.shortfalls))
        model.vm_az = [None, 'az1']
        r = waves.GreedyWaveScheduler().schedule(acts, model)
        self.assertEqual([], r.shortfalls)
        self.assertEqual(['vm0', 'vm0'], [a.resource_id for a in r.actions
                                          if a.reason.get('staging')])

    def test_swap_without_room_is_reported(self):
        model = tiny([8192, 8192], [0, 1], [8192, 8192])
        acts = [move(model, 'vm0', 'h1'), move(model, 'vm1', 'h0')]
        r = waves.GreedyWaveScheduler().schedule(acts, model)
        self.assertEqual([], [a for a in r.actions if a.wave is not None])
        self.assertEqual(['vm0', 'vm1'],
                         sorted(s.resource_id for s in r.shortfalls))
        self.assertIn('cycle', r.shortfalls[0].reason)
        self.assertEqual(2, r.summary['unscheduled'])

    def test_destination_without_room_is_reported(self):
        model = tiny([8192, 4096], [0, 1], [8192, 4096])
        r = waves.GreedyWaveScheduler().schedule(
            [move(model, 'vm0', 'h1')], model)
        self.assertEqual(1, len(r.shortfalls))
        self.assertIn('h1 has no room for VM vm0', r.shortfalls[0].reason)
        self.assertEqual('MEMORY_MB', r.shortfalls[0].resource_class)


class WindowTest(base.TestCase):

    def test_waves_inside_windows(self):
        model = tiny([65536] * 2, [0, 0, 0], [8192] * 3)
        acts = [move(model, 'vm%d' % i, 'h1') for i in range(3)]
        # Each migration takes 5 + 8 s; one fits in each window.
        c = waves.WaveConstraints(start=1000, windows=(
            (1000, 1015), (2000, 2015), (3000, 3100)))
        r = waves.GreedyWaveScheduler(c).schedule(acts, model)
        starts = sorted(a.reason['schedule']['start'] for a in r.actions)
        self.assertEqual([0.0, 1000.0, 2000.0], starts)
        check_constraints(self, r, model, c)

    def test_too_long_for_any_window_is_reported(self):
        model = tiny([65536] * 2, [0], [8192])
        c = waves.WaveConstraints(windows=((0, 10),))
        r = waves.GreedyWaveScheduler(c).schedule(
            [move(model, 'vm0', 'h1')], model)
        self.assertEqual([], [a for a in r.actions if a.wave is not None])
        self.assertIn('maintenance window', r.shortfalls[0].reason)

    def test_daily_windows(self):
        wins = waves.daily_windows(86400 * 10 + 3600, 1, ['23:00-01:30'])
        self.assertEqual((86400 * 10 + 3600, 86400 * 10 + 5400), wins[0])
        self.assertEqual((86400 * 11 - 3600, 86400 * 11 + 5400), wins[1])
        self.assertRaises(waves.WaveError, waves.daily_windows, 0, 1,
                          ['25:00-01:00'])


class CostTest(base.TestCase):

    def test_dirty_rate_lengthens_busy_migrations(self):
        model = tiny([65536] * 2, [0, 0], [8192, 8192])
        c = waves.WaveConstraints(activity=np.array([0.0, 1.0]),
                                  dirty_coefficient=0.05)
        p = waves._Problem([move(model, 'vm0', 'h1').with_key('s'),
                            move(model, 'vm1', 'h1').with_key('s')],
                           model, c)
        self.assertAlmostEqual(5 + 8.192, p.dur[0])
        rho = 0.05 * 8192 / 1000
        self.assertAlmostEqual(5 + 8.192 / (1 - rho), p.dur[1])

    def test_cold_migration_copies_the_disk(self):
        model = tiny([65536] * 2, [0], [8192])
        a = move(model, 'vm0', 'h1')
        a.action_type = constants.ActionType.COLD_MIGRATE
        p = waves._Problem([a.with_key('s')], model,
                           waves.WaveConstraints(migration_bandwidth=100.0))
        self.assertAlmostEqual(5 + 10 * 1024 / 100.0, p.dur[0])
        self.assertEqual(1.0, p.dirty_factor[0])

    def test_overloaded_source_goes_first(self):
        # h0 is predicted overloaded, h1 is not; one wave at a time.
        model = tiny([65536] * 3, [0, 1], [8192, 8192])
        model.usage_upper[0, :, 0] = 60.0       # 60 VCPU on 64
        model.threshold[:] = 0.8
        acts = [move(model, 'vm1', 'h2'), move(model, 'vm0', 'h2')]
        r = waves.AnnealingWaveScheduler(seed=0).schedule(acts, model)
        by = {a.resource_id: a.wave for a in r.actions}
        self.assertLess(by['vm0'], by['vm1'])
        self.assertGreater(r.summary['cost']['contention'], 0)


class ReplanTest(base.TestCase):

    def test_replan_keeps_started_waves(self):
        rng = np.random.default_rng(11)
        model = make_model(rng, n_hosts=6, n_vms=40)
        acts = random_actions(rng, model, 20)
        c = waves.WaveConstraints()
        sched = waves.AnnealingWaveScheduler(c, seed=5)
        plan = sched.schedule(acts, model)
        done = [a for a in plan.actions if a.wave == 0]
        ongoing = [a for a in plan.actions if a.wave == 1]
        later = [a for a in plan.actions if a.wave is not None
                 and a.wave >= 2]
        self.assertTrue(done and ongoing and len(later) > 2)
        failed, deviating = ongoing[0], later[0]
        states = {a.key: S.SUCCEEDED for a in done}
        states.update({a.key: S.ONGOING for a in ongoing[1:]})
        states[failed.key] = S.FAILED
        # Reality: the first wave moved; the failed VM stayed.
        hosts = {n: i for i, n in enumerate(model.host_names)}
        vm_host = model.vm_host.copy()
        for a in done:
            vm_host[model.vm_ids.index(a.resource_id)] = \
                hosts[a.destination]
        now = model_mod.ClusterModel(**dict(
            model.__dict__, vm_host=vm_host,
            usage_upper=model.usage_upper * 1.2, usage_point=None))
        state = waves.ScheduleState(plan.actions, states)
        result = sched.replan(state, [failed.key, deviating.key], now)
        by = {a.key: a for a in result.actions}
        for a in done + ongoing[1:]:
            self.assertEqual(a.wave, by[a.key].wave)
            self.assertIs(a, by[a.key])
        self.assertNotIn(failed.key, by)
        self.assertIn(failed.key, ' '.join(s.reason
                                           for s in result.shortfalls))
        rescheduled = [a for a in result.actions if a.key not in states]
        self.assertEqual(len(plan.actions) - len(done) - len(ongoing),
                         result.summary['rescheduled'])
        self.assertTrue(all(a.wave >= 2 for a in rescheduled
                            if a.wave is not None))
        self.assertEqual('actuals left the forecast interval',
                         by[deviating.key].reason.get('replanned'))
        # The remainder obeys every constraint from the current state,
        # the ongoing moves done.
        vm_now = vm_host.copy()
        for a in ongoing[1:]:
            vm_now[model.vm_ids.index(a.resource_id)] = \
                hosts[a.destination]
        check_constraints(self, result, now, c, first_wave=2,
                          vm_host=vm_now)

    def test_from_records(self):
        model = tiny([8192, 8192, 8192], [0, 1], [8192, 8192])
        r = waves.GreedyWaveScheduler().schedule(
            [move(model, 'vm1', 'h0'), move(model, 'vm0', 'h2')], model)
        records = [dict(a.as_record(), state=S.PENDING) for a in r.actions]
        state = waves.ScheduleState.from_records(records)
        self.assertEqual([(a.key, a.wave, a.depends_on) for a in r.actions],
                         [(a.key, a.wave, a.depends_on)
                          for a in state.actions])


class BadInputTest(base.TestCase):

    def test_errors(self):
        model = tiny([8192, 8192], [0, 1], [4096, 4096])
        sched = waves.GreedyWaveScheduler()
        bad = actions_mod.PlannedAction(LIVE, 'nope', source='h0',
                                        destination='h1')
        self.assertRaisesRegex(waves.WaveError, 'VM nope, which is not',
                               sched.schedule, [bad], model)
        wrong = actions_mod.PlannedAction(LIVE, 'vm0', source='h1',
                                          destination='h0')
        self.assertRaisesRegex(waves.WaveError, 'model has it on h0',
                               sched.schedule, [wrong], model)
        self.assertRaisesRegex(
            waves.WaveError, 'max_concurrent_per_host',
            waves.GreedyWaveScheduler,
            waves.WaveConstraints(max_concurrent_per_host=0))
        self.assertRaisesRegex(
            waves.WaveError, 'window',
            sched.schedule, [move(model, 'vm0', 'h1')], model,
            waves.WaveConstraints(windows=((10, 5),)))
        self.assertRaisesRegex(waves.WaveError, 'no action has the key',
                               sched.replan, waves.ScheduleState([]),
                               ['x'], model)

    def test_other_actions_pass_through(self):
        model = tiny([8192, 8192], [0, 1], [4096, 4096])
        reserve = actions_mod.PlannedAction(
            constants.ActionType.RESERVE, 'h0',
            resource_kind=constants.ResourceKind.HOST)
        r = waves.GreedyWaveScheduler().schedule(
            [reserve, move(model, 'vm0', 'h1')], model)
        self.assertEqual([0, None], [a.wave for a in r.actions])

    def test_plugins(self):
        for name, cls in (('annealing', waves.AnnealingWaveScheduler),
                          ('greedy', waves.GreedyWaveScheduler)):
            sched = plugins.load('irra.schedulers', name)
            self.assertIsInstance(sched, cls)
            for opt in cls.get_config_opts():
                self.assertTrue(opt.help)


class ExplainTest(base.TestCase):

    def test_complete_keeps_planner_details_and_adds_numbers(self):
        model = tiny([8192, 8192, 8192], [0, 1], [8192, 8192])
        model.usage_upper[0, 3, 0] = 60.0
        a = move(model, 'vm0', 'h2')
        a.reason = {'forecast': {'source': 'h0'}, 'benefit': {'x': 1}}
        explain.complete(a, model, level=0.8,
                         usage_lower=model.usage_upper * 0.5)
        fc = a.reason['forecast']
        self.assertEqual('h0', fc['source'])
        self.assertEqual(('VCPU', 60.0, 0.8, 3 * model.step),
                         (fc['metric'], fc['upper'], fc['level'], fc['at']))
        self.assertLessEqual(fc['lower'], fc['point'])
        self.assertEqual('host overload: h0 VCPU', a.reason['constraint'])
        self.assertEqual((1, 60.0, 'VCPU'), (
            a.reason['benefit']['x'], a.reason['benefit']['amount'],
            a.reason['benefit']['unit']))
        text = explain.describe(a)
        self.assertIn('resolves host overload: h0 VCPU', text)
        self.assertIn('[', text)

    def test_bad_reasons(self):
        self.assertRaisesRegex(explain.ExplainError, 'no benefit',
                               explain.validate,
                               {'forecast': {}, 'constraint': 'c'})
        self.assertRaisesRegex(explain.ExplainError, 'finite',
                               explain.forecast_numbers, 'VCPU', 1.0, 0.5,
                               float('inf'), 0.9)
        self.assertRaisesRegex(explain.ExplainError, 'lower <= point',
                               explain.forecast_numbers, 'VCPU', 1.0, 2.0,
                               3.0, 0.9)
        self.assertRaisesRegex(explain.ExplainError, 'JSON',
                               explain.build, {}, 'c',
                               explain.benefit(1, 'VCPU', 'x'),
                               extra=object())
        r = explain.build(explain.forecast_numbers('VCPU', 2, 1, 3, 0.9, 4),
                          'host overload', explain.benefit(1, 'VCPU', 'x'),
                          price=0.25)
        self.assertEqual(0.25, r['price'])


class ReplanPropertyTest(base.TestCase):

    @hypothesis.settings(max_examples=15, deadline=None)
    @hypothesis.given(seed=st.integers(0, 10 ** 6),
                      n_done=st.integers(0, 3),
                      fail=st.booleans())
    def test_replan_keeps_constraints(self, seed, n_done, fail):
        rng = np.random.default_rng(seed)
        model = make_model(rng, n_hosts=5, n_vms=30)
        acts = random_actions(rng, model, 15)
        c = waves.WaveConstraints(max_concurrent_per_host=2)
        sched = waves.GreedyWaveScheduler(c)
        plan = sched.schedule(acts, model)
        scheduled = [a for a in plan.actions if a.wave is not None]
        hypothesis.assume(scheduled)
        states = {a.key: S.SUCCEEDED for a in scheduled
                  if a.wave < n_done}
        failed = [a for a in scheduled if a.wave == n_done][:1] \
            if fail else []
        for a in failed:
            states[a.key] = S.FAILED
        hosts = {n: i for i, n in enumerate(model.host_names)}
        vm_host = model.vm_host.copy()
        for a in scheduled:
            if states.get(a.key) == S.SUCCEEDED:
                vm_host[model.vm_ids.index(a.resource_id)] = \
                    hosts[a.destination]
        now = model_mod.ClusterModel(**dict(model.__dict__,
                                            vm_host=vm_host))
        result = sched.replan(waves.ScheduleState(scheduled, states),
                              [a.key for a in failed], now)
        first = result.summary['first_wave']
        for a in result.actions:
            if a.key in states:
                self.assertIn(a.wave, range(first))
            elif a.wave is not None:
                self.assertGreaterEqual(a.wave, first)
        check_constraints(self, result, now, c, first_wave=first,
                          vm_host=vm_host)
        # Every pending action is rescheduled or reported.
        pending = {a.key for a in scheduled if a.key not in states}
        out = {a.key for a in result.actions}
        reported = ' '.join(s.reason for s in result.shortfalls)
        staged = {a.resource_id for a in result.actions
                  if a.reason.get('staging')}
        by_key = {a.key: a for a in scheduled}
        for key in pending - out:
            self.assertTrue(key in reported or
                            by_key[key].resource_id in staged, key)


class CompareTest(base.TestCase):

    def test_compare_on_a_rebalanced_cluster(self):
        out = waves.compare(20, 200, seed=4, iterations=20,
                            constraints=waves.WaveConstraints(
                                region_bandwidth=3000.0))
        self.assertGreater(out['migrations'], 0)
        self.assertEqual({'greedy', 'annealing'}, set(out['schedulers']))
        self.assertLessEqual(out['annealing_over_greedy'], 1.0)
        self.assertEqual(
            out['schedulers']['greedy']['cost']['migration_seconds'],
            out['schedulers']['annealing']['cost']['migration_seconds'])
