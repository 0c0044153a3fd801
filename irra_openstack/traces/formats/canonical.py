"""irra's own canonical trace file as an import format.

Importing a canonical file copies it, possibly onto a coarser grid (a step
that is a multiple of the file's step: the values are averaged).
"""

import numpy as np

from irra_openstack import exception
from irra_openstack.traces import base
from irra_openstack.traces import canonical


class IrraFormat(base.TraceFormat):
    """irra's canonical trace file (a zip of .npy blocks and metadata)."""

    name = 'irra'
    description = "irra's canonical trace file (see trace-format.rst)"

    @classmethod
    def diagnose(cls, head):
        if head.kind == 'file' and head.members and canonical.is_canonical(
                head.members[0][1]):
            return 1.0, 'an irra trace file'
        return 0.0, 'not an irra trace file'

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        with canonical.TraceFile(path) as trace:
            step = int(step)
            if step <= trace.step:
                factor = 1
                if step < trace.step:
                    report.note('step', 1, text='grid step raised from %d s '
                                'to the file\'s %d s' % (step, trace.step))
            elif step % trace.step:
                raise exception.TraceError(
                    reason="a grid step of %d s is not a multiple of the "
                           "%d s step of %s" % (step, trace.step, path))
            else:
                factor = step // trace.step
            report.files += 1
            n = len(trace.resources)
            done = 0
            for f in trace.iter_frames(block_size=block_size):
                if factor > 1:
                    f = _coarsen(f, factor)
                done += f.n_resources
                if progress:
                    progress(done, n)
                yield f


def _coarsen(f, factor):
    """Average ``factor`` consecutive steps (ignoring missing values)."""
    pad = (-f.n_steps) % factor
    v = f.values
    if pad:
        v = np.concatenate(
            [v, np.full(v.shape[:2] + (pad,), np.nan, dtype=v.dtype)],
            axis=2)
    v = v.reshape(v.shape[:2] + (-1, factor))
    ok = ~np.isnan(v)
    s = np.where(ok, v, 0).sum(axis=3)
    c = ok.sum(axis=3)
    with np.errstate(invalid='ignore', divide='ignore'):
        out = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    start = f.start - (f.start % (f.step * factor))
    if start != f.start:
        # realign: put the frame on the coarse grid's boundaries first
        fine = f.reindex(start, f.n_steps + (f.start - start) // f.step)
        return _coarsen(fine, factor)
    return f.replace(step=f.step * factor, values=out.astype(np.float32))
