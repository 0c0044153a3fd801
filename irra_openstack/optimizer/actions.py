"""What a planner emits: actions, each with the reason it was chosen.

This is the contract between the planners (``irra.optimizers``,
``irra.schedulers``), the executors (``irra.executors``, run by
``irra-rrm``) and the database (:class:`irra_openstack.db.models.Action`).
Every field here maps onto a column of that table, except ``wave``,
``depends_on`` and ``parameters``, which are kept inside ``reason``'s
sibling keys when persisted (see :meth:`PlannedAction.as_record`).
"""

import dataclasses
import hashlib
import json

from irra_openstack.db import constants


def idempotency_key(action_type, resource_id, source, destination, salt):
    """A stable key: the same decision in the same plan gives the same key.

    ``salt`` is normally the plan's UUID, so a repeated message or a
    restart that replays a plan maps onto the same database row, and an
    executor can refuse to run a key twice.
    """
    raw = json.dumps([action_type, resource_id, source, destination, salt])
    return '%s:%s' % (action_type,
                      hashlib.sha256(raw.encode()).hexdigest()[:32])


@dataclasses.dataclass
class PlannedAction:
    """One step of a plan.

    ``reason`` is what an operator reads (see the Explainability section of
    the allocation engine's docs). It holds:

    - ``forecast``: the numbers that triggered it, e.g. ``{"metric":
      "VCPU", "point": .., "lower": .., "upper": .., "level": .9,
      "threshold": ..}``;
    - ``constraint``: the constraint it resolves, as text and as a key,
      e.g. ``"host overload: compute-3 VCPU"``;
    - ``benefit``: the expected benefit, e.g. the predicted overload
      removed, in the resource's unit;
    - ``price``: where a market price was involved, the unit price.
    """

    action_type: str
    resource_id: str
    resource_kind: str = constants.ResourceKind.VM
    source: str | None = None
    destination: str | None = None
    reason: dict = dataclasses.field(default_factory=dict)
    #: Wave number given by a migration scheduler (0-based), or None.
    wave: int | None = None
    #: Idempotency keys of the actions that must finish first.
    depends_on: tuple = ()
    #: Executor-specific arguments, e.g. ``{"resources": {"VCPU": 4}}``.
    parameters: dict = dataclasses.field(default_factory=dict)
    key: str | None = None

    def __post_init__(self):
        if self.action_type not in constants.ActionType.ALL and \
                not self.action_type.startswith('x-'):
            raise ValueError('unknown action type %r' % self.action_type)

    def with_key(self, salt):
        """Set :attr:`key` from the action's content and ``salt``."""
        self.key = idempotency_key(self.action_type, self.resource_id,
                                   self.source, self.destination, salt)
        return self

    def as_record(self):
        """The values of a :class:`~irra_openstack.db.models.Action` row."""
        reason = dict(self.reason)
        reason['wave'] = self.wave
        reason['depends_on'] = list(self.depends_on)
        reason['parameters'] = dict(self.parameters)
        return {
            'idempotency_key': self.key,
            'action_type': self.action_type,
            'resource_id': self.resource_id,
            'resource_kind': self.resource_kind,
            'source': self.source,
            'destination': self.destination,
            'reason': reason,
        }


@dataclasses.dataclass
class Shortfall:
    """Demand a planner could not meet, and why. Never silent."""

    resource_id: str
    resource_class: str
    amount: float
    reason: str
    resource_kind: str = constants.ResourceKind.APP
    region: str | None = None


@dataclasses.dataclass
class PlanResult:
    """A planner's answer: actions, explicit shortfalls, and a summary."""

    actions: list = dataclasses.field(default_factory=list)
    shortfalls: list = dataclasses.field(default_factory=list)
    #: Planner-specific figures, e.g. objective value, prices, risk.
    summary: dict = dataclasses.field(default_factory=dict)
