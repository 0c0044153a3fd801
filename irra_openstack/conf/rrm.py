"""Options of irra-rrm, the regional resource manager: group [rrm].

irra-rrm also reads oslo.messaging's options ([DEFAULT] transport_url,
[oslo_messaging_rabbit], [oslo_messaging_notifications]); they are
registered on irra-rrm's own configuration object by
:func:`irra_openstack.rrm.service.register_messaging_opts`, and the sample
configuration file lists them through oslo.messaging's generator
namespace.
"""

from oslo_config import cfg

GROUP = 'rrm'

#: The executor of each action type unless [rrm] executors says otherwise.
DEFAULT_EXECUTORS = {
    'reserve': 'placement_reservation',
    'release': 'placement_reservation',
    'live_migrate': 'nova_live_migration',
    'cold_migrate': 'nova_cold_migration',
    'relocate': 'cross_region_relocation',
    'scale_out': 'cross_region_scale',
    'scale_in': 'cross_region_scale',
}

rrm_opts = [
    cfg.StrOpt(
        'region_name',
        default='RegionOne',
        help='Name of the region this irra-rrm manages. It is the RPC '
             'server name on the "irra-rrm" topic, the region that the '
             'engine names when it sends this region work, and part of the '
             'notifications\' publisher id ("irra-rrm.<region_name>").'),
    cfg.DictOpt(
        'executors',
        default=DEFAULT_EXECUTORS,
        help='Executor of each action type, as "action_type:executor" '
             'pairs. An executor is the name of an "irra.executors" plugin '
             '(e.g. "nova_live_migration") or a "package.module.Class" '
             'path of an Executor subclass, for executors that are not '
             'installed as plugins. An action whose type has no executor '
             'here fails with a message that says so.'),
    cfg.StrOpt(
        'executor_factory',
        help='A "package.module.function" path of the callable that builds '
             'an executor: factory(executor_class, conf, region_name) -> '
             'Executor. It lets a deployment (or a test, or the fault '
             'benchmark) give executors their collaborators, or wrap them. '
             'When unset, an executor class with a from_config(conf, '
             'region_name) class method is built with it, and any other '
             'with no arguments.'),
    cfg.StrOpt(
        'reservation_factory',
        help='A "package.module.function" path of the callable that builds '
             'the reservation manager of this region: factory(conf, '
             'region_name) -> an object with the reserve(), release(), '
             'region_providers() and providers_for_hosts() methods of '
             'irra_openstack.rrm.reservations.ReservationManager and an '
             '"adapter" attribute (a keystoneauth1 Adapter for Placement). '
             'irra_openstack.rrm.reservations.manager_from_config builds '
             'it from [datasources_auth]. When unset, get_capacity, reserve '
             'and release answer that this region has no reservation '
             'manager.'),
    cfg.IntOpt(
        'max_parallel_actions',
        default=4,
        min=1,
        help='Actions this region runs at once, over all hosts (the '
             'per-region concurrency limit of a migration wave).'),
    cfg.IntOpt(
        'max_parallel_per_host',
        default=2,
        min=1,
        help='Actions at once that involve one host, as source or '
             'destination (the per-host concurrency limit of a wave).'),
    cfg.FloatOpt(
        'poll_interval',
        default=1.0,
        min=0.01,
        help='Seconds between two looks at the database while a wave '
             'waits for an action of another region it depends on, and '
             'between two reconcile() calls on an action that its '
             'executor left ONGOING.'),
    cfg.IntOpt(
        'action_timeout',
        default=3600,
        min=1,
        help='Seconds an action may stay ONGOING, as its executor reports '
             'it, before irra-rrm asks the executor to cancel it and '
             'records it FAILED. Executors have their own, shorter, '
             'timeouts (a live migration is aborted by its executor); '
             'this is the last resort.'),
    cfg.IntOpt(
        'reconcile_interval',
        default=60,
        min=1,
        help='Seconds between two reconciliations: ONGOING actions of this '
             'region that no thread of this process runs (left by a crash '
             'or a restart) are checked with their executor\'s '
             'reconcile(), which reads the real state (Nova\'s migration '
             'records, Placement\'s allocations); plans with PENDING '
             'actions of this region are resumed. It also runs at '
             'start-up.'),
    cfg.StrOpt(
        'rpc_version_cap',
        help='Highest version of the irra-rrm RPC API that clients send, '
             'for rolling upgrades: set it to the version of the oldest '
             'irra-rrm still running (e.g. "1.0") until every region runs '
             'the new one. Unset means the newest version this code '
             'knows.'),
    cfg.IntOpt(
        'rpc_timeout',
        default=30,
        min=1,
        help='Seconds the engine waits for one region\'s answer to an RPC '
             'call. A region that does not answer in time is reported as '
             'missing from the answer, never silently left out.'),
    cfg.IntOpt(
        'rpc_retries',
        default=3,
        min=0,
        help='Times the engine sends a call again to a region that did not '
             'answer (timeout or broker unreachable). Every call of the '
             'irra-rrm API is idempotent (actions are keyed by their '
             'idempotency key), so sending one again is safe.'),
]


def register_opts(conf):
    """Register the [rrm] options on ``conf``."""
    conf.register_opts(rrm_opts, group=GROUP)


def list_opts():
    """The [rrm] options, for the sample configuration file."""
    return {GROUP: rrm_opts}
