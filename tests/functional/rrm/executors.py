"""The journal executor of the irra-rrm process tests.

It lives in :mod:`irra_openstack.rrm.testing` (the fault benchmark runs it
too); irra-rrm can load it by either class path.
"""

from irra_openstack.rrm import testing

JournalExecutor = testing.JournalExecutor
journal_path = testing.journal_path
read_journal = testing.read_journal
