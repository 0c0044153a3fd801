"""Region connections over Nova's in-process functional harness.

Nova's harness runs one Nova (API, conductor, scheduler, computes with the
fake virt driver) and one Placement in a process. Two independent Novas
cannot run in one process (they share Nova's global configuration and
database fixtures), so a *region* here is an availability zone of that
Nova: its hosts are in an aggregate of that zone, its servers are booted
into it and listed from it.

:class:`RegionConnection` gives the executors what they use of an
openstacksdk ``Connection``: a ``compute`` proxy that sends real requests
to the harness's Nova API (through Nova's own in-process HTTP
interception, with Nova's API policies, microversions and filters), and an
``image`` proxy over Nova's ``GlanceFixture`` (an in-memory image store:
Glance's server does not run here). Each region sees only the images it
created or received, so a transfer between regions is a real copy.

Nothing here is imported by the services; it is used by the functional
tests and ``irra-manage bench faults``.
"""

import io

from oslo_utils import uuidutils

#: The microversion of the compute requests (tags, createImage body).
MICROVERSION = '2.90'


class Resource(dict):
    """A dict that also reads as attributes, like an SDK resource."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


class ComputeProxy:
    """The compute calls of the executors, over the harness's API client.

    :param client: a ``nova.tests.functional.api.client.
        TestOpenStackClient`` (an admin one).
    :param zone: the availability zone standing for the region.
    :param image_proxy: the region's :class:`ImageProxy` (snapshots are
        registered in it).
    """

    def __init__(self, client, zone, image_proxy):
        self.client = client
        self.zone = zone
        self.image_proxy = image_proxy
        #: Requests made, by call name (for the benchmark's counts).
        self.calls = {}

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def _request(self, method, uri, body=None, ok=(200, 201, 202, 204)):
        previous = self.client.microversion
        self.client.microversion = MICROVERSION
        try:
            if method == 'GET':
                resp = self.client.api_get(uri, check_response_status=ok)
            elif method == 'POST':
                resp = self.client.api_post(uri, body,
                                            check_response_status=ok)
            elif method == 'PUT':
                resp = self.client.api_put(uri, body,
                                           check_response_status=ok)
            else:
                resp = self.client.api_delete(uri, check_response_status=ok)
        finally:
            self.client.microversion = previous
        return resp

    @staticmethod
    def _server(body):
        server = Resource(body)
        server['availability_zone'] = body.get(
            'OS-EXT-AZ:availability_zone')
        server['compute_host'] = body.get('OS-EXT-SRV-ATTR:host')
        server['attached_volumes'] = body.get(
            'os-extended-volumes:volumes_attached') or []
        return server

    def servers(self, details=True, all_projects=False, **query):
        """Servers of this region, filtered as Nova filters them."""
        self._count('servers')
        params = {'availability_zone': self.zone}
        if all_projects:
            params['all_tenants'] = '1'
        for name, value in query.items():
            if value is not None:
                params[name] = value
        uri = '/servers/detail?' + '&'.join(
            '%s=%s' % (k, v) for k, v in sorted(params.items()))
        body = self._request('GET', uri).body
        return [self._server(s) for s in body['servers']
                if s.get('OS-EXT-AZ:availability_zone') == self.zone]

    def find_server(self, server_id, ignore_missing=True):
        """The server, or None when it does not exist (any more)."""
        self._count('find_server')
        resp = self._request('GET', '/servers/%s' % server_id,
                             ok=(200, 404))
        if resp.status == 404:
            if ignore_missing:
                return None
            raise LookupError('server %s not found' % server_id)
        return self._server(resp.body['server'])

    def get_server(self, server_id):
        """The server; raises LookupError when it does not exist."""
        return self.find_server(server_id, ignore_missing=False)

    def create_server(self, name, image_id, flavor_id, networks='none',
                      security_groups=None, key_name=None, metadata=None,
                      tags=None, availability_zone=None):
        """Boot a server in this region (its availability zone)."""
        self._count('create_server')
        flavor_id = self._flavor_id(flavor_id)
        server = {'name': name, 'imageRef': image_id,
                  'flavorRef': flavor_id, 'networks': networks,
                  'availability_zone': availability_zone or self.zone}
        if security_groups:
            server['security_groups'] = security_groups
        if key_name:
            server['key_name'] = key_name
        if metadata:
            server['metadata'] = {k: str(v) for k, v in metadata.items()}
        if tags:
            server['tags'] = list(tags)
        body = self._request('POST', '/servers', {'server': server}).body
        return Resource(body['server'])

    def find_flavor(self, name_or_id, ignore_missing=True):
        """The flavor with this ID or name, or None."""
        try:
            return Resource(id=self._flavor_id(name_or_id))
        except LookupError:
            if ignore_missing:
                return None
            raise

    def _flavor_id(self, flavor):
        for item in self._request('GET', '/flavors/detail').body['flavors']:
            if flavor in (item['id'], item['name']):
                return item['id']
        raise LookupError('no flavor %r in region %s' % (flavor, self.zone))

    def delete_server(self, server_id, ignore_missing=True):
        """Delete a server; a missing one is fine with ignore_missing."""
        self._count('delete_server')
        resp = self._request('DELETE', '/servers/%s' % server_id,
                             ok=(204, 404))
        if resp.status == 404 and not ignore_missing:
            raise LookupError('server %s not found' % server_id)

    def create_server_image(self, server, name, metadata=None, wait=False):
        """Snapshot ``server`` with Nova's createImage action."""
        self._count('create_server_image')
        server_id = server if isinstance(server, str) else server['id']
        action = {'name': name}
        if metadata:
            action['metadata'] = metadata
        body = self._request('POST', '/servers/%s/action' % server_id,
                             {'createImage': action}).body
        image_id = body['image_id']
        self.image_proxy.adopt(image_id)
        return self.image_proxy.get_image(image_id)


class ImageProxy:
    """The image calls of the executors, over Nova's GlanceFixture.

    Every region's proxy shares the fixture's store but sees only its own
    images (those it created, adopted from a snapshot, or listed in
    ``public``).
    """

    def __init__(self, glance, region, public=()):
        self.glance = glance
        self.region = region
        self.owned = set(public)
        self.calls = {}

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def adopt(self, image_id):
        """Make image ``image_id`` (e.g. a new snapshot) one of ours."""
        self.owned.add(image_id)

    def _image(self, meta):
        image = Resource(meta)
        props = meta.get('properties') or {}
        image.update({k: v for k, v in props.items() if k not in image})
        image.setdefault('tags', [])
        return image

    def images(self, tag=None, **query):
        """Images of this region, with every tag in ``tag``."""
        self._count('images')
        wanted = set(tag or ())
        return [self._image(m) for i, m in sorted(self.glance.images.items())
                if i in self.owned and wanted <= set(m.get('tags') or ())]

    def get_image(self, image_id):
        """An image of this region; LookupError when there is none."""
        self._count('get_image')
        if image_id not in self.owned or image_id not in self.glance.images:
            raise LookupError('image %s not found in %s' % (image_id,
                                                            self.region))
        return self._image(self.glance.images[image_id])

    def add_tag(self, image, tag):
        """Tag an image."""
        image_id = image if isinstance(image, str) else image['id']
        meta = self.glance.images[image_id]
        meta['tags'] = sorted(set(meta.get('tags') or ()) | {tag})

    def download_image(self, image, output=None, stream=False):
        """Write the image's data to the file object ``output``."""
        self._count('download_image')
        image_id = image if isinstance(image, str) else image['id']
        self.get_image(image_id)
        buf = output if output is not None else io.BytesIO()
        self.glance.download(None, image_id, data=buf)
        return image if output is not None else buf.getvalue()

    def create_image(self, name, data=None, disk_format='raw',
                     container_format='bare', tags=None,
                     allow_duplicates=False, **properties):
        """Upload an image into this region."""
        self._count('create_image')
        meta = {'id': uuidutils.generate_uuid(), 'name': name,
                'disk_format': disk_format,
                'container_format': container_format,
                'tags': sorted(tags or ()), 'status': 'active',
                'properties': {k: str(v) for k, v in properties.items()}}
        created = self.glance.create(None, meta, data=data)
        self.owned.add(created['id'])
        return self._image(created)

    def delete_image(self, image, ignore_missing=True):
        """Delete an image of this region."""
        self._count('delete_image')
        image_id = image if isinstance(image, str) else image['id']
        if image_id in self.owned and image_id in self.glance.images:
            self.glance.delete(None, image_id)
            self.owned.discard(image_id)
        elif not ignore_missing:
            raise LookupError('image %s not found in %s' % (image_id,
                                                            self.region))


class RegionConnection:
    """An openstacksdk-shaped connection to one region of the harness."""

    def __init__(self, client, glance, zone, public_images=()):
        self.region = zone
        self.image = ImageProxy(glance, zone, public=public_images)
        self.compute = ComputeProxy(client, zone, self.image)
