// `verify`: a healthy ledger passes; each kind of tampering is caught and named by its seq.
#include <gtest/gtest.h>

#include <filesystem>

#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/projection_values.hpp"
#include "replay/open.hpp"
#include "replay/rebuild.hpp"
#include "replay/verify.hpp"
#include "tests/audit_util.hpp"

namespace filingd {
namespace {

using test::open_raw;
using test::raw_del;
using test::raw_get;
using test::raw_put;

class Verify : public testing::Test {
 protected:
  void SetUp() override {
    head_ = test::make_audit_ledger(dir_, 20);
    ASSERT_GT(head_.seq.value, 60u);
  }

  VerifyReport verify(VerifyOptions options = {}) { return test::verify_dir(dir_, options); }

  // Verification fails and its first problem is at `seq` and mentions `what`.
  void expect_first_bad(const VerifyReport& r, Seq seq, std::string_view what) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems.front().seq, seq) << r.problems.front().what;
    EXPECT_NE(r.problems.front().what.find(what), std::string::npos) << r.problems.front().what;
  }

  test::TempDir dir_;
  LedgerHead head_;
};

TEST_F(Verify, AHealthyLedgerPasses) {
  const VerifyReport r = verify();
  ASSERT_TRUE(r.ok()) << r.problems.front().what;
  EXPECT_EQ(r.head, head_.seq);
  EXPECT_EQ(r.head_hash, head_.hash);
  EXPECT_EQ(r.events, head_.seq.value);
  EXPECT_EQ(r.filings, 20u);
  EXPECT_EQ(r.stream_entries, head_.seq.value);
  EXPECT_EQ(r.idempotency_entries, head_.seq.value);
  ASSERT_TRUE(r.live_digest && r.rebuilt_digest);
  EXPECT_EQ(*r.live_digest, *r.rebuilt_digest);
  // The same digest as projections_digest() of the live column family.
  auto store = open_for_reading(dir_.str());
  ASSERT_TRUE(store);
  EXPECT_EQ(*projections_digest(**store), *r.live_digest);
}

// A fold with no memory to spare (it writes to its scratch store after every event) gives the
// same digests, and the differences are named by key.
TEST_F(Verify, AFoldThatSpillsAgreesWithOneInMemory) {
  const VerifyReport in_memory = verify();
  const VerifyReport spilled = verify({.memory_budget = 1});
  ASSERT_TRUE(in_memory.ok() && spilled.ok());
  EXPECT_EQ(*spilled.live_digest, *in_memory.live_digest);
  EXPECT_EQ(*spilled.rebuilt_digest, *in_memory.rebuilt_digest);
  EXPECT_EQ(spilled.projection_entries, in_memory.projection_entries);
  {
    auto store = open_raw(dir_);
    raw_put(*store, Cf::projections, keys::status("F7"),
            raw_get(*store, Cf::projections, keys::status("F8")));  // late in the key order
    raw_put(*store, Cf::projections, "A-first", "x");               // early
  }
  for (std::size_t budget : {std::size_t{1}, kDefaultFoldBudget}) {
    const VerifyReport r = verify({.memory_budget = budget});
    ASSERT_FALSE(r.ok());
    const std::string& what = r.problems.front().what;
    EXPECT_NE(what.find("\"A-first\" is live but not in the rebuild"), std::string::npos) << what;
    EXPECT_NE(what.find("\"SF7\" has another value"), std::string::npos) << what;
  }
}

// The scratch store lives in the directory given, and is gone afterwards.
TEST_F(Verify, TheScratchStoreIsRemovedAfterwards) {
  test::TempDir scratch;
  const VerifyReport r = verify({.scratch_dir = scratch.str()});
  ASSERT_TRUE(r.ok()) << r.problems.front().what;
  EXPECT_TRUE(std::filesystem::is_empty(scratch.str()));
  const auto missing = scratch.str() + "/missing";
  auto store = open_for_reading(dir_.str());
  ASSERT_TRUE(store);
  auto refused = verify_ledger(**store, {.scratch_dir = missing});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(missing), std::string::npos) << refused.error().message;
}

TEST_F(Verify, AnEmptyLedgerPasses) {
  test::TempDir empty;
  { ASSERT_TRUE(Ledger::open({.data_dir = empty.str()})); }
  auto store = open_for_reading(empty.str());
  ASSERT_TRUE(store) << store.error().message;
  auto r = verify_ledger(**store);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->events, 0u);
}

TEST_F(Verify, OneChangedByteInAChineseReasonIsCaught) {
  Seq target;
  {
    auto store = open_raw(dir_);
    auto seq = test::first_event_of(*store, EventType::initial_review_rejected);
    ASSERT_TRUE(seq);
    target = *seq;
    std::string record = raw_get(*store, Cf::log, keys::seq(target));
    const auto at = record.find(test::kRejectReason);
    ASSERT_NE(at, std::string::npos);
    // The last byte of 符 (E7 AC A6) becomes A7: 笧 — still valid UTF-8, still decodes.
    record[at + test::kRejectReason.size() - 1] ^= 0x01;
    auto e = decode_record(record);
    ASSERT_TRUE(e);
    raw_put(*store, Cf::log, keys::seq(target), record);
  }
  const VerifyReport r = verify();
  expect_first_bad(r, target, "altered");
  EXPECT_EQ(r.head.value, target.value - 1);  // verified up to the event before
}

TEST_F(Verify, ADeletedEventIsCaught) {
  {
    auto store = open_raw(dir_);
    raw_del(*store, Cf::log, keys::seq(Seq(17)));
  }
  expect_first_bad(verify(), Seq(17), "missing");
}

// Projections and a tree in another version's layout (a ledger copied from an older daemon) are
// not compared, and verify says so once instead of reporting every record as damaged.
TEST_F(Verify, ProjectionsOfAnotherLayoutAreNamedNotCompared) {
  {
    auto store = open_raw(dir_);
    raw_put(*store, Cf::meta, keys::kProjectionsLayout,
            encode_count(kProjectionsLayoutVersion - 1));
    raw_del(*store, Cf::tree, keys::tree_block(0));  // what an older layout would not match
  }
  const VerifyReport r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << r.problems.front().what;
  EXPECT_NE(r.problems.front().what.find("built by another version of filingd"), std::string::npos)
      << r.problems.front().what;
  EXPECT_EQ(r.events, head_.seq.value);  // the log itself was checked
  {
    auto store = open_raw(dir_);
    ASSERT_TRUE(rebuild_projections(*store));
  }
  EXPECT_TRUE(verify().ok());
}

TEST_F(Verify, ADeletedLastEventIsCaughtByTheHead) {
  {
    auto store = open_raw(dir_);
    raw_del(*store, Cf::log, keys::seq(head_.seq));
  }
  expect_first_bad(verify(), head_.seq, "missing");
}

TEST_F(Verify, TwoSwappedEventsAreCaught) {
  {
    auto store = open_raw(dir_);
    const std::string a = raw_get(*store, Cf::log, keys::seq(Seq(9)));
    const std::string b = raw_get(*store, Cf::log, keys::seq(Seq(30)));
    raw_put(*store, Cf::log, keys::seq(Seq(9)), b);
    raw_put(*store, Cf::log, keys::seq(Seq(30)), a);
  }
  expect_first_bad(verify(), Seq(9), "swapped");
}

TEST_F(Verify, AnEventRewrittenWithItsHashRecomputedBreaksTheChain) {
  {
    auto store = open_raw(dir_);
    auto e = decode_record(raw_get(*store, Cf::log, keys::seq(Seq(12))));
    ASSERT_TRUE(e);
    e->actor = "mallory";
    const std::string body = encode_body(*e);
    raw_put(*store, Cf::log, keys::seq(Seq(12)),
            make_record(body, e->prev_hash, chain_hash(body, e->prev_hash)));
  }
  // The Merkle tree holds the event's original hash: it names the rewritten event itself.
  const VerifyReport r = verify();
  expect_first_bad(r, Seq(12), "Merkle tree");
  ASSERT_GE(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[1].seq, Seq(13)) << r.problems[1].what;
  EXPECT_NE(r.problems[1].what.find("chain is broken"), std::string::npos) << r.problems[1].what;
}

// An attacker who rewrites an event and re-chains everything after it (and the head) leaves a
// self-consistent log; only a head kept from before proves the rewrite.
TEST_F(Verify, ExpectHeadProvesTheLogWasNotRewritten) {
  const std::string receipt = std::to_string(head_.seq.value) + ":" + to_hex(head_.hash);
  auto expected = parse_expected_head(receipt);
  ASSERT_TRUE(expected);
  EXPECT_TRUE(verify({.expect_head = expected}).ok());
  {
    auto store = open_raw(dir_);
    const Hash last = test::rechain(*store, head_.seq.value, [](std::uint64_t s, Event& e) {
      if (s == 5) e.actor = "mallory";
    });
    test::put_head(*store, head_.seq, last);
    ASSERT_TRUE(rebuild_tree(*store));  // and the Merkle tree
  }
  EXPECT_TRUE(verify().ok());  // self-consistent
  expect_first_bad(verify({.expect_head = expected}), head_.seq, "rewritten");
}

// A log rewritten consistently (every hash recomputed) around an event the state machine
// refuses: the chain holds, the replay names the event.
TEST_F(Verify, AnEventThatDoesNotReplayIsNamed) {
  Seq bad;
  {
    auto store = open_raw(dir_);
    auto first = test::first_event_of(*store, EventType::initial_review_rejected);
    ASSERT_TRUE(first);
    bad = *first;
    test::rechain(*store, head_.seq.value, [&](std::uint64_t s, Event& e) {
      if (s == bad.value) e.data = BureauApproved{"京ICP备20269999号", {}};
    });
    ASSERT_TRUE(rebuild_tree(*store));
  }
  const VerifyReport r = verify();
  expect_first_bad(r, bad, "does not replay");
  EXPECT_FALSE(r.live_digest);  // no comparison with a partial rebuild
  // The log checks went on past it: the head no longer matches.
  bool head = false;
  for (const auto& p : r.problems) head |= p.what.find("ledger head hash") != std::string::npos;
  EXPECT_TRUE(head);
}

TEST_F(Verify, ExpectHeadWithAWrongHashOrBeyondTheLogFails) {
  ExpectedHead wrong{Seq(10), head_.hash};
  expect_first_bad(verify({.expect_head = wrong}), Seq(10), "rewritten");
  ExpectedHead beyond{Seq(head_.seq.value + 5), head_.hash};
  expect_first_bad(verify({.expect_head = beyond}), beyond.seq, "not in the log");
  EXPECT_FALSE(parse_expected_head("12"));
  EXPECT_FALSE(parse_expected_head("x:" + to_hex(head_.hash)));
  EXPECT_FALSE(parse_expected_head("0:" + to_hex(head_.hash)));
  EXPECT_FALSE(parse_expected_head("3:abcd"));
}

TEST_F(Verify, ACorruptedStreamEntryIsReported) {
  {
    auto store = open_raw(dir_);
    // F2's version 2 now claims to be seq 1 (F0's first event).
    raw_put(*store, Cf::streams, keys::stream("F2", Version(2)), keys::seq(Seq(1)));
  }
  const VerifyReport r = verify();
  expect_first_bad(r, Seq(1), "streams index entry F2 v2 points at seq 1, but F2 v2 is seq ");
  // Without the fold too: the streams index is checked from the log alone.
  expect_first_bad(verify({.check_projections = false}), Seq(1), "points at seq 1");
}

// A log rewritten consistently around an event whose version was changed: its filing's
// versions no longer run 1, 2, 3, ..., with or without the fold.
TEST_F(Verify, AVersionThatSkipsIsReported) {
  std::string filing;
  std::uint32_t version = 0;
  {
    auto store = open_raw(dir_);
    test::rechain(*store, head_.seq.value, [&](std::uint64_t s, Event& e) {
      if (s != 30) return;
      filing = e.filing_id;
      version = e.version.value;
      e.version = Version(version + 5);
    });
    ASSERT_TRUE(rebuild_tree(*store));
  }
  ASSERT_GT(version, 1u);
  for (bool fold : {true, false}) {
    const VerifyReport r = verify({.check_projections = fold});
    ASSERT_FALSE(r.ok());
    bool named = false;
    for (const auto& p : r.problems)
      named |= p.what.starts_with(filing + " skips version " + std::to_string(version) + ":");
    std::string all;
    for (const auto& p : r.problems) all += std::to_string(p.seq.value) + ": " + p.what + "\n";
    EXPECT_TRUE(named) << all;
  }
}

TEST_F(Verify, AMissingOrExtraIdempotencyEntryIsReported) {
  std::string event_id;
  {
    auto store = open_raw(dir_);
    auto e = decode_record(raw_get(*store, Cf::log, keys::seq(Seq(21))));
    ASSERT_TRUE(e);
    event_id = e->event_id;
    raw_del(*store, Cf::idempotency, event_id);
  }
  expect_first_bad(verify(), Seq(21), "no idempotency entry");
  {
    auto store = open_raw(dir_);
    std::string value(45, '\0');
    value.replace(0, 8, keys::seq(Seq(head_.seq.value + 100)));
    raw_put(*store, Cf::idempotency, event_id, value);
  }
  const VerifyReport r = verify();
  ASSERT_FALSE(r.ok());
  bool extra = false;
  for (const auto& p : r.problems) extra |= p.what.find("not in the log") != std::string::npos;
  EXPECT_TRUE(extra);
}

TEST_F(Verify, AnIdempotencyEntryWithAnotherStateIsReported) {
  {
    auto store = open_raw(dir_);
    auto e = decode_record(raw_get(*store, Cf::log, keys::seq(Seq(2))));
    ASSERT_TRUE(e);
    std::string value = raw_get(*store, Cf::idempotency, e->event_id);
    value[12] = static_cast<char>(FilingState::approved);
    raw_put(*store, Cf::idempotency, e->event_id, value);
  }
  const VerifyReport r = verify();
  expect_first_bad(r, Seq(2), "records state approved");
}

TEST_F(Verify, AProjectionChangeIsReported) {
  Hash before;
  {
    auto store = open_raw(dir_);
    before = *projections_digest(*store);
    auto status = decode_status(raw_get(*store, Cf::projections, keys::status("F3")));
    ASSERT_TRUE(status);
    status->state = FilingState::approved;
    raw_put(*store, Cf::projections, keys::status("F3"), encode_status(*status));
  }
  const VerifyReport r = verify();
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(r.live_digest && r.rebuilt_digest);
  EXPECT_NE(*r.live_digest, *r.rebuilt_digest);
  EXPECT_EQ(*r.rebuilt_digest, before);  // the rebuild is what the projections were
  EXPECT_NE(r.problems.front().what.find("projections differ"), std::string::npos);
  EXPECT_NE(r.problems.front().what.find("SF3"), std::string::npos) << r.problems.front().what;
  // An extra key is named too.
  {
    auto store = open_raw(dir_);
    ASSERT_TRUE(rebuild_projections(*store));
    raw_put(*store, Cf::projections, "Zjunk", "x");
  }
  const VerifyReport extra = verify();
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.problems.front().what.find("Zjunk"), std::string::npos);
  // A missing key too (the comparison then merges with the sorted rebuild).
  {
    auto store = open_raw(dir_);
    raw_del(*store, Cf::projections, "Zjunk");
    raw_del(*store, Cf::projections, keys::status("F5"));
  }
  const VerifyReport missing = verify();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.problems.front().what.find("\"SF5\" is in the rebuild but missing live"),
            std::string::npos)
      << missing.problems.front().what;
  EXPECT_EQ(*missing.rebuilt_digest, before);
  // Skipping projections passes: the log and indexes are intact.
  EXPECT_TRUE(verify({.check_projections = false}).ok());
}

TEST_F(Verify, AnInterruptedRebuildIsReported) {
  {
    auto store = open_raw(dir_);
    raw_put(*store, Cf::meta, keys::kRebuildMarker, "");
  }
  const VerifyReport r = verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problems.front().what.find("rebuild was interrupted"), std::string::npos);
}

TEST_F(Verify, RebuildOfflineIsRefusedWhileTheLedgerIsOpen) {
  auto ledger = Ledger::open({.data_dir = dir_.str()});
  ASSERT_TRUE(ledger);
  auto store = open_offline(dir_.str());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::unavailable);
  EXPECT_NE(store.error().message.find("LOCK"), std::string::npos) << store.error().message;
  // Reading works meanwhile.
  auto reader = open_for_reading(dir_.str());
  ASSERT_TRUE(reader) << reader.error().message;
  auto r = verify_ledger(**reader);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
}

TEST(VerifyOpen, AMissingLedgerIsNotFound) {
  test::TempDir dir;
  auto store = open_for_reading((dir.path() / "nope").string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::not_found);
  auto offline = open_offline(dir.str());
  ASSERT_FALSE(offline);
  EXPECT_EQ(offline.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace filingd
