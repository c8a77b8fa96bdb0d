"""The benchmark's load generator against the real herald over wss.

bench/loadgen reads each wss connection with OpenSSL's SSL_read until the
WebSocket is open, then (--own_records=1, the default) opens the rest of the
server's TLS 1.3 records itself with push::Tls13Records, continuing from the
records OpenSSL had read (herald's session tickets, the 101 response). Both
ways every connection must get every event exactly once and byte for byte:
a wrong sequence number or key fails every record's tag (parse_errors), a
lost or doubled record shows in the delivery counts."""

import json
import os
import subprocess
import tempfile

from harness import HERALD_BIN, HeraldCase

LOADGEN = os.path.join(os.path.dirname(HERALD_BIN), "herald-loadgen")
CONNECTIONS = 40


class TestLoadgenRecords(HeraldCase):
    HERALD_ARGS = ("--threads=1", "--max_connections_per_ip=0",
                   "--max_new_connections_per_ip_per_sec=0",
                   "--max_connections_per_user=0")
    PER_TEST = True

    def run_loadgen(self, own_records):
        self.assertTrue(os.access(LOADGEN, os.X_OK), "herald-loadgen missing: %r" % LOADGEN)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "lg.json")
            proc = subprocess.run(
                [LOADGEN, "--mode=fanout", "--target=herald",
                 "--grpc=127.0.0.1:%d" % self.h.grpc_port,
                 "--url=wss://127.0.0.1:%d/?token={token}" % self.h.main_port,
                 "--connections=%d" % CONNECTIONS, "--sources=127.0.0.1",
                 "--threads=1", "--progress=0", "--rate=0", "--window=4",
                 "--duration_s=1.5", "--warmup_s=0.5", "--event_timeout_s=5",
                 "--own_records=%d" % own_records, "--json=" + out],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
            with open(out) as f:
                return json.load(f)

    def check(self, r, own_records):
        self.assertEqual(r["established"], CONNECTIONS)
        self.assertEqual(r["own_records"], own_records)
        self.assertEqual(r["parse_errors"], 0)
        self.assertEqual(r["shape_mismatches"], 0)
        self.assertEqual(r["closed_by_server"], 0)
        self.assertEqual(r["publish_errors"], 0)
        self.assertEqual(r["events_incomplete"], 0)
        self.assertGreater(r["events_published_total"], 0)
        self.assertEqual(r["deliveries_total"], r["events_published_total"] * CONNECTIONS)
        self.assertEqual(r["deliveries_total"], r["deliveries_expected_total"])

    def test_own_record_layer_gets_every_event_once(self):
        self.check(self.run_loadgen(own_records=1), own_records=CONNECTIONS)

    def test_openssl_record_layer_gets_every_event_once(self):
        self.check(self.run_loadgen(own_records=0), own_records=0)


FLOOR = os.path.join(os.path.dirname(HERALD_BIN), "herald-floor")
SLICE_MS, SETTLE_MS, WARMUP_S, DURATION_S = 200, 50, 0.4, 2.0


class TestLoadgenPairedSlices(HeraldCase):
    """bench/run's paired runs: herald and the raw floor driven by two load
    generators that take turns in 200 ms slices on one agreed clock
    (--slice_ms, bench/loadgen/slice_schedule.h). Each may publish only in
    its own slice and counts only after the settle, so the pair never loads
    both servers at once and the counted time is exact."""
    HERALD_ARGS = ("--threads=1", "--plain", "--max_connections_per_ip=0",
                   "--max_new_connections_per_ip_per_sec=0",
                   "--max_connections_per_user=0")
    PER_TEST = True

    def start_floor(self):
        self.assertTrue(os.access(FLOOR, os.X_OK), "herald-floor missing: %r" % FLOOR)
        floor = subprocess.Popen([FLOOR, "--port=0"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(floor.wait, 10)
        self.addCleanup(floor.terminate)
        line = floor.stdout.readline().decode()
        self.assertTrue(line.startswith("ready port="), line)
        return int(line.split("=")[1])

    def loadgen(self, d, phase, target_flags, source, extra):
        return subprocess.Popen(
            [LOADGEN, "--mode=fanout", "--connections=%d" % CONNECTIONS,
             "--sources=" + source, "--threads=1", "--progress=0",
             "--window=1", "--duration_s=%g" % DURATION_S,
             "--warmup_s=%g" % WARMUP_S, "--event_timeout_s=5",
             "--barrier_dir=" + os.path.join(d, "barrier"), "--barrier_count=2",
             "--slice_ms=%d" % SLICE_MS, "--slice_phase=%d" % phase,
             "--json=" + os.path.join(d, "lg%d.json" % phase)] + target_flags + extra,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run_pair(self, extra):
        """herald as phase 0, the floor as phase 1; their JSON results."""
        floor_port = self.start_floor()
        with tempfile.TemporaryDirectory() as d:
            procs = [
                self.loadgen(d, 0, ["--target=herald",
                                    "--grpc=127.0.0.1:%d" % self.h.grpc_port,
                                    "--url=ws://127.0.0.1:%d/?token={token}" % self.h.main_port],
                             "127.0.0.2", extra),
                self.loadgen(d, 1, ["--target=http",
                                    "--publish_url=http://127.0.0.1:%d/pub/{server}" % floor_port,
                                    "--url=ws://127.0.0.1:%d/sub/{servers}" % floor_port],
                             "127.0.0.3", extra)]
            for p in procs:
                _, err = p.communicate(timeout=120)
                self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
            runs = []
            for phase in (0, 1):
                with open(os.path.join(d, "lg%d.json" % phase)) as f:
                    runs.append(json.load(f))
        self.assertEqual(runs[0]["slice_epoch_ns"], runs[1]["slice_epoch_ns"])
        self.assertGreater(runs[0]["slice_epoch_ns"], 0)
        for phase, r in enumerate(runs):
            self.assertEqual(r["slice_ms"], SLICE_MS)
            self.assertEqual(r["slice_phase"], phase)
            self.assertEqual(r["established"], CONNECTIONS)
            self.assertEqual(r["parse_errors"], 0)
            self.assertEqual(r["events_incomplete"], 0)
            self.assertEqual(r["deliveries_total"], r["events_published_total"] * CONNECTIONS)
        return runs

    def test_open_loop_pair_counts_whole_events_published_in_its_span(self):
        tail = 60
        runs = self.run_pair(["--rate=100", "--slice_settle_ms=0",
                              "--slice_tail_ms=%d" % tail])
        # Five periods, each 200 - 60 ms of publishing, all of it counted.
        counted = 5 * (SLICE_MS - tail) / 1000.0
        for phase, r in enumerate(runs):
            self.assertTrue(r["slice_by_publish"])
            self.assertAlmostEqual(r["duration_s"], counted, places=6)
            self.assertGreaterEqual(r["slice_publish_offset_min_ms"], phase * SLICE_MS)
            self.assertLess(r["slice_publish_offset_max_ms"], (phase + 1) * SLICE_MS - tail)
            # Every receipt of every counted event, and no other.
            self.assertGreater(r["events_published"], 0)
            self.assertEqual(r["deliveries"], r["events_published"] * CONNECTIONS)
            self.assertEqual(r["latency_us"]["count"], r["deliveries"])

    def test_pair_takes_turns_and_counts_exact_time(self):
        runs = self.run_pair(["--rate=0", "--slice_settle_ms=%d" % SETTLE_MS])
        # The window starts on a period and holds five: 5 x (200 - 50) ms.
        counted = 5 * (SLICE_MS - SETTLE_MS) / 1000.0
        for phase, r in enumerate(runs):
            self.assertFalse(r["slice_by_publish"])
            self.assertAlmostEqual(r["duration_s"], counted, places=6)
            # Every event was published inside this process's own slice.
            self.assertGreaterEqual(r["slice_publish_offset_min_ms"], phase * SLICE_MS)
            self.assertLess(r["slice_publish_offset_max_ms"], (phase + 1) * SLICE_MS)
            # Counted: 0.75 s of the 1.2 s this process published in (six
            # own slices); unsliced, the window would count 2.0 of 2.4 s.
            self.assertGreater(r["deliveries"], 0)
            self.assertLess(r["deliveries"], 0.75 * r["deliveries_total"])

    def test_publisher_preempted_before_its_stamp_keeps_to_its_slice(self):
        # 20 ms between the loop's slice check and the event's timestamp
        # (--publish_stall_us), as a preempted thread would see it: the
        # last publish of nearly every slice would be stamped in the other
        # process's turn unless the stamp itself is checked.
        runs = self.run_pair(["--rate=0", "--slice_settle_ms=%d" % SETTLE_MS,
                              "--publish_stall_us=20000"])
        for phase, r in enumerate(runs):
            self.assertGreater(r["events_published_total"], 0)
            self.assertGreaterEqual(r["slice_publish_offset_min_ms"], phase * SLICE_MS)
            self.assertLess(r["slice_publish_offset_max_ms"], (phase + 1) * SLICE_MS)
