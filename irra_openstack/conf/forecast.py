from oslo_config import cfg

GROUP = 'forecast'

forecast_opts = [
    cfg.StrOpt(
        'forecaster',
        default='auto',
        help='Name of the forecaster plugin (namespace irra.forecasters) '
             'that the engine uses. The default, auto, picks per series '
             'the best of naive, seasonal_naive, ridge and gbm by a '
             'rolling back-test. "irra-manage plugin list" shows the '
             'installed ones.'),
    cfg.IntOpt(
        'step',
        default=300,
        min=1,
        help='Step of the forecast, in seconds. Metrics are aligned to '
             'this grid before forecasting.'),
    cfg.IntOpt(
        'horizon',
        default=3600,
        min=1,
        help='How far ahead to forecast, in seconds. It must be a whole '
             'multiple of [forecast] step, for example 3600 (1 h), 43200 '
             '(12 h) or 86400 (24 h).'),
    cfg.FloatOpt(
        'level',
        default=0.9,
        min=0.5,
        max=0.999,
        help='Confidence level of the forecast interval: a calibrated 0.9 '
             'interval contains about 90 % of actual values.'),
    cfg.IntOpt(
        'history',
        default=14 * 86400,
        min=3600,
        help='How much history, in seconds, the forecaster fits on and '
             'calibrates its intervals on. It must be a whole multiple of '
             '[forecast] step.'),
    cfg.IntOpt(
        'season',
        default=86400,
        min=0,
        help='Length of the main seasonal cycle, in seconds (one day by '
             'default), a whole multiple of [forecast] step. 0 means no '
             'seasonality.'),
]


def register_opts(conf):
    conf.register_opts(forecast_opts, group=GROUP)


def list_opts():
    return {GROUP: forecast_opts}
