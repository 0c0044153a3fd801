"""A small fault campaign: every fault recovered, nothing lost or repeated.

The campaign runs Nova's in-process harness, which needs a process of its
own (it patches the process and registers Nova's options on the global
configuration object), so the test runs it the way ``irra-manage bench
faults`` does: ``python -m irra_openstack.rrm.fault_main``. What it
counts is read from Nova's API and Placement after the campaign.
"""

import json
import os
import subprocess
import sys

import fixtures
import testtools

KINDS = ('migration_error', 'timeout', 'target_host_down',
         'placement_conflict')


class FaultCampaignTest(testtools.TestCase):

    def run_campaign(self, *args):
        tmp = self.useFixture(fixtures.TempDir()).path
        out = os.path.join(tmp, 'result.json')
        env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
        proc = subprocess.run(
            [sys.executable, '-m', 'irra_openstack.rrm.fault_main',
             '--out', out] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=env, timeout=1200)
        errors = [line for line in proc.stderr.splitlines()
                  if not line.startswith('progress ')]
        if proc.returncode:
            self.fail('the fault campaign failed (it needs the nova wheel '
                      'of test-requirements.txt and openstack-placement): '
                      '%s' % '\n'.join(errors[-20:]))
        progress = [line for line in proc.stderr.splitlines()
                    if line.startswith('progress ')]
        with open(out) as f:
            return json.load(f), progress

    def test_small_campaign_recovers_everything_and_loses_nothing(self):
        result, progress = self.run_campaign('--rounds', '2', '--seed', '3',
                                             '--servers', '4')
        self.assertEqual(sorted(KINDS), sorted(result['faults']))
        for kind in KINDS:
            tally = result['faults'][kind]
            self.assertEqual(2, tally['injected'], kind)
            self.assertEqual(2, tally['recovered'], kind)
            self.assertEqual(0, tally['vms_lost'], kind)
            self.assertEqual(0, tally['allocations_leaked'], kind)
            self.assertEqual(0, tally['duplicate_actions'], kind)
        totals = result['totals']
        self.assertEqual(8, totals['injected'])
        self.assertEqual(0, totals['unattributed_losses_or_leaks'])
        # The baseline ran the same script, and recovered less.
        baseline = result['baseline']
        self.assertEqual(8, baseline['totals']['injected'])
        self.assertLess(baseline['totals']['recovered'],
                        totals['recovered'])
        self.assertEqual(
            {k: {'irra': result['faults'][k]['recovered'],
                 'baseline': baseline['faults'][k]['recovered']}
             for k in KINDS}, result['per_kind_recovered'])
        # One progress line per fault on each side.
        self.assertEqual(16, len(progress))
        self.assertEqual(['broker_restart', 'rrm_crash'],
                         sorted(result['not_run']))

    def test_bad_arguments_are_one_clear_line(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        proc = subprocess.run(
            [sys.executable, '-m', 'irra_openstack.rrm.fault_main',
             '--rounds', '0', '--out', os.path.join(tmp, 'r.json')],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            timeout=600)
        self.assertEqual(2, proc.returncode)
        self.assertIn('rounds must be at least 1', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
