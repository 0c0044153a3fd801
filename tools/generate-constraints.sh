#!/usr/bin/env bash
# Regenerate upper-constraints.txt from a tox environment in which the whole
# suite passed: run "tox" (and "tox -e docs,demo") first, then this.
set -euo pipefail
cd "$(dirname "$0")/.."
envs=(py3 functional functional-eventlet pep8 docs demo releasenotes)
{
    echo "# Versions that passed the whole tox suite, from 'pip freeze' of a tox"
    echo "# environment (see README.rst). tox applies this file to every install."
    echo "# Regenerate with: tools/generate-constraints.sh"
    for env in "${envs[@]}"; do
        [ -x ".tox/$env/bin/python" ] || continue
        ".tox/$env/bin/python" -m pip freeze --exclude-editable
    done | grep -viE '^(irra-openstack|-e |pip==|setuptools==|wheel==)' |
        sort -fu
} > upper-constraints.txt.new
mv upper-constraints.txt.new upper-constraints.txt
echo "upper-constraints.txt: $(grep -vc '^#' upper-constraints.txt) pins"
