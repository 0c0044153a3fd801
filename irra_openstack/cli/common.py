"""Pieces shared by the ``openstack irra`` commands."""

from osc_lib.cli import format_columns


def client(command):
    """The irra client of a command."""
    return command.app.client_manager.irra


def add_paging(parser):
    """--limit and --marker of a list command."""
    parser.add_argument(
        '--limit', type=int, metavar='<n>',
        help='Show one page of at most <n> items (default: every item, '
             'page after page).')
    parser.add_argument(
        '--marker', metavar='<id>',
        help='Start after this item (the last id of the previous page).')
    return parser


def positive(text):
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be 1 or more')
    return value


#: How structured values are shown, per column.
FORMATTERS = {
    'scope': format_columns.DictColumn,
    'reason': format_columns.DictColumn,
    'resources': format_columns.DictColumn,
    'action_counts': format_columns.DictColumn,
    'parameters': format_columns.DictColumn,
    'root_cause': format_columns.DictColumn,
    'reserved': format_columns.DictColumn,
    'market_position': format_columns.DictColumn,
    'latest_forecasts': format_columns.DictColumn,
    'model': format_columns.DictColumn,
    'provider_uuids': format_columns.ListColumn,
    'point': format_columns.ListColumn,
    'lower': format_columns.ListColumn,
    'upper': format_columns.ListColumn,
    'links': format_columns.ListDictColumn,
}


def _format(name, value):
    formatter = FORMATTERS.get(name)
    if formatter is not None and value is not None:
        return formatter(value)
    return value


def show(item, exclude=()):
    """(columns, values) of a ShowOne command, for one API item."""
    columns = tuple(k for k in item if k not in exclude)
    return columns, tuple(_format(k, item[k]) for k in columns)


def table(items, columns, headers=None):
    """(headers, rows) of a Lister command."""
    rows = [tuple(_format(c, item.get(c)) for c in columns)
            for item in items]
    return tuple(headers or columns), rows


def headers_of(columns):
    """OSC-style headers: 'resource_kind' -> 'Resource Kind', 'id' -> 'ID'."""
    words = {'id': 'ID', 'sla': 'SLA', 'az': 'AZ'}
    return tuple(' '.join(words.get(w, w.capitalize())
                          for w in c.split('_')) for c in columns)
