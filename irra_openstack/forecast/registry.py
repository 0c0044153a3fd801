"""The model registry: trained forecast models on disk, versioned.

Layout, under the registry's directory (``[forecast_learning] model_dir``)::

    <model name>/<data set>/v000001/model.pkl      (or model.npz)
                                    metadata.json

Names are percent-encoded into single path components, so a name can
never climb out of the directory. Versions count 1, 2, ... per model and
data set.

Saving is atomic: the version is written into a fresh temporary directory
beside its final place (files ``0600``, directories ``0700``, each file
flushed to disk) and then renamed into place in one step. A reader sees a
whole version or none; two writers that pick the same version number
cannot both win the rename, and the loser takes the next number.

Metadata (``metadata.json``): model name, data set, version, the model's
parameters, its training window (first and last step, POSIX seconds),
creation time (UTC, ISO 8601), the versions of Python and of the libraries
it was saved with, the file's format and size, and the SHA-256 of its
content.

Formats and trust
-----------------
A model that is a plain mapping of names to numpy arrays and numbers is
saved as ``.npz`` and loaded with ``allow_pickle=False``: no code runs
when it is read. Any other model (a fitted :class:`.base.Forecaster`, a
scikit-learn estimator) is saved with :mod:`pickle`, and **unpickling runs
code**: only ever load pickles that irra itself wrote. Before unpickling,
:meth:`ModelRegistry.load` therefore checks that the file, its version
directory and the registry directory are owned by the user irra runs as
(or root) and are not writable by group or others, that the file is not a
symbolic link, and that its SHA-256 matches the metadata (which catches
corruption and truncation; it is not a signature, since both are in the
same directory). A registry that fails these checks raises
:class:`RegistryError` and nothing is loaded. Never point ``model_dir`` at
a directory that other users can write to.
"""

import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import platform
import re
import shutil
import stat
import tempfile
import urllib.parse

import numpy as np
from oslo_log import log as logging

from irra_openstack import exception

LOG = logging.getLogger(__name__)

METADATA = 'metadata.json'
_VERSION_RE = re.compile(r'^v(\d{6,})$')
_LIBRARIES = ('numpy', 'scipy', 'scikit-learn', 'irra-openstack')


class RegistryError(exception.IrraError):
    """The model registry cannot save or load a model."""

    msg_fmt = "Model registry: %(reason)s"


def library_versions():
    """Versions of Python and of the libraries a model depends on."""
    versions = {'python': platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _component(name):
    """``name`` as one safe path component."""
    text = urllib.parse.quote(str(name), safe='')
    if not text or text.startswith('.'):
        text = '%2E' + text[1:] if text else '%00'
    return text


def _is_array_dict(model):
    if not isinstance(model, dict) or not model:
        return False
    for key, value in model.items():
        if not isinstance(key, str):
            return False
        array = np.asarray(value) if not isinstance(value, np.ndarray) \
            else value
        if array.dtype.kind not in 'biufc':
            return False
    return True


def _serialise(model):
    if _is_array_dict(model):
        buffer = io.BytesIO()
        np.savez(buffer, **{k: np.asarray(v) for k, v in model.items()})
        return 'npz', buffer.getvalue()
    return 'pickle', pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def _write(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _iso(when):
    return when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


class ModelRegistry(object):
    """Versioned models in a directory.

    :param directory: where the models live; created (``0700``) if
        missing.
    :param keep_versions: versions kept per model and data set; older ones
        are deleted after each save. None keeps all.
    """

    def __init__(self, directory, keep_versions=None):
        self.directory = os.path.abspath(str(directory))
        self.keep_versions = keep_versions

    @classmethod
    def from_conf(cls, conf):
        """The registry of ``[forecast_learning]``."""
        group = conf.forecast_learning
        return cls(group.model_dir, keep_versions=group.keep_versions)

    def __repr__(self):
        return '<ModelRegistry %s>' % self.directory

    def _dir(self, model_name, data_set):
        return os.path.join(self.directory, _component(model_name),
                            _component(data_set))

    def versions(self, model_name, data_set):
        """Saved versions of a model on a data set, ascending."""
        try:
            names = os.listdir(self._dir(model_name, data_set))
        except FileNotFoundError:
            return []
        found = [_VERSION_RE.match(n) for n in names]
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, model, model_name, data_set, parameters=None,
             training_start=None, training_end=None, now=None):
        """Save a new version of a model.

        :param model: the fitted model (any picklable object, or a dict of
            numpy arrays, which is saved without pickle).
        :param parameters: JSON-serialisable constructor arguments.
        :param training_start: first step trained on, POSIX seconds.
        :param training_end: last step trained on, POSIX seconds.
        :param now: creation time, a naive UTC datetime; by default now.
        :returns: the metadata dict, with ``path`` (the model file).
        """
        fmt, data = _serialise(model)
        created = now or datetime.datetime.now(
            datetime.timezone.utc).replace(tzinfo=None)
        meta = {
            'model_name': str(model_name),
            'data_set': str(data_set),
            'parameters': dict(parameters or {}),
            'training_start': None if training_start is None
            else int(training_start),
            'training_end': None if training_end is None
            else int(training_end),
            'created_at': _iso(created),
            'library_versions': library_versions(),
            'format': fmt,
            'file': 'model.%s' % ('npz' if fmt == 'npz' else 'pkl'),
            'size': len(data),
            'content_hash': hashlib.sha256(data).hexdigest(),
        }
        parent = self._dir(model_name, data_set)
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)
            for attempt in range(100):
                version = (self.versions(model_name, data_set) or [0])[-1] \
                    + 1
                meta['version'] = version
                tmp = tempfile.mkdtemp(prefix='.tmp-', dir=parent)
                try:
                    _write(os.path.join(tmp, meta['file']), data)
                    _write(os.path.join(tmp, METADATA),
                           json.dumps(meta, indent=1,
                                      sort_keys=True).encode())
                    final = os.path.join(parent, 'v%06d' % version)
                    os.rename(tmp, final)
                except OSError:
                    shutil.rmtree(tmp, ignore_errors=True)
                    if os.path.exists(os.path.join(parent,
                                                   'v%06d' % version)):
                        continue        # another writer took it
                    raise
                break
            else:
                raise RegistryError(reason="no free version number in %s"
                                    % parent)
            _fsync_dir(parent)
        except OSError as exc:
            raise RegistryError(reason="cannot save %s/%s in %s: %s" % (
                model_name, data_set, self.directory, exc))
        LOG.info('Saved model %s version %d for %s (%d bytes, sha256 '
                 '%.12s)', model_name, version, data_set, len(data),
                 meta['content_hash'])
        if self.keep_versions:
            self.prune(model_name, data_set, self.keep_versions)
        meta['path'] = os.path.join(final, meta['file'])
        return meta

    def metadata(self, model_name, data_set, version=None):
        """The metadata of a version (the newest when None), with path.

        :raises RegistryError: there is no such version.
        """
        versions = self.versions(model_name, data_set)
        if version is None:
            if not versions:
                raise RegistryError(reason="no saved version of %s for %s"
                                    % (model_name, data_set))
            version = versions[-1]
        vdir = os.path.join(self._dir(model_name, data_set),
                            'v%06d' % int(version))
        try:
            with open(os.path.join(vdir, METADATA), 'rb') as stream:
                meta = json.loads(stream.read().decode())
        except FileNotFoundError:
            raise RegistryError(reason="no version %s of %s for %s" % (
                version, model_name, data_set))
        except (OSError, ValueError) as exc:
            raise RegistryError(reason="unreadable metadata of %s: %s"
                                % (vdir, exc))
        meta['path'] = os.path.join(vdir, os.path.basename(meta['file']))
        return meta

    def load(self, model_name, data_set, version=None):
        """Load a version (the newest when None).

        :returns: ``(model, metadata)``.
        :raises RegistryError: no such version, a failed ownership or
            permission check, or a hash that does not match (see the
            module doc).
        """
        meta = self.metadata(model_name, data_set, version)
        path = meta['path']
        vdir = os.path.dirname(path)
        for where in (self.directory, os.path.dirname(vdir), vdir):
            _check_trusted(where, directory=True)
        _check_trusted(path, directory=False)
        with open(path, 'rb') as stream:
            data = stream.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != meta.get('content_hash'):
            raise RegistryError(
                reason="%s does not match its recorded SHA-256 (%s, "
                       "recorded %s): not loaded" % (
                           path, digest, meta.get('content_hash')))
        if meta.get('format') == 'npz':
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                model = {k: arrays[k] for k in arrays.files}
        elif meta.get('format') == 'pickle':
            # Our own file, checked above: see the module doc.
            model = pickle.loads(data)
        else:
            raise RegistryError(reason="unknown format %r of %s"
                                % (meta.get('format'), path))
        return model, meta

    def prune(self, model_name, data_set, keep):
        """Delete all but the newest ``keep`` versions; returns them."""
        versions = self.versions(model_name, data_set)
        old = versions[:-int(keep)] if keep else versions
        parent = self._dir(model_name, data_set)
        for version in old:
            shutil.rmtree(os.path.join(parent, 'v%06d' % version),
                          ignore_errors=True)
        if old:
            LOG.debug('Pruned versions %s of %s for %s', old, model_name,
                      data_set)
        return old


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_trusted(path, directory):
    """Refuse a path that someone other than us (or root) could change."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise RegistryError(reason="cannot read %s: %s" % (path, exc))
    kind_ok = stat.S_ISDIR(info.st_mode) if directory \
        else stat.S_ISREG(info.st_mode)
    if not kind_ok:
        raise RegistryError(
            reason="%s is not a %s (a symbolic link?): not loaded"
            % (path, 'directory' if directory else 'regular file'))
    if info.st_uid not in (os.geteuid(), 0):
        raise RegistryError(
            reason="%s is owned by uid %d, not by irra's user: not loaded"
            % (path, info.st_uid))
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RegistryError(
            reason="%s is writable by group or others (mode %o): not "
                   "loaded" % (path, stat.S_IMODE(info.st_mode)))
