"""Options of the engine's planning cycle, group [planning].

One cycle collects the recent metrics of a region, forecasts them, builds
the cluster model, asks the host rebalancer for migrations, puts them into
waves, and stores the plan (see :mod:`irra_openstack.engine.cycle`).
"""

from oslo_config import cfg

GROUP = 'planning'

planning_opts = [
    cfg.StrOpt(
        'rebalancer',
        default='rebalance',
        help='The irra.optimizers plugin that plans the migrations that '
             'remove predicted host overloads.'),
    cfg.StrOpt(
        'wave_scheduler',
        default='annealing',
        help='The irra.schedulers plugin that puts the migrations into '
             'waves: annealing (simulated annealing) or greedy (list '
             'scheduling).'),
    cfg.IntOpt(
        'history',
        default=7 * 86400,
        min=300,
        help='Seconds of recent metrics that each cycle fetches and '
             'forecasts from.'),
    cfg.FloatOpt(
        'threshold',
        default=0.8,
        min=0.01,
        max=1.0,
        help='Share of a host\'s physical capacity that the predicted upper '
             'bound of its VMs may reach before the host counts as '
             'overloaded, for every resource class.'),
    cfg.StrOpt(
        'cpu_metric',
        default='cpu_util',
        help='Datasource metric of a VM\'s CPU use, in % of its vCPUs.'),
    cfg.StrOpt(
        'memory_metric',
        default='mem_used',
        help='Datasource metric of a VM\'s memory use: in MB, or in % of '
             'its RAM when the metric\'s unit is %.'),
    cfg.BoolOpt(
        'cpu_as_memory_input',
        default=True,
        help='Forecast each VM\'s memory use with its CPU use as an extra '
             'input series: the pooled forecasters (ridge, gbm, auto) add '
             'its recent deviations and changes to their features. On '
             'the Bitbrains trace it lowered the relative MAE of memory '
             'from 0.788 to 0.770. CPU is forecast from its own history '
             'only.'),
    cfg.BoolOpt(
        'floor_at_last_value',
        default=True,
        help='Plan on each VM\'s predicted CPU and memory use never below '
             'its last observed value (the latest within one forecast '
             'horizon): a rise that the forecast sees is planned for, a '
             'fall that it predicts is not taken for granted. The point '
             'forecast is a median, which expects a burst to fade; busy '
             'spells often last for hours. With the rebalancer\'s risk '
             'objective ([optimizers.rebalance] objective = risk), which '
             'plans on the point forecast, it lowered the overloaded '
             'host-minutes of 8 replayed days of the Bitbrains trace from '
             '5020 to 2315. The upper bound is raised to the floored '
             'point where it is below.'),
    cfg.StrOpt(
        'planned_rise',
        default='point',
        choices=(('point', 'a VM\'s rise above its last observed value '
                  'is planned as far as the point forecast goes'),
                 ('lower', 'only a rise that the lower bound of the '
                  'forecast interval sees is planned for, and only as '
                  'far as that bound')),
        help='With floor_at_last_value, which forecast a VM\'s planned '
             'rise above its last observed CPU and memory use is taken '
             'from. A forecast that expects a dip to recover, or a '
             'pattern to repeat, gives a rise that lower brings in only '
             'when the whole interval sees it. In the replay benchmark '
             '(--scenarios confident) lower helped the ridge forecaster '
             'over three months of Bitbrains (overloaded host-minutes '
             '43470 to 26990, migrations 3080 to 1517) but not the '
             'default auto forecaster over 8 days (2520 to 3350).'),
    cfg.StrOpt(
        'automation_level',
        default='manual',
        choices=('advisory', 'manual', 'partial', 'full'),
        help='Automation level of the plans the cycle stores: advisory '
             '(only shown), manual (run once approved), partial (low-risk '
             'actions run alone), full (run at once).'),
    cfg.BoolOpt(
        'store_empty_plans',
        default=False,
        help='Store a plan even when the cycle found nothing to do.'),
]


def register_opts(conf):
    conf.register_opts(planning_opts, group=GROUP)


def list_opts():
    return {GROUP: planning_opts}
