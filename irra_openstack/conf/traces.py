from oslo_config import cfg

GROUP = 'traces'

traces_opts = [
    cfg.StrOpt(
        'on_bad_data',
        default='repair',
        choices=[
            ('repair', 'Repair what can be repaired without guessing '
                       '(sort unsorted rows, average duplicate timestamps, '
                       'mark NaN and negative values as missing, drop a '
                       'truncated last line) and report every repair.'),
            ('fail', 'Stop at the first repairable problem with an error '
                     'that names the file and line.'),
        ],
        help='What trace import does with data that is readable but wrong. '
             'Data that cannot be read at all (a wrong separator, a '
             'malformed line in the middle of a file) is always an error.'),
    cfg.IntOpt(
        'step',
        default=300,
        min=1,
        help='Step of the regular time grid that imported traces are put '
             'on, in seconds. Samples are averaged into it; a trace whose '
             'native step is larger than this keeps its native step.'),
    cfg.IntOpt(
        'block_size',
        default=64,
        min=1,
        help='Number of resources per block in the canonical trace file. '
             'Readers stream a trace one block at a time, so this bounds '
             'the memory one block takes.'),
]


def register_opts(conf):
    conf.register_opts(traces_opts, group=GROUP)


def list_opts():
    return {GROUP: traces_opts}
