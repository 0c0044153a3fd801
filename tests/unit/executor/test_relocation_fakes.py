"""Small in-memory compute and image services for the executor tests.

They stand for a region's Nova and Glance where the real ones cannot be
made to fail at a chosen step (the functional tests run the happy paths
against Nova's harness). ``fail`` maps a call name to an exception raised
on that call, or a status a new server or image takes.
"""

import itertools

_ids = itertools.count(1)


def _new_id(prefix):
    return '%s-%04d' % (prefix, next(_ids))


class FakeCompute:
    def __init__(self, region, images):
        self.region = region
        self.images = images
        self.servers_by_id = {}
        self.fail = {}
        self.calls = []
        #: A new server's status on its first reads, then ACTIVE.
        self.boot_status = 'ACTIVE'

    def _maybe_fail(self, name):
        self.calls.append(name)
        if isinstance(self.fail.get(name), Exception):
            raise self.fail[name]

    def add(self, **server):
        server.setdefault('id', _new_id('srv'))
        server.setdefault('status', 'ACTIVE')
        server.setdefault('metadata', {})
        server.setdefault('tags', [])
        server.setdefault('flavor', {'original_name': 'm1.small'})
        server.setdefault('addresses', {})
        server.setdefault('security_groups', [])
        server.setdefault('created_at', '2026-01-01T00:00:%02d' %
                          len(self.servers_by_id))
        self.servers_by_id[server['id']] = server
        return server

    def servers(self, details=True, all_projects=False, tags=None):
        self._maybe_fail('servers')
        return [dict(s) for s in self.servers_by_id.values()
                if tags is None or tags in s['tags']]

    def find_server(self, server_id, ignore_missing=True):
        self._maybe_fail('find_server')
        server = self.servers_by_id.get(server_id)
        return dict(server) if server else None

    def create_server(self, **kwargs):
        self._maybe_fail('create_server')
        self.created = kwargs
        return self.add(name=kwargs['name'], status=self.boot_status,
                        metadata=dict(kwargs.get('metadata') or {}),
                        tags=list(kwargs.get('tags') or ()),
                        image={'id': kwargs['image_id']},
                        flavor={'original_name': kwargs['flavor_id']},
                        kwargs=kwargs)

    def find_flavor(self, name_or_id, ignore_missing=True):
        self.calls.append('find_flavor')
        return {'id': 'id-of-%s' % name_or_id}

    def delete_server(self, server_id, ignore_missing=True):
        self._maybe_fail('delete_server')
        self.servers_by_id.pop(server_id, None)

    def create_server_image(self, server, name, metadata=None):
        self._maybe_fail('create_server_image')
        return self.images.add(name=name, properties=dict(metadata or {}),
                               data=b'disk of %s' % server.encode())


class FakeImage:
    def __init__(self):
        self.by_id = {}
        self.fail = {}
        self.calls = []

    def _maybe_fail(self, name):
        self.calls.append(name)
        if isinstance(self.fail.get(name), Exception):
            raise self.fail[name]

    def add(self, name, data=b'', tags=(), properties=None,
            status='active', **extra):
        image = dict(id=_new_id('img'), name=name, tags=list(tags),
                     status=status, data=data, disk_format='qcow2',
                     container_format='bare')
        image.update(properties or {})
        image.update(extra)
        self.by_id[image['id']] = image
        return image

    def images(self, tag=None):
        self._maybe_fail('images')
        return [dict(i) for i in self.by_id.values()
                if set(tag or ()) <= set(i['tags'])]

    def get_image(self, image_id):
        self._maybe_fail('get_image')
        return dict(self.by_id[image_id])

    def add_tag(self, image, tag):
        self.by_id[image['id']]['tags'].append(tag)

    def download_image(self, image, output=None):
        self._maybe_fail('download_image')
        output.write(self.by_id[image['id']]['data'])

    def create_image(self, name, data, disk_format, container_format, tags,
                     allow_duplicates, **properties):
        self._maybe_fail('create_image')
        status = self.fail.get('create_image_status', 'active')
        return self.add(name, data=data.read(), tags=tags,
                        properties=properties, status=status,
                        disk_format=disk_format,
                        container_format=container_format)

    def delete_image(self, image_id, ignore_missing=True):
        self._maybe_fail('delete_image')
        self.by_id.pop(image_id, None)


class FakeConnection:
    def __init__(self, region):
        self.region = region
        self.image = FakeImage()
        self.compute = FakeCompute(region, self.image)


class Clock:
    """A clock that advances only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds
