"""Tests of option discovery and of the checked-in sample file."""

import os
import sys

import fixtures
from oslo_config import cfg
from oslo_config import generator

from irra_openstack.conf import opts
from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class OptsTest(base.TestCase):

    def test_every_option_has_real_help(self):
        # keystoneauth's session and auth options keep their library's
        # help; every option irra defines needs a real sentence.
        from keystoneauth1 import loading as ks_loading
        library = {o.dest for o in (
            ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password'))}
        for group, group_opts in opts.list_opts():
            for opt in group_opts:
                if group.endswith('_auth') and opt.dest in library:
                    continue
                self.assertGreater(
                    len((opt.help or '').split()), 3,
                    'option [%s] %s needs a real help text' %
                    (group, opt.name))

    def test_groups_of_the_conf_modules_are_listed(self):
        groups = dict(opts.list_opts())
        self.assertIn('traces', groups)
        self.assertIn('forecast', groups)

    def test_every_conf_module_is_registered(self):
        conf = cfg.ConfigOpts()
        from irra_openstack import conf as irra_conf
        irra_conf.register_opts(conf)
        conf([], default_config_files=[])
        self.assertEqual('repair', conf.traces.on_bad_data)
        self.assertEqual(0.9, conf.forecast.level)

    def test_module_without_list_opts_is_an_error(self):
        root = self.useFixture(fixtures.TempDir()).path
        pkg = os.path.join(root, 'irra_fake_conf')
        os.mkdir(pkg)
        open(os.path.join(pkg, '__init__.py'), 'w').close()
        with open(os.path.join(pkg, 'widgets.py'), 'w') as f:
            f.write('def register_opts(conf):\n    pass\n')
        self.useFixture(fixtures.MonkeyPatch('sys.path',
                                             [root] + sys.path))
        self.useFixture(fixtures.MonkeyPatch(
            'irra_openstack.conf.opts._PACKAGE', 'irra_fake_conf'))
        exc = self.assertRaises(RuntimeError, opts.conf_modules)
        self.assertIn("'irra_fake_conf.widgets' must define list_opts()",
                      str(exc))


class SampleConfigTest(base.TestCase):
    """The checked-in sample is what ``tox -e genconfig`` writes."""

    def test_sample_is_up_to_date(self):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'irra.conf.sample')
        gen_conf = cfg.ConfigOpts()
        generator.register_cli_opts(gen_conf)
        gen_conf(['--config-file',
                  os.path.join(ROOT, 'etc/irra/irra-config-generator.conf'),
                  '--output-file', out])
        generator.generate(gen_conf)
        with open(out) as f:
            fresh = f.read()
        with open(os.path.join(ROOT, 'etc/irra/irra.conf.sample')) as f:
            checked_in = f.read()
        self.assertEqual(
            checked_in, fresh,
            'etc/irra/irra.conf.sample is stale: run "tox -e genconfig" '
            'and commit the result')


class SamplePolicyTest(base.TestCase):
    """The checked-in policy sample is what ``tox -e genpolicy`` writes."""

    def test_policy_sample_is_up_to_date(self):
        from oslo_policy import generator as policy_generator

        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'policy.yaml.sample')
        policy_generator.generate_sample(
            args=['--config-file',
                  os.path.join(ROOT, 'etc/irra/irra-policy-generator.conf'),
                  '--output-file', out],
            conf=cfg.ConfigOpts())
        with open(out) as f:
            fresh = f.read()
        with open(os.path.join(ROOT, 'etc/irra/policy.yaml.sample')) as f:
            checked_in = f.read()
        self.assertEqual(
            checked_in, fresh,
            'etc/irra/policy.yaml.sample is stale: run "tox -e genpolicy" '
            'and commit the result')
