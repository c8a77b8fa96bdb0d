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
