"""openstack irra forecast list|show [--plot FILE.png]."""

import csv
import datetime

from osc_lib.command import command
from osc_lib import exceptions

from irra_openstack.cli import common

LIST_COLUMNS = ('id', 'resource_kind', 'resource_id', 'metric', 'start',
                'step', 'horizon', 'level', 'model_name')


class ListForecast(command.Lister):
    """List forecasts (operators: system readers and administrators)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--resource-kind',
                            choices=['vm', 'host', 'app', 'region'],
                            help='Only forecasts of this kind of resource.')
        parser.add_argument('--resource-id', metavar='<id>',
                            help='Only forecasts of this VM, host, '
                                 'application or region.')
        parser.add_argument('--metric', metavar='<metric>',
                            help='Only forecasts of this metric.')
        parser.add_argument('--model', metavar='<name>',
                            help='Only forecasts of this forecaster.')
        parser.add_argument('--run', metavar='<run-id>',
                            help='Only forecasts of this forecast run.')
        return common.add_paging(parser)

    def take_action(self, parsed_args):
        items = common.client(self).list(
            '/v1/forecasts', 'forecasts', params={
                'resource_kind': parsed_args.resource_kind,
                'resource_id': parsed_args.resource_id,
                'metric': parsed_args.metric,
                'model_name': parsed_args.model,
                'run': parsed_args.run},
            limit=parsed_args.limit, marker=parsed_args.marker)
        return common.table(items, LIST_COLUMNS,
                            common.headers_of(LIST_COLUMNS))


def _times(forecast):
    start = datetime.datetime.fromisoformat(
        forecast['start'].replace('Z', '+00:00'))
    step = datetime.timedelta(seconds=forecast['step'])
    return [start + i * step for i in range(len(forecast['point']))]


def read_actuals(path):
    """(times, values) from a CSV file of ``time,value`` lines.

    The time is ISO 8601 or POSIX seconds; a first line that is not a
    number is a header.
    """
    times, values = [], []
    try:
        with open(path, newline='') as f:
            for n, row in enumerate(csv.reader(f), 1):
                if not row or len(row) < 2:
                    continue
                try:
                    value = float(row[1])
                except ValueError:
                    if n == 1:
                        continue
                    raise exceptions.CommandError(
                        '%s:%d: "%s" is not a number.' % (path, n, row[1]))
                stamp = row[0].strip()
                try:
                    moment = datetime.datetime.fromtimestamp(
                        float(stamp), datetime.timezone.utc)
                except ValueError:
                    try:
                        moment = datetime.datetime.fromisoformat(
                            stamp.replace('Z', '+00:00'))
                    except ValueError:
                        raise exceptions.CommandError(
                            '%s:%d: "%s" is not a time.' % (path, n, stamp))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=datetime.timezone.utc)
                times.append(moment)
                values.append(value)
    except OSError as exc:
        raise exceptions.CommandError('Cannot read %s: %s' % (
            path, exc.strerror))
    return times, values


def plot(forecast, path, actuals=None):
    """Draw the forecast band and point forecast, and the actuals, to PNG."""
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import pyplot

    times = _times(forecast)
    nan = float('nan')

    def clean(values):
        return [nan if v is None else v for v in (values or [])]

    figure, axes = pyplot.subplots(figsize=(10, 4))
    try:
        if forecast.get('lower') and forecast.get('upper'):
            axes.fill_between(
                times, clean(forecast['lower']), clean(forecast['upper']),
                alpha=0.3, label='%d %% interval' % round(
                    100 * (forecast.get('level') or 0)))
        axes.plot(times, clean(forecast['point']), label='forecast')
        if actuals and actuals[0]:
            axes.plot(actuals[0], actuals[1], 'k.-', label='actual')
        axes.set_title('%s %s: %s (%s)' % (
            forecast['resource_kind'], forecast['resource_id'],
            forecast['metric'], forecast['model_name']))
        axes.set_xlabel('time (UTC)')
        axes.set_ylabel(forecast['metric'])
        axes.legend(loc='best')
        figure.autofmt_xdate()
        try:
            figure.savefig(path, format='png', dpi=100)
        except OSError as exc:
            raise exceptions.CommandError('Cannot write %s: %s' % (
                path, exc.strerror))
    finally:
        pyplot.close(figure)


class ShowForecast(command.ShowOne):
    """Show a forecast: its values and intervals, and the model's metadata.

    With --plot, also draw the interval band and the point forecast to a
    PNG file, with the actual values from --actuals when given (irra does
    not store observations yet).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('forecast', metavar='<forecast-id>',
                            help='ID of the forecast (a number).')
        parser.add_argument('--plot', metavar='<FILE.png>',
                            help='Draw the forecast band against the '
                                 'actuals into this PNG file.')
        parser.add_argument('--actuals', metavar='<FILE.csv>',
                            help='Actual values to draw with --plot: CSV '
                                 'lines of "time,value" (ISO 8601 or POSIX '
                                 'seconds).')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.actuals and not parsed_args.plot:
            raise exceptions.CommandError('--actuals needs --plot.')
        forecast = common.client(self).get(
            '/v1/forecasts/%s' % parsed_args.forecast)
        if parsed_args.plot:
            actuals = (read_actuals(parsed_args.actuals)
                       if parsed_args.actuals else None)
            plot(forecast, parsed_args.plot, actuals)
        return common.show(forecast)
