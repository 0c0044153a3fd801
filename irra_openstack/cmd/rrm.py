"""irra-rrm: the regional resource manager of one region.

``irra-rrm --config-file /etc/irra/irra.conf`` serves the irra-rrm RPC API
for the region named by ``[rrm] region_name``, on the broker of ``[DEFAULT]
transport_url``, under cotyledon. Run one per region. SIGTERM or SIGINT
stops it after the actions it runs have ended; a SIGKILL loses nothing
either: the next start reconciles the actions that were running.
"""

import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack.rrm import service


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = service.make_conf(argv, default_config_files=[
            f for f in cfg.find_config_files(project='irra')
            if os.path.exists(f)])
    except cfg.Error as exc:
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1
    logging.setup(conf, 'irra')
    try:
        service.serve(conf)
    except exception.IrraError as exc:
        print('ERROR: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
