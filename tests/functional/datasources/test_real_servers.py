"""The gnocchi and prometheus datasources against real servers.

Each class starts its servers once (two regions, each its own server),
loads them with measures generated from a real-shaped workload (a CPU
counter that resets, gaps, VMs that appear and disappear), and checks that
what the datasource reads back is what was loaded, that it asks one
question per metric per region (counted by a proxy in front of each
server), and that dead, slow, garbled or ignorant servers give a partial
result, never an exception.

Needs PostgreSQL on 127.0.0.1:5432, a virtualenv with Gnocchi
(tools/install-gnocchi.sh) and Debian's prometheus package; without them
the tests fail and say how to get them.
"""

import time

import fixtures
import numpy as np

from irra_openstack.datasources import base
from irra_openstack.datasources import bench
from irra_openstack.datasources import gnocchi
from irra_openstack.datasources import prometheus
from irra_openstack.datasources import servers
from tests import base as test_base
from tests.functional.datasources import proxy as proxy_mod

STEP = 300
N_STEPS = 96            # 8 hours
METRICS = list(bench.METRICS)


def _start():
    now = int(time.time()) // STEP * STEP
    return now - 2 * 86400


class _RealServerTests:
    """Tests shared by both datasources; subclasses start the servers."""

    ds_class = None

    @classmethod
    def make_truths(cls):
        start = _start()
        return [bench.make_truth('one', 30, N_STEPS, start, STEP, seed=1),
                bench.make_truth('two', 20, N_STEPS, start, STEP, seed=2)]

    def datasource(self, regions=None, **kw):
        kw.setdefault('timeout', 20)
        kw.setdefault('retries', 0)
        return self.ds_class(regions or self.regions(), **kw)

    def _check_frame(self, truth, frame, metrics=METRICS):
        want = bench.expected(truth)[:, [bench.METRICS.index(m)
                                         for m in metrics], :]
        got = frame.select(resources=truth.frame.resources,
                           metrics=metrics).values
        for j, m in enumerate(metrics):
            np.testing.assert_array_equal(
                np.isnan(want[:, j]), np.isnan(got[:, j]),
                err_msg='missing values differ for %s in %s'
                % (m, truth.region))
            np.testing.assert_allclose(
                got[:, j], want[:, j], rtol=1e-6, atol=1e-6,
                err_msg='%s in %s' % (m, truth.region))

    def test_read_back_equals_source(self):
        ds = self.datasource()
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP, metrics=METRICS)
        self.assertTrue(result.complete, result.describe())
        self.assertEqual(['one', 'two'], sorted(result.frames))
        for truth in self.truths:
            frame = result.frames[truth.region]
            self.assertEqual(set(truth.frame.resources),
                             set(frame.resources))
            self._check_frame(truth, frame)
            self.assertEqual('%', frame.units['cpu_util'])
            self.assertEqual(truth.region,
                             frame.attributes[frame.resources[0]]['region'])
        # The VM that appeared and the one that left are marked so.
        one = result.frames['one']
        appeared = one.attributes[self.truths[0].frame.resources[0]]
        self.assertGreaterEqual(appeared['first_step'], N_STEPS // 3)
        self.assertLess(appeared['first_step'], N_STEPS // 3 + 5)
        left = one.attributes[self.truths[0].frame.resources[1]]
        self.assertLess(left['last_step'], 2 * N_STEPS // 3)
        # the reset did not become a huge negative or positive spike
        cpu = one.metric('cpu_util')
        self.assertLessEqual(np.nanmax(cpu), 100.0 + 1e-6)
        self.assertGreaterEqual(np.nanmin(cpu), 0.0)

    def test_one_request_per_metric_per_region(self):
        proxies = self.proxies
        for p in proxies.values():
            p.reset()
        ds = self.datasource(self.regions(via_proxy=True))
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP, metrics=METRICS)
        self.assertTrue(result.complete, result.describe())
        # one per metric, plus one for the VMs' vCPU counts, per region,
        # whatever the number of VMs (30 and 20)
        per_region = len(METRICS) + 1
        for name, p in proxies.items():
            self.assertEqual(per_region, p.total(), (name, p.counts))
        self.assertEqual(2 * per_region, result.requests)
        # given the vCPU counts, the extra request goes away
        for p in proxies.values():
            p.reset()
        attrs = {}
        for t in self.truths:
            attrs.update(t.frame.attributes)
        result = ds.fetch(f.start, f.end, STEP, metrics=METRICS,
                          attributes=attrs)
        self.assertTrue(result.complete, result.describe())
        self.assertEqual(2 * len(METRICS),
                         sum(p.total() for p in proxies.values()))
        self._check_frame(self.truths[1], result.frames['two'])

    def test_dead_endpoint_is_partial(self):
        dead = base.Region('dead', 'http://127.0.0.1:%d'
                           % servers.free_port())
        ds = self.datasource(self.regions() + [dead], retries=1,
                             backoff=0.01, breaker_threshold=2,
                             parallel=1)
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP, metrics=METRICS)
        self.assertFalse(result.complete)
        self.assertEqual(['one', 'two'], sorted(result.frames))
        self.assertEqual(['dead'], result.missing_regions())
        dead_missing = [m for m in result.missing if m.region == 'dead']
        self.assertEqual(set(METRICS), {m.metric for m in dead_missing})
        self.assertIn('cannot connect', dead_missing[0].reason)
        # after two failures the circuit is open: later metrics are not
        # even attempted
        self.assertIn('failed repeatedly', dead_missing[-1].reason)
        self.assertIn('partial: dead/cpu_util', result.describe())
        # the two attempts that reached the dead endpoint are counted as
        # failed, with their reason
        self.assertEqual(2, result.failed_attempts)
        (reason,) = result.failure_reasons
        self.assertIn('cannot connect', reason)
        self._check_frame(self.truths[1], result.frames['two'])

    def test_slow_endpoint_times_out_as_partial(self):
        p = self.proxies['one']
        p.reset(mode='slow', delay=3.0)
        try:
            ds = self.datasource(self.regions(via_proxy=True),
                                 timeout=0.5, retries=1, backoff=0.01,
                                 breaker_threshold=10)
            f = self.truths[0].frame
            t0 = time.monotonic()
            result = ds.fetch(f.start, f.end, STEP,
                              metrics=['mem_used', 'net_in_bps'])
            took = time.monotonic() - t0
        finally:
            p.reset()
        self.assertFalse(result.complete)
        self.assertEqual(['two'], sorted(result.frames))
        reasons = [m.reason for m in result.missing if m.region == 'one']
        self.assertEqual(2, len(reasons))
        self.assertIn('no answer within 0.5 s (after 2 attempts)',
                      reasons[0])
        self.assertLess(took, 15)
        # Two attempts for each of the two metrics of the slow region. On
        # a loaded machine a request to the healthy region can miss the
        # 0.5 s too and be retried: counted as well, with the same reason.
        self.assertGreaterEqual(result.failed_attempts, 4)
        self.assertEqual({'no answer within 0.5 s': result.failed_attempts},
                         result.failure_reasons)

    def test_failed_attempts_retried_and_counted(self):
        # An answer cut off in mid-body and a 503 are retried; the fetch
        # is complete, and the failed attempts are counted with their
        # reasons, not hidden.
        f = self.truths[0].frame
        for how, word in (('cut', 'Connection'), ('503', 'HTTP 503')):
            p = self.proxies['one']
            p.reset(mode='flaky', failures=2, how=how)
            try:
                ds = self.datasource(self.regions(via_proxy=True),
                                     retries=2, backoff=0.01, parallel=1)
                result = ds.fetch(f.start, f.end, STEP,
                                  metrics=['mem_used'])
            finally:
                p.reset()
            self.assertTrue(result.complete, (how, result.describe()))
            self._check_frame(self.truths[0], result.frames['one'],
                              metrics=['mem_used'])
            self.assertEqual(2, result.failed_attempts, how)
            self.assertEqual(4, result.requests, how)
            (reason,) = result.failure_reasons
            self.assertIn(word, reason)
            # without retries the same failure leaves the metric missing
            p.reset(mode='flaky', failures=1, how=how)
            try:
                ds = self.datasource(self.regions(via_proxy=True),
                                     retries=0, parallel=1)
                result = ds.fetch(f.start, f.end, STEP,
                                  metrics=['mem_used'])
            finally:
                p.reset()
            self.assertFalse(result.complete, how)
            self.assertEqual(['two'], sorted(result.frames))
            self.assertIn(word, result.missing[0].reason)

    def test_malformed_answers_are_partial(self):
        for mode in ('garbage', 'wrong'):
            self.proxies['two'].reset(mode=mode)
            try:
                ds = self.datasource(self.regions(via_proxy=True))
                f = self.truths[0].frame
                result = ds.fetch(f.start, f.end, STEP,
                                  metrics=['mem_used'])
            finally:
                self.proxies['two'].reset()
            self.assertFalse(result.complete, mode)
            self.assertEqual(['one'], sorted(result.frames))
            (miss,) = result.missing
            self.assertEqual(('two', 'mem_used'), (miss.region,
                                                   miss.metric))
            self.assertIn('answered', miss.reason)

    def test_unknown_metric_is_partial(self):
        specs = dict(self.datasource().metrics)
        specs['bogus'] = base.MetricSpec('bogus', base.GAUGE,
                                         self.bogus_source)
        ds = self.datasource(metrics=specs)
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP,
                          metrics=['mem_used', 'bogus', 'unmapped'])
        self.assertFalse(result.complete)
        self.assertEqual(['one', 'two'], sorted(result.frames))
        by = {(m.region, m.metric): m for m in result.missing}
        self.assertEqual({('one', 'bogus'), ('two', 'bogus'),
                          ('one', 'unmapped'), ('two', 'unmapped')},
                         set(by))
        self.assertIsInstance(by[('one', 'bogus')].reason, str)
        self.assertIn('no mapping', by[('one', 'unmapped')].reason)
        # the metrics that exist are there, the others all missing
        frame = result.frames['one']
        self.assertTrue(np.isnan(frame.metric('bogus')).all())
        self.assertFalse(np.isnan(frame.metric('mem_used')).all())

    def test_vcpus_unknown_is_reported(self):
        ds = self.datasource(vcpus_metric=base.MetricSpec(
            'vcpus', base.GAUGE, self.bogus_source))
        f = self.truths[0].frame
        attrs = {r: {'vcpus': 2} for r in f.resources[:5]}
        result = ds.fetch(f.start, f.end, STEP, metrics=['cpu_util'],
                          regions=['one'], attributes=attrs)
        self.assertFalse(result.complete)
        kinds = {(m.metric, m.resources is not None)
                 for m in result.missing}
        self.assertIn(('cpu_util', True), kinds)
        cpu = result.frames['one'].select(
            resources=f.resources).metric('cpu_util')
        self.assertFalse(np.isnan(cpu[2:5]).all())
        self.assertTrue(np.isnan(cpu[5:]).all())


class GnocchiTest(_RealServerTests, test_base.TestCase):

    ds_class = gnocchi.GnocchiDatasource
    bogus_source = 'no.such.metric@instance/id'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.truths = cls.make_truths()
        cls.servers, cls.proxies = {}, {}
        for truth in cls.truths:
            g = servers.GnocchiServer()
            cls.addClassCleanup(g.stop)
            g.start()
            g.setup_ceilometer_types(STEP, 2 * N_STEPS)
            bench.load_gnocchi(g, [truth])
            cls.servers[truth.region] = g
            p = proxy_mod.Proxy(g.url)
            cls.addClassCleanup(p.stop)
            cls.proxies[truth.region] = p

    def regions(self, via_proxy=False):
        return [base.Region(name, (self.proxies[name] if via_proxy
                                   else g).url, session=g.session())
                for name, g in sorted(self.servers.items())]

    def test_unauthenticated_is_a_clear_error(self):
        regions = [base.Region(n, g.url) for n, g in
                   sorted(self.servers.items())]
        ds = self.datasource(regions)
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP, metrics=['mem_used'])
        self.assertEqual({}, result.frames)
        self.assertIn('HTTP 401', result.missing[0].reason)


class PrometheusTest(_RealServerTests, test_base.TestCase):

    ds_class = prometheus.PrometheusDatasource
    bogus_source = 'no_such_metric'
    #: region two's clock is 10 minutes ahead
    SKEW = 600

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.truths = cls.make_truths()
        cls.servers, cls.proxies = {}, {}
        for truth in cls.truths:
            shift = cls.SKEW if truth.region == 'two' else 0
            p = bench.load_prometheus(truth, time_shift=shift)
            cls.addClassCleanup(p.stop)
            cls.servers[truth.region] = p
            px = proxy_mod.Proxy(p.url)
            cls.addClassCleanup(px.stop)
            cls.proxies[truth.region] = px

    def regions(self, via_proxy=False):
        return [base.Region(name, (self.proxies[name] if via_proxy
                                   else p).url,
                            clock_offset=self.SKEW if name == 'two' else 0)
                for name, p in sorted(self.servers.items())]

    def test_fast_decoding_of_real_answers(self):
        # Every answer of the real server, read by the fast decoder (as
        # large answers are), gives what was loaded.
        seen = []
        fast = prometheus._fast_matrix

        def spy(body, label):
            got = fast(body, label)
            seen.append(got is not None)
            return got

        self.useFixture(fixtures.MonkeyPatch(
            'irra_openstack.datasources.prometheus.FAST_MATRIX_BYTES', 0))
        self.useFixture(fixtures.MonkeyPatch(
            'irra_openstack.datasources.prometheus._fast_matrix', spy))
        ds = self.datasource()
        f = self.truths[0].frame
        result = ds.fetch(f.start, f.end, STEP, metrics=METRICS)
        self.assertTrue(result.complete, result.describe())
        self.assertEqual([True] * (2 * (len(METRICS) + 1)), seen)
        for truth in self.truths:
            self._check_frame(truth, result.frames[truth.region])

    def test_clock_skew_uncorrected_shifts_the_series(self):
        regions = [base.Region('two', self.servers['two'].url)]
        ds = self.datasource(regions)
        truth = self.truths[1]
        f = truth.frame
        result = ds.fetch(f.start, f.end, STEP, metrics=['mem_used'])
        got = result.frames['two'].select(resources=f.resources).values
        want = f.values[:, 1:2, :]
        # without the offset the series come 2 steps late
        np.testing.assert_allclose(got[:, :, 2:], want[:, :, :-2])

    def test_keystone_session_is_used(self):
        # A keystoneauth session with a token plugin: the token reaches
        # the server as an X-Auth-Token header (as Aetos wants).
        from keystoneauth1 import session
        from keystoneauth1 import token_endpoint

        seen = []
        px = self.proxies['one']
        px.reset()
        orig = px.server.RequestHandlerClass.do_POST

        def spy(handler):
            seen.append(handler.headers.get('X-Auth-Token'))
            return orig(handler)

        px.server.RequestHandlerClass.do_POST = spy
        try:
            sess = session.Session(auth=token_endpoint.Token(
                px.url, 'secret-token'))
            ds = self.datasource([base.Region('one', px.url,
                                              session=sess)])
            f = self.truths[0].frame
            result = ds.fetch(f.start, f.end, STEP, metrics=['mem_used'])
        finally:
            px.server.RequestHandlerClass.do_POST = orig
        self.assertTrue(result.complete, result.describe())
        self.assertEqual(['secret-token'], seen)
