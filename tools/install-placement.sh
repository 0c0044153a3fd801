#!/bin/sh
# Install OpenStack Placement (openstack-placement under uWSGI) into a
# virtualenv of its own, for irra's functional test of the compute-node
# inventory. The test runs it as a subprocess on loopback (sqlite, noauth2)
# and finds it through $IRRA_PLACEMENT_VENV, .tox/placement-server or
# /tmp/venv-placement.
#
# Usage: tools/install-placement.sh [VENV]   (default: .tox/placement-server)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.tox/placement-server}
python=${PYTHON:-python3}
if [ -x "$venv/bin/placement-manage" ] && [ -x "$venv/bin/uwsgi" ]; then
    echo "Placement already installed in $venv"
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# Versions that passed irra's tests.
"$venv/bin/pip" install --quiet 'openstack-placement==16.0.0' 'uwsgi==2.0.31'
"$venv/bin/python" -c 'import placement.wsgi'
echo "Placement installed in $venv; export IRRA_PLACEMENT_VENV=$venv"
