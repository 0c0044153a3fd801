"""The version documents: GET / and GET /v1."""

from irra_openstack.api import microversion
from irra_openstack.api import util


def _version(req):
    return {
        'id': 'v1.0',
        'status': 'CURRENT',
        'min_version': str(microversion.MIN_VERSION),
        'max_version': str(microversion.MAX_VERSION),
        'links': [{'rel': 'self', 'href': req.application_url + '/v1'}],
    }


def versions(req):
    """The API versions; needs no token."""
    return util.json_response({'versions': [_version(req)]})


def version_v1(req):
    """The v1 API and its microversion range; needs no token."""
    return util.json_response({'version': _version(req)})
