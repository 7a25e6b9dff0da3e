"""The verifiable log (SPEC §8), checked from outside against independent implementations.

One daemon (embedded Kafka; operator, auditor, reader and privacy_officer tokens) gets ~1,200
events from four client threads (filings with four follow-up events; each submission asks for a
receipt): four full level-0 tiles and the level-1 tile 1/000.p/4. Proven:

1. tlogcheck (tlogcheck/main.go: Go's golang.org/x/mod/sumdb/note and sumdb/tlog, built here
   with `go build`, GO111MODULE=off) verifies the checkpoint with the key pinned and the origin,
   rebuilds the tree from the C2SP tiles with tlog.TileHashReader and checks 300 inclusion and
   300+ consistency proofs (as the auditor: readers may not read /v1/events), at two sizes
   either side of a tile boundary and once while the log grows; it fails for another key or
   origin. In Python (hashlib, RFC 9162 §2.1): the root is the tree hash of GET /v1/events'
   hashes; every level-0 tile, the level-1 tile and every entry bundle hold what that tree
   gives (all of them: TileHashReader leaves some full tiles unauthenticated when the tree's
   subtrees share a tile); a partial tile is a prefix of its full tile; the proof between the
   two sizes verifies (and not against a wrong root).
2. Receipts, the 240 issued under concurrency and one per append route: the note verifies
   (Python Ed25519; tlogcheck -note), the inclusion proof verifies for the event's own hash, the
   receipt's tree is consistent with today's; receipt=maybe is a 400 naming the field and
   appends nothing; a reader's append is a 403.
3. Bad input: out-of-range or non-numeric seq/size/from/to are 400 naming the field; malformed
   tile paths 400, tiles beyond the tree 404; no token 401, the auditor and reader 200.
4. filingctl: checkpoint is byte-for-byte the daemon's note (and at --size K has the root of the
   first K events); prove checks; verify --since a saved note passes after more appends (the
   ledger's key, --verifier-key, @FILE). Exit 1, the reason named: not a note, another key of
   the same name (signed here per C2SP signed-note with `cryptography`), a second daemon's note
   (ledger.origin = "other.example/log"), the ledger's key over another origin, a root the log
   does not extend, a size beyond the log. Control: a note signed here with the ledger's key is
   byte-for-byte the daemon's.
5. Tamper: on a stopped daemon's ledger one byte of a stored event flipped with RocksDB's ldb
   makes `filingctl verify --since` (which passed before) exit 1 naming that seq.
6. Kafka: filing.checkpoints (key = origin, header seq = tree size) reaches the head; its latest
   note is the daemon's and verifies with tlogcheck; every note on it verifies, sizes never
   decrease, and each is consistent with the latest.

No sleeps: threads are joined and Kafka polled under deadlines. Environment: FILINGD_BIN,
FILINGCTL_BIN; go + golang-golang-x-mod-dev and ldb (rocksdb-tools) are required (missing: the
class fails, never skips), confluent_kafka, cryptography. ~15 s (~25 s with three runs at once
on 2 cores).
"""

import base64
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat,
                                                          PublicFormat)

from harness import Client, Daemon, DaemonTestCase, all_events, filingctl_bin, new_filing, unique

HERE = os.path.dirname(os.path.abspath(__file__))
GOPATH = "/usr/share/gocode"
TOKENS = [("ops-desk", "operator", "tok-op-" + secrets.token_hex(8)),
          ("audit-1", "auditor", "tok-aud-" + secrets.token_hex(8)),
          ("read-1", "reader", "tok-rd-" + secrets.token_hex(8)),
          ("privacy-1", "privacy_officer", "tok-pr-" + secrets.token_hex(8))]
OPERATOR, AUDITOR, READER = TOKENS[0][2], TOKENS[1][2], TOKENS[2][2]
ORIGIN, OTHER_ORIGIN = "filingd.local/ledger", "other.example/log"
TOPIC = "filing.checkpoints"
BASE_FILINGS = 240  # x 5 events = 1,200: four full level-0 tiles, level-1 tile 1/000.p/4
SAMPLES = 300
TIMEOUT = 60.0
FOLLOW_UPS = [("initial_review_approved", {"reviewer": "rev-1"}),
              ("photo_approved", {"method": "photo"}), ("submitted_to_bureau", None),
              ("sms_confirmed", None)]


# ---- RFC 9162 §2.1 ---------------------------------------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """The Merkle tree hash of a list of leaf hashes."""
    if len(leaves) <= 1:
        return leaves[0] if leaves else hashlib.sha256(b"").digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first, second, root1, root2, proof):
    """RFC 9162 §2.1.4.2 (first >= 1)."""
    if first == second:
        return not proof and root1 == root2
    if first > second or not proof:
        return False
    if first & (first - 1) == 0:  # a power of two: the first tree is a node of the second
        proof = [root1] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0


def b64s(items):
    return [base64.b64decode(x, validate=True) for x in items]


def tile_path(n):
    """A C2SP tile index: 3-digit groups, all but the last prefixed with x."""
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.insert(0, f"x{n % 1000:03d}")
    return "/".join(groups)


# ---- C2SP signed notes (Ed25519) -------------------------------------------------------------

def key_id(name, pub):
    return hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]


def sign_note(origin, size, root, name, seed):
    """The signed note of a checkpoint, by the Ed25519 key `seed` named `name`."""
    text = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = base64.b64encode(key_id(name, pub) + key.sign(text.encode())).decode()
    return f"{text}\n\u2014 {name} {sig}\n".encode()


def ledger_seed(key_file):
    """The seed in a private key file: PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)."""
    with open(key_file) as f:
        fields = f.read().strip().split("+", 4)
    raw = base64.b64decode(fields[4])
    assert fields[:2] == ["PRIVATE", "KEY"] and raw[0] == 1 and len(raw) == 33, fields[:3]
    return raw[1:]


def open_note(note, vkey):
    """Verifies `note` by vkey (<name>+<hex id>+base64(0x01 || key)): (origin, size, root)."""
    name, hex_id, key = vkey.strip().split("+", 2)
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key)[1:])
    text, _, sigs = note.decode("utf-8").rpartition("\n\n")
    verified = False
    for line in sigs.splitlines():
        signer, _, blob = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(blob)
        if signer == name and raw[:4].hex() == hex_id:
            try:
                pub.verify(raw[4:], (text + "\n").encode())
            except InvalidSignature:
                raise AssertionError(f"bad signature on {note!r}")
            verified = True
    assert verified, f"no signature by {vkey} on {note!r}"
    origin, size, root = text.split("\n")
    return origin, int(size), base64.b64decode(root)


# ---- processes -------------------------------------------------------------------------------

def run(argv, timeout=TIMEOUT):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def build_tlogcheck(out_dir):
    """go build tlogcheck offline; fails (never skips) without go or golang.org/x/mod."""
    go, mod = shutil.which("go"), os.path.join(GOPATH, "src/golang.org/x/mod/sumdb")
    if go is None or not all(os.path.isdir(os.path.join(mod, d)) for d in ("note", "tlog")):
        raise AssertionError(f"go ({go}) or golang.org/x/mod/sumdb under {GOPATH} is missing: "
                             "install golang-go and golang-golang-x-mod-dev")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="", GOPROXY="off",
               GOTOOLCHAIN="local", GOCACHE=os.path.join(out_dir, "gocache"))
    binary = os.path.join(out_dir, "tlogcheck")
    p = subprocess.run([go, "build", "-o", binary, "."], cwd=os.path.join(HERE, "tlogcheck"),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    if p.returncode != 0:
        raise AssertionError(f"go build tlogcheck failed:\n{p.stdout.decode(errors='replace')}")
    return binary


def append_filings(port, count, threads=4, receipts=None):
    """`count` filings with four follow-up events each, from `threads` client threads; with
    `receipts` (a list), each submission asks for a receipt and its 201 body is appended."""
    errors = []

    def worker(k):
        c = Client(port, token=OPERATOR)
        try:
            for _ in range(k):
                n = unique()
                fid = f"VL-{n}"
                r = c.post("/v1/filings" + ("?receipt=true" if receipts is not None else ""),
                           new_filing(n, filing_id=fid))
                assert r.status == 201, f"submit {fid}: {r}"
                if receipts is not None:
                    receipts.append(r.json)
                for etype, data in FOLLOW_UPS:
                    body = {"type": etype, "actor": "ops-1", **({"data": data} if data else {})}
                    r = c.post(f"/v1/filings/{fid}/events", body)
                    assert r.status == 201, f"{etype} on {fid}: {r}"
        except BaseException as e:  # reported by the caller
            errors.append(e)
        finally:
            c.close()

    ts = [threading.Thread(target=worker, args=(count // threads + (i < count % threads),))
          for i in range(threads)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + TIMEOUT
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in ts) or errors:
        raise AssertionError(f"appending {count} filings: {errors or 'threads still running'}")


def read_topic(bootstrap, topic, timeout=30.0):
    """Every message of `topic` up to its high watermarks as of the call, by offset (a compacted
    topic has gaps: read until each partition's last offset)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"vl-{uuid.uuid4()}",
                  "enable.auto.commit": False})
    try:
        want = {}
        for p in c.list_topics(topic, timeout=timeout).topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                want[p] = high
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in want])
        got, last, deadline = [], {}, time.monotonic() + timeout
        while any(last.get(p, -1) < high - 1 for p, high in want.items()):
            assert time.monotonic() < deadline, f"{topic}: read {len(got)}, not up to {want}"
            m = c.poll(1.0)
            if m is None or m.error() and m.error().code() == KafkaError._PARTITION_EOF:
                continue
            assert not m.error(), f"{topic}: {m.error()}"
            if m.offset() < want[m.partition()]:
                got.append(m)
            last[m.partition()] = max(last.get(m.partition(), -1), m.offset())
        return sorted(got, key=lambda m: (m.partition(), m.offset()))
    finally:
        c.close()


# ---- the tests -------------------------------------------------------------------------------

class VerifiableLogTest(DaemonTestCase):
    daemon_options = {"tokens": TOKENS, "kafka_mode": "embedded"}
    token = OPERATOR

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="filingd-vl-")
        cls.addClassCleanup(cls.tmp.cleanup)  # also when setUpClass fails
        cls.tlogcheck_bin = build_tlogcheck(cls.tmp.name)
        super().setUpClass()
        try:
            cls.receipts = []
            append_filings(cls.daemon.port, BASE_FILINGS, receipts=cls.receipts)
        except BaseException:
            cls.tearDownClass()
            raise

    # -- helpers --

    def tlogcheck(self, *args, ok=True):
        rc, out, err = run([self.tlogcheck_bin, *args])
        if ok:
            self.assertEqual(rc, 0, f"tlogcheck {' '.join(args)}:\n{out}\n{err}")
            return json.loads(out)
        self.assertEqual(rc, 1, f"tlogcheck {' '.join(args)} should fail:\n{out}\n{err}")
        self.assertIn("FAIL", err)
        return err

    def check_server(self, samples=SAMPLES, *args, ok=True):
        seed = str(random.SystemRandom().randrange(1, 2**62))  # in the message if it fails
        return self.tlogcheck("-url", f"http://127.0.0.1:{self.daemon.port}", "-token", AUDITOR,
                              "-samples", str(samples), "-seed", seed, *args, ok=ok)

    def save(self, data):
        path = os.path.join(self.tmp.name, f"note-{unique()}")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def check_note(self, note, vkey, origin=ORIGIN, ok=True):
        return self.tlogcheck("-note", self.save(note), "-key", vkey, "-origin", origin, ok=ok)

    def ctl(self, *args):
        return run([filingctl_bin(), *args])

    def get_ok(self, path, content_type="application/json"):
        r = self.c.get(path)
        self.assertEqual(r.status, 200, f"{path}: {r}")
        self.assertTrue(r.headers["Content-Type"].startswith(content_type), (path, r.headers))
        return r

    def vkey(self):
        key = self.get_ok("/v1/ledger/checkpoint/key", "text/plain").body.decode()
        self.assertRegex(key, r"^filingd\.local/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{44}\n$")
        return key.strip()

    def note(self):
        return self.get_ok("/v1/ledger/checkpoint", "text/plain").body

    def leaves(self):
        """Leaf hashes of the whole log from GET /v1/events, and the event hashes."""
        hashes = [bytes.fromhex(e["hash"]) for e in all_events(self, self.c)]
        return [leaf_hash(h) for h in hashes], hashes

    def consistent(self, size1, root1, size2, root2):
        r = self.get_ok(f"/v1/ledger/proof/consistency?from={size1}&to={size2}")
        self.assertEqual((r.json["from"], r.json["to"]), (size1, size2), r)
        self.assertTrue(verify_consistency(size1, size2, root1, root2, b64s(r.json["hashes"])),
                        f"consistency proof {size1} -> {size2} does not verify: {r}")
        return b64s(r.json["hashes"])

    def check_tiles(self, size, leaves, hashes):
        """Every level-0 tile and entry bundle, and the level-1 tile, from the tree itself."""
        full, width = divmod(size, 256)
        self.assertGreaterEqual(full, 2, "the ledger is too small for a level-1 tile")
        for k in range(full + (width > 0)):
            w, at = 256 if k < full else width, slice(256 * k, 256 * k + 256)
            suffix = tile_path(k) + ("" if w == 256 else f".p/{w}")
            r = self.get_ok(f"/v1/ledger/tile/0/{suffix}", "application/octet-stream")
            self.assertEqual(r.body, b"".join(leaves[at]), f"tile 0/{suffix}")
            self.assertEqual("immutable" in r.headers.get("Cache-Control", ""), w == 256, suffix)
            r = self.get_ok(f"/v1/ledger/tile/entries/{suffix}", "application/octet-stream")
            self.assertEqual(r.body, b"".join(b"\x00\x20" + h for h in hashes[at]), suffix)
        r = self.get_ok(f"/v1/ledger/tile/1/000.p/{full}", "application/octet-stream")
        self.assertEqual(r.body, b"".join(mth(leaves[256 * k:256 * k + 256]) for k in range(full)))
        return full, width

    # -- 1. the tree against Go's sumdb/tlog, and against Python --

    def test_tree_verified_independently_at_two_sizes(self):
        vkey, note1 = self.vkey(), self.note()
        origin, size1, root1 = open_note(note1, vkey)
        self.assertEqual((origin, size1), (ORIGIN, self.head_seq()))
        self.assertGreaterEqual(size1, BASE_FILINGS * 5)
        got = self.check_server(SAMPLES, "-key", vkey, "-origin", ORIGIN)
        self.assertEqual((got["tree_size"], got["key"], got["origin"]), (size1, vkey, ORIGIN))
        self.assertEqual(got["inclusion_checked"], SAMPLES)
        self.assertGreaterEqual(got["consistency_checked"], SAMPLES)
        leaves, hashes = self.leaves()
        self.assertEqual(len(leaves), size1)
        self.assertEqual(mth(leaves), root1, "the checkpoint root is not the events' tree hash")
        full1, width1 = self.check_tiles(size1, leaves, hashes)
        partial = width1 and self.get_ok(f"/v1/ledger/tile/0/{tile_path(full1)}.p/{width1}",
                                         "application/octet-stream").body
        # tlogcheck can fail: another key pinned, another origin expected.
        fake = b"\x01" + b"\x07" * 32  # a well-formed verifier key that is not the daemon's
        other = f"{ORIGIN}+{key_id(ORIGIN, fake[1:]).hex()}+" + base64.b64encode(fake).decode()
        self.assertIn("not the expected", self.check_server(1, "-key", other, ok=False))
        self.assertIn("origin", self.check_server(1, "-origin", OTHER_ORIGIN, ok=False))

        # Past the next level-0 tile boundary; the proofs of the growing log check meanwhile.
        target = (full1 + 1) * 256 + 40
        grown = []
        grower = threading.Thread(target=lambda: grown.append(
            append_filings(self.daemon.port, (target - size1) // 5 + 1, threads=3)))
        grower.start()
        try:
            during = self.check_server(100, "-key", vkey, "-origin", ORIGIN)
        finally:
            grower.join(TIMEOUT)
        self.assertEqual(grown, [None], "the appends failed (see the thread's traceback)")
        self.assertGreaterEqual(during["tree_size"], size1)
        _, size2, root2 = open_note(self.note(), vkey)
        self.assertEqual(size2, self.head_seq())
        self.assertGreater(size2, target)
        got = self.check_server(SAMPLES, "-key", vkey, "-origin", ORIGIN)
        self.assertEqual((got["tree_size"], got["root"]), (size2, base64.b64encode(root2).decode()))
        self.assertNotEqual(root1, root2)
        proof = self.consistent(size1, root1, size2, root2)
        self.assertFalse(verify_consistency(size1, size2, root1, leaf_hash(b"x"), proof))
        self.assertFalse(verify_consistency(size1, size2, leaf_hash(b"x"), root2, proof))
        leaves2, hashes2 = self.leaves()
        self.assertEqual((leaves2[:size1], mth(leaves2)), (leaves, root2))
        self.check_tiles(size2, leaves2, hashes2)
        if partial:  # the partial tile of size1 is a prefix of the full tile it became
            self.assertTrue(self.get_ok(f"/v1/ledger/tile/0/{tile_path(full1)}",
                                        "application/octet-stream").body.startswith(partial))
        self.check_note(note1, vkey)  # an auditor's old note still verifies

    # -- 2. receipts --

    def check_receipt(self, body, vkey, leaves, go=False):
        """A 201 body's receipt: the note and the inclusion proof of its event; (size, root)."""
        seq, note, proof = body["seq"], body["receipt"]["checkpoint"].encode(), \
            body["receipt"]["inclusion"]
        origin, size, root = open_note(note, vkey)
        if go:
            self.assertEqual(self.check_note(note, vkey)["tree_size"], size)
        self.assertEqual((origin, proof["leaf_index"], proof["tree_size"]),
                         (ORIGIN, seq - 1, size), body)
        self.assertGreaterEqual(size, seq)
        self.assertEqual(base64.b64decode(proof["leaf_hash"]), leaves[seq - 1])
        hashes = b64s(proof["hashes"])
        self.assertTrue(verify_inclusion(seq - 1, size, leaves[seq - 1], hashes, root), body)
        if hashes:  # the Python check can fail: a flipped bit in a proof hash
            hashes[0] = bytes([hashes[0][0] ^ 1]) + hashes[0][1:]
            self.assertFalse(verify_inclusion(seq - 1, size, leaves[seq - 1], hashes, root))
        return size, root

    def test_receipts(self):
        vkey, n = self.vkey(), unique()
        fid = f"VL-R-{n}"
        first = self.c.post("/v1/filings?receipt=true", new_filing(n, filing_id=fid))
        self.assertEqual(first.status, 201, first)
        self.assertEqual((first.json["filing_id"], first.json["state"]), (fid, "provider_review"))
        then = self.c.post(f"/v1/filings/{fid}/events?receipt=true",
                           {"type": "initial_review_approved", "actor": "ops-1",
                            "data": {"reviewer": "rev-1"}})
        self.assertEqual(then.status, 201, then)
        self.assertEqual(then.json["seq"], first.json["seq"] + 1)
        leaves, _ = self.leaves()
        _, head, root = open_note(self.note(), vkey)
        bodies = self.receipts + [first.json, then.json]
        self.assertEqual(len(bodies), BASE_FILINGS + 2)
        trees = {}
        for i, body in enumerate(bodies):
            size, r = self.check_receipt(body, vkey, leaves, go=i in (0, len(bodies) - 1))
            self.assertEqual(trees.setdefault(size, r), r, f"two roots for size {size}")
        for size, r in trees.items():  # every receipt's tree is a prefix of today's
            self.consistent(size, r, head, root)
        head, n2 = self.head_seq(), unique()
        self.assertError(self.c.post("/v1/filings?receipt=maybe",
                                     new_filing(n2, filing_id=f"VL-R-{n2}")), 400, field="receipt")
        self.assertError(self.c.post(f"/v1/filings/{fid}/events?receipt=maybe",
                                     {"type": "photo_approved", "actor": "ops-1",
                                      "data": {"method": "photo"}}),
                         400, field="receipt")
        reader = self.daemon.client(token=READER)
        self.addCleanup(reader.close)
        self.assertEqual(reader.post("/v1/filings?receipt=true", new_filing(n2)).status, 403)
        self.assertEqual(self.head_seq(), head)
        self.assertEqual(self.c.get(f"/v1/filings/VL-R-{n2}").status, 404)
        self.assertEqual(self.status(fid)["state"], "provider_review")

    # -- 3. bad input --

    def test_bad_input(self):
        h = self.head_seq()
        self.assertGreater(h, 512)
        for query, field in [
                ("inclusion?seq=0", "seq"), (f"inclusion?seq={h + 1}", "seq"),
                ("inclusion?seq=5&size=4", "seq"), (f"inclusion?seq=1&size={h + 1}", "size"),
                ("inclusion?seq=abc", "seq"), ("inclusion?seq=1&size=x", "size"),
                ("inclusion?size=3", "seq"), ("inclusion?seq=-1", "seq"),
                ("inclusion?seq=99999999999999999999999", "seq"),
                ("consistency?from=5&to=4", "from"), ("consistency?from=0&to=4", "from"),
                (f"consistency?from=1&to={h + 1}", "to"), (f"consistency?from={h + 1}", "from"),
                ("consistency?from=x", "from"), ("consistency?from=1&to=y", "to"),
                ("consistency?to=3", "from")]:
            with self.subTest(query=query):
                body = self.assertError(self.c.get(f"/v1/ledger/proof/{query}"), 400,
                                        field=field, error="malformed")
                self.assertIn(field, body["message"])
        for path in ["0/0.p/5", "0/00.p/5", "0/0000", "0/x000/001", "0/x001", "0/000.p/0",
                     "0/000.p/256", "0/000.p/05", "-1/000", "a/000", "entries/1", "0/abc", "0"]:
            with self.subTest(tile=path):
                body = self.assertError(self.c.get(f"/v1/ledger/tile/{path}"), 400)
                self.assertIn("malformed tile path", body["message"])
        full, width = divmod(h, 256)
        for path in [f"0/{tile_path(full)}", f"0/{tile_path(full + 1)}.p/1",
                     f"0/{tile_path(full)}.p/{min(width + 1, 255)}", f"entries/{tile_path(full)}",
                     f"1/000.p/{full + 1}", "1/001", "2/000.p/1", "0/x001/000"]:
            with self.subTest(tile=path):
                body = self.assertError(self.c.get(f"/v1/ledger/tile/{path}"), 404)
                self.assertIn("beyond the tree", body["message"])
        clients = [(self.daemon.client(token=t), want) for t, want in
                   [(None, 401), ("tok-wrong", 401), (AUDITOR, 200), (READER, 200)]]
        for c, _ in clients:
            self.addCleanup(c.close)
        for path in ["checkpoint", "checkpoint/key", "proof/inclusion?seq=1",
                     "proof/consistency?from=1", "tile/0/000", "tile/entries/000"]:
            for c, want in clients:
                with self.subTest(path=path, token=c.token):
                    self.assertEqual(c.get(f"/v1/ledger/{path}").status, want)

    # -- 4. filingctl --

    def test_filingctl(self):
        d, vkey = self.daemon.data_dir, self.vkey()
        h, note = self.head_seq(), self.note()
        _, _, root = open_note(note, vkey)
        rc, out, err = self.ctl("checkpoint", "--data-dir", d)
        self.assertEqual((rc, out.encode()), (0, note), f"not the daemon's note: {err}")
        self.assertEqual(self.check_note(note, vkey)["tree_size"], h)
        leaves, _ = self.leaves()
        k = h // 3
        rc, out, err = self.ctl("checkpoint", "--data-dir", d, "--size", str(k))
        self.assertEqual(rc, 0, err)
        got = self.check_note(out.encode(), vkey)
        self.assertEqual((got["tree_size"], base64.b64decode(got["root"])), (k, mth(leaves[:k])))
        rc, out, err = self.ctl("checkpoint", "--data-dir", d, "--size", str(h + 1))
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn("beyond", err)
        seq = k // 2 + 1
        rc, out, err = self.ctl("prove", str(seq), "--data-dir", d, "--size", str(k))
        self.assertEqual(rc, 0, err)
        proved = json.loads(out)
        self.check_note(proved["checkpoint"].encode(), vkey)
        _, size, k_root = open_note(proved["checkpoint"].encode(), vkey)
        p = proved["inclusion"]
        self.assertEqual((p["leaf_index"], p["tree_size"], size), (seq - 1, k, k))
        self.assertEqual(base64.b64decode(p["leaf_hash"]), leaves[seq - 1])
        self.assertTrue(verify_inclusion(seq - 1, k, leaves[seq - 1], b64s(p["hashes"]), k_root))
        self.assertEqual(p, self.get_ok(f"/v1/ledger/proof/inclusion?seq={seq}&size={k}").json)
        rc, _, err = self.ctl("prove", str(k + 1), "--data-dir", d, "--size", str(k))
        self.assertEqual(rc, 1, err)

        # An auditor's saved checkpoint, then more appends: the log still extends it.
        saved, key_file = self.save(note), self.save(vkey.encode() + b"\n")
        append_filings(self.daemon.port, 8, threads=2)
        self.assertEqual(self.head_seq(), h + 40)
        for extra in [(), ("--verifier-key", vkey), ("--verifier-key", "@" + key_file)]:
            rc, out, err = self.ctl("verify", "--data-dir", d, "--since", saved, "--json", *extra)
            self.assertEqual(rc, 0, f"{extra}: {out}\n{err}")
            report = json.loads(out)
            self.assertEqual((report["ok"], report["since_tree_size"], report["events"]),
                             (True, h, h + 40), report)
            self.assertEqual(base64.b64decode(report["tree_root"]), open_note(self.note(), vkey)[2])

        # Notes signed here. Control: the ledger's own key gives the daemon's note byte for byte.
        seed = ledger_seed(os.path.join(self.daemon.dir, "filingd-signing.key"))
        self.assertEqual(sign_note(ORIGIN, h, root, ORIGIN, seed), note)
        fresh = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                           NoEncryption())
        other = Daemon(extra_config=f'[ledger]\norigin = "{OTHER_ORIGIN}"\n')
        self.addCleanup(other.cleanup)
        other.start()
        oc = other.client()
        for _ in range(3):
            self.assertEqual(oc.post("/v1/filings", new_filing(unique())).status, 201)
        other_note = oc.get("/v1/ledger/checkpoint").body
        other_vkey = oc.get("/v1/ledger/checkpoint/key").body.decode().strip()
        oc.close()
        other.assert_stops_cleanly(self)
        self.assertEqual(open_note(other_note, other_vkey)[:2], (OTHER_ORIGIN, 3))
        cases = [  # (what, note, extra arguments, stdout or stderr, the reason)
            ("not a note", b"filingd.local/ledger\n5\nhello\n", (), "err", "malformed note"),
            ("an empty file", b"", (), "err", "malformed note"),
            ("another key of the same name", sign_note(ORIGIN, h, root, ORIGIN, fresh), (),
             "err", "no signature by key " + "+".join(vkey.split("+")[:2])),
            ("another daemon's note", other_note, (), "err", "no signature by key"),
            ("another origin, the ledger's key", sign_note(OTHER_ORIGIN, h, root, ORIGIN, seed),
             (), "err", f'origin is "{OTHER_ORIGIN}"'),
            ("pinned to another log's key", note, ("--verifier-key", other_vkey), "err",
             "is not this ledger's signing key"),
            ("another log's note by its key", other_note, ("--verifier-key", other_vkey), "err",
             "is not this ledger's signing key"),
            ("an empty tree with another root", sign_note(ORIGIN, 0, b"\x01" * 32, ORIGIN, seed),
             (), "out", "not the empty tree's"),
            ("a root the log does not extend", sign_note(ORIGIN, k, mth(leaves[:k - 1]), ORIGIN,
                                                         seed), (), "out",
             f"FAILED at seq {k}: the log was rewritten since the checkpoint"),
            ("a checkpoint beyond the log", sign_note(ORIGIN, h + 1000, root, ORIGIN, seed), (),
             "out", f"fewer than the checkpoint's {h + 1000}")]
        for what, data, extra, where, reason in cases:
            with self.subTest(refused=what):
                rc, out, err = self.ctl("verify", "--data-dir", d, "--since", self.save(data),
                                        *extra)
                self.assertEqual(rc, 1, f"{out}\n{err}")
                self.assertIn(reason, out if where == "out" else err, f"{out}\n{err}")
        self.assertIn("signature",
                      self.check_note(sign_note(ORIGIN, h, root, ORIGIN, fresh), vkey, ok=False))
        self.assertIn("origin", self.check_note(other_note, other_vkey, ok=False))

    # -- 5. tamper --

    def test_tamper_with_ldb_fails_verify_since(self):
        ldb = shutil.which("ldb") or shutil.which("rocksdb_ldb")
        self.assertIsNotNone(ldb, "RocksDB's ldb is missing: install rocksdb-tools")
        d = Daemon(tokens=TOKENS)
        self.addCleanup(d.cleanup)
        d.start()
        append_filings(d.port, 30, threads=2)  # 150 events
        c = d.client(token=AUDITOR)
        saved = self.save(c.get("/v1/ledger/checkpoint").body)
        c.close()
        append_filings(d.port, 2, threads=1)
        d.assert_stops_cleanly(self)
        rc, out, err = self.ctl("verify", "--data-dir", d.data_dir, "--since", saved)
        self.assertEqual(rc, 0, f"before the edit:\n{out}\n{err}")

        seq, db = 77, [ldb, f"--db={d.data_dir}", "--column_family=log", "--key_hex", "--value_hex"]
        key = "0x" + seq.to_bytes(8, "big").hex()
        rc, out, err = run(db + ["get", key])
        self.assertEqual(rc, 0, f"ldb get:\n{out}\n{err}")
        record = bytearray.fromhex(out.strip().removeprefix("0x"))
        self.assertGreater(len(record), 64 + 16)
        record[(len(record) - 64) // 2] ^= 0x01  # a byte of the stored body, not its hashes
        rc, out, err = run(db + ["put", key, "0x" + record.hex()])
        self.assertEqual(rc, 0, f"ldb put:\n{out}\n{err}")
        rc, out, err = run(db + ["get", key])
        self.assertEqual(bytes.fromhex(out.strip().removeprefix("0x")), bytes(record), err)

        rc, out, err = self.ctl("verify", "--data-dir", d.data_dir, "--since", saved)
        self.assertEqual(rc, 1, f"after the edit:\n{out}\n{err}")
        self.assertIn(f"FAILED at seq {seq}:", out)
        rc, out, err = self.ctl("verify", "--data-dir", d.data_dir, "--since", saved, "--json")
        report = json.loads(out)
        self.assertEqual((rc, report["ok"], report["first_bad_seq"]), (1, False, seq), report)

    # -- 6. Kafka --

    def test_kafka_checkpoints(self):
        m = re.findall(r"kafka bootstrap: (\S+)", self.daemon.output())
        self.assertTrue(m, self.daemon.output())
        bootstrap, vkey, head = m[-1], self.vkey(), self.head_seq()
        deadline = time.monotonic() + TIMEOUT
        while True:  # bounded: each round reads the topic up to its watermarks
            messages = read_topic(bootstrap, TOPIC)
            if messages and open_note(messages[-1].value(), vkey)[1] == head:
                break
            self.assertLess(time.monotonic(), deadline, f"{TOPIC} did not reach size {head}: "
                            f"{messages[-1].value() if messages else 'empty'}")
        note = self.note()
        self.assertEqual(messages[-1].value(), note, "the topic's latest note is not the daemon's")
        self.assertEqual(self.check_note(note, vkey)["tree_size"], head)
        root, sizes = open_note(note, vkey)[2], {}
        for msg in messages:
            origin, size, r = open_note(msg.value(), vkey)
            self.assertEqual((msg.key(), origin), (ORIGIN.encode(), ORIGIN), msg.value())
            self.assertEqual(dict(msg.headers() or [])["seq"], str(size).encode())
            self.assertGreaterEqual(size, max(sizes, default=1), "sizes went backwards")
            self.assertEqual(sizes.setdefault(size, r), r, f"two roots for size {size}")
        for size, r in sizes.items():
            self.consistent(size, r, head, root)


if __name__ == "__main__":
    unittest.main()
