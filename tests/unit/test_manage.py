"""Tests of the irra-manage framework: parsing, output and errors."""

import io
import subprocess
import sys

import fixtures
from oslo_config import cfg

from irra_openstack.cmd import manage
from tests import base


class ManageMainTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        # A private configuration object: the global one may hold another
        # service's options in this process.
        self.main_conf = cfg.ConfigOpts()

    def test_plugin_list(self):
        rc = manage.main(['plugin', 'list',
                          '--namespace', 'irra.trace_formats'],
                         conf=self.main_conf)
        self.assertEqual(0, rc)
        out = self.stdout.getvalue()
        self.assertIn('irra.trace_formats (trace format):', out)
        self.assertIn('gwa-t-12', out)

    def test_bad_config_file_is_one_line(self):
        rc = manage.main(['--config-file', '/nonexistent/irra.conf',
                          'plugin', 'list'], conf=self.main_conf)
        self.assertEqual(1, rc)
        err = self.stderr.getvalue()
        self.assertTrue(err.startswith('ERROR: '), err)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn('/nonexistent/irra.conf', err)

    def test_replay_refuses_negative_forecaster_threads(self):
        # Refused before the trace is read: the path need not exist.
        rc = manage.main(['bench', 'replay', '--trace', '/nonexistent',
                          '--forecaster-threads', '-1'],
                         conf=self.main_conf)
        self.assertEqual(1, rc)
        err = self.stderr.getvalue()
        self.assertIn('--forecaster-threads must be 0 (one per core) or '
                      'more, got -1', err)
        self.assertEqual(1, len(err.strip().splitlines()), err)

    def test_replay_refuses_negative_rise_minutes(self):
        rc = manage.main(['bench', 'replay', '--trace', '/nonexistent',
                          '--rise-minutes', '-5'], conf=self.main_conf)
        self.assertEqual(1, rc)
        err = self.stderr.getvalue()
        self.assertIn('--rise-minutes must be 0 (the whole horizon) or '
                      'more, got -5', err)
        self.assertEqual(1, len(err.strip().splitlines()), err)


class ManageConsoleScriptTest(base.TestCase):
    """The installed console script, as an operator runs it."""

    def _run(self, *args):
        return subprocess.run(
            [sys.executable, '-m', 'irra_openstack.cmd.manage'] +
            list(args), capture_output=True, text=True, timeout=120)

    def test_help_lists_categories(self):
        proc = self._run('--help')
        self.assertEqual(0, proc.returncode, proc.stderr)
        for category in ('db', 'demo', 'plugin', 'trace'):
            self.assertIn(category, proc.stdout)

    def test_unknown_category_is_a_usage_error(self):
        proc = self._run('frobnicate')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("invalid choice: 'frobnicate'", proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)

    def test_unknown_plugin_namespace_is_a_usage_error(self):
        proc = self._run('plugin', 'list', '--namespace', 'irra.nope')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('invalid choice', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
