"""Vectorised reading and checking of delimited text traces.

Every importer reads its text through :func:`read_table`, which checks the
layout of the whole file at once with numpy (the number of separators on
every line), so that a wrong separator or a malformed line is an error that
names the file and line, a truncated last line is dropped and reported, and
the parsing itself is one call of pandas' C parser. :func:`check_samples`
then finds, again for all series at once, unsorted and duplicate timestamps,
NaN and negative values, and gaps.
"""

import io

import numpy as np
import pandas as pd

from irra_openstack import exception
from irra_openstack import frame
from irra_openstack.traces import base

#: field texts that mean "no value" (as pandas reads them)
_NA_STRINGS = ('', 'nan', 'NaN', 'NAN', 'NA', 'N/A', 'null', 'NULL', 'None')

_SEP_NAMES = {b';': "';' (a TAB may follow)", b',': "','",
              b'\t': 'TAB', b' ': 'space'}


class Table:
    """Parsed columns of a text file.

    :attr columns: list of arrays, float64 for numeric columns and object
        for text columns.
    :attr lines: int64 array, the 1-based line number of every row.
    """

    def __init__(self, columns, lines):
        self.columns = columns
        self.lines = lines

    def __len__(self):
        return len(self.lines)

    def numeric(self, indexes):
        """The numeric columns ``indexes`` as one float64 (rows, n) array."""
        return np.column_stack([self.columns[i] for i in indexes]) \
            if indexes else np.empty((len(self), 0))


def first_line(data):
    """The first line of ``data`` as text, without its line ending."""
    end = data.find(b'\n')
    line = data if end < 0 else data[:end]
    return line.rstrip(b'\r').decode('utf-8', 'replace')


def _guess_sep(line, expected):
    counts = {s: line.count(s) for s in _SEP_NAMES if s != expected}
    best = max(counts, key=counts.get)
    return (_SEP_NAMES[best], counts[best] + 1) if counts[best] else (
        None, 1)


def read_table(data, where, sep, n_fields, report, skip=0, text=(),
               what=None):
    """Parse delimited ``data`` (bytes) after checking its layout.

    :param where: the file, for messages.
    :param sep: the separator, one byte (``b';'``, ``b','``).
    :param n_fields: fields each line must have.
    :param report: the ImportReport (repairs: truncated last line, blank
        lines).
    :param skip: header lines to skip (checked by the caller).
    :param text: indexes of text columns; the others must be numeric.
    :param what: the layout in words, for messages.
    :returns: a :class:`Table`, or None when there is no data row.
    :raises TraceFormatError: a wrong separator or a malformed line.
    """
    what = what or '%d fields' % n_fields
    if b'\r' in data:
        data = data.replace(b'\r\n', b'\n')
    if not data.strip():
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends_nl = data.endswith(b'\n')
    ends = nl if ends_nl else np.append(nl, len(data))
    starts = np.concatenate(([0], nl + 1))[:len(ends)]
    n_lines = len(ends)
    seps = np.flatnonzero(buf == sep[0])
    count = np.bincount(np.searchsorted(nl, seps), minlength=n_lines + 1)
    count = count[:n_lines]
    length = ends - starts
    blank = length == 0
    # whitespace-only lines are blank too
    maybe = np.flatnonzero((length > 0) & (length < 4))
    for i in maybe:  # at most a handful: short lines only
        if not data[starts[i]:ends[i]].strip():
            blank[i] = True
    body = np.ones(n_lines, dtype=bool)
    body[:skip] = False
    bad = body & ~blank & (count != n_fields - 1)
    drop = blank & body
    if bad.any():
        idx = np.flatnonzero(bad)
        last = n_lines - 1
        if idx[-1] == last and not ends_nl and count[last] < n_fields - 1:
            report.repair('truncated', 1, [base.Where(
                where, last + 1, 'last line cut short (%d of %d fields, '
                'no line end)' % (count[last] + 1, n_fields))])
            drop[last] = True
            bad[last] = False
            idx = idx[:-1]
        if len(idx):
            i = idx[0]
            line = data[starts[i]:ends[i]]
            found = count[i] + 1
            guess, gfields = _guess_sep(line, sep)
            if found == 1 and guess:
                reason = ("wrong separator: expected %s separated by %s, "
                          "found %s (%d fields)"
                          % (what, _SEP_NAMES.get(sep, repr(sep)), guess,
                             gfields))
            else:
                reason = ("malformed line: expected %s separated by %s, "
                          "found %d" % (what, _SEP_NAMES.get(sep, repr(sep)),
                                        found))
            raise exception.TraceFormatError(where, reason, line=int(i) + 1)
    elif not ends_nl and n_lines > skip and not blank[-1]:
        # A last line without its line end whose last field is empty was
        # cut right after a separator.
        if data.endswith(sep) or data.rstrip(b' \t').endswith(sep):
            report.repair('truncated', 1, [base.Where(
                where, n_lines, 'last line cut short after a separator')])
            drop[n_lines - 1] = True
    inner_blank = blank.copy()
    inner_blank[:skip] = False
    if inner_blank.any():
        # trailing blank lines are harmless; others are reported
        nonblank = np.flatnonzero(~blank)
        lastreal = nonblank[-1] if len(nonblank) else -1
        middle = np.flatnonzero(inner_blank[:lastreal + 1])
        report.repair('blank_line', len(middle), [
            base.Where(where, int(i) + 1, 'blank line') for i in middle])
    keep = body & ~drop
    lines = np.flatnonzero(keep) + 1
    if len(lines) == 0:
        return None
    if not keep.all():
        if skip and keep[skip:].all():
            pass
        else:
            line_of_byte = np.cumsum(buf == 10) - (buf == 10)
            keep_byte = keep[np.minimum(line_of_byte, n_lines - 1)]
            data = buf[keep_byte].tobytes()
            if not data.endswith(b'\n'):
                data += b'\n'
            skip = 0
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=sep.decode(), header=None, skiprows=skip,
            names=list(range(n_fields)), engine='c', skip_blank_lines=False,
            dtype={i: object for i in text}, low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise exception.TraceFormatError(where, "cannot be parsed: %s"
                                         % exc)
    if len(frame) != len(lines):
        raise exception.TraceFormatError(
            where, "%d data lines but %d rows parsed; quoted fields are "
                   "not supported" % (len(lines), len(frame)))
    columns = []
    for i in range(n_fields):
        col = frame[i]
        if i in text:
            columns.append(col.to_numpy(dtype=object))
            continue
        if col.dtype.kind in 'fiub':
            columns.append(col.to_numpy(dtype=np.float64))
            continue
        # Fields may carry spaces or TABs around them (GWA-T-12 does).
        col = col.astype(str).str.strip().where(col.notna())
        col = col.where(~col.isin(_NA_STRINGS))
        num = pd.to_numeric(col, errors='coerce')
        wrong = num.isna().to_numpy() & col.notna().to_numpy()
        if wrong.any():
            r = int(np.flatnonzero(wrong)[0])
            raise exception.TraceFormatError(
                where, "malformed line: field %d is %r, not a number"
                % (i + 1, str(col.iloc[r]).strip()), line=int(lines[r]))
        columns.append(num.to_numpy(dtype=np.float64))
    return Table(columns, lines)


def check_samples(where, ridx, ts, values, lines, report, names=None,
                  metric_names=None, nonnegative=True, gap_step=None):
    """Check and tidy the samples of one file, for all its series at once.

    :param where: the file, for messages; or a callable ``where(row)`` when
        rows come from several files.
    :param ridx: int array (N,), the series of every row (zeros for one).
    :param ts: float array (N,), sample times in seconds.
    :param values: float array (N, M); modified in place: NaN and negative
        values become NaN.
    :param lines: int array (N,), line numbers.
    :param names: series names, for messages.
    :param metric_names: the M column names, for messages.
    :param nonnegative: bool or bool array (M,): metrics that cannot be
        negative.
    :param gap_step: report gaps longer than 1.5 of this step (a note).
    :returns: ``(ridx, ts, values, lines)`` sorted by series and time.
    """
    def _w(row, detail):
        f = where(row) if callable(where) else where
        return base.Where(f, int(lines[row]), detail)

    def _name(r):
        return '' if names is None else ' of %s' % names[r]

    def _metric(m):
        return metric_names[m] if metric_names is not None else str(m + 1)

    n = len(ts)
    bad_t = ~np.isfinite(ts)
    if bad_t.any():
        r = int(np.flatnonzero(bad_t)[0])
        raise exception.TraceFormatError(
            where(r) if callable(where) else where,
            "malformed line: the timestamp is missing", line=int(lines[r]))
    isnan = np.isnan(values)
    if isnan.any():
        rows, cols = np.nonzero(isnan)
        report.repair('nan', len(rows), [
            _w(r, 'no value for %s' % _metric(c))
            for r, c in zip(rows[:3], cols[:3])])
    nonneg = np.broadcast_to(np.asarray(nonnegative, dtype=bool),
                             (values.shape[1],))
    with np.errstate(invalid='ignore'):
        neg = (values < 0) & nonneg[None, :]
    if neg.any():
        rows, cols = np.nonzero(neg)
        report.repair('negative', len(rows), [
            _w(r, '%s is %g' % (_metric(c), values[r, c]))
            for r, c in zip(rows[:3], cols[:3])])
        values[neg] = np.nan
    if n == 0:
        return ridx, ts, values, lines
    # Unsorted: time goes back within one series, in file order.
    by_series = np.argsort(ridx, kind='stable')
    rs, tss = ridx[by_series], ts[by_series]
    same = rs[1:] == rs[:-1]
    back = same & (tss[1:] < tss[:-1])
    if back.any():
        pos = np.flatnonzero(back)
        report.repair('unsorted', len(pos), [
            _w(by_series[p + 1], 'time %d%s is before %d on line %d'
               % (tss[p + 1], _name(rs[p + 1]), tss[p],
                  lines[by_series[p]])) for p in pos[:3]])
    order = np.lexsort((ts, ridx))
    if back.any() or np.any(order != np.arange(n)):
        ridx, ts, values, lines = (ridx[order], ts[order], values[order],
                                   lines[order])
    same = ridx[1:] == ridx[:-1]
    dt = np.diff(ts)
    dup = same & (dt == 0)
    if dup.any():
        pos = np.flatnonzero(dup)
        report.repair('duplicate', len(pos), [
            _w(p + 1, 'time %d%s repeats line %d'
               % (ts[p + 1], _name(ridx[p + 1]), lines[p]))
            for p in pos[:3]])
    if gap_step:
        gaps = same & (dt >= 1.5 * gap_step)
        if gaps.any():
            pos = np.flatnonzero(gaps)[:3]
            report.note('gap', 0, [
                _w(p, 'no sample%s for %d s after this line'
                   % (_name(ridx[p]), dt[p])) for p in pos])
    return ridx, ts, values, lines


def natural_key(name):
    """Sort key that puts '2' before '10'."""
    s = str(name)
    return (0, int(s), s) if s.isdigit() else (1, 0, s)


def grid_frame(names, ridx, ts, values, step, metrics, units, report,
               kind='vm', epoch_known=True, attributes=None):
    """Put checked samples of ``names`` on the grid: a MetricFrame.

    Gaps and merged slots go to the report as notes.
    """
    start, grid, stats = frame.regularise(ridx, ts, values, len(names),
                                          step, dtype=np.float32)
    report.note('gap', stats.gap_slots)
    report.note('merged', stats.merged_slots)
    return frame.MetricFrame(
        start=start, step=step, resources=names, metrics=metrics,
        values=grid, kind=kind, units=units, attributes=attributes,
        epoch_known=epoch_known)
