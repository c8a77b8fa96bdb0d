"""Fairness of herald's own TLS 1.3 record layer on one I/O thread.

Hostile clients (tests/tools/tls_flooder: a real OpenSSL handshake, then
records crafted with the traffic secrets) flood KeyUpdate(update_requested),
empty application-data records or user_canceled warning alerts and never
send an HTTP request. Herald must end each with a fatal unexpected_message
alert after BoringSSL's caps (32 / 32 / 4), answer at most one KeyUpdate per
request burst, and meanwhile a well-behaved client's TLS + WebSocket
handshake stays under HANDSHAKE_BOUND_S and its published frames under
FRAME_BOUND_S on the same thread."""

import asyncio
import json
import os
import time

from harness import HERALD_BIN, HeraldCase, message_created, new_id

FLOODER = os.path.join(os.path.dirname(HERALD_BIN), "tests", "tls_flooder")
UNEXPECTED_MESSAGE = 10
FLOODERS = 4
FLOOD_SECONDS = 6.0
# Generous for a loaded 2-core machine; an unflooded run takes ~20 ms and
# ~2 ms. Before the fix the handshake did not finish within 10 s.
HANDSHAKE_BOUND_S = 1.0
FRAME_BOUND_S = 0.5


class TestTlsFlood(HeraldCase):
    HERALD_ARGS = ("--threads=1",)
    PER_TEST = True

    def setUp(self):
        if not os.access(FLOODER, os.X_OK):
            self.skipTest("tls_flooder missing: %r" % FLOODER)

    async def start_flooders(self, mode, n=FLOODERS, seconds=FLOOD_SECONDS):
        procs = []
        for _ in range(n):
            procs.append(await asyncio.create_subprocess_exec(
                FLOODER, "--port=%d" % self.h.main_port, "--mode=" + mode,
                "--seconds=%g" % seconds, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE))
        return procs

    async def results(self, procs):
        out = []
        for p in procs:
            stdout, stderr = await asyncio.wait_for(p.communicate(), FLOOD_SECONDS + 10)
            self.assertEqual(p.returncode, 0, stderr.decode(errors="replace"))
            out.append(json.loads(stdout))
        return out

    async def good_client(self):
        """Handshake time and the worst of five frame latencies."""
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        t0 = time.monotonic()
        c = await self.main(token, uid=u, sync=False)
        handshake = time.monotonic() - t0
        await self.sync_user(u, expected=1, timeout=10.0)
        worst = 0.0
        for i in range(5):
            request, expected = message_created(new_id(), s, text="good %d" % i)
            t0 = time.monotonic()
            self.assertEqual(await self.publish(request), 1)
            await c.expect(expected, timeout=10.0)
            worst = max(worst, time.monotonic() - t0)
        await c.close()
        return handshake, worst

    async def flood_while_serving(self, mode):
        procs = await self.start_flooders(mode)
        await asyncio.sleep(0.5)  # the flooders are past their handshakes
        handshake, frame = await self.good_client()
        results = await self.results(procs)
        print("\n%s flood: good client handshake %.3f s, worst frame %.3f s; "
              "flooders: %s" % (mode, handshake, frame, results))
        self.assertLess(handshake, HANDSHAKE_BOUND_S)
        self.assertLess(frame, FRAME_BOUND_S)
        for r in results:
            self.assertEqual((r["end"], r["alert"]), ("alert", UNEXPECTED_MESSAGE), r)
            self.assertLess(r["elapsed_s"], 3.0, r)
        self.assertTrue(self.h.alive())
        return results

    async def test_key_update_flood(self):
        results = await self.flood_while_serving("keyupdate")
        for r in results:
            # 33 requests are read at most; each answer is one 27-byte
            # KeyUpdate and the alert record 24 bytes: one answer per
            # burst, never one per request beyond the cap.
            self.assertLessEqual(r["received_bytes"], 32 * 27 + 24, r)

    async def test_empty_record_flood(self):
        results = await self.flood_while_serving("empty")
        for r in results:
            self.assertEqual(r["received_bytes"], 24, r)  # just the alert

    async def test_warning_alert_flood(self):
        results = await self.flood_while_serving("alert")
        for r in results:
            self.assertEqual(r["received_bytes"], 24, r)
