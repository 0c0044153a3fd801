"""A small fault campaign: every fault recovered, nothing lost or repeated.

The campaign runs Nova's in-process harness, which needs a process of its
own (it patches the process and registers Nova's options on the global
configuration object), so the test runs it the way ``irra-manage bench
faults`` does: ``python -m irra_openstack.rrm.fault_main``. What it
counts is read from Nova's API and Placement after the campaign; for
``broker_restart`` and ``rrm_crash`` (real irra-rrm processes, a private
RabbitMQ node, PostgreSQL on 127.0.0.1:5432) from the action store and the
journal executor's journals.
"""

import json
import os
import subprocess
import sys

import fixtures
import testtools

KINDS = ('migration_error', 'timeout', 'target_host_down',
         'placement_conflict')
BROKER_KINDS = ('broker_restart', 'rrm_crash')


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
                      'of test-requirements.txt, openstack-placement, '
                      'rabbitmq-server installed and PostgreSQL running on '
                      '127.0.0.1:5432): %s' % '\n'.join(errors[-20:]))
        progress = [line for line in proc.stderr.splitlines()
                    if line.startswith('progress ')]
        with open(out) as f:
            return json.load(f), progress

    def test_small_campaign_recovers_everything_and_loses_nothing(self):
        result, progress = self.run_campaign('--rounds', '2', '--seed', '3',
                                             '--servers', '4',
                                             '--broker-rounds', '1')
        self.assertEqual(sorted(KINDS + BROKER_KINDS),
                         sorted(result['faults']))
        for kind in KINDS:
            tally = result['faults'][kind]
            self.assertEqual(2, tally['injected'], kind)
            self.assertEqual(2, tally['recovered'], kind)
            self.assertEqual(0, tally['vms_lost'], kind)
            self.assertEqual(0, tally['allocations_leaked'], kind)
            self.assertEqual(0, tally['duplicate_actions'], kind)
        for kind in BROKER_KINDS:
            tally = result['faults'][kind]
            self.assertEqual(1, tally['injected'], kind)
            self.assertEqual(1, tally['recovered'], kind)
            self.assertEqual(0, tally['vms_lost'], kind)
            self.assertEqual(0, tally['duplicate_actions'], kind)
        rounds = result['broker_fault_rounds']
        self.assertEqual(sorted(BROKER_KINDS),
                         sorted(r['kind'] for r in rounds))
        for detail in rounds:
            # The fault hit the plan in the middle, and every action ran
            # exactly once.
            self.assertTrue(detail['mid_wave'], detail)
            self.assertEqual('SUCCEEDED', detail['plan_state'], detail)
            self.assertEqual(detail['actions'], detail['executions'],
                             detail)
        totals = result['totals']
        self.assertEqual(10, totals['injected'])
        self.assertEqual(0, totals['unattributed_losses_or_leaks'])
        # The baseline ran the same script, and recovered less.
        baseline = result['baseline']
        self.assertEqual(8, baseline['totals']['injected'])
        self.assertEqual(sorted(KINDS), result['recovered_ratio_kinds'])
        self.assertLess(baseline['totals']['recovered'],
                        sum(result['faults'][k]['recovered'] for k in KINDS))
        self.assertEqual(
            dict({k: {'irra': result['faults'][k]['recovered'],
                      'baseline': baseline['faults'][k]['recovered']}
                  for k in KINDS},
                 **{k: {'irra': 1, 'baseline': None} for k in BROKER_KINDS}),
            result['per_kind_recovered'])
        self.assertEqual(sorted(BROKER_KINDS),
                         sorted(result['baseline_not_run']))
        # One progress line per fault on each side, and per broker fault.
        self.assertEqual(18, len(progress))
        self.assertEqual({}, result['not_run'])

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
