"""Events in entry-time order, from a stream in emit order, in bounded memory.

A probe with a return half emits at the return, so the ring buffer gives
calls in return order: an outer call (get_user_pages_fast) comes after
the fault inside it.  EntryOrder holds events and hands them out sorted
by entry time (ts_ns - lat_ns): an event leaves once one emitted
`horizon_ns` later has come, so only a call longer than the horizon can
still come out of order (it is then emitted at once, not kept).  A quiet
stream's last events leave by flush(before), which the reader calls with a
bound well behind the clock (the poll thread may lag).
"""
import heapq
import threading


def entry_ns(ev):
    return ev["ts_ns"] - ev.get("lat_ns", 0)


class EntryOrder:
    def __init__(self, emit, horizon_ns=200_000_000):
        self.emit, self.horizon_ns = emit, horizon_ns
        self._heap, self._n = [], 0  # (entry, arrival number, event): the number keeps ties stable
        self._lock = threading.Lock()  # the ring-buffer callback and the main loop both flush

    def push(self, ev):
        """Take one event (in emit order); emit every held event older than it by the horizon."""
        with self._lock:
            heapq.heappush(self._heap, (entry_ns(ev), self._n, ev))
            self._n += 1
            self._flush(ev["ts_ns"] - self.horizon_ns)

    def flush(self, before_ns=None):
        """Emit the events that entered before before_ns (all of them when None)."""
        with self._lock:
            self._flush(before_ns)

    def _flush(self, before):
        while self._heap and (before is None or self._heap[0][0] < before):
            self.emit(heapq.heappop(self._heap)[2])

    def __len__(self):
        return len(self._heap)
