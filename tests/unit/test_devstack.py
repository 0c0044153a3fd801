"""Tests of the DevStack plugin in devstack/.

DevStack itself cannot run here, so the plugin runs in bash with stand-ins
for the DevStack functions it calls. The stand-ins record every call and
keep the ini files in memory; the files the plugin would write are then
written for real and read with the options of irra, of the libraries it
configures, and of Nova, and Nova's own loaders load the filter and weigher
classes that the plugin adds to nova.conf. Any command that the plugin runs
and that is neither a stand-in nor one of irra's console scripts is
recorded as unknown, and fails the test.
"""

import configparser
import os
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.request

import fixtures

from irra_openstack.conf import opts as irra_opts
from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(ROOT, 'devstack')
SCRIPTS = [os.path.join(DEVSTACK, name)
           for name in ('settings', 'plugin.sh', os.path.join('lib', 'irra'))]

NOVA_CONF = '/etc/nova/nova.conf'
REGION = 'RegionTest'
FS, RS = '\x1f', '\x1e'

# Stand-ins for the DevStack functions that the plugin calls. Each one
# records its call; the ini functions keep the files' content in _INI
# (single values) and _INIM (multi-valued options, space separated).
HARNESS = r'''
set -o errexit -o errtrace
declare -A _INI=()
declare -A _INIM=()
_rec() {
    local a
    { for a in "$@"; do printf '%s\037' "$a"; done; printf '\036'; } \
        >> "$IRRA_TEST_LOG"
}
_dump() {
    local k
    for k in "${!_INI[@]}"; do _rec STATE "$k" "${_INI[$k]}"; done
    for k in "${!_INIM[@]}"; do _rec STATEM "$k" "${_INIM[$k]}"; done
}
trap _dump EXIT
command_not_found_handle() { _rec UNKNOWN "$@"; return 127; }
define_plugin() { _rec define_plugin "$@"; }
enable_service() {
    local s
    for s in "$@"; do ENABLED_SERVICES="$ENABLED_SERVICES,$s"; done
    _rec enable_service "$@"
}
is_service_enabled() {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
trueorfalse() {
    local value=${!2:-$1}
    case "$value" in
        1|[yY]|[yY]es|YES|[tT]rue|TRUE|[oO]n|ON) echo True ;;
        0|[nN]|[nN]o|NO|[fF]alse|FALSE|[oO]ff|OFF) echo False ;;
        *) echo "$1" ;;
    esac
}
echo_summary() { :; }
get_python_exec_prefix() { echo "$IRRA_TEST_BIN"; }
database_connection_url() {
    local base=${IRRA_TEST_DB_BASE:-postgresql+psycopg2://root:s@127.0.0.1}
    echo "$base/$1${IRRA_TEST_DB_QUERY-?client_encoding=utf8}"
}
iniset() { _rec iniset "$@"; _INI["$1|$2|$3"]="$4"; }
iniget() { echo "${_INI[$1|$2|$3]:-}"; }
iniset_multiline() {
    _rec iniset_multiline "$@"
    local key="$1|$2|$3"
    shift 3
    _INIM["$key"]="$*"
}
iniget_multiline() { echo "${_INIM[$1|$2|$3]:-}"; }
iniset_rpc_backend() {
    _rec iniset_rpc_backend "$@"
    _INI["$2|${3:-DEFAULT}|transport_url"]="rabbit://guest:guest@127.0.0.1:5672/"
}
configure_keystone_authtoken_middleware() {
    _rec configure_keystone_authtoken_middleware "$@"
}
setup_develop() { _rec setup_develop "$@"; }
recreate_database() { _rec recreate_database "$@"; }
create_service_user() { _rec create_service_user "$@"; }
get_or_create_service() { _rec get_or_create_service "$@"; echo svc-id; }
get_or_create_endpoint() { _rec get_or_create_endpoint "$@"; }
run_process() { _rec run_process "$@"; }
stop_process() { _rec stop_process "$@"; }
wait_for_service() { _rec wait_for_service "$@"; }
die() { _rec die "$@"; exit 1; }
sudo() { _rec sudo "$@"; }
rm() { _rec rm "$@"; }
mysql() { _rec mysql "$@"; }
dropdb() { _rec dropdb "$@"; }
'''


def _console_scripts():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    scripts = {}
    for line in parser['entry_points']['console_scripts'].splitlines():
        if '=' in line:
            name, target = (s.strip() for s in line.split('=', 1))
            scripts[name] = target
    return scripts


def _known_irra_conf_options():
    """{group: {option names}}: irra's, and those of the libraries it uses."""
    from keystonemiddleware import opts as ksm_opts
    from oslo_db import options as db_options
    from oslo_log import _options as log_options
    from oslo_messaging import opts as messaging_opts
    from oslo_policy import opts as policy_opts

    known = {}

    def add(pairs):
        for group, opts in pairs:
            group = 'DEFAULT' if group in (None, 'DEFAULT') else str(group)
            known.setdefault(group, set()).update(o.dest for o in opts)

    add(irra_opts.list_opts())
    add(messaging_opts.list_opts())
    add(db_options.list_opts())
    add(ksm_opts.list_auth_token_opts())
    add(policy_opts.list_opts())
    add([('DEFAULT', log_options.list_opts()[0][1])])
    return known


class DevstackPlugin(object):
    """One run of the plugin, in bash, with DevStack's stand-ins."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.bin = os.path.join(tmp, 'bin')
        os.makedirs(self.bin, exist_ok=True)
        self.log = os.path.join(tmp, 'calls.log')
        self.irra_conf = os.path.join(tmp, 'etc', 'irra', 'irra.conf')
        # Only grep (which the plugin uses to save the xtrace setting) and
        # irra's console scripts are on the PATH: any other command is
        # reported by command_not_found_handle.
        os.symlink(shutil.which('grep'), os.path.join(self.bin, 'grep'))
        for name in _console_scripts():
            path = os.path.join(self.bin, name)
            with open(path, 'w') as f:
                f.write('#!%s\n'
                        'printf "%%s\\037" exec "$0" "$@" >> "%s"\n'
                        'printf "\\036" >> "%s"\n'
                        % (shutil.which('sh'), self.log, self.log))
            os.chmod(path, 0o755)

    def run(self, *phase, env=None, ini=None, services=None,
            harness=HARNESS):
        """Source settings and plugin.sh with ``phase``; the calls made.

        ``ini`` seeds the in-memory ini files: {(path, section, option):
        value, or [values] for a multi-valued option}.
        """
        if os.path.exists(self.log):
            os.unlink(self.log)
        prelude = [harness]
        for (path, section, option), value in (ini or {}).items():
            array = '_INIM' if isinstance(value, list) else '_INI'
            value = ' '.join(value) if isinstance(value, list) else value
            prelude.append('%s[%s]=%s' % (array, shlex.quote(
                '%s|%s|%s' % (path, section, option)), shlex.quote(value)))
        script = '\n'.join(prelude + [
            'source %s' % shlex.quote(os.path.join(DEVSTACK, 'settings')),
            'source %s %s' % (shlex.quote(os.path.join(
                DEVSTACK, 'plugin.sh')), ' '.join(phase)),
        ])
        full_env = {
            'PATH': self.bin,
            'IRRA_TEST_LOG': self.log,
            'IRRA_TEST_BIN': self.bin,
            'DEST': '/opt/stack',
            'IRRA_DIR': ROOT,
            'IRRA_CONF_DIR': os.path.dirname(self.irra_conf),
            'IRRA_CONF': self.irra_conf,
            'NOVA_CONF': NOVA_CONF,
            'ENABLED_SERVICES': services if services is not None else
            'key,mysql,n-api,n-sch,n-cpu,placement-api',
            'REGION_NAME': REGION,
            'SERVICE_HOST': '127.0.0.1',
            'SERVICE_PROTOCOL': 'http',
            'SERVICE_PASSWORD': 'secret',
            'SERVICE_DOMAIN_NAME': 'Default',
            'SERVICE_PROJECT_NAME': 'service',
            'SERVICE_TIMEOUT': '60',
            'STACK_USER': 'stack',
            'KEYSTONE_SERVICE_URI': 'http://127.0.0.1/identity',
            'ENABLE_DEBUG_LOG_LEVEL': 'True',
            'DATABASE_USER': 'root',
            'DATABASE_PASSWORD': 'secret',
            'DATABASE_HOST': '127.0.0.1',
            'MYSQL_HOST': '127.0.0.1',
        }
        full_env.update(env or {})
        proc = subprocess.run([shutil.which('bash'), '-c', script],
                              env=full_env, capture_output=True, text=True,
                              cwd=self.tmp)
        if proc.returncode != 0:
            raise AssertionError('plugin.sh %s failed (%d): %s' % (
                ' '.join(phase), proc.returncode, proc.stderr[-3000:]))
        calls = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                for record in f.read().split(RS):
                    if record:
                        calls.append(record.split(FS)[:-1])
        return calls


def _files(calls):
    """{path: {section: {option: value or [values]}}} from the state."""
    files = {}
    for call in calls:
        if call[0] in ('STATE', 'STATEM'):
            path, section, option = call[1].split('|')
            value = call[2].split() if call[0] == 'STATEM' else call[2]
            files.setdefault(path, {}).setdefault(section, {})[option] = value
    return files


def _write_ini(path, sections):
    lines = []
    for section, options in sections.items():
        lines.append('[%s]' % section)
        for option, value in options.items():
            for v in value if isinstance(value, list) else [value]:
                lines.append('%s = %s' % (option, v))
        lines.append('')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


class DevstackSyntaxTest(base.TestCase):

    def test_bash_syntax(self):
        for path in SCRIPTS:
            proc = subprocess.run(['bash', '-n', path], capture_output=True,
                                  text=True)
            self.assertEqual(0, proc.returncode,
                             '%s: %s' % (path, proc.stderr))

    def test_settings_define_plugin_and_services(self):
        plugin = DevstackPlugin(self.useFixture(fixtures.TempDir()).path)
        calls = plugin.run('stack', 'pre-install')
        self.assertIn(['define_plugin', 'irra-openstack'], calls)
        self.assertIn(['enable_service', 'irra-api', 'irra-rrm'], calls)
        # Nothing done in a phase that the plugin does not handle.
        done = [c for c in calls if c[0] not in (
            'define_plugin', 'enable_service', 'STATE', 'STATEM')]
        self.assertEqual([], done)


class DevstackPluginTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.plugin = DevstackPlugin(self.useFixture(fixtures.TempDir()).path)

    def assertNoUnknown(self, calls):
        unknown = [c for c in calls if c[0] in ('UNKNOWN', 'die')]
        self.assertEqual([], unknown)

    def test_install(self):
        calls = self.plugin.run('stack', 'install')
        self.assertNoUnknown(calls)
        self.assertIn(['setup_develop', ROOT], calls)

    def _post_config(self, **kwargs):
        calls = self.plugin.run('stack', 'post-config', **kwargs)
        self.assertNoUnknown(calls)
        return calls, _files(calls)

    def test_irra_conf_names_only_real_options(self):
        calls, files = self._post_config()
        irra_conf = files[self.plugin.irra_conf]
        known = _known_irra_conf_options()
        for section, options in irra_conf.items():
            self.assertIn(section, known,
                          'irra.conf: unknown section [%s]' % section)
            for option in options:
                self.assertIn(option, known[section],
                              'irra.conf: unknown option [%s] %s' %
                              (section, option))
        auth = [c for c in calls
                if c[0] == 'configure_keystone_authtoken_middleware']
        self.assertEqual(1, len(auth), auth)
        self.assertEqual(self.plugin.irra_conf, auth[0][1])
        section = auth[0][3] if len(auth[0]) > 3 else 'keystone_authtoken'
        self.assertIn(section, known)
        self.assertIn('www_authenticate_uri', known[section])
        rpc = [c for c in calls if c[0] == 'iniset_rpc_backend']
        self.assertEqual([['iniset_rpc_backend', 'irra',
                           self.plugin.irra_conf, 'DEFAULT']], rpc)

    def test_irra_conf_is_read_by_irra_rrm_and_irra_api(self):
        from irra_openstack.rrm import service

        calls, files = self._post_config()
        _write_ini(self.plugin.irra_conf, files[self.plugin.irra_conf])
        conf = service.make_conf(['--config-file', self.plugin.irra_conf])
        self.assertEqual(REGION, conf.rrm.region_name)
        self.assertEqual(8790, conf.api.bind_port)
        self.assertEqual('keystone', conf.api.auth_strategy)
        self.assertEqual([REGION], conf.datasources.regions)
        self.assertEqual('gnocchi', conf.datasources.datasource)
        self.assertTrue(conf.database.connection.startswith(
            'postgresql+psycopg2://'), conf.database.connection)
        self.assertEqual('rabbit://guest:guest@127.0.0.1:5672/',
                         conf.transport_url)
        # keystoneauth builds the plugin that auth_type names, from the
        # options of its own (registered as it loads them).
        from keystoneauth1 import loading as ks_loading

        auth = ks_loading.load_auth_from_conf_options(conf,
                                                      'datasources_auth')
        self.assertEqual('password', conf.datasources_auth.auth_type)
        self.assertEqual('http://127.0.0.1/identity', auth.auth_url)
        self.assertEqual('irra', conf.datasources_auth.username)
        self.assertEqual('service', conf.datasources_auth.project_name)
        # The reservation factory that irra-rrm checks at start-up.
        from irra_openstack.rrm import waves

        self.assertTrue(callable(waves.import_object(
            conf.rrm.reservation_factory)))

    def test_irra_conf_options_from_local_conf(self):
        calls, files = self._post_config(env={
            'IRRA_API_PORT': '18790', 'IRRA_REGION': 'RegionTwo',
            'IRRA_ENABLE_RESERVATIONS': 'False',
            'IRRA_DATASOURCE': 'prometheus'})
        irra_conf = files[self.plugin.irra_conf]
        self.assertEqual('18790', irra_conf['api']['bind_port'])
        self.assertEqual('RegionTwo', irra_conf['rrm']['region_name'])
        self.assertEqual('prometheus',
                         irra_conf['datasources']['datasource'])
        self.assertNotIn('reservation_factory', irra_conf['rrm'])

    def _load_nova_conf(self, sections):
        from nova.conf import scheduler as nova_scheduler_conf
        from oslo_config import cfg

        from irra_openstack.conf import scheduler as irra_scheduler_conf

        path = os.path.join(self.plugin.tmp, 'nova.conf')
        _write_ini(path, sections)
        known = {'filter_scheduler': {
            o.dest for o in nova_scheduler_conf.filter_scheduler_opts},
            'irra_scheduler': {
                o.dest for o in irra_scheduler_conf.scheduler_opts}}
        for section, options in sections.items():
            self.assertIn(section, known)
            for option in options:
                self.assertIn(option, known[section],
                              'nova.conf: unknown option [%s] %s' %
                              (section, option))
        conf = cfg.ConfigOpts()
        nova_scheduler_conf.register_opts(conf)
        irra_scheduler_conf.register_opts(conf)
        conf(['--config-file', path], project='nova',
             default_config_files=[])
        return conf

    def _check_nova_loads(self, conf):
        """What nova-scheduler does with the options: load the classes."""
        from nova.scheduler import filters
        from nova.scheduler import weights

        from irra_openstack.scheduler import filters as irra_filters
        from irra_openstack.scheduler import weighers as irra_weighers

        fs = conf.filter_scheduler
        classes = filters.HostFilterHandler().get_matching_classes(
            fs.available_filters)
        for cls in classes:
            self.assertTrue(issubclass(cls, filters.BaseHostFilter), cls)
        self.assertIn(irra_filters.PredictiveHeadroomFilter, classes)
        names = {cls.__name__ for cls in classes}
        missing = set(fs.enabled_filters) - names
        self.assertEqual(set(), missing,
                         'enabled_filters not in available_filters')
        weighers = weights.HostWeightHandler().get_matching_classes(
            fs.weight_classes)
        for cls in weighers:
            self.assertTrue(issubclass(cls, weights.BaseHostWeigher), cls)
        self.assertIn(irra_weighers.PredictiveHeadroomWeigher, weighers)
        return classes, weighers

    def test_nova_conf_from_nova_defaults(self):
        from nova.conf import scheduler as nova_scheduler_conf

        calls, files = self._post_config()
        conf = self._load_nova_conf(files[NOVA_CONF])
        defaults = {o.dest: o.default
                    for o in nova_scheduler_conf.filter_scheduler_opts}
        fs = conf.filter_scheduler
        self.assertEqual(
            defaults['available_filters']
            + ['irra_openstack.scheduler.filters.PredictiveHeadroomFilter'],
            fs.available_filters)
        self.assertEqual(defaults['enabled_filters']
                         + ['PredictiveHeadroomFilter'], fs.enabled_filters)
        self.assertEqual(
            defaults['weight_classes']
            + ['irra_openstack.scheduler.weighers.PredictiveHeadroomWeigher'],
            fs.weight_classes)
        classes, weighers = self._check_nova_loads(conf)
        # Nova's own filters are still available.
        self.assertIn('ComputeFilter', {c.__name__ for c in classes})
        self.assertIn('RAMWeigher', {c.__name__ for c in weighers})
        irra = conf.irra_scheduler
        self.assertEqual(files[self.plugin.irra_conf]['database'][
            'connection'], irra.connection)
        self.assertEqual(60, irra.refresh_interval)
        self.assertEqual(900, irra.max_snapshot_age)
        self.assertEqual(0.9, irra.max_predicted_utilisation)
        self.assertEqual(1.0, irra.weight_multiplier)

    def test_nova_conf_keeps_operator_values_and_is_idempotent(self):
        filter_class = ('irra_openstack.scheduler.filters.'
                        'PredictiveHeadroomFilter')
        ini = {
            (NOVA_CONF, 'filter_scheduler', 'available_filters'): [
                'nova.scheduler.filters.compute_filter.ComputeFilter',
                'nova.scheduler.filters.all_filters'],
            (NOVA_CONF, 'filter_scheduler', 'enabled_filters'):
                'ComputeFilter,AggregateInstanceExtraSpecsFilter',
            (NOVA_CONF, 'filter_scheduler', 'weight_classes'):
                'nova.scheduler.weights.ram.RAMWeigher',
        }
        calls, files = self._post_config(ini=ini)
        fs = files[NOVA_CONF]['filter_scheduler']
        self.assertEqual(ini[NOVA_CONF, 'filter_scheduler',
                             'available_filters'] + [filter_class],
                         fs['available_filters'])
        self.assertEqual(
            'ComputeFilter,AggregateInstanceExtraSpecsFilter,'
            'PredictiveHeadroomFilter', fs['enabled_filters'])
        self.assertEqual(
            'nova.scheduler.weights.ram.RAMWeigher,'
            'irra_openstack.scheduler.weighers.PredictiveHeadroomWeigher',
            fs['weight_classes'])
        self._check_nova_loads(self._load_nova_conf(files[NOVA_CONF]))

        # A second run (stack.sh again on the same nova.conf) adds nothing.
        again = {(NOVA_CONF, 'filter_scheduler', option): value
                 for option, value in fs.items()}
        calls, files2 = self._post_config(ini=again)
        self.assertEqual(fs, files2[NOVA_CONF]['filter_scheduler'])

    def test_scheduler_plugin_disabled(self):
        for env, services in (
                ({'IRRA_ENABLE_SCHEDULER_PLUGIN': 'False'}, None),
                ({}, 'key,mysql,n-api,n-cpu')):
            calls, files = self._post_config(env=env, services=services)
            self.assertNotIn(NOVA_CONF, files)
            self.assertIn(self.plugin.irra_conf, files)

    def test_extra_runs_real_console_scripts(self):
        from irra_openstack.cmd import manage

        calls, files = self._post_config()
        _write_ini(self.plugin.irra_conf, files[self.plugin.irra_conf])
        calls = self.plugin.run('stack', 'extra')
        self.assertNoUnknown(calls)
        scripts = _console_scripts()

        # db sync, with the real irra-manage's arguments.
        execs = [c for c in calls if c[0] == 'exec']
        self.assertEqual(1, len(execs), execs)
        self.assertEqual(self.plugin.bin, os.path.dirname(execs[0][1]))
        self.assertEqual('irra-manage', os.path.basename(execs[0][1]))
        args = execs[0][2:]
        self.assertEqual(['db', 'sync'], args[-2:])
        self.assertIn(('db', ('irra_openstack.cmd.db_commands',
                              'DbCommands')),
                      manage.CATEGORIES.items())
        self.assertIn(['recreate_database', 'irra'], calls)
        self.assertLess(calls.index(['recreate_database', 'irra']),
                        calls.index(execs[0]))

        # The services: irra's console scripts, with options they accept.
        started = {c[1]: c[2] for c in calls if c[0] == 'run_process'}
        self.assertEqual({'irra-api', 'irra-rrm'}, set(started))
        for service, command in started.items():
            argv = shlex.split(command)
            self.assertEqual(self.plugin.bin, os.path.dirname(argv[0]))
            name = os.path.basename(argv[0])
            self.assertIn(name, scripts)
            self._check_accepts(name, argv[1:])
        self._check_accepts('irra-manage', args)

        # Keystone: the service type that "openstack irra" looks for.
        from irra_openstack.cli import plugin as cli_plugin

        service = [c for c in calls if c[0] == 'get_or_create_service']
        self.assertEqual(1, len(service))
        self.assertEqual(cli_plugin.SERVICE_TYPE, service[0][2])
        endpoint = [c for c in calls if c[0] == 'get_or_create_endpoint']
        self.assertEqual(['get_or_create_endpoint', 'svc-id', REGION]
                         + ['http://127.0.0.1:8790'] * 3, endpoint[0])
        self.assertIn(['wait_for_service', '60', 'http://127.0.0.1:8790'],
                      calls)

    def _check_accepts(self, name, args):
        """The real console script parses ``args`` (with --help added)."""
        target = _console_scripts()[name]
        module, func = target.split(':')
        code = ('import sys; sys.argv[0] = %r; from %s import %s as main; '
                'sys.exit(main(sys.argv[1:]))' % (name, module, func))
        argv = args + ['--help']
        proc = subprocess.run([sys.executable, '-c', code] + argv,
                              capture_output=True, text=True, cwd=ROOT)
        self.assertEqual(0, proc.returncode, '%s %s: %s' % (
            name, ' '.join(argv), proc.stderr[-2000:]))
        self.assertIn('usage', proc.stdout.lower())

    def test_unstack_stops_what_extra_started(self):
        calls, files = self._post_config()
        started = {c[1] for c in self.plugin.run('stack', 'extra')
                   if c[0] == 'run_process'}
        calls = self.plugin.run('unstack')
        self.assertNoUnknown(calls)
        stopped = {c[1] for c in calls if c[0] == 'stop_process'}
        self.assertEqual(started, stopped)

    def test_clean_removes_conf_and_database(self):
        conf_dir = os.path.dirname(self.plugin.irra_conf)
        calls = self.plugin.run('clean')
        self.assertNoUnknown(calls)
        self.assertIn(['sudo', 'rm', '-rf', conf_dir], calls)
        drop = [c for c in calls if c[0] == 'mysql']
        self.assertEqual(1, len(drop), calls)
        self.assertIn('DROP DATABASE IF EXISTS irra;', drop[0])
        calls = self.plugin.run('clean', services='key,postgresql')
        self.assertIn(['dropdb', '-h127.0.0.1', '-Uroot', '--if-exists',
                       'irra'], calls)

    def test_nothing_when_irra_is_disabled(self):
        # As if local.conf said "disable_service irra-api irra-rrm":
        # enable_service of settings enables nothing.
        harness = HARNESS.replace(
            'for s in "$@"; do ENABLED_SERVICES="$ENABLED_SERVICES,$s"; '
            'done', ':')
        self.assertNotEqual(HARNESS, harness)
        for phase in (('stack', 'install'), ('stack', 'post-config'),
                      ('stack', 'extra'), ('unstack',), ('clean',)):
            calls = self.plugin.run(*phase, harness=harness)
            done = [c for c in calls if c[0] not in (
                'define_plugin', 'enable_service', 'STATE', 'STATEM')]
            self.assertEqual([], done, phase)


class DevstackRealRunTest(base.TestCase):
    """The commands of "stack extra" run for real, on what post-config wrote.

    The database is a sqlite file (DevStack's server cannot be assumed);
    irra-api listens on a free loopback port. irra-rrm needs a broker and
    is run by the functional tests of irra-rrm, not here.
    """

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.plugin = DevstackPlugin(self.tmp)
        self.real_bin = os.path.dirname(sys.executable)
        for name in ('irra-manage', 'irra-api'):
            path = os.path.join(self.real_bin, name)
            self.assertTrue(os.access(path, os.X_OK),
                            '%s is missing: install irra-openstack in this '
                            'environment (pip install -e .)' % path)

    def _free_port(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            return sock.getsockname()[1]

    def _real(self, argv):
        """The command with the stand-in bin dir replaced by the real one."""
        self.assertEqual(self.plugin.bin, os.path.dirname(argv[0]))
        return [os.path.join(self.real_bin, os.path.basename(argv[0]))] + list(
            argv[1:])

    def test_db_sync_then_irra_api_answers(self):
        import sqlalchemy

        port = self._free_port()
        env = {'IRRA_TEST_DB_BASE': 'sqlite:///' + self.tmp,
               'IRRA_TEST_DB_QUERY': '', 'IRRA_API_HOST': '127.0.0.1',
               'IRRA_API_PORT': str(port),
               # Few log lines: nothing reads irra-api's output once it
               # listens.
               'ENABLE_DEBUG_LOG_LEVEL': 'False'}
        calls = self.plugin.run('stack', 'post-config', env=env)
        files = _files(calls)
        _write_ini(self.plugin.irra_conf, files[self.plugin.irra_conf])
        calls = self.plugin.run('stack', 'extra', env=env)

        # irra-manage db sync creates the schema, with the table that
        # nova-scheduler reads through [irra_scheduler] connection.
        sync = [c for c in calls if c[0] == 'exec'][0]
        proc = subprocess.run(self._real(sync[1:]), capture_output=True,
                              text=True, cwd=self.tmp)
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
        url = files[NOVA_CONF]['irra_scheduler']['connection']
        self.assertEqual(files[self.plugin.irra_conf]['database'][
            'connection'], url)
        engine = sqlalchemy.create_engine(url)
        try:
            tables = sqlalchemy.inspect(engine).get_table_names()
        finally:
            engine.dispose()
        self.assertIn('headroom_snapshots', tables)

        # irra-api, as run_process starts it, answers on the endpoint that
        # the plugin registers and waits for.
        command = [c[2] for c in calls
                   if c[0] == 'run_process' and c[1] == 'irra-api'][0]
        endpoint = [c for c in calls if c[0] == 'get_or_create_endpoint'][0]
        self.assertEqual('http://127.0.0.1:%d' % port, endpoint[3])
        err = open(os.path.join(self.tmp, 'irra-api.err'), 'w+')
        self.addCleanup(err.close)
        api = subprocess.Popen(self._real(shlex.split(command)),
                               stdout=subprocess.PIPE, stderr=err,
                               text=True, cwd=self.tmp)
        self.addCleanup(self._stop, api)
        # The line that irra-api prints once it listens (log lines may
        # come first on standard output); None when it exits.
        expected = 'irra-api listening on http://127.0.0.1:%d' % port
        seen = []
        for line in api.stdout:
            seen.append(line)
            if expected in line:
                break
        err.seek(0)
        self.assertIn(expected, ''.join(seen[-5:]),
                      'irra-api did not start: %s' % (
                          ''.join(seen[-20:]) + err.read())[-3000:])
        with urllib.request.urlopen(endpoint[3] + '/', timeout=30) as resp:
            self.assertEqual(200, resp.status)
            self.assertIn(b'v1', resp.read())

    def _stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
