"""Base test case of irra's tests."""

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslotest import base

from irra_openstack import conf as irra_conf


class TestCase(base.BaseTestCase):
    """A test with its own, private configuration object.

    ``self.conf`` has every irra option registered; set values with
    ``self.flags(group=..., name=value)``.
    """

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        irra_conf.register_opts(conf)
        self.conf_fixture = self.useFixture(config_fixture.Config(conf))
        self.conf = conf
        self.conf([], project='irra', default_config_files=[])

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf_fixture.config(group=group, **{name: value})
