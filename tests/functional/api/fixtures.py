"""Gabbi fixtures: a fresh, seeded sqlite database and the app over it."""

import os
import shutil
import tempfile

from gabbi import fixture

from irra_openstack.db import api as db_api
from tests.unit.api import seed

#: The app of the running fixture, for the loader's intercept.
_STATE = {}


def _current_app(environ, start_response):
    return _STATE['app'](environ, start_response)


def setup_app():
    """The WSGI app that gabbi's intercept calls.

    Gabbi builds its HTTP clients when it loads the tests, before any
    fixture has started: the app it gets sends each request to the app of
    the fixture running then.
    """
    return _current_app


class APIFixture(fixture.GabbiFixture):
    """irra-api with noauth2 on a migrated sqlite file with seed data.

    The ids of the seed data are in the environment as IRRA_<NAME>.
    """

    def start_fixture(self):
        self.tmp = tempfile.mkdtemp(prefix='irra-gabbi-')
        seed.environ()
        # Larger than [oslo_middleware] max_request_body_size (114688).
        os.environ['IRRA_HUGE_BODY'] = '{"scope": {"region": "%s"}}' % (
            'x' * 200000)
        self.conf, _STATE['app'] = seed.make_app(
            'sqlite:///%s/irra.sqlite' % self.tmp, default_limit=100)

    def stop_fixture(self):
        # A 200 kB variable is more than exec() takes: leave none behind
        # for the tests that start programs in this process later.
        os.environ.pop('IRRA_HUGE_BODY', None)
        db_api.dispose()
        _STATE.pop('app', None)
        shutil.rmtree(self.tmp, ignore_errors=True)
