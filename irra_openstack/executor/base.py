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

    #: One of ActionState.FINAL, or ONGOING when still running, or (from
    #: :meth:`Executor.reconcile` only) PENDING when it never started.
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
        # PENDING is only for reconcile(): the action never started, and
        # execute() may run it (it is idempotent by the action's key).
        allowed = constants.ActionState.FINAL | {
            constants.ActionState.ONGOING, constants.ActionState.PENDING}
        if self.state not in allowed:
            raise ValueError('an outcome state must be one of %s, not %r'
                             % (', '.join(sorted(allowed)), self.state))


@dataclasses.dataclass
class ActionView:
    """The fields of an action that executors read, whatever its form.

    Built by :func:`view` from a :class:`PlannedAction
    <irra_openstack.optimizer.actions.PlannedAction>` or from a dict: an
    action record (``as_record()``, where the parameters are kept in
    ``reason['parameters']``) or a plain dict with a ``parameters`` key.
    """

    key: str | None
    action_type: str
    resource_id: str
    source: str | None = None
    destination: str | None = None
    parameters: dict = dataclasses.field(default_factory=dict)


def view(action):
    """An :class:`ActionView` of ``action``.

    :raises ExecutionError: it has no type or no resource.
    """
    if isinstance(action, ActionView):
        return action
    if isinstance(action, dict):
        get = action.get
        key = get('idempotency_key', get('key'))
        params = get('parameters')
        if params is None:
            params = (get('reason') or {}).get('parameters') or {}
    else:
        def get(name, default=None):
            return getattr(action, name, default)
        key = get('key')
        params = get('parameters') or {}
    if not get('action_type') or not get('resource_id'):
        raise ExecutionError(key=key, reason='an action needs an '
                             'action_type and a resource_id')
    return ActionView(key=key, action_type=get('action_type'),
                      resource_id=get('resource_id'), source=get('source'),
                      destination=get('destination'),
                      parameters=dict(params))


def resolve_options(cls, options=None):
    """The values of ``cls``'s plugin options, as a dict.

    ``options`` may be None (the defaults), a mapping of overrides, or an
    oslo.config group (what :func:`irra_openstack.plugins.
    register_plugin_opts` returns).

    :raises ConfigError: an override names no option of the plugin.
    """
    values = {opt.dest: opt.default for opt in cls.get_config_opts()}
    if options is None:
        return values
    if isinstance(options, dict):
        unknown = sorted(set(options) - set(values))
        if unknown:
            raise exception.ConfigError(
                reason='%s has no option %s; its options are %s'
                % (cls.__name__, ', '.join(unknown),
                   ', '.join(sorted(values))))
        values.update(options)
        return values
    for name in values:
        values[name] = getattr(options, name)
    return values


class Executor(plugins.Plugin):
    """Runs actions of the types in :attr:`action_types`."""

    #: The :class:`~irra_openstack.db.constants.ActionType` values handled.
    action_types = ()

    def check_type(self, action):
        """An :class:`ActionView` of ``action``, if this executor runs it.

        :raises ExecutionError: the action is of another type.
        """
        act = view(action)
        if act.action_type not in self.action_types:
            raise ExecutionError(
                key=act.key, reason='%s runs %s actions, not %r'
                % (type(self).__name__, ', '.join(self.action_types),
                   act.action_type))
        return act

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
