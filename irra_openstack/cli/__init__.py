"""``openstack irra ...``: the OpenStackClient plugin of irra."""
