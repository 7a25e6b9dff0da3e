"""Personal data and the trust boundary, end to end with the real daemon (SPEC §5).

One scenario (PersonalDataTest.test_personal_data_end_to_end), on one ledger, in phases:

A. The daemon runs with the embedded Kafka cluster (kafka.personal_data left at its default,
   masked) and tokens of the four roles. Planted: individual subjects whose name, address and
   resident ID, and whose websites' responsible persons (name, resident ID, mobile, email), are
   unique to this run, in every event type that carries personal data (a submission, a
   resubmission, sms_confirmed with a phone); and an enterprise subject, whose name, address and
   USCC are public (SPEC §5.1) and serve as the positive control of every scanner below.
   - HTTP: operator and auditor read clear values, the reader reads them masked to their last
     four characters (counted as characters: Chinese names too; four or fewer masked whole).
   - Kafka: every message of filing.events, filing.status and filing.keys (values, keys,
     headers, the base64 `body` headers decoded) holds no planted value; events show them as
     the reader does; filing.keys holds each subject's wrapped data key (65 bytes: a 4-byte
     generation and the 61-byte wrapped key of privacy/wrap.hpp).
   - Erasure (SPEC §5.4): 403 for an operator, 404 for an unknown subject, 409 for a subject
     with an open filing (the message does not echo its ID number), 409 for a subject with an
     active record number, 201 for a subject whose filings are all closed (one abandoned by the
     45-day timer, one returned and withdrawn), 409 when erased again. Afterwards every HTTP read
     path shows "[erased]" for every role, the workflow history remains, subject_erased is in
     the global log without personal data, filing.keys has the subject's tombstone.
   - `filingctl restore --from-kafka` while the daemon runs: the same head; with the daemon's key
     clear values and "[erased]", without it "[encrypted]"; `verify` passes; a restore given
     another master key is refused and writes nothing.
B. SIGTERM, then every byte of every file under the daemon's directory (the data directory,
   the access log, the key file) is scanned, SST blocks decompressed (LZ4) and log-format files
   (WAL, MANIFEST) de-framed, so that a value is found whatever RocksDB did with it: no planted
   value, and not the erased subject's wrapped data key; the enterprise's public values are
   found (the scanner is not blind). Modes: data directory 0700, its files 0600, key file 0600.
   filingctl history / replay / export with the key show clear values and "[erased]"; a
   missing --key-file fails; without the default key "[encrypted]"; verify passes with
   clear_personal_events == 0.
C. The daemon restarts on the same ledger: the embedded cluster is new and the publisher
   republishes the whole log, so the erased subject's events are published anew after the
   erasure: their personal fields read "[erased]" on Kafka, its key only as a tombstone, and a
   restore from that republished topic still gives the same head.

KeyFileAtStart: a master key file with group/other permission bits, a malformed one, and a
valid key that is not the ledger's are each refused at start with a message naming the problem,
and leave the data directory as it was.

Synchronisation: no sleeps; conditions are polled under deadlines (poll_until) and Kafka is
read with the consumer's own blocking poll up to the partitions' high watermarks.

Environment: FILINGD_BIN, FILINGCTL_BIN (see harness.py). Needs confluent_kafka.
"""

import base64
import urllib.parse
import glob
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import stat
import struct
import subprocess
import tempfile
import time
import unittest
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from harness import (Daemon, DaemonError, DaemonTestCase, all_events, filingctl_bin, mobile,
                     resident_id, uscc)

TOKENS = [("ops-desk", "operator", "tok-operator-" + secrets.token_hex(8)),
          ("audit-1", "auditor", "tok-auditor-" + secrets.token_hex(8)),
          ("read-1", "reader", "tok-reader-" + secrets.token_hex(8)),
          ("privacy-1", "privacy_officer", "tok-privacy-" + secrets.token_hex(8))]
OPERATOR, AUDITOR, READER, PRIVACY = (t[2] for t in TOKENS)
PRIVACY_NAME = TOKENS[3][0]

ERASED = "[erased]"
ENCRYPTED = "[encrypted]"
POLL_TIMEOUT = 30.0
CTL_TIMEOUT = 120.0
KAFKA_TIMEOUT = 30.0
WRAPPED_KEY_SIZE = 61  # privacy/wrap.hpp kWrappedKeySize
STORED_KEY_SIZE = 4 + WRAPPED_KEY_SIZE  # ledger/format/values.cpp encode_data_key

_rng = random.SystemRandom()
RUN = secrets.token_hex(3)  # in every planted ASCII value: unique to this run
ID_BASE = _rng.randrange(1_000_000, 10_000_000)  # resident_id(n) is distinct for n < 20,000,000
MOBILE_BASE = _rng.randrange(10_000_000, 90_000_000)


# ---- planted values --------------------------------------------------------------------------

def cjk(n):
    """n random CJK unified ideographs (BMP, U+4E00..U+9FA5)."""
    return "".join(chr(_rng.randrange(0x4E00, 0x9FA6)) for _ in range(n))


def masked(value):
    """SPEC §5.3: the last 4 characters (code points) kept, each earlier one '*'; 4 or fewer
    characters: all '*'."""
    n = len(value)
    return "*" * n if n <= 4 else "*" * (n - 4) + value[-4:]


class Person:
    """A website's responsible person: every field personal (SPEC §5.1)."""

    def __init__(self, k):
        self.name = "龚" + cjk(2)  # 3 characters: masked whole
        self.id_number = resident_id(ID_BASE + k)
        self.mobile = mobile(MOBILE_BASE + k)
        self.email = f"p{k}r{RUN}@mail{RUN}x{k}.cn"

    def responsible(self):
        return {"name": self.name, "id_type": "resident_id", "id_number": self.id_number,
                "mobile": self.mobile, "email": self.email}

    def values(self):
        return [self.name, self.id_number, self.mobile, self.email]


class Individual:
    """A subject of kind individual: name, address and ID number are personal."""

    def __init__(self, k):
        self.kind = "individual"
        self.name = "欧阳" + cjk(4)  # 6 characters: "**" and the last 4 Chinese characters
        self.id_type = "resident_id"
        self.id_number = resident_id(ID_BASE + k)
        self.address = f"北京市海淀区{cjk(3)}路{_rng.randrange(10**6)}号{RUN}"

    def subject(self):
        return {"kind": self.kind, "name": self.name, "id_type": self.id_type,
                "id_number": self.id_number, "address": self.address}

    def values(self):
        return [self.name, self.id_number, self.address]


class Enterprise:
    """A subject of kind enterprise: its name, address and USCC are public registry data."""

    def __init__(self):
        self.kind = "enterprise"
        self.name = f"北京{cjk(4)}科技有限公司{RUN}"
        self.id_type = "uscc"
        self.id_number = uscc(f"91110108MA{RUN.upper()}{_rng.randrange(10):d}")
        self.address = f"北京市朝阳区{cjk(3)}大街{_rng.randrange(10**6)}号"

    def subject(self):
        return {"kind": self.kind, "name": self.name, "id_type": self.id_type,
                "id_number": self.id_number, "address": self.address}

    def values(self):
        return [self.name, self.id_number, self.address]


def site(label, person):
    return {"name": f"网站{label}", "domains": [f"{label}.cn", f"www.{label}.cn"],
            "responsible": person.responsible()}


def fields(subject, people, label, filing_type="first_filing"):
    return {"filing_type": filing_type, "province": "京", "provider": "jdcloud",
            "subject": subject.subject(),
            "websites": [site(f"{label}-{i}-{RUN}", p) for i, p in enumerate(people)]}


def encodings(value):
    """The byte forms a leaked value could take: UTF-8, and for non-ASCII text the JSON
    \\u escapes (lower and upper case hex)."""
    forms = [value.encode("utf-8")]
    if not value.isascii():
        escaped = json.dumps(value)[1:-1]
        forms += [escaped.encode("ascii"), re.sub(r"\\u([0-9a-f]{4})",
                                                  lambda m: "\\u" + m.group(1).upper(),
                                                  escaped).encode("ascii")]
    return forms


def leaks(blob, values):
    """The values (of `values`) found in `blob` in any of their encodings."""
    return [v for v in values if any(f in blob for f in encodings(v))]


# ---- personal fields in JSON -----------------------------------------------------------------

def status_personal(s):
    """(path, value) of every personal field of a status (SPEC §5.1)."""
    out = []
    subj = s["subject"]
    if subj["kind"] == "individual":
        out += [(f"subject.{k}", subj[k]) for k in ("name", "address", "id_number")]
    for i, w in enumerate(s["websites"]):
        out += [(f"websites[{i}].responsible.{k}", w["responsible"][k])
                for k in ("name", "id_number", "mobile", "email")]
    return out


def event_personal(e):
    """(path, value) of every personal field of an event envelope."""
    if e["type"] == "filing_submitted":
        return [("data." + p, v) for p, v in status_personal(e["data"])]
    if e["type"] == "sms_confirmed":
        return [("data.phone", e["data"]["phone"])]
    return []


def expected_personal(subject, people):
    out = []
    if subject.kind == "individual":
        out += [("subject.name", subject.name), ("subject.address", subject.address),
                ("subject.id_number", subject.id_number)]
    for i, p in enumerate(people):
        out += [(f"websites[{i}].responsible.{k}", getattr(p, k))
                for k in ("name", "id_number", "mobile", "email")]
    return out


# ---- scanning files --------------------------------------------------------------------------

def _varint(b, i):
    v = shift = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return v, i


def lz4_block_decompress(src):
    """The LZ4 block format (no frame), as RocksDB stores an LZ4-compressed block."""
    dst = bytearray()
    i, n = 0, len(src)
    while i < n:
        token = src[i]
        i += 1
        lit = token >> 4
        if lit == 15:
            while True:
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        dst += src[i:i + lit]
        i += lit
        if i >= n:
            break
        off = src[i] | (src[i + 1] << 8)
        i += 2
        if off == 0 or off > len(dst):
            raise ValueError("bad LZ4 match offset")
        ml = token & 15
        if ml == 15:
            while True:
                b = src[i]
                i += 1
                ml += b
                if b != 255:
                    break
        ml += 4
        start = len(dst) - off
        for k in range(ml):
            dst.append(dst[start + k])
    return bytes(dst)


SST_MAGIC = 0x88E241B785F4CFF7  # block-based table
SST_FOOTER = 53  # format_version >= 1: checksum type, 2 handles padded to 40, version, magic


def _sst_block(data, off, size):
    if off + size + 5 > len(data):
        raise ValueError("block beyond the end of the file")
    raw, kind = data[off:off + size], data[off + size]
    if kind == 0:
        return raw
    if kind == 4:  # kLZ4Compression: varint32 uncompressed size, then an LZ4 block
        n, k = _varint(raw, 0)
        out = lz4_block_decompress(raw[k:])
        if len(out) != n:
            raise ValueError("LZ4 block of the wrong size")
        return out
    raise ValueError(f"block compression type {kind} is not supported by this scanner")


def sst_contents(data):
    """The index block and every data block of a block-based SST, decompressed. Raises
    ValueError if the file does not parse, so that a scan never silently skips a file."""
    if len(data) < SST_FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != SST_MAGIC:
        raise ValueError("not a block-based table (magic)")
    p = len(data) - SST_FOOTER + 1
    _, p = _varint(data, p)  # metaindex offset
    _, p = _varint(data, p)  # metaindex size
    index_off, p = _varint(data, p)
    index_size, p = _varint(data, p)
    index = _sst_block(data, index_off, index_size)
    restarts = struct.unpack_from("<I", index, len(index) - 4)[0] & 0x7FFFFFFF
    end = len(index) - 4 - 4 * restarts
    handles, p = [], 0
    while p < end:  # index_block_restart_interval 1: each entry a full key and block handle
        shared, p = _varint(index, p)
        non_shared, p = _varint(index, p)
        if shared:
            raise ValueError("delta-encoded index entries are not supported by this scanner")
        p += non_shared
        off, p = _varint(index, p)
        size, p = _varint(index, p)
        handles.append((off, size))
    if p != end or not handles:
        raise ValueError("the index block does not parse")
    blocks, expect = [index], 0
    for off, size in handles:
        if off != expect:
            raise ValueError("the data blocks do not follow each other from offset 0")
        blocks.append(_sst_block(data, off, size))
        expect = off + size + 5
    return b"".join(blocks)


def log_payloads(data):
    """The record payloads of a RocksDB log-format file (WAL, MANIFEST) joined: records split at
    32 KiB block boundaries are whole again."""
    out = bytearray()
    for base in range(0, len(data), 32768):
        block, p = data[base:base + 32768], 0
        while p + 7 <= len(block):
            length = block[p + 4] | (block[p + 5] << 8)
            kind = block[p + 6]
            if kind == 0 and length == 0:
                break  # zeros: preallocated, unwritten
            header = 11 if kind >= 5 else 7  # recyclable records carry a log number
            out += block[p + header:p + header + length]
            p += header + length
    return bytes(out)


def readable_files(root):
    """{path: every byte form of the file to search}: the raw bytes, plus the decompressed
    blocks of an SST and the de-framed records of a WAL or MANIFEST."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            forms = [data]
            if name.endswith(".sst"):
                try:
                    forms.append(sst_contents(data))
                except ValueError as e:
                    raise AssertionError(f"cannot decode {path}: {e}; the scan would be blind")
            elif name.endswith(".log") or name.startswith("MANIFEST-"):
                forms.append(log_payloads(data))
            out[path] = b"\0".join(forms)
    return out


def scan(root, values):
    """{path: [values found]} for every file under root holding any of `values`."""
    found = {}
    for path, blob in readable_files(root).items():
        hit = leaks(blob, values)
        if hit:
            found[path] = hit
    return found


def listing(root):
    """{relative path: (size, sha256)} of every file under root."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = (os.path.getsize(path),
                                                    hashlib.sha256(f.read()).hexdigest())
    return out


# ---- master key files ------------------------------------------------------------------------

def master_key_line(key):
    """privacy/key_file.hpp: "filingd-master-key-v1 <key hex> <check hex>", the check being the
    first 4 bytes of HKDF-SHA-256(ikm = key, salt = empty, info "filingd/v1/key-check")."""
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()  # RFC 5869: empty salt = zeros
    okm = hmac.new(prk, b"filingd/v1/key-check\x01", hashlib.sha256).digest()
    return f"filingd-master-key-v1 {key.hex()} {okm[:4].hex()}\n"


def write_key_file(path, line, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(line)
    os.chmod(path, mode)


# ---- Kafka -----------------------------------------------------------------------------------

class Message:
    def __init__(self, m):
        self.topic = m.topic()
        self.partition = m.partition()
        self.offset = m.offset()
        self.key = m.key()
        self.value = m.value()
        self.headers = list(m.headers() or [])

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        return json.loads(self.value.decode("utf-8"))

    def __repr__(self):
        return (f"<{self.topic}[{self.partition}]@{self.offset} key={self.key!r} "
                f"value={None if self.value is None else self.value[:200]!r}>")


def read_topic(bootstrap, topic, timeout=KAFKA_TIMEOUT):
    """Every message of `topic`, up to each partition's high watermark as of the call."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"pd-test-{uuid.uuid4()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "enable.partition.eof": False})
    try:
        md = c.list_topics(topic, timeout=timeout)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise AssertionError(f"topic {topic} is missing: {t and t.error}")
        want = {}
        for p in t.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                want[p] = high
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in want])
        got, last = [], {}
        deadline = time.monotonic() + timeout
        while any(last.get(p, -1) < high - 1 for p, high in want.items()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{topic}: read {len(got)} messages, not up to {want}")
            m = c.poll(min(remaining, 1.0))
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"{topic}: {m.error()}")
            if m.offset() < want.get(m.partition(), 0):
                got.append(Message(m))
            last[m.partition()] = max(last.get(m.partition(), -1), m.offset())
        return got
    finally:
        c.close()


def message_blobs(m):
    """Every byte string of a message a consumer sees, the base64 body header decoded too."""
    blobs = [m.key or b"", m.value or b""]
    for k, v in m.headers:
        blobs += [k.encode(), v or b""]
        if k == "body":
            blobs.append(base64.b64decode(v, validate=True))
    return blobs


# ---- the scenario ----------------------------------------------------------------------------

def listening_addresses(pid):
    """The local addresses (hex, as /proc/net/tcp{,6} shows them) of the process's listening
    TCP sockets."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # TCP_LISTEN
                    out.append(cols[1])
    return out


LOOPBACK = ("0100007F:", "00000000000000000000000001000000:")  # 127.0.0.1, ::1


def poll_until(condition, what, timeout=POLL_TIMEOUT):
    """Polls `condition` (returning a truthy value when met) until a deadline."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)  # a poll interval, not a synchronisation: the condition decides
        pause = min(pause * 2, 0.1)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Helpers:
    """For test cases with self.daemon running and self.c a client of it."""

    def ctl(self, *args, ok=True):
        """filingctl ARGS: (exit code, stdout, stderr); ok: the exit code must be 0."""
        p = subprocess.run([filingctl_bin(), *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CTL_TIMEOUT)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        if ok:
            self.assertEqual(p.returncode, 0, f"filingctl {' '.join(args)}:\n{out}\n{err}")
        return p.returncode, out, err

    def bootstrap(self):
        m = re.findall(r"kafka bootstrap: (\S+)", self.daemon.output())
        self.assertTrue(m, self.daemon.output())
        self.assertTrue(m[-1].startswith("127.0.0.1:"), f"embedded Kafka not on loopback: {m}")
        return m[-1]

    def head(self):
        r = self.c.get("/v1/ledger/head")
        self.assertEqual(r.status, 200, r)
        return r.json

    def wait_published(self):
        """Until the publisher's cursor reaches the ledger head; returns the head."""
        head = self.head()

        def caught_up():
            r = self.c.get("/readyz")
            return r.status == 200 and r.json.get("kafka", {}).get("cursor", -1) >= head["seq"]
        poll_until(caught_up, f"the Kafka publisher to reach seq {head['seq']}")
        return head

    def read_topics(self, bootstrap):
        return {t: read_topic(bootstrap, t)
                for t in ("filing.events", "filing.status", "filing.keys")}

    def assert_personal(self, got, expected, msg):
        """got: [(path, value)]; expected: [(path, value)] or a single value for every path."""
        self.assertTrue(got, f"no personal field at all: {msg}")
        if isinstance(expected, str):
            expected = [(p, expected) for p, _ in got]
        self.assertEqual(dict(got), dict(expected), msg)

    def assert_events_marked(self, events, marker, msg):
        """Every personal field of every event of `events` that carries some reads `marker`;
        at least one does."""
        carrying = [e for e in events if event_personal(e)]
        self.assertTrue(carrying, f"no event with personal fields: {msg}")
        for e in carrying:
            self.assert_personal(event_personal(e), marker, f"{msg}, seq {e['seq']}")


class PersonalDataTest(Helpers, DaemonTestCase):
    daemon_options = {"tokens": TOKENS, "kafka_mode": "embedded"}
    token = OPERATOR

    @classmethod
    def tearDownClass(cls):
        # The scenario stops and restarts the daemon itself; stop it only if it still runs.
        try:
            proc = cls.daemon.proc
            if proc is not None and proc.poll() is None:
                rc, out = cls.daemon.stop()
                if rc != 0 or "stopped cleanly" not in out:
                    raise AssertionError(
                        f"filingd did not stop cleanly (exit {rc}):\n{out[-4000:]}")
        finally:
            cls.daemon.cleanup()

    # -- helpers --

    def as_role(self, token):
        c = self.daemon.client(token=token)
        self.addCleanup(c.close)
        return c

    def submit_as(self, body, fid, occurred_at=None):
        body = dict(body, filing_id=fid, actor="desk-1")
        if occurred_at is not None:
            body["occurred_at"] = occurred_at
        return self.submit(body)

    # -- the plant --

    def plant(self):
        now = time.time()
        self.wrapped_keys = {}  # subject_ref -> stored data key, as filing.keys published it
        self.s_erased = Individual(1)  # S1: all its filings closed, then erased
        self.s_open = Individual(2)  # S2: an open filing (bureau_review, SMS confirmed)
        self.s_approved = Individual(3)  # S3: an active record number
        self.enterprise = Enterprise()  # S4: public subject, personal responsible person
        self.p = {k: Person(10 + k) for k in range(6)}
        self.phones = {k: "139" + f"{_rng.randrange(10**8):08d}" for k in ("erased", "open")}
        self.fid = {k: f"PD-{k}-{RUN}" for k in ("abandoned", "withdrawn", "open", "approved",
                                               "enterprise")}
        self.people = {"abandoned": [self.p[0]], "withdrawn": [self.p[1]],
                       "open": [self.p[2]], "approved": [self.p[3]],
                       "enterprise": [self.p[4]]}
        self.subjects = {"abandoned": self.s_erased, "withdrawn": self.s_erased,
                         "open": self.s_open, "approved": self.s_approved,
                         "enterprise": self.enterprise}

        # S1, filing 1: submitted 50 days ago, returned 47 days ago: abandoned by the 45-day
        # timer as soon as it is appended.
        fid = self.fid["abandoned"]
        self.submit_as(fields(self.s_erased, [self.p[0]], "ab"), fid,
                       occurred_at=rfc3339(now - 50 * 86400))
        self.event(fid, "initial_review_rejected",
                   {"reason_code": "website_name", "reason": "网站名称不符合要求"},
                   occurred_at=rfc3339(now - 47 * 86400))
        poll_until(lambda: self.status(fid)["state"] == "abandoned", f"{fid} to be abandoned")

        # S1, filing 2: returned, resubmitted with another responsible person, SMS confirmed with
        # a planted phone, rejected by the bureau, withdrawn.
        fid = self.fid["withdrawn"]
        self.submit_as(fields(self.s_erased, [self.p[5]], "wd"), fid)
        self.event(fid, "initial_review_rejected", {"reason_code": "subject_info",
                                                   "reason": "主体信息有误"})
        r = self.event(fid, "filing_submitted", fields(self.s_erased, [self.p[1]], "wd"))
        self.assertEqual(r["state"], "provider_review")
        self.drive(fid, "sms_pending")
        r = self.event(fid, "sms_confirmed", {"phone": self.phones["erased"]})
        self.assertEqual(r["state"], "bureau_review")
        self.event(fid, "bureau_rejected", {"reason_code": "content", "reason": "内容不符"})
        r = self.event(fid, "filing_withdrawn", {"reason": "不再备案"})
        self.assertEqual(r["state"], "withdrawn")
        self.people["withdrawn_first"] = [self.p[5]]

        # S2: open, in bureau_review, its SMS confirmed with a planted phone.
        fid = self.fid["open"]
        self.submit_as(fields(self.s_open, [self.p[2]], "op"), fid)
        self.drive(fid, "sms_pending")
        r = self.event(fid, "sms_confirmed", {"phone": self.phones["open"]})
        self.assertEqual(r["state"], "bureau_review")
        self.sms_seq = r["seq"]

        # S3: approved, its record numbers active.
        fid = self.fid["approved"]
        self.submit_as(fields(self.s_approved, [self.p[3]], "ap"), fid)
        self.drive(fid, "bureau_review")
        number = f"京ICP备2026{_rng.randrange(10**6):06d}号"
        domain = f"ap-0-{RUN}.cn"
        r = self.event(fid, "bureau_approved", {"subject_record_number": number, "websites": [
            {"domain": domain, "record_number": number + "-1"}]})
        self.assertEqual(r["state"], "approved")
        self.record_number = number

        # S4: an enterprise; its responsible person is an individual.
        self.submit_as(fields(self.enterprise, [self.p[4]], "en"), self.fid["enterprise"])

        self.refs = {k: self.status(fid)["subject"]["subject_ref"]
                     for k, fid in self.fid.items()}
        self.assertEqual(self.refs["abandoned"], self.refs["withdrawn"])
        self.assertEqual(len(set(self.refs.values())), 4, self.refs)
        for ref in self.refs.values():
            self.assertRegex(ref, r"^[0-9a-f]{64}$")

        # Every planted personal value, by subject; the enterprise's public values.
        self.erased_values = (self.s_erased.values() + self.p[0].values() + self.p[1].values()
                              + self.p[5].values() + [self.phones["erased"]])
        self.kept_values = (self.s_open.values() + self.s_approved.values() + self.p[2].values()
                            + self.p[3].values() + self.p[4].values() + [self.phones["open"]])
        self.planted = self.erased_values + self.kept_values
        self.public = self.enterprise.values()
        self.assertEqual(len(set(self.planted)), len(self.planted), "planted values collide")

    # -- phase A: the daemon runs --

    def check_http_before_erasure(self):
        op, aud, rd = self.as_role(OPERATOR), self.as_role(AUDITOR), self.as_role(READER)
        fid = self.fid["open"]
        expected = expected_personal(self.s_open, [self.p[2]])
        for name, c in (("operator", op), ("auditor", aud)):
            r = c.get(f"/v1/filings/{fid}")
            self.assertEqual(r.status, 200, r)
            self.assert_personal(status_personal(r.json), expected, f"{name} reads clear values")
            r = c.get(f"/v1/filings/{fid}/events")
            self.assertEqual(r.status, 200, r)
            by_type = {e["type"]: e for e in r.json["items"]}
            self.assert_personal(event_personal(by_type["filing_submitted"]),
                                 [("data." + p, v) for p, v in expected], name)
            self.assertEqual(by_type["sms_confirmed"]["data"]["phone"], self.phones["open"], name)
        # The auditor reads the withdrawn filing's resubmission and phone in clear too.
        r = aud.get(f"/v1/filings/{self.fid['withdrawn']}/events")
        subs = [e for e in r.json["items"] if e["type"] == "filing_submitted"]
        self.assertEqual(len(subs), 2, r)
        self.assertEqual(subs[1]["data"]["websites"][0]["responsible"]["id_number"],
                         self.p[1].id_number)

        # The reader: masked, counted in characters.
        r = rd.get(f"/v1/filings/{fid}")
        self.assertEqual(r.status, 200, r)
        self.assert_personal(status_personal(r.json), [(p, masked(v)) for p, v in expected],
                             "the reader reads masked values")
        subj = r.json["subject"]
        self.assertEqual(subj["name"], "**" + self.s_open.name[2:], "6 Chinese characters")
        self.assertEqual(r.json["websites"][0]["responsible"]["name"], "***",
                         "a name of 3 characters is masked whole")
        self.assertEqual(subj["id_number"], "*" * 14 + self.s_open.id_number[-4:])
        self.assertEqual(r.json["websites"][0]["responsible"]["mobile"],
                         "*" * 7 + self.p[2].mobile[-4:])
        # The enterprise's subject is public: the reader reads it; its responsible person not.
        r = rd.get(f"/v1/filings/{self.fid['enterprise']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["subject"]["name"], r.json["subject"]["id_number"],
                          r.json["subject"]["address"]), tuple(self.enterprise.values()))
        self.assert_personal(status_personal(r.json),
                             [(p, masked(v)) for p, v in expected_personal(self.enterprise,
                                                                           [self.p[4]])],
                             "the enterprise's responsible person, as the reader sees it")
        # Nothing the reader can reach holds a planted value.
        bodies = [rd.get(f"/v1/filings/{f}").body for f in self.fid.values()]
        bodies += [rd.get(f"/v1/filings/{self.fid['open']}?as_of_seq={self.sms_seq}").body,
                   rd.get("/v1/filings?limit=1000").body, rd.get("/v1/deadlines").body,
                   rd.get(f"/v1/records/{urlquote(self.record_number)}").body]
        for path in (f"/v1/filings/{fid}/events", "/v1/events"):
            r = rd.get(path)
            if r.status == 200:
                bodies.append(r.body)
            else:
                self.assertEqual(r.status, 403, f"reader on {path}: {r}")
        for body in bodies:
            self.assertEqual(leaks(body, self.planted), [], "a planted value reached the reader")

    def check_kafka_before_erasure(self, bootstrap):
        head = self.wait_published()
        topics = self.read_topics(bootstrap)
        events = [m.json() for m in topics["filing.events"]]
        self.assertEqual(max(e["seq"] for e in events), head["seq"], "events topic incomplete")
        self.assertEqual({e["seq"] for e in events}, set(range(1, head["seq"] + 1)))

        # filing.keys: each subject's wrapped data key, under its reference.
        keys = {}
        for m in topics["filing.keys"]:
            ref = m.key.decode()
            if m.value is not None:
                self.wrapped_keys.setdefault(ref, m.value)
            self.assertIsNotNone(m.value, f"a tombstone before any erasure: {m}")
            self.assertEqual(len(m.value), STORED_KEY_SIZE, f"stored data key size: {m}")
            self.assertEqual(m.value[:4], b"\0\0\0\0", "generation 0")
            self.assertEqual(m.value[4], 0x01, "wrapped key format version 1")
            self.assertEqual(keys.setdefault(ref, m.value), m.value, f"two keys for {ref}")
        self.assertEqual(set(keys), set(self.refs.values()), "one key per subject")

        public_seen, body_public_seen = False, False
        for name, msgs in topics.items():
            self.assertTrue(msgs, f"{name} is empty")
            for m in msgs:
                for blob in message_blobs(m):
                    self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")
                public_seen = public_seen or bool(leaks(m.value or b"", self.public))
                body = m.header("body")
                if body is not None:
                    body_public_seen = body_public_seen or bool(
                        leaks(base64.b64decode(body), self.public))
        self.assertTrue(public_seen, "the enterprise's public name is on no event: the scan of "
                                     "Kafka messages would be blind")
        self.assertTrue(body_public_seen, "no body header holds the enterprise's name: the "
                                          "decoding of body headers would be blind")

        # Events show personal data as the reader sees it (kafka.personal_data = masked).
        by = {(e["filing_id"], e["type"]): e for e in events}
        sub = by[(self.fid["open"], "filing_submitted")]
        self.assert_personal(event_personal(sub),
                             [("data." + p, masked(v))
                              for p, v in expected_personal(self.s_open, [self.p[2]])],
                             "filing_submitted on Kafka")
        self.assertEqual(by[(self.fid["open"], "sms_confirmed")]["data"]["phone"],
                         masked(self.phones["open"]))
        sealed = [m for m in topics["filing.events"] if m.header("event_type") in
                  (b"filing_submitted", b"sms_confirmed")]
        self.assertTrue(sealed and all(m.header("body") for m in sealed),
                        "events with sealed personal data carry their stored body")


    def check_filingctl_before_erasure(self):
        d = self.daemon.data_dir
        _, out, _ = self.ctl("history", "--data-dir", d, self.fid["withdrawn"], "--json")
        items = json.loads(out)["items"]
        subs = [e for e in items if e["type"] == "filing_submitted"]
        self.assert_personal(event_personal(subs[1]),
                             [("data." + p, v)
                              for p, v in expected_personal(self.s_erased, [self.p[1]])],
                             "filingctl history with the default key, while the daemon runs")
        self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                         [self.phones["erased"]])

    def erase(self, token, subject, reason="用户依法要求删除个人信息"):
        c = self.as_role(token)
        return c.post("/v1/subjects/erase", {"id_type": subject.id_type,
                                             "id_number": subject.id_number, "reason": reason})

    def check_erasure_refusals(self):
        r = self.erase(OPERATOR, self.s_erased)
        self.assertError(r, 403)
        unknown = Individual(99)
        r = self.erase(PRIVACY, unknown)
        self.assertError(r, 404)
        self.assertEqual(leaks(r.body, [unknown.id_number]), [], r)
        r = self.erase(PRIVACY, self.s_open)
        self.assertError(r, 409)
        self.assertEqual(leaks(r.body, self.planted), [],
                         f"the 409 echoes personal data (SPEC §5.7): {r}")
        r = self.erase(PRIVACY, self.s_approved)
        self.assertError(r, 409)
        self.assertEqual(leaks(r.body, self.planted), [], r)
        # Nothing was written by the refusals.
        self.assertEqual(self.head()["seq"], self.head_before_erasure)
        # Before the erasure, a search by the subject's certificate or name finds its filings.
        erased_fids = sorted([self.fid["abandoned"], self.fid["withdrawn"]])
        for query in self.person_searches(self.s_erased):
            r = self.as_role(OPERATOR).get(query)
            self.assertEqual(sorted(s["filing_id"] for s in r.json["items"]), erased_fids, r)

    @staticmethod
    def person_searches(subject):
        q = urllib.parse.urlencode
        return ["/v1/filings?" + q({"id_type": subject.id_type, "id_number": subject.id_number}),
                "/v1/filings?" + q({"subject_name": subject.name}),
                "/v1/filings?" + q({"subject_name": subject.name, "sort": "updated_at"})]

    def do_erasure(self):
        self.erase_reason = f"PIPL art.47 request {RUN}"
        r = self.erase(PRIVACY, self.s_erased, reason=self.erase_reason)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["subject_ref"], self.refs["withdrawn"], r)
        self.assertEqual(sorted(r.json["filings"]),
                         sorted([self.fid["abandoned"], self.fid["withdrawn"]]), r)
        self.assertEqual(r.json["seq"], self.head_before_erasure + 1, r)
        self.assertEqual(leaks(r.body, self.planted), [], r)
        self.erasure_seq = r.json["seq"]
        again = self.erase(PRIVACY, self.s_erased)
        self.assertError(again, 409)
        self.assertEqual(leaks(again.body, self.planted), [], again)
        self.assertEqual(self.head()["seq"], self.erasure_seq, "a refused erasure wrote")

    def check_http_after_erasure(self):
        erased_fids = (self.fid["abandoned"], self.fid["withdrawn"])
        roles = {"operator": OPERATOR, "auditor": AUDITOR, "reader": READER,
                 "privacy_officer": PRIVACY}
        for role, token in roles.items():
            c = self.as_role(token)
            for fid in erased_fids:
                r = c.get(f"/v1/filings/{fid}")
                self.assertEqual(r.status, 200, r)
                self.assert_personal(status_personal(r.json), ERASED, f"{role} GET {fid}")
                self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} GET {fid}")
            s = c.get(f"/v1/filings/{self.fid['withdrawn']}").json
            self.assertEqual((s["state"], s["attempt"]), ("withdrawn", 2), "workflow kept")
            self.assertEqual(c.get(f"/v1/filings/{self.fid['abandoned']}").json["state"],
                             "abandoned")
            r = c.get(f"/v1/filings/{self.fid['withdrawn']}?as_of_seq={self.erasure_seq - 1}")
            self.assertEqual(r.status, 200, r)
            self.assert_personal(status_personal(r.json), ERASED, f"{role} as_of_seq")
            for state in ("withdrawn", "abandoned"):
                r = c.get(f"/v1/filings?state={state}&limit=1000")
                self.assertEqual(r.status, 200, r)
                mine = [s for s in r.json["items"] if s["filing_id"] in erased_fids]
                self.assertEqual(len(mine), 1, r)
                self.assert_personal(status_personal(mine[0]), ERASED, f"{role} list {state}")
            r = c.get("/v1/filings?limit=1000")
            self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} list")
            for path in [f"/v1/filings/{f}/events" for f in erased_fids] + ["/v1/events"]:
                r = c.get(path + ("?limit=10000" if path == "/v1/events" else ""))
                if role in ("reader", "privacy_officer") and r.status == 403:
                    continue
                self.assertEqual(r.status, 200, f"{role} {path}: {r}")
                self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} {path}")
                self.assert_events_marked([e for e in r.json["items"]
                                           if e["filing_id"] in erased_fids], ERASED,
                                          f"{role} {path}")
            # The erased person can no longer be traced to the filings by certificate or name;
            # another subject still is.
            for query in self.person_searches(self.s_erased):
                r = c.get(query)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["items"], [], f"{role} {query}")
            for query in self.person_searches(self.s_open):
                r = c.get(query)
                self.assertEqual([s["filing_id"] for s in r.json["items"]], [self.fid["open"]],
                                 f"{role} {query}")
            # The subjects not erased are untouched.
            if role in ("operator", "auditor"):
                s = c.get(f"/v1/filings/{self.fid['open']}").json
                self.assert_personal(status_personal(s),
                                     expected_personal(self.s_open, [self.p[2]]),
                                     f"{role}: a subject not erased")

        # The history remains, and subject_erased is in the global log without personal data.
        events = all_events(self, self.as_role(AUDITOR))
        self.assertEqual(len(events), self.erasure_seq)
        self.assertEqual([e["type"] for e in events if e["filing_id"] == self.fid["withdrawn"]],
                         ["filing_submitted", "initial_review_rejected", "filing_submitted",
                          "initial_review_approved", "photo_approved", "submitted_to_bureau",
                          "sms_confirmed", "bureau_rejected", "filing_withdrawn"])
        erased = events[-1]
        self.assertEqual(erased["seq"], self.erasure_seq)
        self.assertEqual(erased["type"], "subject_erased", erased)
        self.assertEqual(erased["data"]["subject_ref"], self.refs["withdrawn"], erased)
        self.assertEqual(erased["data"]["reason"], self.erase_reason, erased)
        self.assertEqual(erased["principal"], PRIVACY_NAME, erased)
        self.assertEqual(leaks(json.dumps(erased, ensure_ascii=False).encode(), self.planted), [])

    def check_kafka_after_erasure(self, bootstrap):
        self.wait_published()
        ref = self.refs["withdrawn"]

        def tombstone():
            keys = read_topic(bootstrap, "filing.keys")
            return [m for m in keys if m.key == ref.encode() and m.value is None] and keys
        keys = poll_until(tombstone, "the erased subject's tombstone on filing.keys")
        last = {}
        for m in keys:
            last[m.key.decode()] = m.value
        self.assertIsNone(last[ref], "the erased subject's last key message is its tombstone")
        self.assertEqual({k for k, v in last.items() if v is not None},
                         set(self.refs.values()) - {ref})
        events = read_topic(bootstrap, "filing.events")
        erased = [m for m in events if m.header("event_type") == b"subject_erased"]
        self.assertEqual(len(erased), 1, erased)
        e = erased[0].json()
        self.assertEqual((e["seq"], e["data"]["subject_ref"], e["principal"]),
                         (self.erasure_seq, ref, PRIVACY_NAME))
        for m in events + keys:
            for blob in message_blobs(m):
                self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")

    def check_status_topic_after_erasure(self, bootstrap):
        """filing.status is compacted and keyed by filing_id: what a consumer reads of a filing
        is its latest status there. After the erasure it must read "[erased]" (SPEC §5.4: from
        then on Kafka shows those fields as "[erased]"), not the masked values published before."""
        self.wait_published()
        erased_fids = (self.fid["abandoned"], self.fid["withdrawn"])

        def latest():
            out = {}
            for m in read_topic(bootstrap, "filing.status"):
                fid = m.key.decode()
                if fid in erased_fids and (fid not in out or m.offset > out[fid].offset):
                    out[fid] = m
            return {fid: dict(status_personal(m.json())) for fid, m in out.items()}

        def all_erased():
            now = latest()
            return all(set(now.get(f, {}).values()) == {ERASED} for f in erased_fids)
        try:
            poll_until(all_erased, "filing.status to show the erased filings' fields as [erased]",
                       timeout=5)
        except AssertionError as e:
            self.fail(f"{e}: the latest status of each erased filing on the compacted topic "
                      f"still reads {latest()}")

    def check_restore(self, bootstrap):
        head = self.wait_published()
        self.restore_tmp = tempfile.mkdtemp(prefix="filingd-pd-restore-")
        self.addCleanup(shutil.rmtree, self.restore_tmp, True)
        self.restored = os.path.join(self.restore_tmp, "replica", "data")
        _, out, err = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", self.restored)
        m = re.search(r"head seq (\d+) hash ([0-9a-f]{64})", out)
        self.assertIsNotNone(m, out + err)
        self.assertEqual((int(m.group(1)), m.group(2)), (head["seq"], head["hash"]),
                         "the restored head differs from the daemon's")
        key = os.path.join(self.daemon.dir, "filingd.key")
        self.assertFalse(os.path.exists(os.path.join(self.restore_tmp, "replica", "filingd.key")))

        # With the daemon's key: clear values for the subjects not erased, "[erased]" for S1.
        _, out, _ = self.ctl("history", "--data-dir", self.restored, "--key-file", key,
                             self.fid["open"], "--json")
        items = json.loads(out)["items"]
        self.assert_personal(event_personal(items[0]),
                             [("data." + p, v)
                              for p, v in expected_personal(self.s_open, [self.p[2]])],
                             "restored replica with the key")
        self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                         [self.phones["open"]])
        _, out, _ = self.ctl("history", "--data-dir", self.restored, "--key-file", key,
                             self.fid["withdrawn"], "--json")
        self.assert_events_marked(json.loads(out)["items"], ERASED,
                                  "restored replica, erased subject")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])
        # Without a key: "[encrypted]"; the erased subject still "[erased]".
        _, out, _ = self.ctl("history", "--data-dir", self.restored, self.fid["open"], "--json")
        self.assert_events_marked(json.loads(out)["items"], ENCRYPTED,
                                  "restored replica without key")
        self.assertEqual(leaks(out.encode(), self.planted), [])
        _, out, _ = self.ctl("history", "--data-dir", self.restored, self.fid["withdrawn"],
                             "--json")
        self.assert_events_marked(json.loads(out)["items"], ERASED,
                                  "restored, no key, erased subject")
        _, out, _ = self.ctl("verify", "--data-dir", self.restored, "--json")
        report = json.loads(out)
        self.assertTrue(report["ok"], out)
        self.assertEqual(report["head"], head)

        # Another master key: refused, naming the key, and nothing written.
        other = os.path.join(self.restore_tmp, "other.key")
        write_key_file(other, master_key_line(secrets.token_bytes(32)))
        target = os.path.join(self.restore_tmp, "replica2", "data")
        rc, out, err = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", target,
                                "--key-file", other, ok=False)
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("master key", err, "the refusal names the master key")
        self.assertFalse(os.path.exists(target), "a refused restore left its directory")
        self.assertFalse(os.path.exists(target + ".partial"), "a refused restore left files")

    # -- phase B: stopped --

    def check_files_at_rest(self):
        d = self.daemon
        found = scan(d.dir, self.planted)
        self.assertEqual(found, {}, "planted personal values at rest")
        # The scan can fail: the enterprise's public values are stored in clear, and found.
        hits = scan(d.dir, self.public)
        self.assertTrue(any(p.startswith(d.data_dir) for p in hits), hits)
        in_sst = {p: v for p, v in hits.items() if p.endswith(".sst")}
        ssts = glob.glob(os.path.join(d.data_dir, "**", "*.sst"), recursive=True)
        if ssts:
            # Clear bytes in an SST are LZ4-compressed: found only through decompression.
            self.assertTrue(in_sst, f"the public values are in no SST of {ssts}")
        # The erased subject's data key is destroyed: its wrapped bytes are nowhere; those of a
        # subject not erased are found (the same scan can find a key).
        files = readable_files(d.dir)
        erased_key = self.wrapped_keys.get(self.refs["withdrawn"])
        kept_key = self.wrapped_keys.get(self.refs["open"])
        self.assertIsNotNone(erased_key, "filing.keys never published the subject's key")
        for path, blob in files.items():
            self.assertNotIn(erased_key, blob,
                             f"the erased subject's wrapped data key is still in {path}")
        self.assertTrue(any(kept_key in blob for blob in files.values()),
                        "a kept subject's wrapped key is in no file: the key scan is blind")
        # The master key is beside the data directory, not in it, and never logged.
        with open(os.path.join(d.dir, "filingd.key")) as f:
            master_hex = f.read().split()[1]
        master = [master_hex, master_hex.upper()]
        for path, blob in files.items():
            if os.path.basename(path) != "filingd.key":
                self.assertEqual(leaks(blob, master), [], f"the master key is in {path}")
                self.assertNotIn(bytes.fromhex(master_hex), blob, f"the master key is in {path}")
        self.assertEqual(leaks(d.output().encode(), master), [], "the master key was logged")
        # The restored replica holds no planted value, nor the erased subject's key, either.
        self.assertEqual(scan(self.restore_tmp, self.planted), {}, "planted values in replica")
        for path, blob in readable_files(self.restore_tmp).items():
            self.assertNotIn(erased_key, blob, f"the erased subject's key is in {path}")
        self.assertTrue(scan(self.restore_tmp, self.public), "replica scan is blind")
        # Nor does the daemon's log.
        self.assertEqual(leaks(d.output().encode(), self.planted), [], "planted value logged")

    def check_modes(self):
        d = self.daemon
        self.assertEqual(stat.S_IMODE(os.stat(d.data_dir).st_mode), 0o700, d.data_dir)
        for dirpath, dirs, names in os.walk(d.data_dir):
            for name in dirs:
                p = os.path.join(dirpath, name)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o700, p)
            for name in names:
                p = os.path.join(dirpath, name)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o600, p)
        key = os.path.join(d.dir, "filingd.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600, key)

    def check_rebuild_modes(self):
        """filingctl rebuild-projections writes new table files, under the shell's umask."""
        p = subprocess.run([filingctl_bin(), "rebuild-projections", "--data-dir",
                            self.daemon.data_dir], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CTL_TIMEOUT,
                           preexec_fn=lambda: os.umask(0o022))
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        self.check_modes()

    def check_filingctl_offline(self):
        d = self.daemon.data_dir
        key = os.path.join(self.daemon.dir, "filingd.key")
        erased_fids = {self.fid["abandoned"], self.fid["withdrawn"]}
        clear = {k: expected_personal(self.subjects[k], self.people[k])
                 for k in ("open", "approved", "enterprise")}

        # history: the default key beside the data directory, and --key-file.
        for extra in ([], ["--key-file", key]):
            _, out, _ = self.ctl("history", "--data-dir", d, self.fid["open"], "--json", *extra)
            items = json.loads(out)["items"]
            self.assert_personal(event_personal(items[0]),
                                 [("data." + p, v) for p, v in clear["open"]], f"history {extra}")
            self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                             [self.phones["open"]])
            _, out, _ = self.ctl("history", "--data-dir", d, self.fid["withdrawn"], "--json",
                                 *extra)
            self.assert_events_marked(json.loads(out)["items"], ERASED,
                                      f"history erased {extra}")
            self.assertEqual(leaks(out.encode(), self.erased_values), [])

        # replay: every filing's status.
        _, out, _ = self.ctl("replay", "--data-dir", d, "--json")
        statuses = {s["filing_id"]: s for s in json.loads(out)["filings"]}
        for k in ("open", "approved", "enterprise"):
            self.assert_personal(status_personal(statuses[self.fid[k]]), clear[k], f"replay {k}")
        for fid in erased_fids:
            self.assert_personal(status_personal(statuses[fid]), ERASED, f"replay {fid}")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])

        # export: every event.
        _, out, _ = self.ctl("export", "--data-dir", d, "--format", "jsonl")
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual(len(events), self.erasure_seq)
        self.assert_events_marked([e for e in events if e["filing_id"] in erased_fids], ERASED,
                                  "export")
        sub = next(e for e in events if e["filing_id"] == self.fid["approved"]
                   and e["type"] == "filing_submitted")
        self.assert_personal(event_personal(sub), [("data." + p, v) for p, v in clear["approved"]],
                             "export")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])
        self.assertTrue(leaks(out.encode(), self.kept_values), "export shows clear values")

        # --key-file naming a missing file: an error, naming it.
        missing = os.path.join(self.daemon.dir, "no-such.key")
        for args in (["history", "--data-dir", d, self.fid["open"], "--json"],
                     ["replay", "--data-dir", d, "--json"],
                     ["export", "--data-dir", d, "--format", "jsonl"]):
            rc, out, err = self.ctl(*args, "--key-file", missing, ok=False)
            self.assertNotEqual(rc, 0, f"{args[0]} with a missing key file: {out}")
            self.assertIn(missing, err)
            self.assertEqual(leaks(out.encode(), self.planted), [])

        # Without the default key: "[encrypted]".
        moved = key + ".away"
        os.rename(key, moved)
        try:
            _, out, err = self.ctl("history", "--data-dir", d, self.fid["open"], "--json")
            self.assert_events_marked(json.loads(out)["items"], ENCRYPTED,
                                      "history without the key")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            _, out, _ = self.ctl("replay", "--data-dir", d, "--json")
            statuses = {s["filing_id"]: s for s in json.loads(out)["filings"]}
            self.assert_personal(status_personal(statuses[self.fid["open"]]), ENCRYPTED,
                                 "replay without the key")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            _, out, _ = self.ctl("export", "--data-dir", d, "--format", "jsonl")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            self.assertIn(ENCRYPTED, out)
            # verify never needs the key.
            _, out, _ = self.ctl("verify", "--data-dir", d)
        finally:
            os.rename(moved, key)

        _, out, _ = self.ctl("verify", "--data-dir", d, "--json")
        report = json.loads(out)
        self.assertTrue(report["ok"], out)
        self.assertEqual(report["head"], self.final_head)
        self.assertEqual(report["clear_personal_events"], 0, out)

    # -- phase C: restarted, the whole log republished --

    def check_republished(self):
        self.daemon.start()
        self.c.close()
        self.c = self.daemon.client(token=OPERATOR)
        bootstrap = self.bootstrap()
        head = self.wait_published()
        self.assertEqual(head, self.final_head)
        topics = self.read_topics(bootstrap)
        erased_fids = {self.fid["abandoned"], self.fid["withdrawn"]}
        seen = set()
        for m in topics["filing.events"]:
            e = m.json()
            if e["filing_id"] in erased_fids and event_personal(e):
                self.assert_personal(event_personal(e), ERASED, f"republished seq {e['seq']}")
                seen.add(e["seq"])
        self.assertEqual(len(seen), 4, "3 submissions and 1 confirmation of the erased subject")
        for m in topics["filing.status"]:
            if m.key.decode() in erased_fids:
                self.assert_personal(status_personal(m.json()), ERASED, f"status {m}")
        ref = self.refs["withdrawn"]
        mine = [m for m in topics["filing.keys"] if m.key == ref.encode()]
        self.assertTrue(mine, "the erased subject's tombstone is republished")
        self.assertTrue(all(m.value is None for m in mine), f"its destroyed key published: {mine}")
        for msgs in topics.values():
            for m in msgs:
                for blob in message_blobs(m):
                    self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")
        # A restore from the republished topics gives the same head.
        target = os.path.join(self.restore_tmp, "replica3", "data")
        _, out, _ = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", target)
        m = re.search(r"head seq (\d+) hash ([0-9a-f]{64})", out)
        self.assertIsNotNone(m, out)
        self.assertEqual((int(m.group(1)), m.group(2)), (head["seq"], head["hash"]))
        self.daemon.assert_stops_cleanly(self)

    def test_personal_data_end_to_end(self):
        bootstrap = self.bootstrap()
        with self.subTest("A: the daemon and its embedded Kafka listen on loopback only"):
            addresses = listening_addresses(self.daemon.proc.pid)
            self.assertGreaterEqual(len(addresses), 2, addresses)  # HTTP and the Kafka broker
            port = int(bootstrap.rsplit(":", 1)[1])
            self.assertIn(f"0100007F:{port:04X}", addresses)
            self.assertEqual([a for a in addresses if not a.startswith(LOOPBACK)], [])
        self.plant()
        with self.subTest("A: HTTP reads before the erasure"):
            self.check_http_before_erasure()
        with self.subTest("A: Kafka before the erasure"):
            self.check_kafka_before_erasure(bootstrap)
        with self.subTest("A: filingctl while the daemon runs"):
            self.check_filingctl_before_erasure()
        self.head_before_erasure = self.head()["seq"]
        with self.subTest("A: erasure refused"):
            self.check_erasure_refusals()
        self.do_erasure()
        with self.subTest("A: HTTP reads after the erasure"):
            self.check_http_after_erasure()
        with self.subTest("A: Kafka after the erasure"):
            self.check_kafka_after_erasure(bootstrap)
        with self.subTest("A: the compacted status topic after the erasure"):
            self.check_status_topic_after_erasure(bootstrap)
        self.final_head = self.head()
        self.check_restore(bootstrap)

        self.daemon.assert_stops_cleanly(self)
        with self.subTest("B: modes"):
            self.check_modes()
        with self.subTest("B: no personal value at rest"):
            self.check_files_at_rest()
        with self.subTest("B: filingctl on the stopped ledger"):
            self.check_filingctl_offline()
        with self.subTest("B: a rebuild's files are as private"):
            self.check_rebuild_modes()

        with self.subTest("C: the log republished after the erasure"):
            self.check_republished()


def urlquote(text):
    from urllib.parse import quote
    return quote(text, safe="")


class KeyFileAtStart(unittest.TestCase):
    """SPEC §5.2: the master key file is checked at start; a bad one refuses the start and
    writes nothing."""

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        c = self.daemon.client()
        person = Person(50)
        subject = Individual(51)
        r = c.post("/v1/filings", dict(fields(subject, [person], "kf"), filing_id="KF-1",
                                       actor="desk-1"))
        self.assertEqual(r.status, 201, r)
        self.planted = subject.values() + person.values()
        self.expected = expected_personal(subject, [person])
        self.head = c.get("/v1/ledger/head").json
        c.close()
        self.daemon.assert_stops_cleanly(self)
        self.key = os.path.join(self.daemon.dir, "filingd.key")
        with open(self.key) as f:
            self.good = f.read()
        self.beside = sorted(os.listdir(self.daemon.dir))

    def refused(self, what):
        before = listing(self.daemon.data_dir)
        with open(self.key, "rb") as f:
            key_before = f.read()
        with self.assertRaises(DaemonError, msg=what) as cm:
            self.daemon.start()
        with open(self.key, "rb") as f:
            self.assertEqual(f.read(), key_before, f"{what}: the daemon rewrote the key file")
        self.assertEqual(sorted(os.listdir(self.daemon.dir)), self.beside,
                         f"{what}: files created beside the data directory")
        return str(cm.exception), before, listing(self.daemon.data_dir)

    def restart_reads_clear(self):
        with open(self.key, "w") as f:
            f.write(self.good)
        os.chmod(self.key, 0o600)
        self.daemon.start()
        c = self.daemon.client()
        try:
            self.assertEqual(c.get("/v1/ledger/head").json, self.head)
            s = c.get("/v1/filings/KF-1").json
            self.assertEqual(dict(status_personal(s)), dict(self.expected))
        finally:
            c.close()
        self.daemon.assert_stops_cleanly(self)

    def test_key_file_readable_by_others_is_refused(self):
        os.chmod(self.key, 0o644)
        out, before, after = self.refused("a key file with mode 0644")
        self.assertIn(self.key, out)
        self.assertIn("0644", out)
        self.assertEqual(after, before, "the refused start changed the data directory")
        self.assertEqual(stat.S_IMODE(os.stat(self.key).st_mode), 0o644, "the daemon chmodded")
        self.assertEqual(leaks(out.encode(), self.planted), [])
        self.restart_reads_clear()

    def test_malformed_key_file_is_refused(self):
        at = len("filingd-master-key-v1 ") + 7  # a hex digit of the key
        mistyped = self.good[:at] + ("1" if self.good[at] != "1" else "2") + self.good[at + 1:]
        for bad in ("filingd-master-key-v1 " + "z" * 64 + " 00000000\n", "", "\n",
                    self.good[:-10] + "\n", mistyped, self.good.strip() + " extra\n"):
            with self.subTest(bad=bad):
                write_key_file(self.key, bad)
                out, before, after = self.refused(f"key file {bad!r}")
                self.assertIn(self.key, out)
                self.assertRegex(out, r"malformed|truncated|empty|check value")
                self.assertNotIn(bad.strip() or "\0", out.replace(self.key, ""),
                                 "the message echoes the key file's content")
                self.assertEqual(after, before, "the refused start changed the data directory")
        self.restart_reads_clear()

    def test_wrong_master_key_is_refused(self):
        write_key_file(self.key, master_key_line(secrets.token_bytes(32)))
        out, before, after = self.refused("another valid master key")
        self.assertIn("master key", out)
        self.assertIn(self.daemon.data_dir, out)
        # The ledger's data is untouched: every table file as it was, and no new one. (Opening
        # RocksDB to read the key's check value rewrites its own bookkeeping files: MANIFEST,
        # OPTIONS, CURRENT, the info LOG and an empty WAL.)
        tables = lambda files: {k: v for k, v in files.items() if k.endswith(".sst")}
        self.assertEqual(tables(after), tables(before), "the refused start changed a table")
        self.assertTrue(tables(before))
        new_wal = {k: v for k, v in after.items() if k.endswith(".log") and k not in before}
        self.assertTrue(all(size == 0 for size, _ in new_wal.values()), new_wal)
        self.restart_reads_clear()
        p = subprocess.run([filingctl_bin(), "verify", "--data-dir", self.daemon.data_dir,
                            "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=CTL_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["head"], self.head)


class OwnDaemon(Helpers, unittest.TestCase):
    """A daemon of its own per test, embedded Kafka, no tokens (full access, loopback)."""

    config = None  # raw TOML replacing the harness's config

    def setUp(self):
        self.daemon = Daemon(kafka_mode="embedded")
        self.addCleanup(self.daemon.cleanup)
        if self.config is not None:
            with open(self.daemon.config, "w", encoding="utf-8") as f:
                f.write(self.config)
        self.daemon.start()
        self.c = self.daemon.client()
        self.addCleanup(lambda: self.c.close())
        self.tmp = tempfile.mkdtemp(prefix="filingd-pd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def restart(self, kill=False):
        self.c.close()
        if kill:
            self.daemon.kill9()
        else:
            self.daemon.assert_stops_cleanly(self)
        self.daemon.start()
        self.c = self.daemon.client()

    def post(self, path, body, expect=201):
        r = self.c.post(path, body)
        self.assertEqual(r.status, expect, f"POST {path}: {r}")
        return r.json

    def event(self, fid, etype, data=None):
        body = {"type": etype, "actor": "ops-1"}
        if data is not None:
            body["data"] = data
        return self.post(f"/v1/filings/{fid}/events", body)

    def erase(self, subject, expect=201):
        return self.post("/v1/subjects/erase", {"id_type": subject.id_type,
                                                "id_number": subject.id_number,
                                                "reason": "依法删除"}, expect=expect)

    def personal(self, fid):
        r = self.c.get(f"/v1/filings/{fid}")
        self.assertEqual(r.status, 200, r)
        return status_personal(r.json)

    def key_messages(self, ref):
        """filing.keys messages of subject `ref`, in order, once the publisher caught up."""
        self.wait_published()
        return sorted((m for m in read_topic(self.bootstrap(), "filing.keys")
                       if m.key == ref.encode()), key=lambda m: m.offset)

    def restore(self, name, *extra):
        target = os.path.join(self.tmp, name, "data")
        _, out, _ = self.ctl("restore", "--from-kafka", self.bootstrap(), "--data-dir", target,
                             *extra)
        m = re.search(r"head seq (\d+) hash ([0-9a-f]{64})", out)
        self.assertIsNotNone(m, out)
        self.assertEqual({"seq": int(m.group(1)), "hash": m.group(2)}, self.head(),
                         "the restored head differs from the daemon's")
        return target


class ErasureGenerations(OwnDaemon):
    """SPEC §5.2, §5.4: a subject that files again after its erasure gets a new data key (a new
    generation); the old filings stay erased, the new one reads clear, and a second erasure
    destroys the new key too. An erasure destroys the key on disk even if the daemon is killed
    right after answering it."""

    def test_refiling_after_erasure_gets_a_new_key(self):
        subj, p1, p2 = Individual(400), Person(401), Person(402)
        key_file = os.path.join(self.daemon.dir, "filingd.key")
        self.post("/v1/filings", dict(fields(subj, [p1], f"g1-{RUN}"), filing_id="G1",
                                      actor="desk-1"))
        self.event("G1", "filing_withdrawn", {"reason": "不备了"})
        # Generation 0 reaches filing.keys before the erasure: a publisher that lags past the
        # erasure finds the key destroyed and never publishes it (as it must not).
        self.wait_published()
        ref = self.erase(subj)["subject_ref"]
        self.post("/v1/filings", dict(fields(subj, [p2], f"g2-{RUN}"), filing_id="G2",
                                      actor="desk-1"))
        self.assert_personal(self.personal("G1"), ERASED, "the erased filing")
        self.assert_personal(self.personal("G2"), expected_personal(subj, [p2]),
                             "the filing after the erasure")
        self.assertEqual(self.c.get("/v1/filings/G2").json["subject"]["subject_ref"], ref)
        # The erasure's stream is the subject's, not a filing: the filing routes do not read it.
        for path in ("", "/events", "/verify"):
            r = self.c.get(f"/v1/filings/subject:{ref}{path}")
            self.assertEqual(r.status, 404, (path, r))

        msgs = self.key_messages(ref)
        values = [m.value for m in msgs]
        self.assertIn(None, values, "the erasure's tombstone")
        gen0 = values[0]
        gen1 = values[-1]
        self.assertEqual((len(gen0), gen0[:4]), (STORED_KEY_SIZE, b"\0\0\0\0"), msgs)
        self.assertEqual((len(gen1), gen1[:4]), (STORED_KEY_SIZE, b"\0\0\0\1"),
                         f"the new key is generation 1, published after the tombstone: {msgs}")

        restored = self.restore("replica")
        for extra in (["--key-file", key_file], []):
            _, out, _ = self.ctl("history", "--data-dir", restored, "G1", "--json", *extra)
            self.assert_events_marked(json.loads(out)["items"], ERASED, f"replica G1 {extra}")
        _, out, _ = self.ctl("history", "--data-dir", restored, "G2", "--json", "--key-file",
                             key_file)
        self.assert_personal(event_personal(json.loads(out)["items"][0]),
                             [("data." + p, v) for p, v in expected_personal(subj, [p2])],
                             "replica G2 with the key")
        self.ctl("verify", "--data-dir", restored)

        # The daemon restarted (no cached key): the same.
        self.restart()
        self.assert_personal(self.personal("G1"), ERASED, "G1 after a restart")
        self.assert_personal(self.personal("G2"), expected_personal(subj, [p2]), "G2 restarted")

        # A second erasure destroys generation 1.
        self.event("G2", "filing_withdrawn", {"reason": "不备了"})
        r = self.erase(subj)
        self.assertEqual((r["subject_ref"], sorted(r["filings"])), (ref, ["G1", "G2"]), r)
        self.erase(subj, expect=409)
        for fid in ("G1", "G2"):
            self.assert_personal(self.personal(fid), ERASED, f"{fid} after the second erasure")
        self.assertIsNone(self.key_messages(ref)[-1].value, "the second tombstone")
        self.daemon.assert_stops_cleanly(self)
        self.ctl("verify", "--data-dir", self.daemon.data_dir)
        planted = subj.values() + p1.values() + p2.values()
        self.assertEqual(scan(self.daemon.dir, planted), {})
        for path, blob in readable_files(self.daemon.dir).items():
            self.assertNotIn(gen0, blob, f"the generation-0 key is in {path}")
            self.assertNotIn(gen1, blob, f"the generation-1 key is in {path}")

    def test_erasure_destroys_the_key_on_disk_even_after_a_crash(self):
        """The erasure's batch deletes the wrapped key; the bytes leave the files only once the
        keys column family is flushed and compacted. A daemon killed right after answering must
        still get there (at its next start at the latest): otherwise the data directory and the
        key file beside it (or their backups) still open the "erased" personal data."""
        subj, person = Individual(410), Person(411)
        self.post("/v1/filings", dict(fields(subj, [person], f"kc-{RUN}"), filing_id="KC1",
                                      actor="desk-1"))
        self.event("KC1", "filing_withdrawn", {"reason": "不备了"})
        ref = self.c.get("/v1/filings/KC1").json["subject"]["subject_ref"]
        wrapped = self.key_messages(ref)[0].value
        self.assertEqual(len(wrapped), STORED_KEY_SIZE)
        self.restart()  # a clean stop flushes: the wrapped key is now in a table file
        self.assertTrue(any(wrapped in b for b in readable_files(self.daemon.data_dir).values()),
                        "the wrapped key is in no file before the erasure: the scan is blind")
        self.erase(subj)
        self.restart(kill=True)
        self.assert_personal(self.personal("KC1"), ERASED, "after the crash")
        self.daemon.assert_stops_cleanly(self)
        self.ctl("verify", "--data-dir", self.daemon.data_dir)
        left = [p for p, b in readable_files(self.daemon.dir).items() if wrapped in b]
        self.assertEqual(left, [], "the erased subject's wrapped data key is still on disk after "
                                   "a kill -9 right after the erasure, a restart and a clean stop")

    def test_cancelled_records_remain_after_erasure(self):
        """An approved subject is erasable once its record numbers are cancelled; the records
        and the filing's workflow remain (SPEC §5.4)."""
        subj, person = Individual(430), Person(431)
        number = f"京ICP备2026{_rng.randrange(10**6):06d}号"
        domain = f"rc-{RUN}-0-{RUN}.cn"  # site() of fields(..., label "rc-RUN")
        self.post("/v1/filings", dict(fields(subj, [person], f"rc-{RUN}"), filing_id="RC1",
                                      actor="desk-1"))
        for etype, data in (("initial_review_approved", {"reviewer": "r"}),
                            ("photo_approved", {"method": "photo"}),
                            ("submitted_to_bureau", None), ("sms_confirmed", None)):
            self.event("RC1", etype, data)
        self.event("RC1", "bureau_approved", {"subject_record_number": number, "websites": [
            {"domain": domain, "record_number": number + "-1"}]})
        r = self.erase(subj, expect=409)
        self.assertEqual(leaks(json.dumps(r, ensure_ascii=False).encode(), subj.values()), [])
        self.event("RC1", "record_cancelled", {"record_number": number, "reason": "注销主体"})
        r = self.erase(subj)
        self.assertEqual(r["filings"], ["RC1"])
        s = self.c.get("/v1/filings/RC1").json
        self.assertEqual((s["state"], s["subject_record_number"],
                          s["websites"][0]["record_number"]), ("approved", number, number + "-1"))
        self.assert_personal(status_personal(s), ERASED, "the erased approved filing")
        for n in (number, number + "-1"):
            rec = self.c.get(f"/v1/records/{urlquote(n)}")
            self.assertEqual(rec.status, 200, rec)
            self.assertEqual((rec.json["status"], rec.json["filing_id"]), ("cancelled", "RC1"))


class KafkaPersonalDataModes(OwnDaemon):
    """SPEC §5.5: kafka.personal_data omitted / clear; in every mode a restore rebuilds the
    ledger with the same head, and the master key reads its personal data."""

    def run_mode(self, mode):
        subj, person = Individual(420), Person(421)
        phone = "139" + f"{_rng.randrange(10**8):08d}"
        self.post("/v1/filings", dict(fields(subj, [person], f"km-{mode}-{RUN}"), filing_id="KM1",
                                      actor="desk-1"))
        for etype, data in (("initial_review_approved", {"reviewer": "r"}),
                            ("photo_approved", {"method": "photo"}),
                            ("submitted_to_bureau", None), ("sms_confirmed", {"phone": phone})):
            self.event("KM1", etype, data)
        planted = subj.values() + person.values() + [phone]
        self.wait_published()
        boot = self.bootstrap()
        topics = self.read_topics(boot)
        events = {m.json()["type"]: m for m in topics["filing.events"]}
        sub = events["filing_submitted"].json()["data"]
        for m in topics["filing.events"]:
            body = m.header("body")
            if body is not None:
                self.assertEqual(leaks(base64.b64decode(body), planted), [],
                                 "a stored body holds a clear value: it is not sealed")
        if mode == "omitted":
            for msgs in topics.values():
                for m in msgs:
                    for blob in message_blobs(m):
                        self.assertEqual(leaks(blob, planted), [], f"planted value in {m}")
            self.assertNotIn("id_number", sub["subject"], sub)
            self.assertNotIn("mobile", sub["websites"][0]["responsible"], sub)
        else:
            self.assertIn("personal_data", self.daemon.output(), "no warning for clear")
            self.assert_personal(event_personal(events["filing_submitted"].json()),
                                 [("data." + p, v) for p, v in expected_personal(subj, [person])],
                                 "clear mode")
            self.assertEqual(events["sms_confirmed"].json()["data"]["phone"], phone)
        restored = self.restore("replica")
        _, out, _ = self.ctl("history", "--data-dir", restored, "KM1", "--json", "--key-file",
                             os.path.join(self.daemon.dir, "filingd.key"))
        items = json.loads(out)["items"]
        self.assert_personal(event_personal(items[0]),
                             [("data." + p, v) for p, v in expected_personal(subj, [person])],
                             f"restored from a {mode} topic, with the key")
        self.assertEqual(items[-1]["data"]["phone"], phone)
        self.ctl("verify", "--data-dir", restored)
        self.assertEqual(scan(restored, planted), {}, "clear values in the replica")


class KafkaOmitted(KafkaPersonalDataModes):
    config = '[kafka]\nmode = "embedded"\npersonal_data = "omitted"\n'

    def test_omitted(self):
        self.run_mode("omitted")


class KafkaClear(KafkaPersonalDataModes):
    config = '[kafka]\nmode = "embedded"\npersonal_data = "clear"\n'

    def test_clear(self):
        self.run_mode("clear")


class RefusalsDoNotEcho(OwnDaemon):
    """SPEC §5.7: error messages never echo personal data; refused requests write nothing."""

    def test_refusals_do_not_echo_personal_values(self):
        subj, person = Individual(440), Person(441)
        good = dict(fields(subj, [person], f"ec-{RUN}"), filing_id="EC1", actor="desk-1")
        bad_id = resident_id(ID_BASE + 442)
        bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
        cases = [(("subject", "id_number"), bad_id),
                 (("websites", 0, "responsible", "mobile"), f"13{MOBILE_BASE}99"),  # 12 digits
                 (("websites", 0, "responsible", "email"), f"龚{RUN}@@x"),
                 (("websites", 0, "responsible", "id_number"), bad_id[:16])]
        for path, value in cases:
            body = json.loads(json.dumps(good))
            target = body
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = value
            r = self.c.post("/v1/filings", body)
            self.assertEqual(r.status, 422, r)
            self.assertEqual(leaks(r.body, [value] + subj.values() + person.values()), [], r)
        self.assertEqual(self.head()["seq"], 0, "a refused submission wrote")
        self.post("/v1/filings", good)
        again = dict(good, filing_id="EC2")
        r = self.c.post("/v1/filings", again)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(leaks(r.body, subj.values() + person.values()), [], r)
        self.assertIn("EC1", r.json["message"])


if __name__ == "__main__":
    unittest.main()
