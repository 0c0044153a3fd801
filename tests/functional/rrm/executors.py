"""An executor for the irra-rrm process tests, with a durable journal.

irra-rrm loads it by class path (``[rrm] executors =
live_migrate:tests.functional.rrm.executors.JournalExecutor``), so it needs
no entry point. It stands for a hypervisor-side operation that, once
started, goes on by itself (as a Nova live migration does when the
irra-rrm that asked for it dies): ``execute`` writes ``start KEY`` to the
journal, works for ``IRRA_RRM_TEST_ACTION_SECONDS``, then writes ``done
KEY``. ``reconcile`` reads the journal, like the Nova executor reads the
migration records: an action with a ``start`` line went through (the
operation went on without its irra-rrm), one without never reached the
"hypervisor" and FAILED.

The journal is one file per region in ``IRRA_RRM_TEST_DIR``; every line is
one ``write()`` on a file opened with O_APPEND and is fsync'd, so it
survives a SIGKILL, and counting ``start`` lines counts executions.
"""

import os
import time

from irra_openstack.db import constants
from irra_openstack.executor import base

State = constants.ActionState


def journal_path(directory, region):
    return os.path.join(directory, 'journal-%s' % region)


def read_journal(directory, region):
    """[(event, key)] of a region's journal, in order."""
    path = journal_path(directory, region)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(line.split()[:2]) for line in f if line.strip()]


class JournalExecutor(base.Executor):
    """Live migrations that only write a journal (see the module)."""

    name = 'journal'
    action_types = (constants.ActionType.LIVE_MIGRATE,)

    def __init__(self, directory, region, seconds):
        self.path = journal_path(directory, region)
        self.region = region
        self.seconds = seconds

    @classmethod
    def from_config(cls, conf, region):
        return cls(os.environ['IRRA_RRM_TEST_DIR'], region,
                   float(os.environ.get('IRRA_RRM_TEST_ACTION_SECONDS',
                                        '1')))

    def _write(self, event, key):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o644)
        try:
            os.write(fd, ('%s %s %d\n' % (event, key, os.getpid())).encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _events(self, key):
        if not os.path.exists(self.path):
            return set()
        with open(self.path) as f:
            return {line.split()[0] for line in f
                    if line.split()[1:2] == [key]}

    def execute(self, action):
        key = action['idempotency_key']
        self._write('start', key)
        time.sleep(self.seconds)
        self._write('done', key)
        return base.Outcome(state=State.SUCCEEDED,
                            destination=action['destination'])

    def reconcile(self, action):
        key = action['idempotency_key']
        self._write('reconcile', key)
        if 'start' in self._events(key):
            return base.Outcome(state=State.SUCCEEDED,
                                destination=action['destination'],
                                details={'reconciled': True})
        return base.Outcome(state=State.FAILED,
                            error='irra-rrm stopped before the migration '
                                  'started')
