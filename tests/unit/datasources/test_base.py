"""Unit tests of the datasources' pure logic."""

import os

import fixtures
import numpy as np

from irra_openstack.datasources import base
from irra_openstack.datasources import gnocchi
from irra_openstack.datasources import inventory
from irra_openstack.datasources import prometheus
from irra_openstack.datasources import replay
from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack.traces import api as traces_api
from tests import base as test_base

nan = np.nan


class CounterTest(test_base.TestCase):

    def test_rate_gap_and_reset(self):
        c = np.array([[0, 300, nan, 1500, 100, 400],
                      [nan, nan, 10, 10, nan, nan]])
        r = base.counter_to_rate(c, 300)
        np.testing.assert_allclose(
            r, [[nan, 1, nan, 2, 100 / 300., 1],
                [nan, nan, nan, 0, nan, nan]])
        self.assertEqual(1, base.count_resets(c))

    def test_one_dimension(self):
        np.testing.assert_allclose(
            base.counter_to_rate(np.array([5., 10.]), 5), [nan, 1])

    def test_cpu_percent(self):
        rate = np.array([[2e9, 1e9], [1e9, 1e9]])   # ns per second
        out = base.cpu_percent(rate, [4, nan], 1e9)
        np.testing.assert_allclose(out, [[50, 25], [nan, nan]])


class GridTest(test_base.TestCase):

    def test_mean_and_last(self):
        ridx = [0, 0, 1, 0]
        times = [1000, 1100, 1010, 1350]
        vals = [1., 3., 7., 9.]
        g, st = base.samples_to_grid(ridx, times, vals, 2, 900, 3, 300)
        np.testing.assert_allclose(g, [[2, 9, nan], [7, nan, nan]])
        g, st = base.samples_to_grid(ridx, times, vals, 2, 900, 3, 300,
                                     how='last')
        np.testing.assert_allclose(g, [[3, 9, nan], [7, nan, nan]])

    def test_outside_and_bad(self):
        g, st = base.samples_to_grid([0, 0, 0], [0, 950, nan], [1, 2, 3],
                                     1, 900, 1, 300)
        self.assertEqual({'bad': 1, 'outside': 1}, st)
        np.testing.assert_allclose(g, [[2]])

    def test_align_window(self):
        self.assertEqual((900, 1500), base.align_window(1000, 1250, 300))

    def test_presence(self):
        v = np.full((2, 1, 5), nan)
        v[0, 0, 1:3] = 1
        first, last = base.presence(v)
        self.assertEqual([1, -1], list(first))
        self.assertEqual([2, -1], list(last))


class BreakerTest(test_base.TestCase):

    def test_opens_half_opens_closes(self):
        now = [0.0]
        b = base.CircuitBreaker(threshold=2, reset_after=10,
                                clock=lambda: now[0])
        self.assertTrue(b.allow())
        b.failure()
        self.assertEqual('closed', b.state)
        b.failure()
        self.assertEqual('open', b.state)
        self.assertFalse(b.allow())
        now[0] = 11
        self.assertEqual('half-open', b.state)
        self.assertTrue(b.allow())
        self.assertFalse(b.allow())         # one trial at a time
        b.success()
        self.assertEqual('closed', b.state)
        self.assertTrue(b.allow())


class SpecTest(test_base.TestCase):

    def test_parse(self):
        s = base.MetricSpec.parse('net_in_bps|counter|8|a{x=~"a|b"} by vm')
        self.assertEqual(('net_in_bps', 'counter', 8.0, 'a{x=~"a|b"} by vm',
                          'B/s'), (s.name, s.kind, s.scale, s.source,
                                   s.unit))
        self.assertRaises(exception.ConfigError, base.MetricSpec.parse,
                          'cpu|gauge')
        self.assertRaises(exception.ConfigError, base.MetricSpec.parse,
                          'cpu|nope|1|x')
        self.assertRaises(exception.ConfigError, base.MetricSpec.parse,
                          'cpu|gauge|x|x')

    def test_gnocchi_source(self):
        self.assertEqual(('cpu', 'instance', 'id'),
                         gnocchi.parse_source('cpu'))
        self.assertEqual(('network.incoming.bytes',
                          'instance_network_interface', 'instance_id'),
                         gnocchi.parse_source(
                             'network.incoming.bytes@'
                             'instance_network_interface/instance_id'))

    def test_promql(self):
        self.assertEqual('a{region="r\\"1"}',
                         prometheus.add_matchers('a', {'region': 'r"1'}))
        self.assertEqual('a{b="c",d="e"}',
                         prometheus.add_matchers('a{b="c"}', {'d': 'e'}))
        ds = prometheus.PrometheusDatasource(
            [base.Region('r1', 'http://127.0.0.1:1')], region_label='reg')
        q, label = ds.build_query(ds.regions['r1'], ds.metrics['cpu_util'],
                                  300)
        self.assertEqual('sum by (resource) (last_over_time('
                         'ceilometer_cpu{reg="r1"}[300s]))', q)
        q, label = ds.build_query(ds.regions['r1'],
                                  ds.metrics['net_in_bps'], 60,
                                  resource='vm1')
        self.assertEqual('vm_instance', label)
        self.assertIn('vm_instance="vm1"', q)
        q, label = ds.build_query(ds.regions['r1'],
                                  ds.host_metrics['cpu_util'], 60,
                                  kind='host')
        self.assertEqual('instance', label)
        self.assertIn('[60s]', q)
        self.assertRaises(base.DatasourceError,
                          prometheus.PrometheusDatasource, [],
                          preset='nope')


class ResultTest(test_base.TestCase):

    def test_complete_only_without_missing(self):
        f = frame_mod.MetricFrame(0, 300, ['a'], ['m'], np.zeros((1, 1, 2)))
        r = base.FetchResult(0, 600, 300, ('m',), ('one', 'two'),
                             frames={'one': f})
        self.assertFalse(r.complete)          # region two did not answer
        r.frames['two'] = f.replace(resources=['b'])
        self.assertTrue(r.complete)
        self.assertEqual(2, r.frame().n_resources)
        r.missing.append(base.Missing('two', 'm', 'HTTP 500',
                                      ('b', 'c', 'd', 'e')))
        self.assertTrue(r.partial)
        self.assertEqual('partial: two/m for 4 resources (b, c, d, ...): '
                         'HTTP 500', r.describe())

    def test_region_repr_hides_session(self):
        r = base.Region('one', 'http://x', session=object())
        self.assertEqual('<Region one http://x>', repr(r))


class InventoryTest(test_base.TestCase):
    """Nova's server listing, on bodies of the shape Nova 2.47+ returns."""

    SERVER = {
        'id': 'vm-1', 'name': 'web-1', 'status': 'ACTIVE',
        'tenant_id': 'p1', 'metadata': {'app': 'shop', 'x': 'y'},
        'OS-EXT-SRV-ATTR:host': 'cmp1',
        'OS-EXT-SRV-ATTR:hypervisor_hostname': 'cmp1.example.org',
        'OS-EXT-AZ:availability_zone': 'az1',
        'flavor': {'vcpus': 4, 'ram': 8192, 'disk': 40,
                   'original_name': 'm1.large', 'ephemeral': 0,
                   'swap': 0, 'extra_specs': {}},
    }

    def test_parse_server(self):
        groups = inventory.group_membership([
            {'id': 'g1', 'policy': 'anti-affinity',
             'members': ['vm-1', 'vm-2']},
            {'id': 'g0', 'policies': ['affinity'], 'members': ['vm-3']}])
        s = inventory.parse_server(self.SERVER, groups)
        self.assertEqual(
            ('vm-1', 'p1', 'ACTIVE', 'cmp1', 'cmp1.example.org', 'az1', 4,
             8192, 40, 'm1.large', 'shop', ('g1',), ('anti-affinity',)),
            (s.id, s.project_id, s.status, s.host, s.hypervisor_hostname,
             s.availability_zone, s.vcpus, s.ram_mb, s.disk_gb, s.flavor,
             s.app, s.server_groups, s.policies))
        self.assertEqual(4, s.attributes()['vcpus'])
        self.assertEqual(('affinity',), inventory.parse_server(
            dict(self.SERVER, id='vm-3'), groups).policies)

    def test_app_label_key(self):
        s = inventory.parse_server(self.SERVER, app_label_key='x')
        self.assertEqual('y', s.app)
        self.assertEqual((), s.server_groups)

    def test_no_region(self):
        self.assertRaises(exception.ConfigError, inventory.region_names,
                          self.conf)
        self.flags(group='datasources', regions=['r1', 'r2'])
        self.assertEqual(['r1', 'r2'], inventory.region_names(self.conf))

    def test_build_from_conf_without_endpoint(self):
        self.flags(group='datasources', regions=['r1'])
        # a plain Prometheus is not in the catalog (and there is none)
        exc = self.assertRaises(exception.ConfigError,
                                inventory.build_datasource, self.conf,
                                'prometheus')
        self.assertIn('set endpoint_override', str(exc))

    def test_build_from_conf_with_override_endpoint(self):
        self.flags(group='datasources', regions=['r1'], timeout=3.0)
        from irra_openstack import plugins
        plugins.register_plugin_opts(self.conf, base.NAMESPACE, 'gnocchi')
        self.conf.set_override('endpoint_override',
                               {'r1': 'http://127.0.0.1:9/g'},
                               group='datasources.gnocchi')
        self.conf.set_override('metric', ['mem_used|gauge|2|mem'],
                               group='datasources.gnocchi')
        ds = inventory.build_datasource(self.conf, 'gnocchi')
        self.assertEqual('http://127.0.0.1:9/g', ds.regions['r1'].endpoint)
        self.assertEqual(2.0, ds.metrics['mem_used'].scale)
        self.assertEqual('cpu@instance/id', ds.metrics['cpu_util'].source)
        self.assertEqual(3.0, ds.timeout)


class ReplayTest(test_base.TestCase):

    def test_replay_region_files(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        values = np.arange(2 * 2 * 12, dtype=float).reshape(2, 2, 12)
        values[1, 0, 3] = nan
        f = frame_mod.MetricFrame(
            start=3000, step=300, resources=['a', 'b'],
            metrics=['cpu_util', 'mem_util'], values=values,
            units={'cpu_util': '%', 'mem_util': '%'})
        path = os.path.join(tmp, 'one.irra')
        traces_api.write_trace(f, path)
        ds = replay.ReplayDatasource(
            [base.Region('one', path),
             base.Region('gone', os.path.join(tmp, 'nope.irra'))],
            time_shift=600)
        r = ds.fetch(3600, 3600 + 6 * 600, 600, metrics=['cpu_util',
                                                         'disk'])
        self.assertFalse(r.complete)
        self.assertEqual(['gone'], r.missing_regions())
        got = r.frames['one']
        self.assertEqual(6, got.n_steps)
        # shifted by 600 s: the window starts at the trace's 3000 s
        np.testing.assert_allclose(got.series('a', 'cpu_util'),
                                   values[0, 0].reshape(6, 2).mean(axis=1))
        self.assertEqual(values[1, 0, 2], got.series('b', 'cpu_util')[1])
        self.assertTrue(np.isnan(got.metric('disk')).all())
        self.assertIn("no metric disk", str(r.describe()))


class _Broken(base.Datasource):
    name = 'broken'
    default_metrics = (base.MetricSpec('mem_used', base.GAUGE, 'm'),
                       base.MetricSpec('cpu_util', base.CPU_NS, 'c'))

    def query(self, region, spec, start, end, step, kind='vm'):
        if spec.source == 'm':
            raise RuntimeError('boom')
        return base.Series.from_lists(
            ['vm1'], [(np.array([0., 300, 600]), np.array([0, 3e11, 6e11]))])


class NothingEscapesTest(test_base.TestCase):

    def test_unexpected_errors_become_missing(self):
        ds = _Broken([base.Region('r', 'http://127.0.0.1:9')])
        r = ds.fetch(300, 900, 300)
        self.assertFalse(r.complete)
        by = {(m.metric, m.resources is None): m.reason for m in r.missing}
        self.assertIn('unexpected RuntimeError: boom',
                      by[('mem_used', True)])
        # no vCPU count for vm1: its CPU is reported missing, not guessed
        self.assertIn('vCPU count unknown', by[('cpu_util', False)])
        r = ds.fetch(300, 900, 300, metrics=['cpu_util'],
                     attributes={'vm1': {'vcpus': 2}})
        self.assertTrue(r.complete, r.describe())
        np.testing.assert_allclose(
            r.frames['r'].series('vm1', 'cpu_util'), [50, 50])


class ProcessCpuTest(test_base.TestCase):

    def test_tree_counts_live_children(self):
        import subprocess
        import sys
        import time

        from irra_openstack.datasources import servers

        child = subprocess.Popen(
            [sys.executable, '-c',
             'import time\nt = time.process_time()\n'
             'while time.process_time() - t < 0.5: pass\n'
             'input()'], stdin=subprocess.PIPE)
        self.addCleanup(child.kill)
        deadline = time.monotonic() + 30
        while servers.tree_cpu_seconds(child.pid) < 0.4:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        # the child is counted under its parent too, and only once
        own = servers.tree_cpu_seconds(os.getpid())
        self.assertGreaterEqual(own, servers.tree_cpu_seconds(child.pid))
        self.assertLess(servers.tree_cpu_seconds(child.pid), 5)
        # a process that does not exist counts nothing
        self.assertEqual(0.0, servers.tree_cpu_seconds(None, 2 ** 22 + 7))
        child.communicate(b'\n', timeout=30)
