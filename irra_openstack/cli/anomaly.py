"""openstack irra anomaly list|show."""

from osc_lib.command import command

from irra_openstack.cli import common

LIST_COLUMNS = ('id', 'resource_kind', 'resource_id', 'metric', 'detector',
                'severity', 'started_at', 'ended_at', 'project_id')


class ListAnomaly(command.Lister):
    """List anomalies (your project's, or every project's for operators)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--resource-kind',
                            choices=['vm', 'host', 'app', 'region'],
                            help='Only anomalies of this kind of resource.')
        parser.add_argument('--resource-id', metavar='<id>',
                            help='Only anomalies of this resource.')
        parser.add_argument('--detector', metavar='<name>',
                            help='Only anomalies found by this detector.')
        parser.add_argument('--min-severity', type=float, metavar='<score>',
                            help='Only anomalies at least this severe.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        severity = parsed_args.min_severity
        items = common.client(self).list(
            '/v1/anomalies', 'anomalies', params={
                'resource_kind': parsed_args.resource_kind,
                'resource_id': parsed_args.resource_id,
                'detector': parsed_args.detector,
                'min_severity': None if severity is None else repr(severity)},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, LIST_COLUMNS,
                            common.headers_of(LIST_COLUMNS))


class ShowAnomaly(command.ShowOne):
    """Show an anomaly with its root-cause report."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('anomaly', metavar='<anomaly-id>',
                            help='ID of the anomaly.')
        return parser

    def take_action(self, parsed_args):
        return common.show(common.client(self).get(
            '/v1/anomalies/%s' % parsed_args.anomaly))
