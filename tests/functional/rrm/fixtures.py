"""A private RabbitMQ node and irra-rrm processes, as test fixtures.

The machinery itself is :mod:`irra_openstack.rrm.testing` (the fault
benchmark uses it too); these wrap it as fixtures that clean up after the
test, and :func:`wait_for` fails the test with an AssertionError.
"""

import os
import time

import fixtures

from irra_openstack.rrm import testing

#: The root of the source tree (for PYTHONPATH: tests.* executors).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
free_port = testing.free_port
port_open = testing.port_open
write_config = testing.write_config


def wait_for(predicate, timeout, what, interval=0.2):
    """Call ``predicate`` until it is true; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('Gave up waiting %d s for %s'
                                 % (timeout, what))
        time.sleep(interval)


class PrivateRabbit(testing.PrivateRabbit, fixtures.Fixture):
    """A RabbitMQ node of the test's own, on free loopback ports."""

    def __init__(self):
        fixtures.Fixture.__init__(self)

    def _setUp(self):
        why = testing.rabbit_missing()
        if why:
            raise AssertionError(why)
        directory = self.useFixture(fixtures.TempDir()).path
        testing.PrivateRabbit.__init__(self, directory)
        self.addCleanup(self.stop)
        self.start()


class RRMProcess(testing.RRMProcess, fixtures.Fixture):
    """``irra-rrm --config-file CONFIG`` in a process group of its own.

    :param env: extra environment variables.
    """

    def __init__(self, region, config, env=None):
        testing.RRMProcess.__init__(self, region, config, env=env,
                                    pythonpath=[ROOT])
        fixtures.Fixture.__init__(self)

    def _setUp(self):
        self.addCleanup(self.stop)
        self.start()
