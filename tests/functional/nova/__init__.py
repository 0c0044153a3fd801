"""Tests of the scheduler filter and weigher inside Nova's own harness.

Nova's scheduler, conductor, API and Placement run in process, with Nova's
fake virt driver as the hypervisor. As in Nova's own functional tests, the
concurrency mode (eventlet or native threads) is chosen here, before any
Nova module is imported: OS_NOVA_DISABLE_EVENTLET_PATCHING=1 (tox's
default) runs the native-thread mode, 0 the eventlet mode.
"""

import os

# Chosen explicitly, as Nova's harness needs: native threads unless the
# environment asks for eventlet.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import nova.monkey_patch  # noqa: E402

nova.monkey_patch.patch()
