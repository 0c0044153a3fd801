"""The real ``openstack`` command against a real irra-api on loopback.

The class starts ``irra-api`` (noauth2, one worker, a free port) on a
migrated and seeded sqlite file, and each test runs
``openstack --os-auth-type admin_token --os-endpoint URL --os-token TOKEN
irra ...`` in a subprocess, as an operator would. Tokens of the form
USER:PROJECT:ROLES pick the persona (see irra_openstack.api.auth).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import testtools

from irra_openstack.db import api as db_api
from tests.unit.api import seed

BIN = os.path.dirname(sys.executable)
IDS = seed.IDS


def _tool(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else shutil.which(name)


class OpenStackCLITest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix='irra-cli-')
        db = os.path.join(cls.tmp, 'irra.sqlite')
        seed.make_app('sqlite:///%s' % db)
        db_api.dispose()
        conf = os.path.join(cls.tmp, 'irra.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    '[api]\nauth_strategy = noauth2\n' % db)
        cls.server = subprocess.Popen(
            [_tool('irra-api'), '--config-file', conf, '--port', '0',
             '--workers', '1'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.server.stdout.readline()
        if 'listening on' not in line:
            cls.server.kill()
            raise AssertionError('irra-api did not start: %r' % line)
        cls.url = line.split()[3]
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(cls.url + '/healthcheck', timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=30)
        cls.server.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def openstack(self, *args, token='admin', endpoint=None, check=True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_') and k != 'IRRA_ENDPOINT'}
        command = [_tool('openstack'), '--os-auth-type', 'admin_token',
                   '--os-endpoint', endpoint or self.url,
                   '--os-token', token] + list(args)
        result = subprocess.run(command, capture_output=True, text=True,
                                env=env, timeout=120)
        self.assertNotIn('Traceback', result.stderr)
        if check:
            self.assertEqual(0, result.returncode,
                             'openstack %s: %s' % (' '.join(args),
                                                   result.stderr))
        return result

    def json(self, *args, **kwargs):
        return json.loads(self.openstack(*(args + ('-f', 'json')),
                                         **kwargs).stdout)

    def test_help_of_every_command_group(self):
        out = self.openstack('help', 'irra', 'plan', 'create').stdout
        self.assertIn('--availability-zone', out)
        self.assertIn('--automation-level', out)
        out = self.openstack('irra', 'forecast', 'show', '--help').stdout
        self.assertIn('--plot <FILE.png>', out)
        out = self.openstack('command', 'list', '--group', 'irra',
                             '-f', 'value').stdout
        for name in ('irra forecast list', 'irra anomaly show',
                     'irra plan approve', 'irra action retry',
                     'irra reservation delete', 'irra market prices',
                     'irra market trades', 'irra sla create',
                     'irra region show'):
            self.assertIn(name, out)

    def test_forecasts(self):
        forecasts = self.json('irra', 'forecast', 'list')
        self.assertEqual(5, len(forecasts))
        self.assertEqual('vm-1', forecasts[0]['Resource ID'])
        page = self.json('irra', 'forecast', 'list', '--limit', '2',
                         '--marker', '2')
        self.assertEqual([3, 4], [f['ID'] for f in page])
        regions = self.openstack('irra', 'forecast', 'list',
                                 '--resource-kind', 'region', '-c', 'ID',
                                 '-f', 'value').stdout.split()
        self.assertEqual(['4', '5'], regions)

    def test_forecast_show_plot(self):
        png = os.path.join(self.tmp, 'forecast.png')
        actuals = os.path.join(self.tmp, 'actuals.csv')
        with open(actuals, 'w') as f:
            f.write('time,value\n2026-01-01T00:00:00Z,0.52\n'
                    '2026-01-01T00:05:00Z,0.55\n')
        shown = self.json('irra', 'forecast', 'show', '1', '--plot', png,
                          '--actuals', actuals)
        self.assertEqual(12, len(shown['point']))
        self.assertIsNone(shown['point'][3])
        self.assertEqual('ridge', shown['model']['name'])
        with open(png, 'rb') as f:
            self.assertEqual(b'\x89PNG', f.read(4))
        self.assertGreater(os.path.getsize(png), 5000)
        result = self.openstack('irra', 'forecast', 'show', '1', '--plot',
                                png, '--actuals', actuals + '.missing',
                                check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn('Cannot read', result.stderr)

    def test_forecasts_are_for_operators(self):
        result = self.openstack('irra', 'forecast', 'list',
                                token='m1:p1:member', check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn('Policy does not allow irra:forecast:list. (HTTP 403',
                      result.stderr)

    def test_anomalies(self):
        mine = self.json('irra', 'anomaly', 'list', token='r1:p1:reader')
        self.assertEqual([IDS['ANOMALY_P1']], [a['ID'] for a in mine])
        everyone = self.json('irra', 'anomaly', 'list', '--min-severity',
                             '4', token='sr:*:reader')
        self.assertEqual(2, len(everyone))
        shown = self.json('irra', 'anomaly', 'show', IDS['ANOMALY_P1'])
        self.assertEqual(['vm-1'], shown['root_cause']['report']['vms'])

    def test_plan_life(self):
        member = 'm1:p1:member'
        plan = self.json('irra', 'plan', 'create', '--region', 'R1',
                         '--exclude-host', 'host-c', '--continuous',
                         '--automation-level', 'partial', token=member)
        self.assertEqual('PENDING', plan['state'])
        self.assertEqual('continuous', plan['mode'])
        self.assertEqual({'region': 'R1',
                          'exclusions': {'hosts': ['host-c']}},
                         plan['scope'])
        approved = self.json('irra', 'plan', 'approve', plan['id'],
                             token=member)
        self.assertEqual('APPROVED', approved['state'])
        again = self.openstack('irra', 'plan', 'approve', plan['id'],
                               token=member, check=False)
        self.assertEqual(1, again.returncode)
        self.assertIn('approval needs it to be PENDING. (HTTP 409',
                      again.stderr)
        cancelled = self.json('irra', 'plan', 'cancel', plan['id'],
                              token=member)
        self.assertEqual('CANCELLED', cancelled['state'])
        states = self.openstack('irra', 'plan', 'list', '--state',
                                'CANCELLED', '-c', 'ID', '-f', 'value',
                                token=member).stdout.split()
        self.assertIn(plan['id'], states)
        self.assertEqual(IDS['PLAN_P2'], self.json(
            'irra', 'plan', 'list', token='m2:p2:member')[0]['ID'])

    def test_actions(self):
        actions = self.json('irra', 'action', 'list', IDS['PLAN_ONGOING'],
                            '--long')
        self.assertEqual(['PENDING', 'SUCCEEDED'],
                         [a['State'] for a in actions])
        self.assertEqual({'forecast': 'host-a overloaded'},
                         actions[0]['Reason'])
        skipped = self.json('irra', 'action', 'skip', IDS['PLAN_ONGOING'],
                            IDS['ACTION_PENDING'], '--reason',
                            'host-b in maintenance')
        self.assertEqual('SKIPPED', skipped['state'])
        self.assertEqual('SUCCEEDED', self.json(
            'irra', 'plan', 'show', IDS['PLAN_ONGOING'])['state'])
        retried = self.json('irra', 'action', 'retry', IDS['PLAN_FAILED'],
                            IDS['ACTION_FAILED'], '--reason', 'network back')
        self.assertEqual('PENDING', retried['state'])
        missing = self.openstack('irra', 'action', 'skip',
                                 IDS['PLAN_FAILED'], IDS['ACTION_FAILED'],
                                 check=False)
        self.assertEqual(2, missing.returncode)
        self.assertIn('--reason', missing.stderr)

    def test_reservations(self):
        listed = self.json('irra', 'reservation', 'list', '--state',
                           'ACTIVE')
        self.assertEqual({IDS['RES_ACTIVE'], IDS['RES_P2']},
                         {r['ID'] for r in listed})
        shown = self.json('irra', 'reservation', 'show', IDS['RES_P2'])
        self.assertEqual('R2', shown['region'])
        self.openstack('irra', 'reservation', 'delete', IDS['RES_P2'])
        self.assertEqual('RELEASED', self.json(
            'irra', 'reservation', 'show', IDS['RES_P2'])['state'])
        again = self.openstack('irra', 'reservation', 'delete',
                               IDS['RES_P2'], check=False)
        self.assertEqual(1, again.returncode)
        self.assertIn('is RELEASED already', again.stderr)

    def test_market(self):
        prices = self.json('irra', 'market', 'prices', '--resource-class',
                           'VCPU')
        self.assertEqual([{'Resource Class': 'VCPU', 'Price': 2.0,
                           'Mean Price': 2.0, 'Quantity': 10.0,
                           'Trades': 1,
                           'Updated At': '2026-01-01T00:00:00Z'}], prices)
        trades = self.openstack('irra', 'market', 'trades', '-f', 'csv',
                                '--buyer-region', 'R1').stdout
        self.assertIn('"%s","R1","R2","VCPU"' % IDS['TRADE_1'], trades)

    def test_slas(self):
        member = 'm2:p2:member'
        sla = self.json('irra', 'sla', 'create', 'platinum', '--tier',
                        'platinum', '--confidence-level', '0.99',
                        '--headroom', '0.3', token=member)
        self.assertEqual('p2', sla['project_id'])
        names = self.openstack('irra', 'sla', 'list', '-c', 'Name', '-f',
                               'value', token=member).stdout.split()
        self.assertEqual(['silver-p2', 'platinum'], names)
        bad = self.openstack('irra', 'sla', 'create', 'x', '--tier', 't',
                             '--confidence-level', '1.5', token=member,
                             check=False)
        self.assertEqual(1, bad.returncode)
        self.assertIn('confidence_level', bad.stderr)
        self.openstack('irra', 'sla', 'delete', sla['id'], token=member)
        self.assertNotIn('platinum', self.openstack(
            'irra', 'sla', 'list', '-f', 'value', token=member).stdout)

    def test_regions(self):
        regions = self.json('irra', 'region', 'list')
        self.assertEqual(['R1', 'R2'], [r['Name'] for r in regions])
        region = self.openstack('irra', 'region', 'show', 'R1', '-f',
                                'yaml').stdout
        self.assertIn('cpu_util: 4', region)
        missing = self.openstack('irra', 'region', 'show', 'R9',
                                 check=False)
        self.assertEqual(1, missing.returncode)
        self.assertIn('Region R9 was not found. (HTTP 404', missing.stderr)

    def test_unreachable_api(self):
        result = self.openstack('irra', 'plan', 'list',
                                endpoint='http://127.0.0.1:9',
                                check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn('Cannot reach irra-api at http://127.0.0.1:9',
                      result.stderr)
