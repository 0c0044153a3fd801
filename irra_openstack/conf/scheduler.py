"""Options of the Nova scheduler filter and weigher, group [irra_scheduler].

These options are read by ``nova-scheduler``, from nova.conf: the filter and
the weigher of :mod:`irra_openstack.scheduler` register them on Nova's
configuration object when Nova loads them. They are listed here as well so
that irra's sample configuration file documents them. This module imports
nothing but oslo.config, because it is loaded inside nova-scheduler.
"""

from oslo_config import cfg

GROUP = 'irra_scheduler'

#: Aggregate metadata key that overrides max_predicted_utilisation.
AGGREGATE_LIMIT_KEY = 'irra_max_predicted_utilisation'
#: Aggregate metadata key that overrides weight_multiplier.
AGGREGATE_MULTIPLIER_KEY = 'irra_headroom_weight_multiplier'

scheduler_opts = [
    cfg.StrOpt(
        'connection',
        secret=True,
        help='SQLAlchemy URL of irra\'s database, from which nova-scheduler '
             'reads the headroom snapshot, for example '
             '"mysql+pymysql://irra_reader:PASSWORD@HOST/irra". A read-only '
             'account is enough. When unset, the filter passes every host '
             'and the weigher gives every host the weight 0 (fail-open), '
             'with a warning once per refresh interval.'),
    cfg.IntOpt(
        'refresh_interval',
        default=60,
        min=1,
        help='Seconds between two reads of the headroom snapshot. The read '
             'runs in the background, never while a request is scheduled: '
             'a request uses the snapshot already loaded.'),
    cfg.IntOpt(
        'max_snapshot_age',
        default=900,
        min=1,
        help='Age in seconds, from its creation time, beyond which a '
             'snapshot is not used: the filter then passes every host and '
             'the weigher gives every host the weight 0 (fail-open), with a '
             'warning once per refresh interval. Keep it well above the '
             'engine\'s planning period.'),
    cfg.IntOpt(
        'max_clock_skew',
        default=60,
        min=0,
        help='Seconds a snapshot\'s creation time may be ahead of this '
             'host\'s clock. A snapshot further in the future than this '
             'says that a clock is wrong; it is not used (fail-open).'),
    cfg.FloatOpt(
        'max_predicted_utilisation',
        default=0.9,
        min=0.0,
        max=10.0,
        help='Largest share of a host\'s capacity (total minus reserved, '
             'times the allocation ratio) that its predicted upper-bound '
             'usage over the horizon, plus the request, may reach. A host '
             'where any resource class would go beyond it is rejected by '
             'PredictiveHeadroomFilter. The aggregate metadata key '
             '"irra_max_predicted_utilisation" overrides it for the hosts '
             'of an aggregate (the smallest value wins when a host is in '
             'several).'),
    cfg.DictOpt(
        'max_predicted_utilisation_per_class',
        default={},
        help='Per resource class values of max_predicted_utilisation, for '
             'example "VCPU:0.8,MEMORY_MB:0.95". Resource classes not named '
             'here use max_predicted_utilisation. The aggregate metadata '
             'key overrides both.'),
    cfg.FloatOpt(
        'weight_multiplier',
        default=1.0,
        help='Multiplier of PredictiveHeadroomWeigher. A positive value '
             'prefers the hosts with the most predicted headroom '
             '(spreading); a negative value prefers the least (packing), as '
             'with Nova\'s RAMWeigher; 0 disables the weigher. The aggregate '
             'metadata key "irra_headroom_weight_multiplier" overrides it '
             'for the hosts of an aggregate.'),
    cfg.StrOpt(
        'unknown_host_policy',
        default='neutral',
        choices=[
            ('neutral', 'The filter passes the host and the weigher gives '
                        'it the mean weight of the hosts it knows in the '
                        'same request: neither preferred nor avoided.'),
            ('pass', 'The filter passes the host and the weigher gives it '
                     'the weight 0, that of a host left exactly at the '
                     'limit: with a positive multiplier it is chosen after '
                     'the known hosts that have room.'),
        ],
        help='What to do with a host that the snapshot does not know (new '
             'compute node, or invalid values such as NaN for it). Such a '
             'host is never rejected.'),
    cfg.FloatOpt(
        'default_expected_utilisation',
        default=1.0,
        min=0.0,
        help='Share of a request\'s flavor that it is expected to use, when '
             'the snapshot has no expected utilisation for its flavor, '
             'project, application or as its own default. 1.0 counts the '
             'whole flavor.'),
]


def register_opts(conf):
    conf.register_opts(scheduler_opts, group=GROUP)


def list_opts():
    return {GROUP: scheduler_opts}
