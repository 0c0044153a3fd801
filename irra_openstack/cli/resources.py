"""openstack irra reservation|market|sla|region commands."""

from osc_lib.command import command
from osc_lib import exceptions

from irra_openstack.cli import common

RESERVATION_COLUMNS = ('id', 'region', 'state', 'resources', 'expires_at',
                       'project_id')
TRADE_COLUMNS = ('id', 'buyer_region', 'seller_region', 'resource_class',
                 'quantity', 'price', 'created_at')
PRICE_COLUMNS = ('resource_class', 'price', 'mean_price', 'quantity',
                 'trades', 'updated_at')
SLA_COLUMNS = ('id', 'name', 'tier', 'confidence_level', 'headroom',
               'penalty', 'project_id')
REGION_COLUMNS = ('name', 'reserved', 'market_position', 'capacity',
                  'headroom')


def _one_arg(name, metavar, help_text):
    class _Command(command.ShowOne):
        def get_parser(self, prog_name):
            parser = super().get_parser(prog_name)
            parser.add_argument(name, metavar=metavar, help=help_text)
            return parser
    return _Command


class ListReservation(command.Lister):
    """List reservations (your project's, or all for operators)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--region', metavar='<region>',
                            help='Only reservations in this region.')
        parser.add_argument('--state', choices=[
            'PENDING', 'ACTIVE', 'CONVERTED', 'RELEASED', 'EXPIRED',
            'FAILED'], help='Only reservations in this state.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/reservations', 'reservations',
            params={'region': parsed_args.region,
                    'state': parsed_args.state},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, RESERVATION_COLUMNS,
                            common.headers_of(RESERVATION_COLUMNS))


class ShowReservation(_one_arg('reservation', '<reservation-id>',
                               'ID of the reservation.')):
    """Show a reservation."""

    def take_action(self, parsed_args):
        return common.show(common.client(self).get(
            '/v1/reservations/%s' % parsed_args.reservation))


class DeleteReservation(command.Command):
    """Release reservations: their capacity goes back to Placement."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('reservations', metavar='<reservation-id>',
                            nargs='+', help='ID of a reservation.')
        return parser

    def take_action(self, parsed_args):
        failed = []
        for reservation in parsed_args.reservations:
            try:
                common.client(self).delete('/v1/reservations/%s' %
                                           reservation)
            except exceptions.CommandError as exc:
                self.log.error('%s', exc)
                failed.append(reservation)
        if failed:
            raise exceptions.CommandError(
                '%d of %d reservations were not released.' % (
                    len(failed), len(parsed_args.reservations)))


class ListMarketPrices(command.Lister):
    """Show the marketplace price of each resource class."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--resource-class', metavar='<class>',
                            help='Only this resource class, e.g. VCPU.')
        return parser

    def take_action(self, parsed_args):
        items = common.client(self).get('/v1/market/prices', {
            k: v for k, v in (('resource_class',
                               parsed_args.resource_class),) if v})['prices']
        return common.table(items, PRICE_COLUMNS,
                            common.headers_of(PRICE_COLUMNS))


class ListMarketTrades(command.Lister):
    """List the capacity trades between regions."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--buyer-region', metavar='<region>',
                            help='Only trades bought by this region.')
        parser.add_argument('--seller-region', metavar='<region>',
                            help='Only trades sold by this region.')
        parser.add_argument('--resource-class', metavar='<class>',
                            help='Only this resource class, e.g. VCPU.')
        parser.add_argument('--plan', metavar='<plan-id>',
                            help='Only trades of this plan.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/market/trades', 'trades', params={
                'buyer_region': parsed_args.buyer_region,
                'seller_region': parsed_args.seller_region,
                'resource_class': parsed_args.resource_class,
                'plan': parsed_args.plan},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, TRADE_COLUMNS,
                            common.headers_of(TRADE_COLUMNS))


class CreateSLA(command.ShowOne):
    """Create an SLA for your project: headroom kept, at a confidence."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>', help='Unique name.')
        parser.add_argument('--tier', required=True, metavar='<tier>',
                            help='Service tier, e.g. gold.')
        parser.add_argument('--confidence-level', required=True, type=float,
                            metavar='<p>',
                            help='Probability that predicted demand plus '
                                 'headroom is met, between 0 and 1 '
                                 '(exclusive), e.g. 0.95.')
        parser.add_argument('--headroom', type=float, metavar='<fraction>',
                            help='Capacity kept free above the forecast, '
                                 'as a fraction (0.2 is 20 %%; default 0).')
        parser.add_argument('--penalty', type=float, metavar='<cost>',
                            help='Cost of one violation (default 0).')
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name, 'tier': parsed_args.tier,
                'confidence_level': parsed_args.confidence_level}
        for name in ('headroom', 'penalty'):
            if getattr(parsed_args, name) is not None:
                body[name] = getattr(parsed_args, name)
        return common.show(common.client(self).post('/v1/slas', body))


class ListSLA(command.Lister):
    """List SLAs (your project's, or every project's for operators)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--tier', metavar='<tier>',
                            help='Only SLAs of this tier.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/slas', 'slas', params={'tier': parsed_args.tier},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, SLA_COLUMNS,
                            common.headers_of(SLA_COLUMNS))


class DeleteSLA(command.Command):
    """Delete SLAs."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('slas', metavar='<sla-id>', nargs='+',
                            help='ID of an SLA.')
        return parser

    def take_action(self, parsed_args):
        failed = []
        for sla in parsed_args.slas:
            try:
                common.client(self).delete('/v1/slas/%s' % sla)
            except exceptions.CommandError as exc:
                self.log.error('%s', exc)
                failed.append(sla)
        if failed:
            raise exceptions.CommandError('%d of %d SLAs were not deleted.'
                                          % (len(failed),
                                             len(parsed_args.slas)))


class ListRegion(command.Lister):
    """List regions with their reservations and market position."""

    def get_parser(self, prog_name):
        return common.add_paging(super().get_parser(prog_name))

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/regions', 'regions', limit=parsed_args.limit,
            marker=parsed_args.marker)
        return common.table(items, REGION_COLUMNS,
                            common.headers_of(REGION_COLUMNS))


class ShowRegion(_one_arg('region', '<region>', 'Name of the region.')):
    """Show a region: reservations, market position, latest forecasts."""

    def take_action(self, parsed_args):
        return common.show(common.client(self).get(
            '/v1/regions/%s' % parsed_args.region))
