"""The region LP benchmark, on small instances."""

import json

from irra_openstack.market import bench
from tests import base


class BenchTest(base.TestCase):

    def check(self, result):
        ours, greedy = result['irra'], result['greedy']
        self.assertTrue(ours['feasible'])
        self.assertTrue(greedy['feasible'])
        # The LP is optimal: the greedy allocator never costs less.
        self.assertLessEqual(ours['objective'],
                             greedy['objective'] * (1 + 1e-9))
        self.assertGreaterEqual(result['ratio']['cost_greedy_over_irra'],
                                1 - 1e-9)
        self.assertTrue(result['market']['all_hold'],
                        result['market']['properties'])
        self.assertEqual(0, result['market']['regions_losing'])
        json.dumps(result)

    def test_grouped(self):
        result = bench.run(regions=12, apps=150, classes=2, seed=1,
                           repeat=1)
        self.check(result)
        self.assertLess(result['irra']['lp_groups'], 150)
        self.assertEqual(12, result['instance']['regions'])

    def test_distinct_and_more_classes(self):
        result = bench.run(regions=6, apps=60, classes=3, seed=2,
                           distinct=True, repeat=1)
        self.check(result)
        self.assertEqual(3, result['instance']['classes'])
        self.assertEqual('pricing', result['irra']['lp_method'])
        self.assertEqual(3, len(result['irra']['lp_solver']))
        self.assertNotIn('full_lp', result)

    def test_full_lp_comparison(self):
        result = bench.run(regions=8, apps=200, classes=2, seed=3,
                           distinct=True, repeat=2, full_lp=True)
        self.check(result)
        full = result['full_lp']
        self.assertTrue(full['feasible'])
        self.assertLess(full['objective_rel_diff'], 1e-9)
        self.assertAlmostEqual(result['irra']['objective'],
                               full['objective'],
                               delta=1e-9 * full['objective'])
        self.assertGreater(full['seconds'], 0.0)
        self.assertGreater(result['ratio']['seconds_irra_over_full_lp'],
                           0.0)
