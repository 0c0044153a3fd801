"""irra-rrm's command line: configuration errors are one clear line."""

import io
import os

import fixtures

from irra_openstack.cmd import rrm
from irra_openstack.rrm import service
from tests import base


class CommandTest(base.TestCase):

    def run_main(self, config):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'irra.conf')
        with open(path, 'w') as f:
            f.write(config)
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        return rrm.main(['--config-file', path]), stderr.getvalue()

    def test_empty_transport_url(self):
        code, err = self.run_main('[DEFAULT]\ntransport_url =\n')
        self.assertEqual(1, code)
        self.assertEqual('ERROR: Invalid configuration: [DEFAULT] '
                         'transport_url is not set; irra-rrm needs a message '
                         'broker, e.g. rabbit://USER:PASSWORD@HOST:5672/\n',
                         err)

    def test_no_database(self):
        code, err = self.run_main(
            '[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1/\n')
        self.assertEqual(1, code)
        self.assertIn('[database] connection', err)
        self.assertEqual(1, len(err.splitlines()))

    def test_bad_factory(self):
        code, err = self.run_main(
            '[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1/\n'
            '[rrm]\nexecutor_factory = tests.nowhere.factory\n')
        self.assertEqual(1, code)
        self.assertEqual('ERROR: Cannot load tests.nowhere.factory: cannot '
                         "import tests.nowhere (No module named "
                         "'tests.nowhere')\n", err)

    def test_bad_option_value(self):
        code, err = self.run_main('[rrm]\nmax_parallel_actions = 0\n')
        self.assertEqual(1, code)
        self.assertIn('max_parallel_actions', err)
        self.assertEqual(1, len(err.splitlines()))

    def test_messaging_options_on_a_private_object(self):
        conf = service.make_conf([], default_config_files=[])
        self.assertEqual('irra-rrm', service.rpcapi.TOPIC)
        self.assertEqual('rabbit://', conf.transport_url)
        self.assertFalse(conf.oslo_messaging_tracing.tracing_enabled)
        self.assertEqual('RegionOne', conf.rrm.region_name)
