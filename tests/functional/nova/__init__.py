"""Tests of the scheduler filter and weigher inside Nova's own harness.

Nova's scheduler, conductor, API and Placement run in process, with Nova's
fake virt driver as the hypervisor. As in Nova's own functional tests, the
concurrency mode (eventlet or native threads) is chosen here, before any
Nova module is imported: OS_NOVA_DISABLE_EVENTLET_PATCHING=1 (tox's
default) runs the native-thread mode, 0 the eventlet mode.

Nova refuses native-thread mode in a process that has already imported
eventlet, which other functional tests do (oslo.service, oslo.messaging).
tox therefore runs this package in processes of its own; when it is only
imported next to such tests (for example while stestr lists every test),
it is not patched, and its tests fail at once saying how to run them.
"""

import os
import sys
import unittest

# Chosen explicitly, as Nova's harness needs: native threads unless the
# environment asks for eventlet.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

#: Why Nova's harness cannot run in this process, or None.
UNUSABLE = None

if (os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'].lower() in
        ('1', 'true', 'yes') and 'eventlet' in sys.modules):
    UNUSABLE = ("Nova's native-thread mode cannot start in a process that "
                "has already imported eventlet; run these tests on their "
                "own: stestr --test-path=./tests/functional/nova run")
else:
    import nova.monkey_patch  # noqa: E402

    nova.monkey_patch.patch()


def load_tests(loader, standard_tests, pattern):
    """This package's tests, or one failing test that says how to run them.

    Nova's ``nova.tests.functional`` package patches the process when it is
    imported, so the test modules are imported only where that can work.
    """
    if UNUSABLE:
        # Defined here, not in the module, so that it is collected only
        # where the harness cannot run.
        class HarnessUnusable(unittest.TestCase):
            def test_nova_harness(self):
                self.fail(UNUSABLE)

        standard_tests.addTest(HarnessUnusable('test_nova_harness'))
        return standard_tests
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    standard_tests.addTests(loader.discover(
        start_dir=here, pattern=pattern or 'test*.py', top_level_dir=top))
    return standard_tests
