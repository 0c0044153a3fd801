#!/bin/sh
# Install the Gnocchi server (API under uWSGI, metricd) into a virtualenv of
# its own, for irra's functional tests and `irra-manage bench datasource`.
# Gnocchi's dependencies conflict with irra's, so it never shares irra's
# environment; the tests run it as subprocesses and find it through
# $IRRA_GNOCCHI_VENV, .tox/gnocchi-server or /tmp/venv-gnocchi.
#
# Usage: tools/install-gnocchi.sh [VENV]   (default: .tox/gnocchi-server)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.tox/gnocchi-server}
python=${PYTHON:-python3}
if [ -x "$venv/bin/gnocchi-upgrade" ] && [ -x "$venv/bin/uwsgi" ]; then
    echo "Gnocchi already installed in $venv"
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# Versions that passed irra's tests.
"$venv/bin/pip" install --quiet 'gnocchi[postgresql,file]==4.7.1' 'uwsgi==2.0.31'
"$venv/bin/gnocchi-upgrade" --help >/dev/null
echo "Gnocchi installed in $venv; export IRRA_GNOCCHI_VENV=$venv"
