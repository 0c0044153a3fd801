"""GET /v1/headroom (microversion 1.2): the scheduler's headroom snapshot.

The ETag is the snapshot's generation: a reader that sends
``If-None-Match`` with the ETag it has gets a 304 without a body until a
new generation is published.
"""

import webob

from irra_openstack.api.schemas import common
from irra_openstack.api import util
from irra_openstack.db import readonly_api


def _etag(generation):
    return '"%d"' % generation


def show_headroom(req):
    util.authorize(req, 'irra:headroom:show')
    util.query(req, common.NO_QUERY)
    wanted = req.headers.get('If-None-Match')
    if wanted:
        generation = readonly_api.headroom_generation()
        if generation is not None and (
                wanted.strip() == '*' or _etag(generation) in
                [tag.strip() for tag in wanted.split(',')]):
            response = webob.Response(status=304)
            response.headers.pop('Content-Type', None)
            response.headers['ETag'] = _etag(generation)
            return response
    snapshot = readonly_api.headroom_latest()
    snapshot['created_at'] = util.isotime(snapshot['created_at'])
    return util.json_response(
        snapshot, headers={'ETag': _etag(snapshot['generation'])})
