"""The process that runs the fault campaign for ``irra-manage bench faults``.

Nova's harness registers Nova's options on oslo.config's global object and
patches the process, which cannot share a process with ``irra-manage``
(whose own options are on the same global object). ``irra-manage`` runs
this module in a fresh interpreter instead::

    python -m irra_openstack.rrm.fault_main --rounds 13 --broker-rounds 3 \
        --out RESULT.json

It writes the result as JSON to ``--out`` and progress lines
(``progress DONE TOTAL``) to its standard error, and exits with status 0,
or 2 with a one-line reason on standard error. It exits without waiting
for the harness's worker threads, which Nova's clean-up leaves behind.
"""

import argparse
import json
import os
import sys
import traceback

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')


def main(argv=None):
    """Run the campaign; never returns (exits the process)."""
    parser = argparse.ArgumentParser(prog='irra-fault-campaign')
    parser.add_argument('--rounds', type=int, default=13)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--servers', type=int, default=8)
    parser.add_argument('--timeout', type=float, default=8.0)
    parser.add_argument('--broker-rounds', type=int, default=3)
    parser.add_argument('--no-baseline', dest='baseline',
                        action='store_false')
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    # Nova's fixtures capture the standard streams; keep the real ones.
    err = sys.__stderr__
    status = 0
    try:
        from irra_openstack.rrm import faults

        def progress(done, total):
            err.write('progress %d %d\n' % (done, total))
            err.flush()

        result = faults.run(rounds=args.rounds, seed=args.seed,
                            servers=args.servers, timeout=args.timeout,
                            progress=progress, baseline=args.baseline,
                            broker_rounds=args.broker_rounds)
        with open(args.out, 'w') as f:
            json.dump(result, f)
    except ImportError as exc:
        err.write('error Nova\'s functional test package (the nova wheel '
                  'from test-requirements.txt) or openstack-placement '
                  '(tools/install-placement.sh) is missing: %s\n' % exc)
        status = 2
    except Exception as exc:
        from irra_openstack import exception
        if isinstance(exc, exception.IrraError):
            err.write('error %s\n' % exc)
        else:
            err.write('error unexpected %s: %s\n' % (type(exc).__name__,
                                                     exc))
            err.write(traceback.format_exc())
        status = 2
    err.flush()
    sys.__stdout__.flush()
    os._exit(status)


if __name__ == '__main__':
    main()
