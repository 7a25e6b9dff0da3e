// Replay, history as of a point, export, and reading through a secondary instance while a
// ledger is open and appending.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "events/encoding.hpp"
#include "events/json.hpp"
#include "ledger/format/projection_values.hpp"
#include "projections/state_machine.hpp"
#include "replay/export.hpp"
#include "replay/history.hpp"
#include "replay/memory_projections.hpp"
#include "replay/open.hpp"
#include "replay/rebuild.hpp"
#include "replay/verify.hpp"
#include "tests/audit_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

// What the live projections said at one moment of the writing: the oracle of replay.
struct Checkpoint {
  Seq seq;
  Timestamp time;  // a business time after the last event and before the next
  std::map<std::string, std::string> statuses;  // filing_id -> encode_status
};

class Replay : public testing::Test {
 protected:
  void SetUp() override {
    ManualClock clock(test::kAuditStart);
    auto ledger = Ledger::open({.data_dir = dir_.str(), .clock = &clock});
    ASSERT_TRUE(ledger);
    for (int chunk = 0; chunk < 4; ++chunk) {
      test::write_audit_history(**ledger, clock, 4, chunk * 4);
      Checkpoint c;
      c.seq = (*ledger)->head().seq;
      c.time = Timestamp{clock.now().micros - kMicrosPerHour};  // the last event's own time
      auto ids = (*ledger)->scan_index(keys::kStatusPrefix, "", 1000);
      ASSERT_TRUE(ids);
      for (const auto& id : *ids) {
        auto s = (*ledger)->status(id);
        ASSERT_TRUE(s && *s);
        c.statuses[id] = encode_status(**s);
      }
      checkpoints_.push_back(std::move(c));
    }
    head_ = (*ledger)->head();
  }

  std::unique_ptr<Store> reader() {
    auto store = open_for_reading(dir_.str());
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  static std::map<std::string, std::string> encoded(
      const std::map<std::string, FilingStatus>& statuses) {
    std::map<std::string, std::string> out;
    for (const auto& [id, s] : statuses) out[id] = encode_status(s);
    return out;
  }

  test::TempDir dir_;
  std::vector<Checkpoint> checkpoints_;
  LedgerHead head_;
};

TEST_F(Replay, IntoEmptyProjectionsIsDeterministicAndEqualsTheLiveState) {
  auto store = reader();
  MemoryProjections first, second;
  ASSERT_TRUE(replay_projections(*store, first));
  ASSERT_TRUE(replay_projections(*store, second));
  EXPECT_GT(first.size(), 0u);
  EXPECT_EQ(first.digest(), second.digest());
  EXPECT_EQ(first.digest(), *projections_digest(*store));
  // verify's scratch rebuild is the same fold.
  auto report = verify_ledger(*store);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->ok()) << report->problems.front().what;
  EXPECT_EQ(*report->rebuilt_digest, first.digest());
}

TEST_F(Replay, UntilASeqGivesEveryFilingsStateAsItWasThen) {
  auto store = reader();
  for (const Checkpoint& c : checkpoints_) {
    auto statuses = replay_log(*store, {.until_seq = c.seq});
    ASSERT_TRUE(statuses) << statuses.error().message;
    EXPECT_EQ(encoded(*statuses), c.statuses) << "until seq " << c.seq.value;
  }
  // The head: everything, as live.
  auto all = replay_log(*store, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(encoded(*all), checkpoints_.back().statuses);
  // Before the first event: nothing.
  auto none = replay_log(*store, {.until_seq = Seq(0)});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(Replay, UntilATimeGivesEveryFilingsStateAsItWasThen) {
  auto store = reader();
  for (const Checkpoint& c : checkpoints_) {
    // Inclusive: the checkpoint's last event happened exactly at c.time.
    auto statuses = replay_log(*store, {.until = c.time});
    ASSERT_TRUE(statuses);
    EXPECT_EQ(encoded(*statuses), c.statuses) << format_rfc3339(c.time);
    // A minute later (before the next event, an hour later): the same.
    auto later = replay_log(*store, {.until = Timestamp{c.time.micros + 60 * kMicrosPerSecond}});
    ASSERT_TRUE(later);
    EXPECT_EQ(encoded(*later), c.statuses);
  }
}

TEST_F(Replay, OneFilingAsOfAPointEqualsFoldingItsEventsByHand) {
  auto store = reader();
  auto events = filing_events(*store, "F5");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);  // submitted, rejected, resubmitted
  for (std::size_t k = 1; k <= events->size(); ++k) {
    FilingStatus by_hand;
    for (std::size_t i = 0; i < k; ++i) ASSERT_TRUE(apply_event(by_hand, (*events)[i]));
    const Event& last = (*events)[k - 1];
    auto at_time = fold_filing(*events, {.until = last.occurred_at});
    auto at_seq = fold_filing(*events, {.until_seq = last.seq});
    auto through_log = replay_log(*store, {.until_seq = last.seq}, "F5");
    ASSERT_TRUE(at_time && *at_time && at_seq && *at_seq && through_log);
    EXPECT_EQ(encode_status(**at_time), encode_status(by_hand));
    EXPECT_EQ(encode_status(**at_seq), encode_status(by_hand));
    EXPECT_EQ(encode_status(through_log->at("F5")), encode_status(by_hand));
  }
  EXPECT_EQ((*fold_filing(*events, {.until_seq = Seq(1)})), std::nullopt);  // not yet filed
  EXPECT_EQ((*fold_filing(*events, {.until = test::kAuditStart})), std::nullopt);
  auto unknown = filing_events(*store, "F-nope");
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->empty());
}

TEST_F(Replay, HistoryLinesAreReadableWithChineseTextIntact) {
  auto store = reader();
  auto events = filing_events(*store, "F0");
  ASSERT_TRUE(events);
  ASSERT_GE(events->size(), 2u);
  const std::string rejected = history_line((*events)[1]);
  EXPECT_NE(rejected.find("#" + std::to_string((*events)[1].seq.value)), std::string::npos);
  EXPECT_NE(rejected.find("v2"), std::string::npos);
  EXPECT_NE(rejected.find("initial_review_rejected"), std::string::npos);
  EXPECT_NE(rejected.find("rev-1"), std::string::npos);
  EXPECT_NE(rejected.find("reason=" + test::kRejectReason), std::string::npos) << rejected;
  EXPECT_NE(rejected.find(format_rfc3339((*events)[1].occurred_at)), std::string::npos);
  const std::string submitted = history_line((*events)[0]);
  EXPECT_NE(submitted.find("province=京"), std::string::npos) << submitted;
  EXPECT_NE(submitted.find("北京测试科技有限公司0"), std::string::npos) << submitted;
  EXPECT_NE(submitted.find("site0.cn"), std::string::npos) << submitted;
  auto withdrawn = filing_events(*store, "F1");
  ASSERT_TRUE(withdrawn);
  EXPECT_NE(history_line(withdrawn->back()).find("reason_code=applicant_request"),
            std::string::npos);
}

// The scratch projections' hash table against std::map: puts, overwrites, deletes (tombstones,
// growth), short and long keys, ordering and digest.
TEST(MemoryProjections, BehaveLikeAnOrderedMap) {
  MemoryProjections mine;
  std::map<std::string, std::string> oracle;
  std::mt19937_64 rng(42);
  auto key = [&](std::uint64_t n) {
    std::string k = "K" + std::to_string(n % 5000);
    if (n % 7 == 0) k += std::string(40, 'x');  // beyond the inline size
    if (n % 11 == 0) k.push_back('\0');
    return k;
  };
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t r = rng();
    const std::string k = key(r >> 8);
    switch (r % 4) {
      case 0:
      case 1: {
        const std::string v = "v" + std::to_string(r);
        mine.put(k, v);
        oracle[k] = v;
        break;
      }
      case 2:
        mine.del(k);
        oracle.erase(k);
        break;
      default: {
        auto got = mine.get(k);
        auto want = oracle.find(k);
        ASSERT_EQ(got.has_value(), want != oracle.end()) << k;
        if (got) {
          ASSERT_EQ(*got, want->second);
        }
      }
    }
  }
  ASSERT_EQ(mine.size(), oracle.size());
  const auto sorted = mine.sorted();
  ASSERT_EQ(sorted.size(), oracle.size());
  ProjectionDigest digest;
  std::size_t i = 0;
  for (const auto& [k, v] : oracle) {
    ASSERT_EQ(sorted[i].first, k);
    ASSERT_EQ(sorted[i].second, v);
    digest.add(k, v);
    ++i;
  }
  EXPECT_EQ(mine.digest(), digest.finish());

  // Emptied, it keeps its table for the next fill (a fold's overlay after a spill), and holds
  // only what is put after.
  mine.clear();
  EXPECT_EQ(mine.size(), 0u);
  EXPECT_TRUE(mine.sorted().empty());
  EXPECT_FALSE(mine.get(oracle.begin()->first).has_value());
  mine.put("b", "2");
  mine.put("a", "1");
  mine.del("b");
  const auto refilled = mine.sorted();
  ASSERT_EQ(refilled.size(), 1u);
  EXPECT_EQ(refilled[0], MemoryProjections::Entry("a", "1"));
  mine.release();
  EXPECT_EQ(mine.size(), 0u);
  EXPECT_FALSE(mine.get("a").has_value());
}

// RFC 4180: fields separated by commas, quoted fields with doubled quotes.
std::vector<std::string> parse_csv_line(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(Replay, ExportJsonLinesRoundTrips) {
  auto store = reader();
  std::ostringstream out;
  auto n = export_events(*store, ExportFormat::jsonl, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, head_.seq.value);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), head_.seq.value);
  auto rejected = filing_events(*store, "F0");
  ASSERT_TRUE(rejected);
  const Event& e = (*rejected)[1];
  const json::value parsed = json::parse(lines[e.seq.value - 1]);
  EXPECT_EQ(parsed, json::value(event_to_json(e)));
  EXPECT_EQ(parsed.at("data").at("reason").as_string(), test::kRejectReason);
  EXPECT_EQ(parsed.at("seq").to_number<std::uint64_t>(), e.seq.value);
  // The last line carries the head hash.
  EXPECT_EQ(json::parse(lines.back()).at("hash").as_string(), to_hex(head_.hash));
}

TEST_F(Replay, ExportCsvRoundTrips) {
  auto store = reader();
  std::ostringstream out;
  auto n = export_events(*store, ExportFormat::csv, out);
  ASSERT_TRUE(n);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), head_.seq.value + 1);
  EXPECT_EQ(lines[0], kCsvHeader);
  auto events = filing_events(*store, "F0");
  ASSERT_TRUE(events);
  const Event& e = (*events)[1];
  const auto fields = parse_csv_line(lines[e.seq.value]);
  ASSERT_EQ(fields.size(), 13u) << lines[e.seq.value];
  EXPECT_EQ(fields[0], std::to_string(e.seq.value));
  EXPECT_EQ(fields[1], "F0");
  EXPECT_EQ(fields[2], "2");
  EXPECT_EQ(fields[3], e.event_id);
  EXPECT_EQ(fields[4], "initial_review_rejected");
  EXPECT_EQ(fields[5], "1");
  EXPECT_EQ(fields[6], format_rfc3339(e.occurred_at));
  EXPECT_EQ(fields[8], "rev-1");
  EXPECT_EQ(fields[9], "local");
  const json::value data = json::parse(fields[10]);
  EXPECT_EQ(data, json::value(payload_to_json(e.data)));
  EXPECT_EQ(data.at("reason").as_string(), test::kRejectReason);
  EXPECT_EQ(fields[11], to_hex(e.prev_hash));
  EXPECT_EQ(fields[12], to_hex(e.hash));
  EXPECT_EQ(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

// The daemon's situation: a Ledger open and appending, filingctl reading next to it.
TEST(SecondaryReads, SeeAConsistentPrefixWhileTheLedgerAppends) {
  test::TempDir dir;
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  for (int n = 0; n < 5; ++n)
    ASSERT_TRUE((*ledger)->append(test::submit("F" + std::to_string(n), n)));

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int n = 5; n < 400 && !stop; ++n) {
      const std::string id = "F" + std::to_string(n);
      if (!(*ledger)->append(test::submit(id, n))) ++failures;
      if (!(*ledger)->append(test::action(id, InitialReviewApproved{}))) ++failures;
      if (!(*ledger)->append(test::action(id, PhotoApproved{}))) ++failures;
    }
  });

  std::uint64_t last_head = 0;
  for (int round = 0; round < 15; ++round) {
    auto store = open_for_reading(dir.str());
    ASSERT_TRUE(store) << store.error().message;
    auto report = verify_ledger(**store);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_TRUE(report->ok()) << report->problems.front().what;
    EXPECT_GE(report->head.value, last_head);
    // Never beyond what the ledger commits (the secondary may see a batch a moment before the
    // writer publishes its new head).
    for (int i = 0; i < 1000 && (*ledger)->head().seq.value < report->head.value; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_LE(report->head.value, (*ledger)->head().seq.value);
    last_head = report->head.value;
    // A filing's history in the same view: versions 1..n, the last one at most the head.
    auto statuses = replay_log(**store, {});
    ASSERT_TRUE(statuses);
    for (const auto& [id, s] : *statuses) {
      auto events = filing_events(**store, id);
      ASSERT_TRUE(events);
      ASSERT_EQ(events->size(), s.version.value) << id;
      for (std::size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].version.value, i + 1);
      EXPECT_LE(events->back().seq.value, report->head.value);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(last_head, 5u);
  // Opened after the writer stopped: everything.
  auto store = open_for_reading(dir.str());
  ASSERT_TRUE(store) << store.error().message;
  auto final_report = verify_ledger(**store);
  ASSERT_TRUE(final_report && final_report->ok());
  EXPECT_EQ(final_report->head, (*ledger)->head().seq);
  EXPECT_EQ(final_report->head_hash, (*ledger)->head().hash);
}

}  // namespace
}  // namespace filingd
