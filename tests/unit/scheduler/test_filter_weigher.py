"""PredictiveHeadroomFilter and PredictiveHeadroomWeigher on real HostStates.

Hosts of 10 VCPUs with the default limit 0.9: predicted usage plus the
request may reach 9 VCPUs.
"""

import logging

import fixtures

from tests.unit.scheduler import base

U1 = '11111111-1111-1111-1111-111111111111'
U2 = '22222222-2222-2222-2222-222222222222'
U3 = '33333333-3333-3333-3333-333333333333'


class FilterTest(base.SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.states = [base.host_state('h1', U1), base.host_state('h2', U2),
                       base.host_state('h3', U3)]

    def test_rejects_predicted_overload_with_numbers_in_debug_log(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.publish([base.snapshot_host('h1', U1, vcpu=7.5),
                      base.snapshot_host('h2', U2, vcpu=7.0),
                      base.snapshot_host('h3', U3, vcpu=0.0)])
        self.assertEqual(['h2', 'h3'],
                         self.passing(self.states, base.request_spec()))
        self.assertIn('PredictiveHeadroomFilter rejects h1: VCPU predicted '
                      'peak 7.5', log.output)
        self.assertIn('= 9.5 > limit 9.0 (capacity 10.0 x 0.90)',
                      log.output)

    def test_no_info_line_per_host(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.publish([base.snapshot_host('h1', U1, vcpu=9.5),
                      base.snapshot_host('h2', U2, vcpu=9.5),
                      base.snapshot_host('h3', U3, vcpu=0.0)])
        self.assertEqual(['h3'],
                         self.passing(self.states, base.request_spec()))
        self.assertEqual('', log.output)

    def test_host_found_by_name_when_uuid_differs(self):
        self.publish([base.snapshot_host('h1', 'other-uuid', vcpu=8.0)])
        self.assertEqual(['h2', 'h3'],
                         self.passing(self.states, base.request_spec()))

    def test_unknown_host_passes_under_both_policies(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=8.0)])
        for policy in ('pass', 'neutral'):
            self.flags(unknown_host_policy=policy, group='irra_scheduler')
            self.assertEqual(['h2', 'h3'],
                             self.passing(self.states, base.request_spec()))

    def test_nan_host_is_an_unknown_host(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=float('nan')),
                      base.snapshot_host('h2', U2, vcpu=9.5),
                      base.snapshot_host('h3', U3, vcpu=float('inf'))])
        self.assertEqual({'h1', 'h3'}, self.loader.get().invalid)
        self.assertEqual(['h1', 'h3'],
                         self.passing(self.states, base.request_spec()))

    def test_zero_capacity_provider(self):
        # h1 has no VCPU at all: a request for VCPUs cannot fit.
        self.publish([base.snapshot_host('h1', U1, total_vcpu=0),
                      base.snapshot_host('h2', U2)])
        self.assertEqual(['h2', 'h3'],
                         self.passing(self.states, base.request_spec()))
        # A request that needs none of it is not rejected for it.
        self.assertEqual(['h1', 'h2', 'h3'], self.passing(
            self.states, base.request_spec(vcpus=0)))
        weights = self.weights(self.states, base.request_spec(vcpus=0))
        self.assertTrue(all(w == w for w in weights))  # no NaN

    def test_expected_utilisation_scales_the_request(self):
        hosts = [base.snapshot_host('h1', U1, vcpu=7.5)]
        self.publish(hosts)
        self.assertEqual(['h2', 'h3'],
                         self.passing(self.states, base.request_spec()))
        # The flavor's prior: 2 VCPUs x 0.5 = 1, and 7.5 + 1 <= 9.
        self.publish(hosts, expected={'flavor': {'m1.test': {'VCPU': 0.5}},
                                      'default': {'VCPU': 1.0}})
        self.assertEqual(['h1', 'h2', 'h3'],
                         self.passing(self.states, base.request_spec()))
        # Another flavor falls back to its project, then to the default.
        self.publish(hosts, expected={'project': {'project-b':
                                                  {'VCPU': 0.25}},
                                      'default': {'VCPU': 1.0}})
        self.assertEqual(['h1', 'h2', 'h3'], self.passing(
            self.states, base.request_spec(project_id='project-b')))
        self.assertEqual(['h2', 'h3'], self.passing(
            self.states, base.request_spec(project_id='project-c')))
        # The application hint.
        self.publish(hosts, expected={'app': {'shop': {'VCPU': 0.5}}})
        self.assertEqual(['h1', 'h2', 'h3'], self.passing(
            self.states, base.request_spec(hints={'irra_app': 'shop'})))

    def test_reservation_hint_uses_only_its_own_reservation(self):
        self.publish([
            base.snapshot_host('h1', U1, vcpu=1.0,
                               reservations={'r1': {'VCPU': 7},
                                             'r2': {'VCPU': 1}}),
            base.snapshot_host('h2', U2, vcpu=1.0,
                               reservations={'r3': {'VCPU': 7}})])
        # Held by others: 1 + 8 + 2 > 9 on h1, 1 + 7 + 2 > 9 on h2.
        self.assertEqual(['h3'],
                         self.passing(self.states, base.request_spec()))
        # r1's holder: 1 + 1 (r2) + 2 <= 9 on h1; r1 gives nothing on h2.
        self.assertEqual(['h1', 'h3'], self.passing(
            self.states, base.request_spec(hints={'irra_reservation': 'r1'})))
        # r2 frees only 1 VCPU on h1: 1 + 7 + 2 > 9.
        self.assertEqual(['h3'], self.passing(
            self.states, base.request_spec(hints={'irra_reservation': 'r2'})))
        # Two reservations at once are not honoured.
        self.assertEqual(['h3'], self.passing(
            self.states,
            base.request_spec(hints={'irra_reservation': ['r1', 'r3']})))

    def test_aggregate_overrides_the_limit(self):
        strict = base.aggregate(1, irra_max_predicted_utilisation=0.5)
        loose = base.aggregate(2, irra_max_predicted_utilisation=1.0)
        other = base.aggregate(3, availability_zone='az1')
        broken = base.aggregate(4, irra_max_predicted_utilisation='lots')
        states = [base.host_state('h1', U1, aggregates=[strict, other]),
                  base.host_state('h2', U2, aggregates=[loose]),
                  base.host_state('h3', U3, aggregates=[loose, strict]),
                  base.host_state('h4', 'u4', aggregates=[broken])]
        self.publish([base.snapshot_host('h1', U1, vcpu=4.0),
                      base.snapshot_host('h2', U2, vcpu=7.5),
                      base.snapshot_host('h3', U3, vcpu=2.0),
                      base.snapshot_host('h4', 'u4', vcpu=7.5)])
        # h1: 4 + 2 > 5; h2: 7.5 + 2 <= 10; h3: the smallest (0.5) wins,
        # 2 + 2 <= 5; h4: the broken value is ignored, 9.5 > 9.
        self.assertEqual(['h2', 'h3'],
                         self.passing(states, base.request_spec()))

    def test_per_class_limit(self):
        self.flags(max_predicted_utilisation_per_class={'VCPU': '0.5'},
                   group='irra_scheduler')
        self.publish([base.snapshot_host('h1', U1, vcpu=3.5),
                      base.snapshot_host('h2', U2, vcpu=2.5)])
        self.assertEqual(['h2', 'h3'],
                         self.passing(self.states, base.request_spec()))

    def test_instances_placed_since_the_snapshot_count(self):
        used = {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0}
        self.publish([base.snapshot_host('h1', U1, vcpu=5.5, used=used)])
        spec = base.request_spec()
        self.assertIn('h1', self.passing(self.states, spec))
        # Nova consumes the first instance of a multi-create request:
        # 5.5 + 2 (placed) + 2 > 9.
        self.states[0].consume_from_request(spec)
        self.assertNotIn('h1', self.passing(self.states, spec))

    def test_rebuild_is_not_filtered(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=9.5)])
        self.assertEqual(['h1', 'h2', 'h3'], self.passing(
            self.states, base.request_spec(rebuild=True)))
        self.assertFalse(self.filter.RUN_ON_REBUILD)
        self.assertFalse(self.filter.run_filter_once_per_request)

    def test_host_passes_agrees_with_filter_all(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=8.0)])
        spec = base.request_spec()
        self.assertEqual([False, True, True],
                         [self.filter.host_passes(s, spec)
                          for s in self.states])

    def test_no_io_per_host_or_per_request(self):
        self.publish([base.snapshot_host('h%d' % i, 'u%d' % i, vcpu=i % 10)
                      for i in range(500)])
        statements = self.count_queries()
        spec = base.request_spec()
        states = [base.host_state('h%d' % i, 'u%d' % i) for i in range(500)]
        for _ in range(3):
            passed = self.filter.filter_all(states, spec)
            self.weights(passed, spec)
        self.assertEqual([], statements)
        self.assertEqual(400, len(passed))

    def test_work_per_host_is_constant(self):
        # Each host is found with dictionary look-ups, never by scanning
        # the snapshot: the look-ups per host stay the same with 50 or
        # 5,000 hosts, and nothing iterates over the snapshot's hosts.
        class CountingDict(dict):
            def __init__(self, data, counts):
                super().__init__(data)
                self.counts = counts

            def get(self, key, default=None):
                self.counts['get'] += 1
                return super().get(key, default)

            def __iter__(self):
                self.counts['scan'] += 1
                return super().__iter__()

            def items(self):
                self.counts['scan'] += 1
                return super().items()

            def values(self):
                self.counts['scan'] += 1
                return super().values()

        def lookups_per_host(n):
            self.publish([base.snapshot_host('h%d' % i, 'u%d' % i,
                                             vcpu=i % 10) for i in range(n)])
            snap = self.loader.get()
            counts = {'get': 0, 'scan': 0}
            snap.rows = CountingDict(snap.rows, counts)
            snap.rows_by_name = CountingDict(snap.rows_by_name, counts)
            states = [base.host_state('h%d' % i, 'u%d' % i)
                      for i in range(n)]
            self.filter.filter_all(states, base.request_spec())
            self.assertEqual(0, counts['scan'])
            return counts['get'] / n

        small = lookups_per_host(50)
        large = lookups_per_host(5000)
        self.assertGreater(small, 0)
        self.assertEqual(small, large)


class FailOpenTest(base.SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.states = [base.host_state('h1', U1), base.host_state('h2', U2)]
        self.overloaded = [base.snapshot_host('h1', U1, vcpu=10.0),
                           base.snapshot_host('h2', U2, vcpu=10.0)]
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def assertFailsOpen(self, why):
        spec = base.request_spec()
        for _ in range(3):
            self.assertEqual(['h1', 'h2'], self.passing(self.states, spec))
            self.assertEqual([0.0, 0.0], self.weights(self.states, spec))
        # One warning, not one per request.
        self.assertEqual(1, self.log.output.count('fail-open'))
        self.assertIn(why, self.log.output)

    def test_missing_snapshot(self):
        self.assertIsNone(self.loader.refresh())
        self.assertFailsOpen("there is no snapshot in irra's database yet")

    def test_connection_not_configured(self):
        self.flags(connection=None, group='irra_scheduler')
        self.assertIsNone(self.loader.refresh())
        self.assertFailsOpen('[irra_scheduler] connection is not set')

    def test_stale_snapshot(self):
        self.publish(self.overloaded, age=1000)
        self.assertFailsOpen('more than [irra_scheduler] max_snapshot_age '
                             '(900 s)')

    def test_snapshot_from_the_future(self):
        self.publish(self.overloaded, age=-600)
        self.assertFailsOpen('in the future, more than [irra_scheduler] '
                             'max_clock_skew (60 s)')

    def test_small_clock_skew_is_tolerated(self):
        self.publish(self.overloaded, age=-30)
        self.assertEqual([], self.passing(self.states, base.request_spec()))

    def test_unreadable_snapshot(self):
        import sqlalchemy as sa

        from irra_openstack.db import api as db_api
        from irra_openstack.db import models

        generation = self.publish(self.overloaded)
        self.assertEqual([], self.passing(self.states, base.request_spec()))
        table = models.HeadroomSnapshot.__table__
        with db_api.write_session() as session:
            session.execute(table.insert().values(
                generation=generation + 1, created_at=sa.func.now(),
                host_count=2, format=1, data=b'not zlib'))
        self.assertIsNone(self.loader.refresh())
        self.assertFailsOpen('cannot decode snapshot %d' % (generation + 1))

    def test_database_unreachable_keeps_last_snapshot_until_too_old(self):
        self.publish(self.overloaded)
        self.flags(connection='sqlite:////nonexistent/dir/irra.sqlite',
                   group='irra_scheduler')
        # A new URL: what was read from the old database is dropped.
        self.assertIsNone(self.loader.get())
        self.assertIsNone(self.loader.refresh())
        self.assertFailsOpen('cannot read the snapshot')


class WeigherTest(base.SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.states = [base.host_state('h1', U1), base.host_state('h2', U2),
                       base.host_state('h3', U3)]

    def test_more_headroom_weighs_more_tightest_class_decides(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=6.0),
                      base.snapshot_host('h2', U2, vcpu=2.0),
                      # Little VCPU predicted but memory nearly full.
                      base.snapshot_host('h3', U3, vcpu=0.0,
                                         memory=6000.0)])
        weights = self.weights(self.states, base.request_spec())
        # h1: 0.9 - 8/10; h2: 0.9 - 4/10; h3: 0.9 - (6000+512)/7680.
        self.assertAlmostEqual(0.1, weights[0])
        self.assertAlmostEqual(0.5, weights[1])
        self.assertAlmostEqual(0.9 - 6512 / 7680, weights[2])

    def test_unknown_host_policy(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=6.0),
                      base.snapshot_host('h2', U2, vcpu=2.0)])
        self.flags(unknown_host_policy='neutral', group='irra_scheduler')
        self.assertAlmostEqual(
            0.3, self.weights(self.states, base.request_spec())[2])
        self.flags(unknown_host_policy='pass', group='irra_scheduler')
        self.assertEqual(
            0.0, self.weights(self.states, base.request_spec())[2])

    def test_weight_has_a_floor(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=100.0)])
        self.assertEqual(-1.0,
                         self.weights(self.states, base.request_spec())[0])

    def test_multiplier_and_aggregate_override(self):
        self.flags(weight_multiplier=-2.0, group='irra_scheduler')
        packing = base.aggregate(1, irra_headroom_weight_multiplier=-1.5)
        spreading = base.aggregate(2, irra_headroom_weight_multiplier=3)
        state1 = base.host_state('h1', U1, aggregates=[packing])
        state2 = base.host_state('h2', U2, aggregates=[spreading, packing])
        self.publish([])
        self.weights(self.states, base.request_spec())
        self.assertEqual(-2.0, self.weigher.weight_multiplier(self.states[0]))
        self.assertEqual(-1.5, self.weigher.weight_multiplier(state1))
        self.assertEqual(-1.5, self.weigher.weight_multiplier(state2))

    def test_weights_follow_the_filter_margins(self):
        self.publish([base.snapshot_host('h1', U1, vcpu=6.0),
                      base.snapshot_host('h2', U2, vcpu=2.0),
                      base.snapshot_host('h3', U3, vcpu=1.0)])
        spec = base.request_spec()
        direct = self.weights(self.states, spec)
        passed = list(self.filter.filter_all(self.states, spec))
        self.assertEqual(direct, self.weights(passed, spec))
        self.assertEqual(direct, [self.weigher._weigh_object(s, spec)
                                  for s in self.states])

    def test_nova_weight_handler_prefers_most_headroom(self):
        from nova.scheduler import weights

        self.publish([base.snapshot_host('h1', U1, vcpu=6.0),
                      base.snapshot_host('h2', U2, vcpu=2.0),
                      base.snapshot_host('h3', U3, vcpu=4.0)])
        handler = weights.HostWeightHandler()
        order = handler.get_weighed_objects(
            [self.weigher], self.states, base.request_spec())
        self.assertEqual(['h2', 'h3', 'h1'], [w.obj.nodename for w in order])
        self.flags(weight_multiplier=-1.0, group='irra_scheduler')
        order = handler.get_weighed_objects(
            [self.weigher], self.states, base.request_spec())
        self.assertEqual(['h1', 'h3', 'h2'], [w.obj.nodename for w in order])
