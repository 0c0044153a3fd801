import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'datasources'
#: keystoneauth credentials and session options for the metric APIs,
#: Nova and Placement (one Keystone for all regions).
AUTH_GROUP = 'datasources_auth'

datasources_opts = [
    cfg.StrOpt('datasource', default='gnocchi',
               help='The irra.datasources plugin that collects metrics: '
                    'gnocchi, prometheus or replay. Its own options are '
                    'in [datasources.<name>].'),
    cfg.ListOpt('regions', default=[],
                help='Regions to collect from (Keystone region ids). '
                     'Empty: the region_name of [datasources_auth].'),
    cfg.IntOpt('step', default=300, min=1,
               help='Seconds between the points of the collected grid.'),
    cfg.FloatOpt('timeout', default=30.0, min=0.1,
                 help='Seconds to wait for one answer of a metric API.'),
    cfg.IntOpt('retries', default=2, min=0,
               help='Retries of a request that failed (connection error, '
                    'timeout, HTTP 5xx), with exponential backoff.'),
    cfg.FloatOpt('backoff', default=0.5, min=0.0,
                 help='First retry delay in seconds; doubled at each '
                      'retry, with jitter.'),
    cfg.IntOpt('breaker_threshold', default=3, min=1,
               help='Consecutive failures after which an endpoint is not '
                    'asked again for breaker_reset seconds.'),
    cfg.FloatOpt('breaker_reset', default=30.0, min=0.0,
                 help='Seconds an endpoint stays skipped after its '
                      'circuit opened.'),
    cfg.IntOpt('parallel', default=4, min=1,
               help='Requests to one region in flight at once (one per '
                    'metric); 1 asks one metric after the other.'),
    cfg.BoolOpt('compress', default=False,
                help='Ask metric APIs for gzip answers. Worth it across a '
                     'slow network; on a fast one it costs the server more '
                     'CPU than it saves.'),
    cfg.DictOpt('clock_offset', default={},
                help='Seconds a region\'s metric clock is ahead of ours, '
                     'region:seconds; query times are corrected by it.'),
    cfg.StrOpt('app_label_key', default='app',
               help='Server metadata key whose value names the '
                    'application a VM belongs to.'),
    cfg.StrOpt('interface', default='internal',
               choices=['public', 'internal', 'admin'],
               help='Keystone catalog interface of the endpoints.'),
]


def register_opts(conf):
    conf.register_opts(datasources_opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, AUTH_GROUP)
    ks_loading.register_auth_conf_options(conf, AUTH_GROUP)


def list_opts():
    auth = (ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password'))
    seen, opts = set(), []
    for o in auth:
        if o.dest not in seen:
            seen.add(o.dest)
            # keystoneauth's own help is terse: say what it is for here
            # (a copy, for the sample file only).
            o = copy.copy(o)
            o.help = ('%s Used to reach the metric APIs, Nova and '
                      'Placement of every region.' % (o.help or '')).strip()
            opts.append(o)
    return {GROUP: datasources_opts, AUTH_GROUP: opts}
