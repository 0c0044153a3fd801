"""The base of the ``irra.executors`` plugins.

An executor runs one kind of action against one region's services. It is
built from explicit collaborators (an openstacksdk connection or a
keystoneauth adapter, the reservation manager, hooks) and must be safe to
call again with the same action after a crash: it checks the real state
first (Nova's migration records, Placement's allocations) and never repeats
work that is already done.
"""

import abc
import dataclasses

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack import plugins


class ExecutionError(exception.IrraError):
    """An action failed; the message says what and why, for an operator."""

    msg_fmt = 'action %(key)s failed: %(reason)s'


@dataclasses.dataclass
class Outcome:
    """What happened to an action."""

    #: One of ActionState.FINAL, or ONGOING when still running.
    state: str
    #: Where the resource ended up, if it moved.
    destination: str | None = None
    #: Attempts made, including retries.
    attempts: int = 1
    #: Operator-readable error of the last failed attempt, if any.
    error: str | None = None
    #: Executor-specific details (migration ids, hosts tried, ...).
    details: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        allowed = constants.ActionState.FINAL | {
            constants.ActionState.ONGOING}
        if self.state not in allowed:
            raise ValueError('an outcome state must be one of %s, not %r'
                             % (', '.join(sorted(allowed)), self.state))


class Executor(plugins.Plugin):
    """Runs actions of the types in :attr:`action_types`."""

    #: The :class:`~irra_openstack.db.constants.ActionType` values handled.
    action_types = ()

    @abc.abstractmethod
    def execute(self, action):
        """Run ``action`` (a :class:`PlannedAction` or an action dict).

        :returns: an :class:`Outcome`. Expected failures are outcomes with
            state FAILED and an error message, not exceptions.
        """

    @abc.abstractmethod
    def reconcile(self, action):
        """Find what became of an ONGOING action after a restart.

        Reads the real state (e.g. Nova's migration records) and returns an
        :class:`Outcome`; it never starts the action again.
        """

    def cancel(self, action):
        """Stop an action that is running, if the executor can.

        :returns: an :class:`Outcome`. The default cannot cancel and says so.
        """
        return Outcome(state=constants.ActionState.ONGOING,
                       error='%s cannot cancel a running action'
                             % type(self).__name__)
