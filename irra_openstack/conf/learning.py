from oslo_config import cfg

GROUP = 'forecast_learning'

learning_opts = [
    cfg.StrOpt(
        'model_dir',
        default='/var/lib/irra/models',
        help='Directory of the model registry, where trained forecast '
             'models are saved with their metadata, one sub-directory per '
             'model and data set. It must be writable only by the user '
             'irra runs as: models are loaded with pickle, which runs '
             'code, and irra refuses model files that other users could '
             'have written.'),
    cfg.IntOpt(
        'keep_versions',
        default=5,
        min=1,
        help='How many versions of each model and data set the registry '
             'keeps; older ones are deleted when a new one is saved.'),
    cfg.IntOpt(
        'retrain_interval',
        default=86400,
        min=0,
        help='Seconds between two trainings of a forecast model on the '
             'same data set. 0 retrains at every cycle.'),
    cfg.ListOpt(
        'fallback_chain',
        default=['auto', 'seasonal_naive', 'naive'],
        help='Forecasters to use, best first. The engine uses the first '
             'one whose live accuracy is not degraded (see '
             'max_rel_mae and coverage_margin); the last one is always '
             'accepted. The first one keeps being evaluated, so the '
             'engine returns to it when it recovers.'),
    cfg.IntOpt(
        'accuracy_window',
        default=86400,
        min=1,
        help='Seconds of recent evaluations (by the time of the forecast '
             'steps) over which the rolling MAE, relMAE and interval '
             'coverage of a model are computed.'),
    cfg.IntOpt(
        'min_points',
        default=200,
        min=1,
        help='Fewest evaluated (series, step) values in the accuracy '
             'window before a model can be judged degraded; with fewer, it '
             'is kept.'),
    cfg.FloatOpt(
        'max_rel_mae',
        default=1.1,
        min=0.0,
        help='A model is degraded when its rolling MAE exceeds this many '
             'times that of the naive forecast on the same values (relMAE; '
             '1.0 is as good as naive).'),
    cfg.FloatOpt(
        'coverage_margin',
        default=0.05,
        min=0.0,
        max=1.0,
        help='A model is degraded when the rolling coverage of its '
             'intervals falls below [forecast] level minus this margin.'),
    cfg.ListOpt(
        'cold_start_attributes',
        default=['flavor', 'project', 'app'],
        help='Attributes of a VM whose groups give the prior forecast of '
             'a VM with little history, in order of preference; the prior '
             'of all VMs is the last fallback.'),
    cfg.IntOpt(
        'cold_start_min_vms',
        default=3,
        min=1,
        help='Fewest VMs with history a flavor, project or application '
             'group needs to serve as a prior.'),
    cfg.IntOpt(
        'cold_start_full_history',
        default=86400,
        min=1,
        help='Seconds of its own history after which a VM is forecast '
             'from its history alone; before that its forecast is blended '
             'with the prior in proportion.'),
]


def register_opts(conf):
    conf.register_opts(learning_opts, group=GROUP)


def list_opts():
    return {GROUP: learning_opts}
