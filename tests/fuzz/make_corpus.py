#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

  /usr/bin/python3 tests/fuzz/make_corpus.py

Seeds are serialized requests made with Debian's python3-protobuf from
proto/herald/v1/herald.proto (stubs generated into a temporary directory):
publish_request_fuzz/ gets one valid PublishRequest per publishable event
type (escapes and multi-byte UTF-8 in the texts, visible_to lists) and a few
refused ones; wire_codec_fuzz/ gets the same bytes behind its two header
bytes (request type 0 = PublishRequest, split point) plus the other request
types and a PublishRequest whose text is not UTF-8.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fuzz" / "corpus"


def load_stubs(tmp):
    subprocess.run(["protoc", "--proto_path=%s" % (ROOT / "proto"),
                    "--python_out=%s" % tmp, "herald/v1/herald.proto"], check=True)
    sys.path.insert(0, tmp)
    from herald.v1 import herald_pb2  # noqa: E402
    return herald_pb2


def ts(msg, seconds, nanos=0):
    msg.seconds = seconds
    msg.nanos = nanos


def publish_requests(pb):
    reqs = {}
    r = pb.PublishRequest()
    e = r.message_created
    e.id, e.author_id, e.channel_id, e.server_id = 101, 7, 30, 3
    ts(e.sent, 1700000000, 123456000)
    ts(e.edited, 1700000001)
    e.text = 'hello "world"\\ \n\t\x01 caf\u00e9 \u2603 \U0001F600'
    reqs["message_created"] = r
    r = pb.PublishRequest()
    e = r.message_edited
    e.id, e.channel_id, e.server_id = 101, 30, 3
    ts(e.edited, 253402300799, 999999999)  # 9999-12-31T23:59:59.999999999Z
    e.text = "edited \u00fc"
    r.visible_to.extend([7, 8, 9])
    reqs["message_edited"] = r
    r = pb.PublishRequest()
    r.message_deleted.id, r.message_deleted.channel_id, r.message_deleted.server_id = 101, 30, 3
    reqs["message_deleted"] = r
    r = pb.PublishRequest()
    e = r.channel_created
    e.id, e.server_id, e.name, e.type = 31, 3, "voice \u266b", pb.CHANNEL_TYPE_VOICE
    r.visible_to.append(7)
    reqs["channel_created"] = r
    r = pb.PublishRequest()
    e = r.channel_edited
    e.id, e.server_id, e.name, e.type = 30, 3, "general", pb.CHANNEL_TYPE_TEXT
    reqs["channel_edited"] = r
    r = pb.PublishRequest()
    r.channel_deleted.id, r.channel_deleted.server_id = 30, 3
    reqs["channel_deleted"] = r
    r = pb.PublishRequest()
    r.server_edited.id, r.server_edited.name = 3, "srv </script>"
    reqs["server_edited"] = r
    r = pb.PublishRequest()
    r.server_deleted.id = 3
    reqs["server_deleted"] = r
    r = pb.PublishRequest()
    r.user_joined.id, r.user_joined.server_id = 7, 3
    reqs["user_joined"] = r
    r = pb.PublishRequest()
    r.user_left.id, r.user_left.server_id = 7, 3
    reqs["user_left"] = r
    r = pb.PublishRequest()
    r.got_server_owner.id, r.got_server_owner.user_id = 3, 7
    reqs["got_server_owner"] = r
    # Refused: herald-only event, zero id, timestamp out of range.
    r = pb.PublishRequest()
    r.user_joined_vc.id, r.user_joined_vc.channel_id, r.user_joined_vc.server_id = 7, 31, 3
    reqs["refused_user_joined_vc"] = r
    r = pb.PublishRequest()
    r.message_deleted.id = 0
    reqs["refused_zero_id"] = r
    r = pb.PublishRequest()
    e = r.message_created
    e.id, e.author_id, e.channel_id, e.server_id = 1, 1, 1, 1
    ts(e.sent, -62135596801)
    ts(e.edited, 0, 1000000000)
    reqs["refused_timestamp"] = r
    return {k: v.SerializeToString() for k, v in reqs.items()}


def other_requests(pb):
    reqs = {}
    r = pb.OpenSessionRequest(token="tok-ABC_123", user_id=7)
    ts(r.expires_at, 1900000000)
    reqs[1, "open_session"] = r
    reqs[2, "close_session"] = pb.CloseSessionRequest(token="tok-ABC_123")
    reqs[3, "set_memberships"] = pb.SetMembershipsRequest(user_id=7, server_ids=[3, 4, 5])
    reqs[4, "get_memberships"] = pb.GetMembershipsRequest(user_id=7)
    reqs[5, "join_voice"] = pb.JoinVoiceRequest(user_id=7, server_id=3, channel_id=31)
    reqs[6, "leave_voice"] = pb.LeaveVoiceRequest(user_id=7)
    reqs[7, "get_voice_state"] = pb.GetVoiceStateRequest(server_id=3)
    return {k: v.SerializeToString() for k, v in reqs.items()}


def write(directory, name, data):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pb = load_stubs(tmp)
        publish = publish_requests(pb)
        others = other_requests(pb)
    for name, wire in publish.items():
        write(OUT / "publish_request_fuzz", name, wire)
        write(OUT / "wire_codec_fuzz", "publish_" + name,
              bytes([0, len(wire) // 2]) + wire)
    for (selector, name), wire in others.items():
        write(OUT / "wire_codec_fuzz", name, bytes([selector, 1]) + wire)
    # message_created {text: "\xff\xfe"}: field 1 (len 4) holding field 7.
    bad_utf8 = bytes([0x0A, 0x04, 0x3A, 0x02, 0xFF, 0xFE])
    write(OUT / "wire_codec_fuzz", "publish_bad_utf8", bytes([0, 3]) + bad_utf8)
    write(OUT / "wire_codec_fuzz", "malformed", bytes([0, 0, 0x0A, 0x7F, 0x01]))


if __name__ == "__main__":
    main()
