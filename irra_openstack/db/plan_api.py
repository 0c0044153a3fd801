"""Plans and their actions, as irra-api reads and changes them.

Every state change is a compare-and-set (``UPDATE ... WHERE state IN
(...)``), so that two callers, or the API and the engine, cannot both move
a plan or an action out of the same state. Functions return plain dicts.

A plan's ``scope`` column holds what the API was given::

    {"region": "RegionOne", "aggregate": "ssd", "availability_zone": "az1",
     "exclusions": {"hosts": [...], "instances": [...]},
     "mode": "one-shot" | "continuous",
     "automation_level": "advisory" | "manual" | "partial" | "full",
     "description": "..."}

and its ``automation_level`` column the database's coarser level:
``advisory`` for advisory, ``approval`` for manual and partial (a partial
plan's low-risk actions may run before approval, see the executor),
``automatic`` for full.
"""

from oslo_db import exception as db_exception
from oslo_utils import timeutils
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import constants
from irra_openstack.db import models
from irra_openstack.db import paging_api
from irra_openstack import exception

PLAN_FIELDS = ('id', 'uuid', 'state', 'scope', 'automation_level',
               'project_id', 'created_at', 'updated_at')
ACTION_FIELDS = ('uuid', 'idempotency_key', 'action_type', 'state',
                 'resource_id', 'resource_kind', 'source', 'destination',
                 'reason', 'attempts', 'error', 'started_at', 'finished_at',
                 'created_at', 'updated_at')

#: Automation levels of the API, and the database level of each.
AUTOMATION_LEVELS = {
    'advisory': constants.AutomationLevel.ADVISORY,
    'manual': constants.AutomationLevel.APPROVAL,
    'partial': constants.AutomationLevel.APPROVAL,
    'full': constants.AutomationLevel.AUTOMATIC,
}


class PlanNotFound(exception.IrraError):
    msg_fmt = "Plan %(uuid)s was not found."


class ActionNotFound(exception.IrraError):
    msg_fmt = "Action %(uuid)s was not found in plan %(plan)s."


class StateConflict(exception.IrraError):
    """The plan or action is not in a state that allows the change."""

    msg_fmt = ("%(what)s %(uuid)s is %(state)s; %(change)s needs it to be "
               "%(expected)s.")


def _plan_dict(row, counts=None):
    plan = paging_api.as_dict(row, PLAN_FIELDS)
    if counts is not None:
        plan['action_counts'] = counts
    return plan


def _action_dict(row, plan_uuid):
    action = paging_api.as_dict(row, ACTION_FIELDS)
    action['plan_uuid'] = plan_uuid
    return action


def _counts(session, plan_id):
    rows = session.execute(
        sa.select(models.Action.state, sa.func.count())
        .where(models.Action.plan_id == plan_id)
        .group_by(models.Action.state)).all()
    return {state: count for state, count in rows}


def plan_create(scope, automation_level, project_id, context=None):
    """Create a PENDING plan; ``automation_level`` is the API's level."""
    scope = dict(scope, automation_level=automation_level)
    with api.write_session(context) as session:
        row = models.Plan(scope=scope, project_id=project_id,
                          automation_level=AUTOMATION_LEVELS[
                              automation_level],
                          state=constants.PlanState.PENDING)
        session.add(row)
        session.flush()
        return _plan_dict(row, {})


class DuplicateAction(exception.IrraError):
    msg_fmt = ("Action %(key)s is already recorded (in plan %(plan)s); "
               "an idempotency key is used once.")


def plan_create_with_actions(scope, automation_level, project_id, actions,
                             uuid=None, context=None):
    """Create a PENDING plan and its PENDING actions, in one transaction.

    :param actions: :class:`~irra_openstack.optimizer.actions.PlannedAction`
        objects, or dicts as their ``as_record()`` gives; every one needs
        its idempotency key (normally salted with ``uuid``).
    :param uuid: the plan's UUID, when the keys were salted with it.
    :raises DuplicateAction: a key is given twice, or is already recorded;
        then nothing is written.
    :returns: the plan with its action counts, as :func:`plan_get` does.
    """
    records = [a if isinstance(a, dict) else a.as_record()
               for a in actions]
    keys = [r.get('idempotency_key') for r in records]
    missing = [r['resource_id'] for r, k in zip(records, keys) if not k]
    if missing:
        raise exception.IrraError(
            "Actions on %s have no idempotency key; set one (e.g. with "
            "PlannedAction.with_key(plan uuid)) before storing them."
            % ', '.join(missing[:5]))
    seen = set()
    for k in keys:
        if k in seen:
            raise DuplicateAction(key=k, plan='this one')
        seen.add(k)
    if automation_level not in AUTOMATION_LEVELS:
        raise exception.IrraError(
            "Unknown automation level %r; it is one of %s."
            % (automation_level, ', '.join(sorted(AUTOMATION_LEVELS))))
    try:
        return _create_with_actions(scope, automation_level, project_id,
                                    records, keys, uuid, context)
    except db_exception.DBDuplicateEntry:
        # Another writer stored one of the keys meanwhile.
        raise DuplicateAction(key=', '.join(keys[:3]), plan='another plan')


def _create_with_actions(scope, automation_level, project_id, records,
                         keys, uuid, context):
    scope = dict(scope, automation_level=automation_level)
    with api.write_session(context) as session:
        if keys:
            known = session.execute(
                sa.select(models.Action.idempotency_key, models.Plan.uuid)
                .join(models.Plan, models.Plan.id == models.Action.plan_id)
                .where(models.Action.idempotency_key.in_(keys))).first()
            if known is not None:
                raise DuplicateAction(key=known[0], plan=known[1])
        values = dict(scope=scope, project_id=project_id,
                      automation_level=AUTOMATION_LEVELS[automation_level],
                      state=constants.PlanState.PENDING)
        if uuid is not None:
            values['uuid'] = uuid
        row = models.Plan(**values)
        session.add(row)
        session.flush()
        for r in records:
            session.add(models.Action(
                plan_id=row.id, state=constants.ActionState.PENDING,
                idempotency_key=r['idempotency_key'],
                action_type=r['action_type'], resource_id=r['resource_id'],
                resource_kind=r.get('resource_kind') or
                constants.ResourceKind.VM,
                source=r.get('source'), destination=r.get('destination'),
                reason=r.get('reason')))
        session.flush()
        return _plan_dict(row, _counts(session, row.id))


def actions_reschedule(records, context=None):
    """Store new waves and reasons of PENDING actions, by key.

    ``records`` are :meth:`PlannedAction.as_record` dicts (their
    ``reason`` holds ``wave`` and ``depends_on``). One transaction; each
    update is a compare-and-set on PENDING, so an action that started
    meanwhile keeps its row as it is.

    :returns: the keys that were updated.
    """
    updated = []
    with api.write_session(context) as session:
        for r in records:
            result = session.execute(
                sa.update(models.Action)
                .where(models.Action.idempotency_key ==
                       r['idempotency_key'],
                       models.Action.state == constants.ActionState.PENDING)
                .values(reason=r['reason'], updated_at=timeutils.utcnow())
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                updated.append(r['idempotency_key'])
    return updated


def actions_add(plan_uuid, records, context=None):
    """Add PENDING actions to the plan ``plan_uuid``, in one transaction.

    :raises PlanNotFound: there is no such plan.
    :raises DuplicateAction: a key is already recorded.
    """
    try:
        with api.write_session(context) as session:
            plan = _plan_row(session, plan_uuid)
            for r in records:
                session.add(models.Action(
                    plan_id=plan.id, state=constants.ActionState.PENDING,
                    **{k: r.get(k) for k in (
                        'idempotency_key', 'action_type', 'resource_id',
                        'resource_kind', 'source', 'destination',
                        'reason')}))
            session.flush()
            return _plan_dict(plan, _counts(session, plan.id))
    except db_exception.DBDuplicateEntry:
        raise DuplicateAction(
            key=', '.join(r['idempotency_key'] for r in records[:3]),
            plan=plan_uuid)


def _plan_row(session, uuid):
    row = session.execute(sa.select(models.Plan).where(
        models.Plan.uuid == uuid)).scalars().first()
    if row is None:
        raise PlanNotFound(uuid=uuid)
    return row


def plan_get(uuid, context=None):
    """The plan ``uuid`` with its action counts by state.

    :raises PlanNotFound: there is none.
    """
    with api.read_session(context) as session:
        row = _plan_row(session, uuid)
        return _plan_dict(row, _counts(session, row.id))


def plan_list(project_id=None, state=None, marker=None, limit=None,
              context=None):
    """A page of plans; ``project_id`` None means every project's."""
    query = sa.select(models.Plan)
    if project_id is not None:
        query = query.where(models.Plan.project_id == project_id)
    if state is not None:
        query = query.where(models.Plan.state == state)
    with api.read_session(context) as session:
        query = paging_api.page_query(session, models.Plan, query, marker,
                                      limit)
        return [_plan_dict(row) for row in session.scalars(query)]


def plan_transition(uuid, expected, new_state, change, context=None):
    """Move a plan from one of ``expected`` states to ``new_state``.

    Cancelling a plan also cancels its PENDING actions, in the same
    transaction.

    :raises StateConflict: the plan is in another state.
    :returns: (the plan before, the plan after), as dicts.
    """
    with api.write_session(context) as session:
        row = _plan_row(session, uuid)
        before = _plan_dict(row)
        result = session.execute(
            sa.update(models.Plan)
            .where(models.Plan.id == row.id,
                   models.Plan.state.in_(expected))
            .values(state=new_state, updated_at=timeutils.utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            session.refresh(row)
            raise StateConflict(what='Plan', uuid=uuid, state=row.state,
                                change=change,
                                expected=' or '.join(expected))
        if new_state == constants.PlanState.CANCELLED:
            session.execute(
                sa.update(models.Action)
                .where(models.Action.plan_id == row.id,
                       models.Action.state ==
                       constants.ActionState.PENDING)
                .values(state=constants.ActionState.CANCELLED,
                        updated_at=timeutils.utcnow(),
                        finished_at=timeutils.utcnow())
                .execution_options(synchronize_session=False))
        session.refresh(row)
        return before, _plan_dict(row, _counts(session, row.id))


def action_list(plan_uuid, state=None, marker=None, limit=None,
                context=None):
    """A page of a plan's actions.

    :raises PlanNotFound: there is no such plan.
    """
    with api.read_session(context) as session:
        plan = _plan_row(session, plan_uuid)
        query = sa.select(models.Action).where(
            models.Action.plan_id == plan.id)
        if state is not None:
            query = query.where(models.Action.state == state)
        query = paging_api.page_query(session, models.Action, query, marker,
                                      limit)
        return _plan_dict(plan), [_action_dict(row, plan_uuid)
                                  for row in session.scalars(query)]


def _action_row(session, plan, action_uuid):
    row = session.execute(sa.select(models.Action).where(
        models.Action.plan_id == plan.id,
        models.Action.uuid == action_uuid)).scalars().first()
    if row is None:
        raise ActionNotFound(uuid=action_uuid, plan=plan.uuid)
    return row


def action_get(plan_uuid, action_uuid, context=None):
    """(plan, action) as dicts.

    :raises PlanNotFound, ActionNotFound: there is no such plan or action.
    """
    with api.read_session(context) as session:
        plan = _plan_row(session, plan_uuid)
        return _plan_dict(plan), _action_dict(
            _action_row(session, plan, action_uuid), plan_uuid)


def settled_state(states):
    """The final state of a plan whose actions are all in ``states``.

    None while an action has not ended. A plan SUCCEEDED only when every
    action SUCCEEDED or was SKIPPED; one FAILED action makes it FAILED.
    """
    states = list(states)
    if any(s not in constants.ActionState.FINAL for s in states):
        return None
    if constants.ActionState.FAILED in states:
        return constants.PlanState.FAILED
    if constants.ActionState.CANCELLED in states:
        return constants.PlanState.CANCELLED
    return constants.PlanState.SUCCEEDED


def _note(row, event, note):
    reason = dict(row.reason or {})
    notes = list(reason.get('operator_notes') or [])
    notes.append(dict(note, event=event,
                      at=timeutils.utcnow().isoformat(timespec='seconds')
                      + 'Z'))
    reason['operator_notes'] = notes
    return reason


def _action_transition(plan_uuid, action_uuid, expected, new_state, change,
                       note, plan_states, context, extra=None,
                       then=None):
    """Move an action to ``new_state``, then call ``then(session, plan)``.

    All in one transaction. :returns: (action before, action after, plan
    before, plan after), as dicts.
    """
    with api.write_session(context) as session:
        plan = _plan_row(session, plan_uuid)
        if plan.state not in plan_states:
            raise StateConflict(what='Plan', uuid=plan_uuid,
                                state=plan.state, change=change,
                                expected=' or '.join(plan_states))
        row = _action_row(session, plan, action_uuid)
        plan_before = _plan_dict(plan)
        before = _action_dict(row, plan_uuid)
        values = dict(state=new_state, updated_at=timeutils.utcnow(),
                      reason=_note(row, change, note))
        values.update(extra or {})
        result = session.execute(
            sa.update(models.Action)
            .where(models.Action.id == row.id,
                   models.Action.state.in_(expected))
            .values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            session.refresh(row)
            raise StateConflict(what='Action', uuid=action_uuid,
                                state=row.state, change=change,
                                expected=' or '.join(expected))
        if then is not None:
            then(session, plan)
        session.refresh(plan)
        session.refresh(row)
        return (before, _action_dict(row, plan_uuid), plan_before,
                _plan_dict(plan, _counts(session, plan.id)))


def _set_plan_state(session, plan, expected, new_state):
    session.execute(
        sa.update(models.Plan)
        .where(models.Plan.id == plan.id, models.Plan.state == expected)
        .values(state=new_state, updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False))


def _settle(session, plan):
    """End an ONGOING plan whose actions have all ended."""
    if plan.state != constants.PlanState.ONGOING:
        return
    states = session.execute(sa.select(models.Action.state).where(
        models.Action.plan_id == plan.id)).scalars().all()
    final = settled_state(states)
    if final is not None:
        _set_plan_state(session, plan, constants.PlanState.ONGOING, final)


def _reopen(session, plan):
    """A FAILED plan whose action is retried is APPROVED to run again."""
    _set_plan_state(session, plan, constants.PlanState.FAILED,
                    constants.PlanState.APPROVED)


def action_skip(plan_uuid, action_uuid, note, context=None):
    """Skip a PENDING action of a plan that has not ended.

    When that was the plan's last unfinished action and the plan is
    ONGOING, the plan ends, SUCCEEDED only if no action FAILED.

    :raises StateConflict: the action is not PENDING, or the plan ended.
    :returns: (action before, action after, plan before, plan after).
    """
    plan_states = (constants.PlanState.PENDING, constants.PlanState.APPROVED,
                   constants.PlanState.ONGOING)
    return _action_transition(
        plan_uuid, action_uuid, (constants.ActionState.PENDING,),
        constants.ActionState.SKIPPED, 'skip', note, plan_states, context,
        extra={'finished_at': timeutils.utcnow()}, then=_settle)


def action_retry(plan_uuid, action_uuid, note, context=None):
    """Make a FAILED action PENDING again, so that it runs again.

    A FAILED plan becomes APPROVED again, to be run; the attempts counter
    and the last error are kept.

    :raises StateConflict: the action is not FAILED, or the plan was
        cancelled, superseded or has not run.
    :returns: (action before, action after, plan before, plan after).
    """
    plan_states = (constants.PlanState.APPROVED, constants.PlanState.ONGOING,
                   constants.PlanState.FAILED)
    return _action_transition(
        plan_uuid, action_uuid, (constants.ActionState.FAILED,),
        constants.ActionState.PENDING, 'retry', note, plan_states, context,
        extra={'finished_at': None}, then=_reopen)


# Actions run by irra-rrm, found by their idempotency key.
#
# irra-rrm stores the actions it is sent (once: a key already stored is left
# as it is), claims each with a compare-and-set PENDING -> ONGOING before it
# runs it, and ends it with ONGOING -> a final state, settling the plan in
# the same transaction. A repeated message or a restart therefore never runs
# an action twice: only one caller can win the claim.


class ActionKeyConflict(exception.IrraError):
    """An idempotency key is stored already for another plan."""

    msg_fmt = ("The idempotency key %(key)s belongs to an action of plan "
               "%(other)s, not of plan %(plan)s.")


class ActionKeyNotFound(exception.IrraError):
    msg_fmt = "There is no action with the idempotency key %(key)s."


def _ensure_once(session, plan_uuid, records, scope, project_id):
    plan = session.execute(sa.select(models.Plan).where(
        models.Plan.uuid == plan_uuid)).scalars().first()
    if plan is None:
        plan = models.Plan(
            uuid=plan_uuid, scope=dict(scope or {}), project_id=project_id,
            automation_level=constants.AutomationLevel.AUTOMATIC,
            state=constants.PlanState.APPROVED)
        session.add(plan)
        session.flush()
    keys = [r['idempotency_key'] for r in records]
    known = {}
    if keys:
        rows = session.execute(
            sa.select(models.Action.idempotency_key, models.Action.plan_id)
            .where(models.Action.idempotency_key.in_(keys))).all()
        known = dict(rows)
    other = [k for k, pid in known.items() if pid != plan.id]
    if other:
        owner = session.execute(sa.select(models.Plan.uuid).where(
            models.Plan.id == known[other[0]])).scalar()
        raise ActionKeyConflict(key=other[0], plan=plan_uuid, other=owner)
    created = 0
    for record in records:
        if record['idempotency_key'] in known:
            continue
        values = dict(record, plan_id=plan.id,
                      state=constants.ActionState.PENDING)
        session.add(models.Action(**values))
        known[record['idempotency_key']] = plan.id
        created += 1
    session.flush()
    return plan, created


def actions_ensure(plan_uuid, records, scope=None, project_id=None,
                   context=None, attempts=3):
    """Store the actions of ``records`` whose key is not stored yet.

    ``records`` are :meth:`PlannedAction.as_record` dicts, each with an
    ``idempotency_key``. The plan ``plan_uuid`` is created APPROVED when it
    does not exist. Two processes storing the same plan at once both
    succeed: the loser of the race retries and finds the rows stored.

    :raises ActionKeyConflict: a key belongs to another plan.
    :raises StateConflict: the plan exists and is PENDING (not approved)
        or SUPERSEDED, or has ended and new actions were given.
    :returns: (plan dict, number of actions created).
    """
    for record in records:
        if not record.get('idempotency_key'):
            raise exception.IrraError(
                'Action %s of %s has no idempotency key.'
                % (record.get('action_type'), record.get('resource_id')))
    for attempt in range(attempts):
        try:
            with api.write_session(context) as session:
                plan, created = _ensure_once(session, plan_uuid, records,
                                             scope, project_id)
                runnable = (constants.PlanState.APPROVED,
                            constants.PlanState.ONGOING)
                if plan.state not in runnable and (
                        created or plan.state not in
                        constants.PlanState.FINAL):
                    raise StateConflict(
                        what='Plan', uuid=plan_uuid, state=plan.state,
                        change='running actions',
                        expected='APPROVED or ONGOING')
                return _plan_dict(plan, _counts(session, plan.id)), created
        except db_exception.DBDuplicateEntry:
            if attempt == attempts - 1:
                raise


def plan_actions(plan_uuid, context=None):
    """(plan dict, every action of the plan as dicts, in id order)."""
    with api.read_session(context) as session:
        plan = _plan_row(session, plan_uuid)
        rows = session.scalars(sa.select(models.Action).where(
            models.Action.plan_id == plan.id).order_by(models.Action.id))
        return (_plan_dict(plan, _counts(session, plan.id)),
                [_action_dict(row, plan_uuid) for row in rows])


def actions_by_state(state, context=None):
    """Every action in ``state``, of any plan, as dicts, in id order."""
    with api.read_session(context) as session:
        rows = session.execute(
            sa.select(models.Action, models.Plan.uuid)
            .join(models.Plan, models.Action.plan_id == models.Plan.id)
            .where(models.Action.state == state)
            .order_by(models.Action.id)).all()
        return [_action_dict(row, plan_uuid) for row, plan_uuid in rows]


def plans_with_actions_in(state, context=None):
    """UUIDs of the plans that have an action in ``state``."""
    with api.read_session(context) as session:
        return list(session.execute(
            sa.select(models.Plan.uuid).distinct()
            .join(models.Action, models.Action.plan_id == models.Plan.id)
            .where(models.Action.state == state)).scalars())


def action_get_by_key(key, context=None):
    """The action of idempotency key ``key``, as a dict.

    :raises ActionKeyNotFound: there is none.
    """
    with api.read_session(context) as session:
        found = session.execute(
            sa.select(models.Action, models.Plan.uuid)
            .join(models.Plan, models.Action.plan_id == models.Plan.id)
            .where(models.Action.idempotency_key == key)).first()
        if found is None:
            raise ActionKeyNotFound(key=key)
        return _action_dict(found[0], found[1])


def action_states_by_keys(keys, context=None):
    """{key: state} of the stored actions among ``keys``."""
    keys = list(keys)
    if not keys:
        return {}
    with api.read_session(context) as session:
        return dict(session.execute(
            sa.select(models.Action.idempotency_key, models.Action.state)
            .where(models.Action.idempotency_key.in_(keys))).all())


def _settle_open(session, plan):
    """End an APPROVED or ONGOING plan whose actions have all ended."""
    if plan.state not in (constants.PlanState.APPROVED,
                          constants.PlanState.ONGOING):
        return
    # A locking read: it sees the latest committed states, whatever the
    # isolation level's snapshot.
    states = session.execute(
        sa.select(models.Action.state)
        .where(models.Action.plan_id == plan.id)
        .with_for_update(read=True)).scalars().all()
    final = settled_state(states)
    if final is not None:
        _set_plan_state(session, plan, plan.state, final)


def _key_transition(key, expected, values, context, settle):
    """Compare-and-set the action of ``key`` from ``expected`` states.

    :returns: (action before, action after, plan before, plan after) as
        dicts, or None when the action is not in one of ``expected``.
    :raises ActionKeyNotFound: there is no action with that key.
    """
    # An action's plan never changes: it is looked up in a transaction of
    # its own, so that the plan's row lock below is the first thing the
    # writing transaction does (on MySQL/MariaDB, a plain read first would
    # fix the transaction's snapshot before the lock was granted).
    with api.read_session(context) as session:
        found = session.execute(
            sa.select(models.Action.plan_id)
            .where(models.Action.idempotency_key == key)).scalar()
    if found is None:
        raise ActionKeyNotFound(key=key)
    with api.write_session(context) as session:
        # The plan's row is locked first: the actions of a plan end one
        # transaction after the other, so that the last one to end sees
        # every other one ended and settles the plan (without the lock, two
        # that end at once could each see the other still ONGOING).
        plan = session.execute(
            sa.select(models.Plan).where(models.Plan.id == found)
            .with_for_update()).scalars().one()
        row = session.execute(sa.select(models.Action).where(
            models.Action.idempotency_key == key)).scalars().one()
        if values['state'] == constants.ActionState.ONGOING and \
                plan.state not in (constants.PlanState.APPROVED,
                                   constants.PlanState.ONGOING):
            # Only the actions of an approved or running plan run.
            return None
        before = _action_dict(row, plan.uuid)
        plan_before = _plan_dict(plan)
        values = dict(values, updated_at=timeutils.utcnow())
        if callable(values.get('reason')):
            values['reason'] = values['reason'](row.reason)
        result = session.execute(
            sa.update(models.Action)
            .where(models.Action.id == row.id,
                   models.Action.state.in_(expected))
            .values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return None
        if plan.state == constants.PlanState.APPROVED and \
                values['state'] == constants.ActionState.ONGOING:
            _set_plan_state(session, plan, constants.PlanState.APPROVED,
                            constants.PlanState.ONGOING)
        session.refresh(plan)
        if settle:
            _settle_open(session, plan)
            session.refresh(plan)
        session.refresh(row)
        return (before, _action_dict(row, plan.uuid), plan_before,
                _plan_dict(plan, _counts(session, plan.id)))


def plan_settle(plan_uuid, context=None):
    """End the plan if it is open and all its actions have ended.

    :returns: the plan dict, after.
    """
    with api.write_session(context) as session:
        plan = session.execute(
            sa.select(models.Plan).where(models.Plan.uuid == plan_uuid)
            .with_for_update()).scalars().first()
        if plan is None:
            raise PlanNotFound(uuid=plan_uuid)
        _settle_open(session, plan)
        session.refresh(plan)
        return _plan_dict(plan, _counts(session, plan.id))


def action_claim(key, context=None):
    """Claim the PENDING action of ``key`` to run it: PENDING -> ONGOING.

    One ``UPDATE ... WHERE state = 'PENDING'``: of any number of callers,
    one wins. The attempts counter grows by one and ``started_at`` is set;
    an APPROVED plan becomes ONGOING.

    :returns: (action before, action after, plan before, plan after), or
        None when the action was not PENDING (someone else claimed it, or
        it ended) or its plan is neither APPROVED nor ONGOING.
    :raises ActionKeyNotFound: there is no action with that key.
    """
    return _key_transition(
        key, (constants.ActionState.PENDING,),
        {'state': constants.ActionState.ONGOING,
         'attempts': models.Action.attempts + 1,
         'started_at': timeutils.utcnow(), 'finished_at': None},
        context, settle=False)


def action_finish(key, state, destination=None, error=None, details=None,
                  extra_attempts=0,
                  expected=(constants.ActionState.ONGOING,), context=None):
    """End the action of ``key`` in the final ``state``, and its plan too.

    A compare-and-set from ``expected`` (ONGOING by default; PENDING to
    skip or cancel an action that never ran). When every action of the
    plan has ended, the plan ends in :func:`settled_state` of them, in the
    same transaction: never SUCCEEDED when one FAILED.

    :param details: executor details, kept under ``reason['outcome']``.
    :param extra_attempts: attempts the executor made beyond the first.
    :returns: (action before, action after, plan before, plan after), or
        None when the action was not in one of ``expected``.
    :raises ActionKeyNotFound: there is no action with that key.
    """
    if state not in constants.ActionState.FINAL:
        raise ValueError('%r is not a final action state' % (state,))
    values = {'state': state, 'error': error,
              'finished_at': timeutils.utcnow()}
    if destination is not None:
        values['destination'] = destination
    if extra_attempts:
        values['attempts'] = models.Action.attempts + int(extra_attempts)
    if details:
        def _reason(reason):
            return dict(reason or {}, outcome=dict(details))
        values['reason'] = _reason
    return _key_transition(key, tuple(expected), values, context,
                           settle=True)
