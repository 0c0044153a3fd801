import pbr.version

version_info = pbr.version.VersionInfo('irra-openstack')
version_string = version_info.version_string
