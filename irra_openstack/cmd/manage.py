"""irra-manage: operator commands that do not need the API.

It uses oslo.config's sub-command style, as nova-manage and placement-manage
do: ``irra-manage [--config-file F] CATEGORY ACTION [ARGS]``. Every error
reaches the operator as one line on standard error, and the exit code says
what happened: 0 success, 1 an error the operator can fix, 2 a bug (run again
with ``--debug`` for the traceback).
"""

import importlib
import inspect
import sys

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import conf as irra_conf
from irra_openstack import exception
from irra_openstack import version

CONF = irra_conf.CONF
LOG = logging.getLogger(__name__)

#: category name -> (module, class) of its commands. Imported only when
#: the command line is parsed, so that each category keeps its own imports.
CATEGORIES = {
    'bench': ('irra_openstack.cmd.bench_commands', 'BenchCommands'),
    'db': ('irra_openstack.cmd.db_commands', 'DbCommands'),
    'demo': ('irra_openstack.cmd.demo_commands', 'DemoCommands'),
    'plugin': ('irra_openstack.cmd.plugin_commands', 'PluginCommands'),
    'trace': ('irra_openstack.cmd.trace_commands', 'TraceCommands'),
}


def _category_class(name):
    module, cls = CATEGORIES[name]
    return getattr(importlib.import_module(module), cls)


def _actions(cls):
    for name, func in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith('_'):
            # A trailing underscore lets an action be named after a Python
            # keyword: ``import_`` is the action ``import``.
            yield name.rstrip('_').replace('_', '-'), func


def add_command_parsers(subparsers):
    for category in sorted(CATEGORIES):
        cls = _category_class(category)
        parser = subparsers.add_parser(
            category, help=(cls.__doc__ or '').strip().splitlines()[0])
        parser.set_defaults(command_class=cls)
        actions = parser.add_subparsers(dest='action', metavar='ACTION')
        actions.required = True
        for action, func in _actions(cls):
            doc = inspect.getdoc(func) or ''
            sub = actions.add_parser(
                action, help=doc.splitlines()[0] if doc else None,
                description=doc)
            for a, kw in getattr(func, 'args', []):
                sub.add_argument(*a, **kw)
            sub.set_defaults(action_fn=func)


category_opt = cfg.SubCommandOpt(
    'category', title='Command categories',
    help='Available categories', handler=add_command_parsers)


def _action_kwargs(conf, func):
    """The parsed arguments that ``func`` takes, from conf.category."""
    kwargs = {}
    for a, kw in getattr(func, 'args', []):
        dest = kw.get('dest') or a[-1].lstrip('-').replace('-', '_')
        value = getattr(conf.category, 'action_kwarg_' + dest, None)
        if value is None:
            value = getattr(conf.category, dest, None)
        kwargs[dest] = value
    return kwargs


def main(argv=None, conf=None):
    """Run irra-manage; returns the exit code.

    ``conf`` is the configuration object to parse into, the global
    ``cfg.CONF`` by default (tests pass a private one).
    """
    argv = sys.argv[1:] if argv is None else argv
    conf = CONF if conf is None else conf
    irra_conf.register_opts(conf)
    conf.register_cli_opt(category_opt)
    logging.register_options(conf)
    # Logs go to standard error, so that they never mix with a command's
    # output; alembic's progress lines are shown only with --debug.
    # Set on this configuration object only: oslo.log's own set_defaults
    # would change the library's defaults for everyone in the process.
    conf.set_default('use_stderr', True)
    conf.set_default('default_log_levels',
                     logging.get_default_log_levels() + ['alembic=WARN'])
    try:
        conf(argv, project='irra', prog='irra-manage',
             version=version.version_string(),
             default_config_files=_default_config_files())
    except cfg.Error as exc:
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1
    logging.setup(conf, 'irra')
    func = conf.category.action_fn
    command = conf.category.command_class(conf)
    try:
        result = func(command, **_action_kwargs(conf, func))
    except exception.IrraError as exc:
        if conf.debug:
            LOG.exception('Command failed')
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('Interrupted.', file=sys.stderr)
        return 130
    except Exception as exc:
        if conf.debug:
            LOG.exception('Unexpected error')
        print('ERROR: unexpected %s: %s (run again with --debug for the '
              'details, and please report it)' % (type(exc).__name__, exc),
              file=sys.stderr)
        return 2
    return 0 if result is None else int(result)


def _default_config_files():
    # Only files that exist: irra-manage works with no configuration at all.
    import os

    return [f for f in cfg.find_config_files(project='irra')
            if os.path.exists(f)]


if __name__ == '__main__':
    sys.exit(main())
