"""What the personal-data black-box tests share (SPEC §5): the tokens of the four roles, planted
values unique to each run (people, individual and enterprise subjects, their filings), the
personal fields of a status or an event, scanners that find a value in any file of a data
directory (SST blocks decompressed, WAL and MANIFEST records de-framed), master key files, a
reader of every message of a Kafka topic, and the base classes of the tests: Helpers (filingctl,
the publisher's progress, assertions on personal fields) and OwnDaemon (a daemon per test).

Synchronisation: no sleeps; conditions are polled under deadlines (poll_until) and Kafka is read
with the consumer's own blocking poll up to the partitions' high watermarks.
"""

import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from harness import Daemon, filingctl_bin, mobile, resident_id, uscc

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

rng = random.SystemRandom()
RUN = secrets.token_hex(3)  # in every planted ASCII value: unique to this run
ID_BASE = rng.randrange(1_000_000, 10_000_000)  # resident_id(n) is distinct for n < 20,000,000
MOBILE_BASE = rng.randrange(10_000_000, 90_000_000)

# ---- planted values --------------------------------------------------------------------------

def cjk(n):
    """n random CJK unified ideographs (BMP, U+4E00..U+9FA5)."""
    return "".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(n))


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
        self.address = f"北京市海淀区{cjk(3)}路{rng.randrange(10**6)}号{RUN}"

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
        self.id_number = uscc(f"91110108MA{RUN.upper()}{rng.randrange(10):d}")
        self.address = f"北京市朝阳区{cjk(3)}大街{rng.randrange(10**6)}号"

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


def urlquote(text):
    from urllib.parse import quote
    return quote(text, safe="")


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
