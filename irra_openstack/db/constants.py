"""Values that irra stores in its database: states, kinds and levels.

They are defined here once. The models constrain their columns to them, and
the rest of irra (engine, API, RRM, command line) imports them from here
instead of spelling the strings again.

A migration, on the other hand, writes its allowed values out literally:
it describes the schema at the time it was written, and must not change when
these constants change later. Adding a value here therefore needs a new
migration that replaces the matching check constraint.
"""


class ResourceKind:
    """What a forecast, an anomaly or an action is about."""

    VM = 'vm'
    HOST = 'host'
    APP = 'app'
    REGION = 'region'

    ALL = (VM, HOST, APP, REGION)


class PlanState:
    """The life of a plan.

    A plan is PENDING until approved (or approved automatically, per its
    automation level), ONGOING while its actions run, and ends SUCCEEDED
    only when every action succeeded or was skipped, FAILED when one
    failed, CANCELLED when stopped, or SUPERSEDED when a newer plan replaced
    it before it ran.
    """

    PENDING = 'PENDING'
    APPROVED = 'APPROVED'
    ONGOING = 'ONGOING'
    SUCCEEDED = 'SUCCEEDED'
    FAILED = 'FAILED'
    CANCELLED = 'CANCELLED'
    SUPERSEDED = 'SUPERSEDED'

    ALL = (PENDING, APPROVED, ONGOING, SUCCEEDED, FAILED, CANCELLED,
           SUPERSEDED)
    FINAL = frozenset((SUCCEEDED, FAILED, CANCELLED, SUPERSEDED))


class ActionState:
    """The life of an action: PENDING, ONGOING, then one final state."""

    PENDING = 'PENDING'
    ONGOING = 'ONGOING'
    SUCCEEDED = 'SUCCEEDED'
    FAILED = 'FAILED'
    SKIPPED = 'SKIPPED'
    CANCELLED = 'CANCELLED'

    ALL = (PENDING, ONGOING, SUCCEEDED, FAILED, SKIPPED, CANCELLED)
    FINAL = frozenset((SUCCEEDED, FAILED, SKIPPED, CANCELLED))


class ActionType:
    """The actions that irra's own executors know.

    Not constrained in the database: an executor plugin may add its own.
    """

    RESERVE = 'reserve'
    RELEASE = 'release'
    LIVE_MIGRATE = 'live_migrate'
    COLD_MIGRATE = 'cold_migrate'
    RELOCATE = 'relocate'
    SCALE_OUT = 'scale_out'
    SCALE_IN = 'scale_in'

    ALL = (RESERVE, RELEASE, LIVE_MIGRATE, COLD_MIGRATE, RELOCATE,
           SCALE_OUT, SCALE_IN)


class AutomationLevel:
    """How much of a plan runs without an operator.

    ``advisory``: the plan is only shown; ``approval``: it runs once an
    operator approves it; ``automatic``: it runs at once.
    """

    ADVISORY = 'advisory'
    APPROVAL = 'approval'
    AUTOMATIC = 'automatic'

    ALL = (ADVISORY, APPROVAL, AUTOMATIC)


class ReservationState:
    """The life of a reservation held in Placement.

    PENDING until the allocation exists in Placement, then ACTIVE. An
    ACTIVE reservation ends exactly once: CONVERTED into a real instance
    allocation, RELEASED by irra, or EXPIRED (released at its expiry).
    FAILED means Placement refused it.
    """

    PENDING = 'PENDING'
    ACTIVE = 'ACTIVE'
    CONVERTED = 'CONVERTED'
    RELEASED = 'RELEASED'
    EXPIRED = 'EXPIRED'
    FAILED = 'FAILED'

    ALL = (PENDING, ACTIVE, CONVERTED, RELEASED, EXPIRED, FAILED)
    FINAL = frozenset((CONVERTED, RELEASED, EXPIRED, FAILED))
