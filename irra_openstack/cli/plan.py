"""openstack irra plan ... and openstack irra action ... commands."""

from osc_lib.command import command
from osc_lib import exceptions

from irra_openstack.cli import common

PLAN_COLUMNS = ('id', 'state', 'mode', 'automation_level', 'scope',
                'project_id', 'created_at')
ACTION_COLUMNS = ('id', 'action_type', 'state', 'resource_id', 'source',
                  'destination', 'attempts', 'error')
PLAN_STATES = ('PENDING', 'APPROVED', 'ONGOING', 'SUCCEEDED', 'FAILED',
               'CANCELLED', 'SUPERSEDED')
ACTION_STATES = ('PENDING', 'ONGOING', 'SUCCEEDED', 'FAILED', 'SKIPPED',
                 'CANCELLED')


class CreatePlan(command.ShowOne):
    """Create a plan for a region, an aggregate or an availability zone.

    A one-shot plan covers one planning cycle; a continuous one is planned
    again every cycle until cancelled. Automation levels: advisory (only
    shown), manual (runs once approved), partial (low-risk actions run
    alone), full (runs at once).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--region', metavar='<region>',
                            help='Plan for this region.')
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            help='Plan for this host aggregate.')
        parser.add_argument('--availability-zone', metavar='<az>',
                            help='Plan for this availability zone.')
        parser.add_argument('--exclude-host', action='append', default=[],
                            metavar='<host>',
                            help='Leave this host alone (repeatable).')
        parser.add_argument('--exclude-instance', action='append',
                            default=[], metavar='<server-id>',
                            help='Leave this server alone (repeatable).')
        parser.add_argument('--exclude-aggregate', action='append',
                            default=[], metavar='<aggregate>',
                            help='Leave this aggregate alone (repeatable).')
        parser.add_argument('--continuous', action='store_true',
                            help='Plan again every cycle until cancelled '
                                 '(default: one-shot).')
        parser.add_argument('--automation-level', default=None,
                            choices=['advisory', 'manual', 'partial',
                                     'full'],
                            help='How much runs without approval (default: '
                                 'manual).')
        parser.add_argument('--description', metavar='<text>',
                            help='What the plan is for.')
        return parser

    def take_action(self, parsed_args):
        scope = {k: v for k, v in (
            ('region', parsed_args.region),
            ('aggregate', parsed_args.aggregate),
            ('availability_zone', parsed_args.availability_zone)) if v}
        if not scope:
            raise exceptions.CommandError(
                'Give the scope of the plan: --region, --aggregate or '
                '--availability-zone.')
        exclusions = {k: v for k, v in (
            ('hosts', parsed_args.exclude_host),
            ('instances', parsed_args.exclude_instance),
            ('aggregates', parsed_args.exclude_aggregate)) if v}
        if exclusions:
            scope['exclusions'] = exclusions
        body = {'scope': scope,
                'mode': 'continuous' if parsed_args.continuous
                else 'one-shot'}
        if parsed_args.automation_level:
            body['automation_level'] = parsed_args.automation_level
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        return common.show(common.client(self).post('/v1/plans', body),
                           exclude=('links',))


class ListPlan(command.Lister):
    """List plans (your project's, or every project's for operators)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', choices=PLAN_STATES,
                            help='Only plans in this state.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/plans', 'plans', params={'state': parsed_args.state},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, PLAN_COLUMNS,
                            common.headers_of(PLAN_COLUMNS))


class _PlanCommand(command.ShowOne):

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('plan', metavar='<plan-id>',
                            help='ID of the plan.')
        return parser


class ShowPlan(_PlanCommand):
    """Show a plan, with the number of its actions in each state."""

    def take_action(self, parsed_args):
        return common.show(common.client(self).get(
            '/v1/plans/%s' % parsed_args.plan), exclude=('links',))


class ApprovePlan(_PlanCommand):
    """Approve a PENDING plan, so that its actions run."""

    def take_action(self, parsed_args):
        return common.show(common.client(self).post(
            '/v1/plans/%s/approve' % parsed_args.plan), exclude=('links',))


class CancelPlan(_PlanCommand):
    """Cancel a plan that has not ended, and its PENDING actions."""

    def take_action(self, parsed_args):
        return common.show(common.client(self).post(
            '/v1/plans/%s/cancel' % parsed_args.plan), exclude=('links',))


class ListAction(command.Lister):
    """List the actions of a plan, each with its reason."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('plan', metavar='<plan-id>',
                            help='ID of the plan.')
        parser.add_argument('--state', choices=ACTION_STATES,
                            help='Only actions in this state.')
        parser.add_argument('--long', action='store_true',
                            help='Also show the reason of each action.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/plans/%s/actions' % parsed_args.plan, 'actions',
            params={'state': parsed_args.state},
            limit=parsed_args.limit, marker=parsed_args.marker)
        columns = ACTION_COLUMNS + (('reason',) if parsed_args.long else ())
        return common.table(items, columns, common.headers_of(columns))


class _ActionCommand(command.ShowOne):

    verb = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('plan', metavar='<plan-id>',
                            help='ID of the plan.')
        parser.add_argument('action', metavar='<action-id>',
                            help='ID of the action.')
        parser.add_argument('--reason', required=True, metavar='<text>',
                            help='Why (recorded with the action).')
        return parser

    def take_action(self, parsed_args):
        return common.show(common.client(self).post(
            '/v1/plans/%s/actions/%s/%s' % (
                parsed_args.plan, parsed_args.action, self.verb),
            {'reason': parsed_args.reason}))


class SkipAction(_ActionCommand):
    """Skip a PENDING action, with a reason."""

    verb = 'skip'


class RetryAction(_ActionCommand):
    """Run a FAILED action again, with a reason."""

    verb = 'retry'
