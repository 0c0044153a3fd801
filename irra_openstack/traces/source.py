"""Where trace files come from: a file, a folder or a tar archive.

A :class:`Source` lists the *members* of its input, each with a name
relative to the input (``2013-7/1.csv``) and its content as bytes (a ``.gz``
member is decompressed). A folder and a plain file give random access; a
tar archive (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.txz``,
``.tar.bz2``) is read as a stream, one member after the other, without
unpacking it to disk.
"""

import collections
import gzip
import lzma
import os
import tarfile
import zlib

from irra_openstack import exception

ARCHIVE_SUFFIXES = ('.tar', '.tar.gz', '.tgz', '.tar.xz', '.txz',
                    '.tar.bz2', '.tbz2')

#: errors that mean a damaged archive or compressed member
_STREAM_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error,
                  gzip.BadGzipFile, OSError)


def is_archive(path):
    """Whether ``path`` names a tar archive (by its suffix)."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


class Member:
    """One file of a source: a name and a way to read its bytes."""

    def __init__(self, source, name, size, reader):
        self.source = source
        self.name = name
        self.size = size
        self._reader = reader

    @property
    def where(self):
        """The member as people should see it in messages."""
        return self.source.where(self.name)

    @property
    def basename(self):
        return self.name.rsplit('/', 1)[-1]

    @property
    def parent(self):
        """The name of the folder the member is in ('' at the top)."""
        parts = self.name.split('/')
        return parts[-2] if len(parts) > 1 else ''

    def read(self, limit=None):
        """The content, decompressed when the name ends with ``.gz``."""
        try:
            gz = self.name.endswith('.gz')
            data = self._reader(
                max(limit, 1 << 16) if gz and limit is not None else limit)
        except _STREAM_ERRORS as exc:
            raise exception.TraceError(
                reason="%s cannot be read: the archive is truncated or "
                       "damaged (%s)" % (self.where, exc))
        if self.name.endswith('.gz'):
            try:
                if limit is None:
                    data = gzip.decompress(data)
                else:
                    with gzip.GzipFile(fileobj=_BytesReader(data)) as gz:
                        data = gz.read(limit)
            except (EOFError, OSError, zlib.error) as exc:
                if limit is None:
                    raise exception.TraceFormatError(
                        self.where, "not a complete gzip file (%s)" % exc)
                data = b''
        return data


class _BytesReader:
    """A minimal read-only file over bytes (for GzipFile)."""

    def __init__(self, data):
        self._data = data
        self._pos = 0

    def read(self, n=-1):
        end = len(self._data) if n is None or n < 0 else self._pos + n
        chunk = self._data[self._pos:end]
        self._pos += len(chunk)
        return chunk


class _Counting:
    """A file wrapper that reports how far it has been read."""

    def __init__(self, fileobj, total, progress):
        self._f = fileobj
        self._total = total
        self._progress = progress
        self._done = 0
        self._last = 0

    def read(self, n=-1):
        data = self._f.read(n)
        self._done += len(data)
        if self._progress and self._done - self._last > (1 << 20):
            self._last = self._done
            self._progress(self._done, self._total)
        return data


class Source:
    """The members of a file, folder or tar archive at ``path``."""

    def __init__(self, path):
        self.path = str(path)
        if not os.path.exists(self.path):
            raise exception.TraceError(
                reason="%s does not exist" % self.path)
        if os.path.isdir(self.path):
            self.kind = 'dir'
        elif is_archive(self.path):
            self.kind = 'archive'
        else:
            self.kind = 'file'

    @property
    def random_access(self):
        """Whether members can be read in any order, cheaply."""
        return self.kind != 'archive'

    @property
    def root_name(self):
        """The last component of the path itself."""
        return os.path.basename(os.path.normpath(self.path))

    def where(self, name):
        """How to show member ``name`` in messages."""
        if self.kind == 'file':
            return self.path
        return os.path.join(self.path, name)

    # -- listing --------------------------------------------------------

    def members(self, progress=None):
        """Iterate over the members, in name order (folders) or archive order.

        A member of an archive can only be read until the next one is
        asked for.
        """
        if self.kind == 'archive':
            yield from self._archive_members(progress)
            return
        if self.kind == 'file':
            parent = os.path.basename(os.path.dirname(
                os.path.abspath(self.path)))
            name = os.path.basename(self.path)
            name = '%s/%s' % (parent, name) if parent else name
            yield Member(self, name, os.path.getsize(self.path),
                         _file_reader(self.path))
            return
        names = self._walk()
        for i, name in enumerate(names):
            full = os.path.join(self.path, name)
            yield Member(self, name, os.path.getsize(full),
                         _file_reader(full))
            if progress:
                progress(i + 1, len(names))

    def _walk(self):
        names = []
        for top, dirs, files in os.walk(self.path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
            rel = os.path.relpath(top, self.path)
            for f in sorted(files):
                if f.startswith('.'):
                    continue
                name = f if rel == '.' else '%s/%s' % (
                    rel.replace(os.sep, '/'), f)
                names.append(name)
        return names

    def _archive_members(self, progress):
        total = os.path.getsize(self.path)
        try:
            raw = open(self.path, 'rb')
        except OSError as exc:
            raise exception.TraceError(reason="cannot open %s: %s"
                                       % (self.path, exc))
        with raw:
            counting = _Counting(raw, total, progress)
            current = None
            try:
                with tarfile.open(fileobj=counting, mode='r|*') as tar:
                    for info in tar:
                        if not info.isreg():
                            continue
                        current = info.name
                        name = info.name.lstrip('./') or info.name
                        yield Member(self, name, info.size,
                                     _tar_reader(tar, info))
            except exception.IrraError:
                raise
            except _STREAM_ERRORS as exc:
                raise exception.TraceError(
                    reason="%s is truncated or damaged%s: %s"
                    % (self.path, '' if current is None
                       else ' (after member %s)' % current, exc))
            if progress:
                progress(total, total)

    def group(self, key, parse, order=None, progress=None):
        """Parse the members and yield them grouped by ``key``.

        :param key: ``key(member) -> hashable or None``; None skips the
            member.
        :param parse: ``parse(member) -> object or None``; None drops the
            result.
        :param order: sort key of the group keys.
        :returns: iterator of ``(key, [parsed, ...])`` in ``order``; the
            members of a group are in name order.

        From a folder, a group is parsed only when it is yielded, so memory
        holds one group. An archive is a stream, so every member is parsed
        in one pass first and the parsed results are kept.
        """
        if self.random_access:
            groups = collections.defaultdict(list)
            for m in self.members():
                k = key(m)
                if k is not None:
                    groups[k].append(m)
            done, total = 0, sum(len(v) for v in groups.values())
            for k in sorted(groups, key=order):
                parsed = []
                for m in groups.pop(k):
                    p = parse(m)
                    if p is not None:
                        parsed.append(p)
                    done += 1
                if progress:
                    progress(done, total)
                yield k, parsed
            return
        groups = collections.defaultdict(list)
        for m in self.members(progress=progress):
            k = key(m)
            if k is not None:
                p = parse(m)
                if p is not None:
                    groups[k].append(p)
        for k in sorted(groups, key=order):
            yield k, groups.pop(k)


def _file_reader(path):
    def _read(limit=None):
        try:
            with open(path, 'rb') as f:
                return f.read() if limit is None else f.read(limit)
        except OSError as exc:
            raise exception.TraceError(reason="cannot read %s: %s"
                                       % (path, exc))
    return _read


def _tar_reader(tar, info):
    def _read(limit=None):
        f = tar.extractfile(info)
        data = f.read() if limit is None else f.read(limit)
        if limit is None and len(data) != info.size:
            raise exception.TraceError(
                reason="member %s is truncated: %d of %d bytes"
                % (info.name, len(data), info.size))
        return data
    return _read


class Head:
    """The first bytes of the first few members of an input, for sniffing.

    :attr members: list of ``(name, bytes)``.
    """

    MAX_MEMBERS = 24
    PER_DIR = 4
    NBYTES = 4096

    def __init__(self, path, kind, root_name, members):
        self.path = path
        self.kind = kind
        self.root_name = root_name
        self.members = members

    @classmethod
    def of(cls, path):
        """Read the head of ``path``."""
        source = Source(path)
        heads = []
        per_dir = collections.Counter()
        for m in source.members():
            d = m.name.rsplit('/', 1)[0] if '/' in m.name else ''
            if per_dir[d] >= cls.PER_DIR and source.kind != 'file':
                if source.kind == 'archive' and len(heads) >= 2:
                    break
                continue
            per_dir[d] += 1
            heads.append((m.name, m.read(cls.NBYTES)))
            if len(heads) >= cls.MAX_MEMBERS:
                break
        return cls(source.path, source.kind, source.root_name, heads)

    def first_lines(self, data, n=5):
        """The first ``n`` complete lines of ``data`` as text."""
        text = data.decode('utf-8', 'replace').replace('\r\n', '\n')
        lines = text.split('\n')
        if len(data) >= self.NBYTES and len(lines) > 1:
            lines = lines[:-1]   # the last one may be cut by the limit
        return [ln for ln in lines[:n + 1] if ln.strip()][:n]
