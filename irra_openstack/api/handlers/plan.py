"""/v1/plans, their approval and cancellation, and their actions."""

from irra_openstack.api.schemas import common
from irra_openstack.api.schemas import plan as schema
from irra_openstack.api import util
from irra_openstack.db import constants
from irra_openstack.db import plan_api

#: The API's automation level of a plan that the engine created, by the
#: database's level.
_API_LEVEL = {
    constants.AutomationLevel.ADVISORY: 'advisory',
    constants.AutomationLevel.APPROVAL: 'manual',
    constants.AutomationLevel.AUTOMATIC: 'full',
}
_SCOPE_KEYS = ('region', 'aggregate', 'availability_zone', 'exclusions')


def plan_view(req, plan):
    stored = plan['scope'] or {}
    href = '%s/v1/plans/%s' % (req.application_url, plan['uuid'])
    view = {
        'id': plan['uuid'],
        'state': plan['state'],
        'mode': stored.get('mode', 'one-shot'),
        'automation_level': stored.get(
            'automation_level',
            _API_LEVEL.get(plan['automation_level'], 'manual')),
        'scope': {k: stored[k] for k in _SCOPE_KEYS if k in stored},
        'description': stored.get('description'),
        'project_id': plan['project_id'],
        'created_at': util.isotime(plan['created_at']),
        'updated_at': util.isotime(plan['updated_at']),
        'links': [{'rel': 'self', 'href': href},
                  {'rel': 'actions', 'href': href + '/actions'}],
    }
    if 'action_counts' in plan:
        view['action_counts'] = plan['action_counts']
    return view


def action_view(action):
    return {
        'id': action['uuid'],
        'plan_id': action['plan_uuid'],
        'idempotency_key': action['idempotency_key'],
        'action_type': action['action_type'],
        'state': action['state'],
        'resource_kind': action['resource_kind'],
        'resource_id': action['resource_id'],
        'source': action['source'],
        'destination': action['destination'],
        'reason': action['reason'],
        'attempts': action['attempts'],
        'error': action['error'],
        'started_at': util.isotime(action['started_at']),
        'finished_at': util.isotime(action['finished_at']),
        'created_at': util.isotime(action['created_at']),
        'updated_at': util.isotime(action['updated_at']),
    }


def _notifier(req):
    return util.app_state(req).notifier


def list_plans(req):
    util.authorize(req, 'irra:plan:list')
    params = util.query(req, schema.LIST_QUERY)
    limit = util.limit_of(req, params)
    plans = plan_api.plan_list(project_id=util.project_filter(req),
                               state=params.get('state'),
                               marker=params.get('marker'), limit=limit)
    items = [plan_view(req, p) for p in plans]
    return util.json_response(
        util.page(req, 'plans', items, limit, lambda p: p['id']))


def create_plan(req):
    ctx = util.context(req)
    util.authorize(req, 'irra:plan:create')
    util.query(req, common.NO_QUERY)
    body = util.json_body(req, schema.CREATE)
    stored = dict(body['scope'])
    stored['mode'] = body.get('mode', 'one-shot')
    if body.get('description') is not None:
        stored['description'] = body['description']
    plan = plan_api.plan_create(stored, body.get('automation_level',
                                                 'manual'), ctx.project_id)
    _notifier(req).plan_state(ctx, None, plan)
    view = plan_view(req, plan)
    return util.json_response(view, status=201,
                              headers={'Location': view['links'][0]['href']})


def _get_plan(req, rule):
    plan = plan_api.plan_get(req.urlvars['plan_id'])
    util.authorize(req, rule, {'project_id': plan['project_id']})
    return plan


def show_plan(req):
    util.query(req, common.NO_QUERY)
    return util.json_response(plan_view(req, _get_plan(req,
                                                       'irra:plan:show')))


def _transition(req, rule, expected, new_state, change):
    ctx = util.context(req)
    util.query(req, common.NO_QUERY)
    _get_plan(req, rule)
    if req.body:
        util.json_body(req, schema.TRANSITION)
    before, after = plan_api.plan_transition(
        req.urlvars['plan_id'], expected, new_state, change)
    _notifier(req).plan_state(ctx, before, after)
    return util.json_response(plan_view(req, after))


def approve_plan(req):
    plan = plan_api.plan_get(req.urlvars['plan_id'])
    level = plan_view(req, plan)['automation_level']
    util.authorize(req, 'irra:plan:approve',
                   {'project_id': plan['project_id']})
    if level == 'advisory':
        raise plan_api.StateConflict(
            'Plan %s is advisory: it is only shown, and cannot be '
            'approved.' % plan['uuid'])
    return _transition(req, 'irra:plan:approve',
                       (constants.PlanState.PENDING,),
                       constants.PlanState.APPROVED, 'approval')


def cancel_plan(req):
    active = tuple(s for s in constants.PlanState.ALL
                   if s not in constants.PlanState.FINAL)
    return _transition(req, 'irra:plan:cancel', active,
                       constants.PlanState.CANCELLED, 'cancellation')


def list_actions(req):
    util.authorize(req, 'irra:action:list')
    params = util.query(req, schema.ACTION_LIST_QUERY)
    limit = util.limit_of(req, params)
    plan = _get_plan(req, 'irra:action:list')
    _plan, actions = plan_api.action_list(
        plan['uuid'], state=params.get('state'),
        marker=params.get('marker'), limit=limit)
    items = [action_view(a) for a in actions]
    return util.json_response(
        util.page(req, 'actions', items, limit, lambda a: a['id']))


def show_action(req):
    util.query(req, common.NO_QUERY)
    plan = _get_plan(req, 'irra:action:show')
    _plan, action = plan_api.action_get(plan['uuid'],
                                        req.urlvars['action_id'])
    return util.json_response(action_view(action))


def _action_change(req, rule, change):
    ctx = util.context(req)
    util.query(req, common.NO_QUERY)
    plan = _get_plan(req, rule)
    body = util.json_body(req, schema.ACTION_TRANSITION)
    note = {'reason': body['reason'], 'user_id': ctx.user_id,
            'project_id': ctx.project_id}
    before, after, plan_before, plan_after = change(
        plan['uuid'], req.urlvars['action_id'], note)
    notifier = _notifier(req)
    notifier.action_state(ctx, before, after, body['reason'])
    if plan_before['state'] != plan_after['state']:
        notifier.plan_state(ctx, plan_before, plan_after)
    return util.json_response(action_view(after))


def skip_action(req):
    return _action_change(req, 'irra:action:skip', plan_api.action_skip)


def retry_action(req):
    return _action_change(req, 'irra:action:retry', plan_api.action_retry)
