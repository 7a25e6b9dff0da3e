// Fixtures of the audit-tooling tests (verify, replay, filingctl): a ledger with a mixed
// history on a manual clock, and raw access to its column families for tampering.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"
#include "replay/open.hpp"
#include "replay/verify.hpp"
#include "tests/test_util.hpp"

namespace filingd::test {

// 2026-01-05T00:00:00Z; every appended event advances the clock by one hour, so each event has
// its own business time.
inline constexpr Timestamp kAuditStart{1'767'571'200'000'000};

// The reason text of the initial-review rejections the history holds (tests look for it).
inline const std::string kRejectReason = "网站名称不符合要求";

// A mixed history over `filings` filings: returns with Chinese reasons and resubmissions,
// withdrawals (with a reason_code), approvals with record numbers, a bureau rejection, SMS
// verifications left pending.
inline void write_audit_history(Ledger& ledger, ManualClock& clock, int filings, int first = 0) {
  for (int n = first; n < first + filings; ++n) {
    const std::string id = "F" + std::to_string(n);
    auto must = [&](AppendCommand c) {
      auto r = ledger.append(std::move(c));
      ASSERT_TRUE(r) << r.error().message;
      clock.advance(kMicrosPerHour);
    };
    must(submit(id, n));
    switch (n % 5) {
      case 0:
        must(action(id, InitialReviewRejected{{"rev-2", "website_name", kRejectReason}}));
        must(submit(id, n));
        break;
      case 1:
        must(action(id, FilingWithdrawn{"申请人撤回", "applicant_request"}));
        break;
      case 4:
        must(action(id, InitialReviewApproved{}));
        must(action(id, PhotoApproved{}));
        must(action(id, SubmittedToBureau{}));
        must(action(id, SmsConfirmed{}));
        must(action(id, BureauRejected{"subject_name", "主体名称与证件不符"}));
        break;
      default: {
        must(action(id, InitialReviewApproved{}));
        must(action(id, PhotoApproved{}));
        must(action(id, SubmittedToBureau{}));
        if (n % 5 == 3) break;
        must(action(id, SmsConfirmed{}));
        const std::string number = "京ICP备" + std::to_string(20260000 + n) + "号";
        const std::string domain = "site" + std::to_string(n) + ".cn";
        must(action(id, BureauApproved{number, {{domain, number + "-1"}}}));
      }
    }
  }
}

// A closed ledger in `dir` with write_audit_history(filings); returns its head.
inline LedgerHead make_audit_ledger(const TempDir& dir, int filings) {
  ManualClock clock(kAuditStart);
  auto ledger = Ledger::open({.data_dir = dir.str(), .clock = &clock});
  EXPECT_TRUE(ledger) << ledger.error().message;
  if (!ledger) return {};
  write_audit_history(**ledger, clock, filings);
  return (*ledger)->head();
}

// Read-write access for tampering (the ledger must be closed).
inline std::unique_ptr<Store> open_raw(const TempDir& dir) {
  auto store = Store::open({.path = dir.str(), .create_if_missing = false});
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

inline std::string raw_get(Store& store, Cf cf, std::string_view key) {
  auto v = store.get(cf, key);
  EXPECT_TRUE(v && *v) << "no key in " << cf_name(cf);
  return v && *v ? **v : std::string();
}

inline void raw_put(Store& store, Cf cf, std::string_view key, std::string_view value) {
  ASSERT_TRUE(store.db()->Put(rocksdb::WriteOptions(), store.cf(cf), key, value).ok());
}

inline void raw_del(Store& store, Cf cf, std::string_view key) {
  ASSERT_TRUE(store.db()->Delete(rocksdb::WriteOptions(), store.cf(cf), key).ok());
}

// A forger's rewrite of events 1..last: each decoded, changed by `edit(seq, event)`, re-encoded,
// re-hashed and re-chained. Returns the new hash of `last`.
inline Hash rechain(Store& store, std::uint64_t last,
                    const std::function<void(std::uint64_t, Event&)>& edit) {
  Hash prev{};
  for (std::uint64_t s = 1; s <= last; ++s) {
    auto e = decode_record(raw_get(store, Cf::log, keys::seq(Seq(s))));
    EXPECT_TRUE(e) << "seq " << s;
    if (!e) return prev;
    edit(s, *e);
    const std::string body = encode_body(*e);
    const Hash h = chain_hash(body, prev);
    raw_put(store, Cf::log, keys::seq(Seq(s)), make_record(body, prev, h));
    prev = h;
  }
  return prev;
}

// verify_ledger over the ledger in `dir`, opened for reading as filingctl does.
inline VerifyReport verify_dir(const TempDir& dir, const VerifyOptions& options = {}) {
  auto store = open_for_reading(dir.str());
  EXPECT_TRUE(store) << store.error().message;
  if (!store) return {};
  auto report = verify_ledger(**store, options);
  EXPECT_TRUE(report) << report.error().message;
  return report ? std::move(*report) : VerifyReport{};
}

// Overwrites the meta head.
inline void put_head(Store& store, Seq seq, const Hash& hash) {
  std::string head;
  keys::put_u64(head, seq.value);
  head.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  raw_put(store, Cf::meta, keys::kHead, head);
}

// The seq of the first event of `type` in the log.
inline std::optional<Seq> first_event_of(Store& store, EventType type) {
  for (std::uint64_t s = 1;; ++s) {
    auto raw = store.get(Cf::log, keys::seq(Seq(s)));
    if (!raw || !*raw) return std::nullopt;
    auto e = decode_record(**raw);
    if (e && e->type() == type) return Seq(s);
  }
}

}  // namespace filingd::test
