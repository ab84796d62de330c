"""The ring buffer reader (tracing/ring.py) on the kernel's layout, laid out in a file: a consumer page,
then a producer page and the data (the kernel maps the data twice; these records do not wrap)."""
import mmap

import pytest

from tracing.ring import BUSY, HEADER, Ring

PAGE, SIZE, RECORD = mmap.PAGESIZE, 4096, 20  # a record of 20 bytes takes a stride of 32


def layout(tmp_path, lengths, consumer=0):
    """A file holding records of the given header lengths from `consumer`; each record's data is its index."""
    f = tmp_path / "ring"
    data = bytearray(PAGE + 2 * SIZE)
    at = consumer
    for i, n in enumerate(lengths):
        data[PAGE + at:PAGE + at + 4] = n.to_bytes(4, "little")
        data[PAGE + at + HEADER:PAGE + at + HEADER + RECORD] = bytes([i]) * RECORD
        at += 32
    data[:8] = at.to_bytes(8, "little")  # the producer position
    f.write_bytes(consumer.to_bytes(8, "little") + bytes(PAGE - 8) + bytes(data))
    return open(f, "r+b")


def test_read_takes_the_committed_run_and_moves_the_consumer(tmp_path):
    with layout(tmp_path, [RECORD, RECORD, RECORD | BUSY, RECORD], consumer=64) as f:
        ring = Ring(f.fileno(), SIZE, RECORD)
        chunk = ring.read()
        assert [bytes(r) for r in ring.records(chunk)] == [b"\0" * RECORD, b"\1" * RECORD], "up to the busy one"
        assert int.from_bytes(ring._cons[:8], "little") == 64 + 2 * 32
        assert ring.read() == b"", "the busy record holds the rest back"
        ring.close()


def test_a_record_of_another_size_is_an_error(tmp_path):
    with layout(tmp_path, [RECORD, 24]) as f:
        ring = Ring(f.fileno(), SIZE, RECORD)
        with pytest.raises(RuntimeError, match="not 20"):
            ring.read()
        ring.close()
    with pytest.raises(ValueError, match="power of two"):
        Ring(-1, 3000, RECORD)
