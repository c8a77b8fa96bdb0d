"""Many clients that never read (issue 7, defect 4): each is closed with 4008
once what herald holds for it would pass --max_queue_bytes, herald's memory
stays within max_queue_bytes x non-readers + a constant and comes back after
they are gone, and a reading client's frames keep arriving on time."""

import asyncio
import sys
import threading
import time

from harness import (SANITIZED, HeraldCase, close_of, drain, message_created, new_id, parse_frames,
                     raw_ws_connect)

MAX_QUEUE = 64 * 1024
SEND_BUFFER = 32 * 1024  # --socket_send_buffer_bytes (its default; the kernel doubles it)
NON_READERS = 100
TEXT_BYTES = 16000
# Everything else herald may allocate meanwhile (gRPC, the frames shared by
# every connection, the thread's scratch buffers).
CONSTANT = 24 << 20


def drain_all(socks, deadline_s):
    """drain() every socket at once, one thread each."""
    results = [None] * len(socks)

    def run(i):
        results[i] = drain(socks[i], deadline_s)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(socks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def vm_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


class _SlowConsumers:
    HERALD_ARGS = ("--max_queue_bytes=%d" % MAX_QUEUE,
                   "--socket_send_buffer_bytes=%d" % SEND_BUFFER, "--threads=1")
    TLS = True

    def rss(self):
        return vm_rss(self.h.proc.pid)

    async def non_readers(self, server):
        """NON_READERS admitted clients with a 4 KiB receive buffer that
        never read; waits until herald counts them all as members."""
        tokens = []
        for _ in range(NON_READERS):
            tokens.append(await self.session(new_id(), [server]))
        socks = []
        for token in tokens:
            sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                              "/?token=" + token, self.TLS, 4096)
            socks.append(sock)
        return socks

    async def test_non_readers_closed_4008_memory_bounded_reader_on_time(self):
        s = new_id()
        _, _, (reader,) = await self.user([s], label="reader")
        socks = await self.non_readers(s)
        try:
            await self.run_scenario(s, reader, socks)
        finally:
            for sock in socks:
                sock.close()

    async def run_scenario(self, s, reader, socks):
        # Every non-reader admitted: a probe event reaches all of them.
        deadline = time.monotonic() + 15
        probe_id = 0
        while True:
            probe_id += 1
            request, _ = message_created(id=probe_id, server_id=s, text="probe")
            if await self.publish(request) == NON_READERS + 1:
                break
            self.assertLess(time.monotonic(), deadline, "non-readers not all admitted")
            await asyncio.sleep(0.05)
        for _ in range(probe_id):
            await reader.recv(timeout=10)
        baseline = self.rss()

        text = "x" * TEXT_BYTES
        published = {}
        latencies = []

        async def read_events():
            idle_since = time.monotonic()
            while not (done.is_set() and len(latencies) == len(published)):
                if time.monotonic() - idle_since > 20:
                    raise AssertionError("reader: no frame within 20 s")
                try:
                    await reader.recv(timeout=0.2)
                except AssertionError:
                    continue
                idle_since = time.monotonic()
                latencies.append(time.monotonic() - published[len(latencies) + 1])

        done = asyncio.Event()
        reading = asyncio.create_task(read_events())
        peak = baseline
        recipients = []
        base_id = 1000
        for i in range(1, 601):
            request, _ = message_created(id=base_id + i, server_id=s, text=text)
            published[i] = time.monotonic()
            recipients.append(await self.publish(request))
            peak = max(peak, self.rss())
            if len(recipients) >= 20 and all(r == 1 for r in recipients[-20:]):
                break
            await asyncio.sleep(0.01)
        done.set()
        await asyncio.wait_for(reading, 30)
        all_dropped_at = recipients.index(1) + 1 if 1 in recipients else None
        self.assertEqual(recipients[-1], 1, "non-readers still receiving after %d events of "
                         "%d bytes: recipients %r" % (len(recipients), TEXT_BYTES,
                                                      recipients[-20:]))
        # Every non-reader's socket ends; what it finally reads is whole
        # frames, the last one (when herald got it out) the 4008 close.
        results = await asyncio.to_thread(drain_all, socks, 20)
        closes = 0
        for data, how in results:
            self.assertNotEqual(how, "timeout", "a non-reader's socket is still open")
            frames = parse_frames(data)
            self.assertEqual(close_of(frames), (4008, "too slow: send queue full"))
            self.assertEqual(frames[-1][0], 0x8, "frames after the close")
            self.assertTrue(all(op == 0x1 for op, _ in frames[:-1]))
            closes += 1
        for sock in socks:
            sock.close()
        # The memory comes back once they are gone (malloc_trim after the
        # 4008 closes).
        await asyncio.sleep(2.5)
        after = self.rss()
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        sys.stderr.write(
            "[%s: %d non-readers all dropped at event %s of %d B; %d read the 4008 close; "
            "RSS baseline %.1f MB, peak +%.2f MB (bound %.1f MB + %.0f MB), after close +%.2f MB; "
            "reader p99 %.1f ms max %.1f ms] "
            % ("wss" if self.TLS else "ws", NON_READERS, all_dropped_at, TEXT_BYTES, closes,
               baseline / 1e6, (peak - baseline) / 1e6, MAX_QUEUE * NON_READERS / 1e6,
               CONSTANT / 1e6, (after - baseline) / 1e6, p99 * 1e3, latencies[-1] * 1e3))
        # Herald fed each non-reader at most its queue bound plus what the
        # kernel's buffers take (the send buffer, doubled, and the 4 KiB
        # receive window), with room for the kernel's own rounding.
        fed_bound = (MAX_QUEUE + 4 * SEND_BUFFER + 64 * 1024) // TEXT_BYTES + 4
        self.assertLessEqual(all_dropped_at, fed_bound,
                             "herald kept feeding clients that never read")
        if not SANITIZED:  # see harness.SANITIZED
            self.assertLessEqual(peak - baseline, MAX_QUEUE * NON_READERS + CONSTANT)
            self.assertLessEqual(after - baseline, 4 << 20,
                                 "memory not returned after the non-readers left")
        self.assertEqual(len(latencies), len(recipients))
        self.assertLess(latencies[-1], 2.0, "the reader's frames were held up")


class TestSlowConsumersTls(_SlowConsumers, HeraldCase):
    TLS = True


class TestSlowConsumersPlain(_SlowConsumers, HeraldCase):
    HERALD_ARGS = _SlowConsumers.HERALD_ARGS + ("--plain",)
    TLS = False
