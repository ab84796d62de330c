"""Bulk reads of the tracer's BPF ring buffer, without a callback per record.

The kernel's layout (kernel/bpf/ringbuf.c, as libbpf reads it): a consumer
page (the reader's position, writable), then a producer page and the data
pages, mapped twice in a row so that any run of records is contiguous.
Each record is an 8-byte header (length, with a busy bit until the writer
commits) and the data, padded to 8 bytes.  The tracer emits records of one
size only, so a read is one copy of the committed run of whole records;
the per-record work (decoding) waits until the workload is done.
"""
import mmap

BUSY, HEADER = 1 << 31, 8


class Ring:
    """The ring buffer map `fd` of `size` data bytes (a power of two), whose records are `record` bytes."""

    def __init__(self, fd, size, record):
        if size & (size - 1):
            raise ValueError(f"ring buffer size {size} is not a power of two")
        self.size, self.record, self.page = size, record, mmap.PAGESIZE
        self.stride = (record + HEADER + 7) & ~7
        self._cons = mmap.mmap(fd, self.page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._data = mmap.mmap(fd, self.page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=self.page)

    def read(self):
        """The records committed since the last read, as one bytes object of whole strides (headers
        included); their space goes back to the writers."""
        pos = int.from_bytes(self._cons[:8], "little")
        end = int.from_bytes(self._data[:8], "little")
        if end <= pos:
            return b""
        start = self.page + (pos & (self.size - 1))
        chunk = self._data[start:start + end - pos]
        lengths = memoryview(chunk).cast("I")[::self.stride // 4].tolist()
        whole = next((i for i, n in enumerate(lengths) if n != self.record), len(lengths))  # the first busy one
        if whole < len(lengths) and not lengths[whole] & BUSY:
            raise RuntimeError(f"ring buffer record of {lengths[whole]:#x} bytes, not {self.record}: "
                               "every event must be the same struct")
        self._cons[:8] = (pos + whole * self.stride).to_bytes(8, "little")
        return chunk[:whole * self.stride]

    def records(self, chunk):
        """The data of each record of a read() chunk, as memoryviews."""
        view = memoryview(chunk)
        return [view[i + HEADER:i + HEADER + self.record] for i in range(0, len(chunk), self.stride)]

    def close(self):
        self._cons.close()
        self._data.close()
