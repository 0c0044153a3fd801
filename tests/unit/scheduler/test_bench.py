"""``irra-manage bench scheduler`` on a few hosts: what it reports.

Only the shape and the counts of the result are checked, never a time: the
benchmark's figures are measured by running it, not asserted by a test.
"""

import json
import subprocess
import sys

from oslotest import base

from irra_openstack.cmd import bench_commands


class SchedulerBenchTest(base.BaseTestCase):

    def test_small_run_reports_paired_ratios_and_their_spread(self):
        hosts, requests, rounds = 12, 3, 2
        done = subprocess.run(
            [sys.executable, '-m', 'irra_openstack.scheduler.bench',
             '--hosts', str(hosts), '--requests', str(requests),
             '--rounds', str(rounds), '--refresh-hosts', '40'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=600)
        self.assertEqual(0, done.returncode, done.stderr[-3000:])
        result = json.loads(done.stdout)
        self.assertEqual((hosts, requests, rounds),
                         (result['hosts'], result['requests'],
                          result['rounds']))
        # One ratio per request and round, each from a back-to-back pair.
        for key in ('ratio_spread', 'ratio_wall_spread',
                    'irra_added_per_host_us_spread',
                    'irra_filter_and_weigher_alone_per_host_us_spread'):
            spread = result[key]
            self.assertEqual(requests * rounds, spread['n'], key)
            self.assertLessEqual(spread['min'], spread['q1'], key)
            self.assertLessEqual(spread['q1'], spread['median'], key)
            self.assertLessEqual(spread['median'], spread['q3'], key)
            self.assertLessEqual(spread['q3'], spread['max'], key)
        self.assertEqual(result['ratio_spread']['median'], result['ratio'])
        self.assertEqual(rounds, len(result['ratio_of_round_totals']))
        self.assertTrue(all(r > 0 for r in result['ratio_of_round_totals']))
        # Nova's default filters pass every synthetic host; irra's filter
        # may only take some away.
        self.assertEqual(hosts, result['hosts_passing_mean']['nova'])
        self.assertLessEqual(result['hosts_passing_mean']['nova_irra'],
                             hosts)
        self.assertIn('RAMWeigher', result['nova_weighers'])
        self.assertNotIn('PredictiveHeadroomWeigher',
                         result['nova_weighers'])
        self.assertEqual({'nova', 'nova_irra', 'handlers_empty',
                          'handlers_irra'},
                         set(result['garbage_collections_during']))
        self.assertEqual(40, result['refresh']['hosts'])
        self.assertEqual({'ratio', 'per_host_us', 'refresh_ms'},
                         set(result['targets_met']))
        self.assertEqual({'before', 'after', 'cpus'},
                         set(result['load_average']))

    def test_bad_sizes_are_refused_before_running(self):
        commands = bench_commands.BenchCommands(conf=None)
        for kwargs in ({'hosts': 1}, {'requests': 0}, {'rounds': 0},
                       {'refresh_hosts': 0}):
            error = self.assertRaises(SystemExit, commands.scheduler,
                                      **kwargs)
            self.assertIn('bench scheduler needs', str(error))
