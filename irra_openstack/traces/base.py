"""Base of trace format plugins, and the report of a trace import.

A trace format plugin (namespace ``irra.trace_formats``) reads one public
or private trace layout and streams it as :class:`~irra_openstack.frame.
MetricFrame` blocks of at most ``block_size`` resources, so that importing
a trace of any size takes memory for one block, not for the whole trace.

Everything an importer had to do to the data is recorded in an
:class:`ImportReport`: a *repair* is a change to readable but wrong data
(sorting, averaging duplicates, marking bad values as missing, dropping a
truncated last line); with ``on_bad_data = fail`` each repair is a
:class:`~irra_openstack.exception.BadDataError` instead. A *note* is a fact
worth knowing that is not a repair (gaps in the sampling, files that were
not part of the trace).
"""

import abc
import collections
import datetime

from irra_openstack import exception
from irra_openstack import plugins

#: The bad-data policies (see [traces] on_bad_data).
POLICIES = ('repair', 'fail')

#: How many examples a report keeps for each kind of repair or note.
MAX_EXAMPLES = 3

#: kind -> (what was found, what was done). Importers may use other kinds;
#: these are the ones irra's importers use.
REPAIR_KINDS = {
    'unsorted': ('timestamps out of order', 'sorted'),
    'duplicate': ('duplicate timestamps', 'averaged'),
    'nan': ('NaN or empty values', 'marked missing'),
    'negative': ('negative values of a non-negative metric',
                 'marked missing'),
    'over_capacity': ('memory use above the memory the VM was given '
                      '(corrupt samples)', 'marked missing'),
    'truncated': ('truncated last lines', 'dropped'),
    'blank_line': ('blank lines', 'dropped'),
    'empty_file': ('empty files (no data rows)', 'skipped'),
}

NOTE_KINDS = {
    'gap': 'grid slots inside a series with no sample (missing)',
    'merged': 'grid slots of a series sampled about once a step that got '
              'more than one sample (duplicates or jitter; averaged)',
    'ignored_file': 'files that are not in this format (ignored)',
    'step': 'grid step',
    'undefined': 'derived values that are undefined (missing)',
}


class Where(collections.namedtuple('Where', 'path line detail')):
    """Where a problem is: a file, a 1-based line (or None), and what."""

    def __str__(self):
        loc = (str(self.path) if self.line is None
               else '%s:%d' % (self.path, self.line))
        return '%s: %s' % (loc, self.detail) if self.detail else loc


class ImportReport:
    """What an import found and did, and a summary of the result.

    :param source: the imported path.
    :param fmt: the trace format name.
    :param on_bad_data: ``repair`` or ``fail``.
    """

    def __init__(self, source=None, fmt=None, on_bad_data='repair'):
        if on_bad_data not in POLICIES:
            raise exception.ConfigError(
                reason="on_bad_data must be one of %s, got %r"
                % (', '.join(POLICIES), on_bad_data))
        self.source = None if source is None else str(source)
        self.format = fmt
        self.on_bad_data = on_bad_data
        self.repairs = {}
        self.notes = {}
        self.summary = {}
        self.files = 0

    @staticmethod
    def _add(table, kind, count, examples, text):
        entry = table.setdefault(kind, {'count': 0, 'examples': [],
                                        'text': text})
        entry['count'] += int(count)
        room = MAX_EXAMPLES - len(entry['examples'])
        if room > 0:
            entry['examples'].extend(str(e) for e in list(examples)[:room])

    def repair(self, kind, count, examples=()):
        """Record ``count`` repairs of ``kind``, with examples (Where).

        :raises BadDataError: when the policy is ``fail``, naming the first
            example's file and line.
        """
        if count <= 0:
            return
        examples = list(examples)
        found, done = REPAIR_KINDS.get(kind, (kind, 'repaired'))
        if self.on_bad_data == 'fail':
            where = str(examples[0]) if examples else (self.source or '?')
            raise exception.BadDataError(
                "%s (%s; %d in all so far). on_bad_data is 'fail'; with "
                "'repair' they would be %s and reported."
                % (where, found, count, done))
        self._add(self.repairs, kind, count, examples,
                  '%s, %s' % (found, done))

    def note(self, kind, count, examples=(), text=None):
        """Record ``count`` occurrences of something that is not a repair.

        A count of 0 with examples adds the examples only (the count may
        come later, from the grid).
        """
        examples = list(examples)
        if count <= 0 and not examples:
            return
        self._add(self.notes, kind, count, examples,
                  text or NOTE_KINDS.get(kind, kind))

    # -- rendering ------------------------------------------------------

    def to_dict(self):
        """The report as plain JSON-able data."""
        return {'source': self.source, 'format': self.format,
                'on_bad_data': self.on_bad_data, 'files': self.files,
                'repairs': self.repairs, 'notes': self.notes,
                'summary': self.summary}

    @classmethod
    def from_dict(cls, data):
        """Rebuild a report from :meth:`to_dict` output."""
        report = cls(data.get('source'), data.get('format'),
                     data.get('on_bad_data', 'repair'))
        report.files = data.get('files', 0)
        report.repairs = dict(data.get('repairs') or {})
        report.notes = dict(data.get('notes') or {})
        report.summary = dict(data.get('summary') or {})
        return report

    def render(self, summary=True):
        """The report as text for an operator."""
        lines = ['Trace %s (format %s, %d files read)'
                 % (self.source, self.format, self.files)]
        if summary:
            lines.extend(render_summary(self.summary))
        for title, table in (('Repairs (on_bad_data = %s)'
                              % self.on_bad_data, self.repairs),
                             ('Notes', self.notes)):
            lines.append('%s:%s' % (title, '' if table else ' none'))
            for kind in sorted(table):
                entry = table[kind]
                lines.append('  %s: %d' % (entry['text'], entry['count']))
                lines.extend('      e.g. %s' % e for e in entry['examples'])
        return '\n'.join(lines)

    def __str__(self):
        return self.render()


def format_time(t, epoch_known):
    """A grid time for people: ISO 8601 UTC, or seconds from trace start."""
    if t is None:
        return '-'
    if epoch_known:
        return datetime.datetime.fromtimestamp(
            int(t), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    return 't0+%ds' % int(t)


def render_summary(s):
    """Text lines for a summary dict (see TraceWriter.summary)."""
    if not s:
        return ['  (no summary)']
    mets = s.get('metrics', [])
    units = s.get('units', {})
    lines = [
        '  resources: %d %s' % (s.get('resources', 0), s.get('kind', '')),
        '  metrics:   %d (%s)' % (len(mets), ', '.join(
            '%s [%s]' % (m, units.get(m, '')) for m in mets)),
        '  grid:      %d steps of %d s, %s to %s (%.1f days)%s' % (
            s.get('steps', 0), s.get('step', 0),
            format_time(s.get('start'), s.get('epoch_known')),
            format_time(s.get('end'), s.get('epoch_known')),
            s.get('span_seconds', 0) / 86400.0,
            '' if s.get('epoch_known') else ' (calendar date unknown)'),
        '  missing:   %.2f %% of values' % (100.0 * s.get(
            'missing_fraction', 1.0)),
    ]
    per = s.get('missing_by_metric') or {}
    if per:
        lines.append('             by metric: ' + ', '.join(
            '%s %.1f %%' % (m, 100.0 * per[m]) for m in mets if m in per))
    return lines


def batches(groups, size):
    """The (name, parsed) pairs that parsed to something, ``size`` at a time.

    Importers that read one resource per group use it to build their blocks.
    """
    batch = []
    for name, parsed in groups:
        if parsed:
            batch.append((name, parsed))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class TraceFormat(plugins.Plugin):
    """A trace layout that irra can import.

    Subclasses implement :meth:`diagnose` (cheap, from the head of the
    input only) and :meth:`read_blocks`.
    """

    #: The native sampling step of the format in seconds, or None when it
    #: is irregular. A grid step below it is raised to it.
    native_step = None

    @classmethod
    def sniff(cls, path):
        """How sure it is that ``path`` is in this format: 0 to 1.

        Reads only the head of the file, folder or archive.
        """
        from irra_openstack.traces import source

        try:
            head = source.Head.of(path)
        except exception.TraceError:
            return 0.0
        return cls.diagnose(head)[0]

    @classmethod
    @abc.abstractmethod
    def diagnose(cls, head):
        """``(score, reason)`` for a :class:`~.source.Head`.

        ``score`` is 0 (not this format) to 1 (certain); ``reason`` says in
        a few words why, for the error listing what was tried.
        """

    @abc.abstractmethod
    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        """Stream the trace at ``path`` as MetricFrames.

        :param path: a file, a folder or a tar archive.
        :param step: the wanted grid step in seconds (see
            :meth:`grid_step`).
        :param on_bad_data: ``repair`` or ``fail``; ``report`` applies it
            (``report.on_bad_data`` is the same policy).
        :param report: an :class:`ImportReport` to record into.
        :param block_size: at most this many resources per frame.
        :param progress: an optional ``progress(done, total)`` callable.
        :returns: an iterator of MetricFrames of distinct resources, with
            the same step, metrics, kind and calendar, on one grid.
        :raises TraceError: data that cannot be read.
        :raises BadDataError: a repair under the ``fail`` policy.
        """

    def grid_step(self, step, report=None):
        """The grid step to use when ``step`` is asked for."""
        step = int(step)
        if step <= 0:
            raise exception.TraceError(
                reason="the grid step must be a positive number of "
                       "seconds, got %d" % step)
        native = self.native_step
        if native is None:
            return step
        if step < native:
            if report is not None:
                report.note('step', 1, text='grid step raised from %d s to '
                            'the native %d s of this format'
                            % (step, native))
            return native
        if step % native:
            raise exception.TraceError(
                reason="a grid step of %d s is not a multiple of the "
                       "native %d s step of %s traces; use %d, %d, %d ..."
                       % (step, native, self.name, native, 2 * native,
                          3 * native))
        return step
