"""Watcher's strategies on tiny replay states, offline.

python-watcher is a bench extra that the tests need: without it these
tests fail and say how to install it.
"""

import numpy as np

from irra_openstack.engine.peers import watcher
from irra_openstack.engine import replay
from tests import base


def view(history, vm_host, hosts=3, cores=8.0, ratio=4.0, vcpus=None,
         disabled=None):
    history = np.asarray(history, dtype=float)
    v = history.shape[0]
    return replay.AuditView(
        tick=history.shape[1], step=300, history=history,
        vm_host=np.asarray(vm_host), migrating=np.zeros(v, dtype=bool),
        vm_ids=['vm%d' % i for i in range(v)],
        vcpus=np.full(v, 2.0) if vcpus is None else vcpus,
        ram_mb=np.full(v, 2048.0),
        cluster=replay.Cluster(hosts, cores, 32768.0, cpu_ratio=ratio),
        disabled=(np.zeros(hosts, dtype=bool) if disabled is None
                  else np.asarray(disabled)))


class WatcherTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        try:
            import watcher as _watcher  # noqa: F401
        except ImportError:
            self.fail('OpenStack Watcher is needed by these tests: '
                      + watcher.INSTALL_HINT)


class DatasourceTest(WatcherTestCase):

    def test_units_and_window_means(self):
        # vm0: 2 vCPUs, using 1.0 then 1.5 vCPU: mean of the last two
        # 5-minute ticks is 1.25 vCPU = 62.5 % of its own vCPUs.
        v = view([[0.0, 1.0, 1.5], [0.5, 0.5, 0.5]], [0, 0])
        model = watcher.build_model(v)
        ds = watcher._datasource_class()(v, model)
        inst = model.get_instance_by_uuid(watcher._vm_uuid(0))
        node = model.get_node_by_uuid(watcher._host_uuid(0))
        self.assertAlmostEqual(62.5, ds.get_instance_cpu_usage(inst, 600))
        self.assertAlmostEqual(75.0, ds.get_instance_cpu_usage(inst, 300))
        self.assertEqual(2048.0, ds.get_instance_ram_usage(inst))
        self.assertEqual(2048.0, ds.get_instance_ram_allocated(inst))
        # Host CPU in % of its 8 physical cores; RAM in KiB.
        self.assertAlmostEqual(100 * (1.25 + 0.5) / 8,
                               ds.get_host_cpu_usage(node, 600))
        self.assertEqual(2 * 2048 * 1024.0, ds.get_host_ram_usage(node))
        self.assertEqual(
            ds.get_host_cpu_usage(node, 600),
            ds.statistic_aggregation(node, 'compute_node',
                                     'host_cpu_usage', 600))
        self.assertIsNone(ds.get_host_power(node))

    def test_every_getter_is_overridden(self):
        from watcher.decision_engine.datasources import base as ds_base

        cls = watcher._datasource_class()
        getters = [n for n in dir(ds_base.DataSourceBase)
                   if n.startswith('get_') or n.startswith('statistic')]
        self.assertTrue(getters)
        for name in getters:
            self.assertIsNot(getattr(ds_base.DataSourceBase, name),
                             getattr(cls, name), name)


class StrategiesTest(WatcherTestCase):

    def busy_view(self):
        # Six VMs on host 0, each at 90 % of 2 vCPUs: 10.8 of 8 cores.
        return view(np.full((6, 4), 1.8), [0] * 4 + [1] * 2)

    def test_workload_stabilization_moves_off_the_busy_host(self):
        policy = watcher.WatcherPolicy('workload_stabilization')
        d = policy.plan(self.busy_view())
        self.assertTrue(d.moves)
        for vm, dest in d.moves:
            self.assertNotEqual(0, dest)
        self.assertIn(d.moves[0][0], range(4))

    def test_workload_balance_runs_until_nothing(self):
        policy = watcher.WatcherPolicy('workload_balance')
        d = policy.plan(self.busy_view())
        # One migration per run: as many runs as moves, plus the empty
        # last one.
        self.assertGreaterEqual(len(d.moves), 1)
        self.assertEqual(len(d.moves) + 1, policy.runs)

    def test_vm_workload_consolidation_packs_and_disables(self):
        # Light load spread over three hosts: it packs and disables.
        v = view(np.full((6, 4), 0.2), [0, 0, 1, 1, 2, 2])
        policy = watcher.WatcherPolicy('vm_workload_consolidation')
        d = policy.plan(v)
        self.assertTrue(d.moves)
        self.assertTrue(d.disable)
        final = np.array(v.vm_host)
        for vm, dest in d.moves:
            final[vm] = dest
        for host in d.disable:
            self.assertNotIn(host, final)

    def test_in_the_replay(self):
        w = replay.Workload(vm_ids=['a', 'b', 'c', 'd'],
                            cpu=np.full((4, 6), 1.9), vcpus=np.full(4, 2.0),
                            ram_mb=np.full(4, 2048.0))
        cluster = replay.Cluster(2, 4.0, 32768.0, cpu_ratio=4.0)
        policy = watcher.WatcherPolicy('workload_stabilization',
                                       audit_steps=2)
        out = replay.simulate(w, cluster, policy, [0, 0, 0, 1], warmup=1)
        self.assertEqual(3, out['audits'])
        self.assertGreaterEqual(out['migrations'], 1)
        self.assertGreater(out['plan_seconds'], 0.0)

    def test_failed_audit_applies_nothing_and_is_counted(self):
        # An audit whose strategy raises applies nothing, as in Watcher;
        # the next audit runs, and the result says how many failed and
        # quotes the first.
        w, cluster = _two_vms_one_host(6)
        policy = watcher.WatcherPolicy('workload_stabilization')
        real = policy.cls.execute
        calls = []

        def broken_at_first(strategy, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise ValueError('-5 is less than the minimum of 0')
            return real(strategy, *args, **kwargs)

        self.patch(policy.cls, 'execute', broken_at_first)
        out = replay.run(w, cluster, {'watcher:workload_stabilization':
                                      policy,
                                      'none': replay.NoMigration('none')},
                         warmup=1)
        result = out['policies']['watcher:workload_stabilization']
        self.assertNotIn('error', result)
        self.assertEqual(1, result['failed_audits'])
        self.assertIn("Watcher's workload_stabilization failed at tick 1",
                      result['first_failure'])
        self.assertIn('ValueError: -5 is less than', result['first_failure'])
        self.assertEqual(5, result['audits'])
        self.assertEqual(5, len(calls))
        self.assertIn('migrations', out['policies']['none'])

    def test_every_audit_failing_moves_nothing(self):
        w, cluster = _two_vms_one_host(4)
        policy = watcher.WatcherPolicy('workload_balance')

        def broken(*args, **kwargs):
            raise ValueError('broken')

        self.patch(policy.cls, 'execute', broken)
        out = replay.simulate(w, cluster, policy, [0, 0], warmup=1)
        self.assertEqual(0, out['migrations'])
        self.assertEqual(3, out['failed_audits'])

    def test_parameters_from_schema_and_overrides(self):
        policy = watcher.WatcherPolicy('workload_balance',
                                       overrides={'threshold': 50.0})
        params = policy.parameters()
        self.assertEqual(50.0, params.threshold)
        self.assertEqual(
            policy.cls.get_schema()['properties']['period']['default'],
            params.period)

    def test_unknown_strategy(self):
        self.assertRaises(replay.ReplayError, watcher.WatcherPolicy,
                          'dummy')


def _two_vms_one_host(ticks):
    """Two busy 2-vCPU VMs and two 4-core hosts, for ``ticks`` ticks."""
    w = replay.Workload(vm_ids=['a', 'b'], cpu=np.full((2, ticks), 1.8),
                        vcpus=np.full(2, 2.0), ram_mb=np.full(2, 2048.0))
    return w, replay.Cluster(2, 4.0, 32768.0, cpu_ratio=4.0)
