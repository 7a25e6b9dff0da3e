// Concurrency of the ledger's append path (SPEC §2.1): many writers, one writer thread, group
// commit. Checks that seqs are unique and gapless, streams are gapless per filing, optimistic
// concurrency admits exactly one racer per version, idempotent retries write once, and the hash
// chain over the whole log is intact.
#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"
#include "ledger/format/keys.hpp"
#include "tests/test_util.hpp"
#include "ledger/format/event_record.hpp"

namespace filingd {
namespace {

constexpr int kThreads = 8;

std::unique_ptr<Ledger> open_ledger(const test::TempDir& dir) {
  auto opened = Ledger::open({.data_dir = dir.str()});
  if (!opened) {
    ADD_FAILURE() << "cannot open the ledger: " << opened.error().message;
    return nullptr;
  }
  return std::move(*opened);
}

Payload photo_rejected(std::string reason) {
  PhotoRejected p;
  p.reviewer = "rev-2";
  p.method = PhotoMethod::photo;
  p.reason = std::move(reason);
  return p;
}

Payload photo_approved() {
  PhotoApproved p;
  p.reviewer = "rev-2";
  p.method = PhotoMethod::video;
  p.reason = "clear";
  return p;
}

Payload initial_review_approved() {
  InitialReviewApproved a;
  a.reviewer = "rev-1";
  a.reason_code = "ok";
  a.reason = "complete";
  return a;
}

std::string describe(const Error& e) {
  return std::string(to_string(e.code)) + ": " + e.message +
         (e.field.empty() ? "" : " (" + e.field + ")");
}

std::string reason_of(const Event& e) {
  if (const auto* p = std::get_if<PhotoRejected>(&e.data)) return p->reason;
  return {};
}

// Walks the whole `log` column family and verifies every record: keys are seq 1, 2, ... without
// gaps, each record splits into body and hashes, hash == chain_hash(body, prev_hash), prev_hash
// is the previous record's hash (all zero for seq 1), the body carries the key's seq, and the
// last record is the head. Returns "" when all holds, else the first problem found.
std::string check_chain(const Store& store, const LedgerHead& head) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::log)));
  Hash prev{};
  std::uint64_t expected = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    const std::string at = "seq " + std::to_string(expected) + ": ";
    if (it->key().ToStringView() != keys::seq(Seq(expected)))
      return at + "found key for seq " +
             std::to_string(keys::parse_seq(it->key().ToStringView())->value);
    auto rec = split_record(it->value().ToStringView());
    if (!rec) return at + "record does not split: " + rec.error().message;
    if (rec->prev_hash != prev) return at + "prev_hash is not the previous record's hash";
    if (chain_hash(rec->body, rec->prev_hash) != rec->hash)
      return at + "hash is not SHA-256(body || prev_hash)";
    auto body = decode_body(rec->body);
    if (!body) return at + "body does not decode: " + body.error().message;
    if (body->seq != Seq(expected))
      return at + "body carries seq " + std::to_string(body->seq.value);
    prev = rec->hash;
  }
  if (!it->status().ok()) return "log iteration failed: " + it->status().ToString();
  if (expected - 1 != head.seq.value)
    return "log ends at seq " + std::to_string(expected - 1) + " but the head is seq " +
           std::to_string(head.seq.value);
  if (prev != head.hash) return "the head hash is not the last record's hash";
  return "";
}

// Every event of the log, in seq order.
std::vector<Event> all_events(const Ledger& ledger) {
  auto events = ledger.events_after(Seq(0), SIZE_MAX);
  if (!events) {
    ADD_FAILURE() << "events_after failed: " << describe(events.error());
    return {};
  }
  return std::move(*events);
}

// ---- many filings ---------------------------------------------------------------------------

TEST(ConcurrencyManyFilings, EightThreadsGetUniqueGaplessSeqsAndGaplessStreams) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);

  constexpr int kFilingsPerThread = 25;
  // Per filing: submitted, photo_rejected, initial_review_approved, photo_approved.
  constexpr int kStepsPerFiling = 4;
  const FilingState kStateAfter[kStepsPerFiling] = {
      FilingState::provider_review, FilingState::provider_review, FilingState::provider_review,
      FilingState::ready_for_bureau};
  auto filing_id = [](int t, int i) {
    return "many-t" + std::to_string(t) + "-f" + std::to_string(i);
  };

  std::vector<std::vector<AppendResult>> acks(kThreads);
  std::vector<std::string> errors(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Step by step over all of the thread's filings, so the streams interleave in the log.
      for (int step = 0; step < kStepsPerFiling; ++step) {
        for (int i = 0; i < kFilingsPerThread; ++i) {
          const std::string id = filing_id(t, i);
          AppendCommand cmd;
          switch (step) {
            case 0:
              cmd = test::submit(id, 1 + t * 1000 + i);
              break;
            case 1:
              cmd = test::action(id, photo_rejected("blurred"), Version(1));
              break;
            case 2:
              cmd = test::action(id, initial_review_approved(), Version(2));
              break;
            default:
              cmd = test::action(id, photo_approved(), Version(3));
              break;
          }
          auto r = ledger->append(std::move(cmd));
          if (!r) {
            errors[t] = id + " step " + std::to_string(step) + ": " + describe(r.error());
            return;
          }
          acks[t].push_back(*r);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;

  constexpr std::uint64_t kTotal = std::uint64_t{kThreads} * kFilingsPerThread * kStepsPerFiling;
  const LedgerHead head = ledger->head();
  ASSERT_EQ(head.seq.value, kTotal);

  // Every acknowledged seq is unique and together they are exactly 1..head.
  std::vector<std::uint64_t> seqs;
  std::map<std::uint64_t, const AppendResult*> by_seq;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acks[t].size(), static_cast<std::size_t>(kFilingsPerThread * kStepsPerFiling));
    std::uint64_t last = 0;
    for (std::size_t k = 0; k < acks[t].size(); ++k) {
      const AppendResult& a = acks[t][k];
      EXPECT_FALSE(a.duplicate) << a.filing_id;
      const int step = static_cast<int>(k) / kFilingsPerThread;
      EXPECT_EQ(a.version.value, static_cast<std::uint32_t>(step + 1)) << a.filing_id;
      EXPECT_EQ(to_string(a.state), to_string(kStateAfter[step])) << a.filing_id;
      // One thread's appends are sequential, so the ledger must order them as issued.
      EXPECT_GT(a.seq.value, last) << "thread " << t << " append " << k;
      last = a.seq.value;
      seqs.push_back(a.seq.value);
      EXPECT_TRUE(by_seq.emplace(a.seq.value, &a).second)
          << "seq " << a.seq.value << " acked twice";
    }
  }
  std::sort(seqs.begin(), seqs.end());
  ASSERT_EQ(seqs.size(), kTotal);
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1) << "seqs are not 1..head";

  // The log holds exactly head events in seq order, each the acknowledged one.
  const std::vector<Event> events = all_events(*ledger);
  ASSERT_EQ(events.size(), kTotal);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    ASSERT_EQ(e.seq.value, i + 1);
    const AppendResult& a = *by_seq.at(e.seq.value);
    EXPECT_EQ(e.filing_id, a.filing_id) << "seq " << e.seq.value;
    EXPECT_EQ(e.version.value, a.version.value) << "seq " << e.seq.value;
    EXPECT_EQ(e.event_id, a.event_id) << "seq " << e.seq.value;
  }
  EXPECT_EQ(ledger->events_after(head.seq, 10)->size(), 0u);

  // Each filing's stream is versions 1..4, gapless, at the acknowledged seqs.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kFilingsPerThread; ++i) {
      const std::string id = filing_id(t, i);
      auto stream = ledger->stream(id);
      ASSERT_TRUE(stream) << describe(stream.error());
      ASSERT_EQ(stream->size(), static_cast<std::size_t>(kStepsPerFiling)) << id;
      for (int step = 0; step < kStepsPerFiling; ++step) {
        const Event& e = (*stream)[static_cast<std::size_t>(step)];
        const AppendResult& a = acks[t][static_cast<std::size_t>(step * kFilingsPerThread + i)];
        EXPECT_EQ(e.filing_id, id);
        EXPECT_EQ(e.version.value, static_cast<std::uint32_t>(step + 1)) << id;
        EXPECT_EQ(e.seq.value, a.seq.value) << id << " v" << step + 1;
      }
      auto status = ledger->status(id);
      ASSERT_TRUE(status && *status) << id;
      EXPECT_EQ((*status)->version.value, static_cast<std::uint32_t>(kStepsPerFiling)) << id;
      EXPECT_EQ((*status)->last_seq.value, stream->back().seq.value) << id;
      EXPECT_EQ(to_string((*status)->state), to_string(FilingState::ready_for_bureau)) << id;
    }
  }

  EXPECT_EQ(check_chain(ledger->store(), head), "");
}

// ---- one filing, many writers ---------------------------------------------------------------

// Checks the stream of `id`: versions 1..expected_versions gapless, every acknowledged event at
// its acknowledged version and seq, and no event_id twice.
void expect_stream_matches(const Ledger& ledger, const std::string& id,
                           std::uint32_t expected_versions, const std::vector<AppendResult>& acks) {
  auto stream = ledger.stream(id);
  ASSERT_TRUE(stream) << describe(stream.error());
  ASSERT_EQ(stream->size(), expected_versions);
  std::set<std::string> event_ids;
  std::uint64_t last_seq = 0;
  for (std::size_t i = 0; i < stream->size(); ++i) {
    const Event& e = (*stream)[i];
    EXPECT_EQ(e.version.value, i + 1) << id;
    EXPECT_GT(e.seq.value, last_seq) << id << " v" << i + 1;
    last_seq = e.seq.value;
    EXPECT_TRUE(event_ids.insert(e.event_id).second) << "event_id " << e.event_id << " twice";
  }
  std::set<std::uint32_t> acked_versions;
  for (const AppendResult& a : acks) {
    EXPECT_TRUE(acked_versions.insert(a.version.value).second)
        << "version " << a.version.value << " acknowledged twice";
    ASSERT_GE(a.version.value, 1u);
    ASSERT_LE(a.version.value, expected_versions);
    const Event& e = (*stream)[a.version.value - 1];
    EXPECT_EQ(e.seq.value, a.seq.value) << "v" << a.version.value;
    EXPECT_EQ(e.event_id, a.event_id) << "v" << a.version.value;
  }
  auto status = ledger.status(id);
  ASSERT_TRUE(status && *status);
  EXPECT_EQ((*status)->version.value, expected_versions);
  EXPECT_EQ((*status)->last_seq.value, last_seq);
}

TEST(ConcurrencyOneFiling, WithoutExpectedVersionEveryAppendLands) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  const std::string id = "one-free";
  auto submitted = ledger->append(test::submit(id, 1));
  ASSERT_TRUE(submitted) << describe(submitted.error());

  constexpr int kPerThread = 30;
  std::vector<std::vector<AppendResult>> acks(kThreads);
  std::vector<std::string> errors(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kPerThread; ++k) {
        // photo_rejected keeps the filing in provider_review, so every append is allowed.
        auto cmd =
            test::action(id, photo_rejected("t" + std::to_string(t) + "-" + std::to_string(k)));
        auto r = ledger->append(std::move(cmd));
        if (!r) {
          errors[t] = "append " + std::to_string(k) + ": " + describe(r.error());
          return;
        }
        acks[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;

  std::vector<AppendResult> flat;
  for (int t = 0; t < kThreads; ++t) {
    std::uint32_t last = 0;
    for (const AppendResult& a : acks[t]) {
      EXPECT_FALSE(a.duplicate);
      EXPECT_GT(a.version.value, last) << "thread " << t << ": versions out of order";
      last = a.version.value;
      flat.push_back(a);
    }
  }
  constexpr std::uint32_t kVersions = 1 + kThreads * kPerThread;
  expect_stream_matches(*ledger, id, kVersions, flat);
  EXPECT_EQ(ledger->head().seq.value, kVersions);

  // Every thread's events are there, each exactly once.
  auto stream = ledger->stream(id);
  ASSERT_TRUE(stream);
  std::map<std::string, int> reasons;
  for (const Event& e : *stream) {
    if (e.version.value > 1) ++reasons[reason_of(e)];
  }
  ASSERT_EQ(reasons.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& [reason, count] : reasons) EXPECT_EQ(count, 1) << reason;

  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
}

TEST(ConcurrencyOneFiling, ExpectedVersionRaceHasExactlyOneWinner) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  const std::string id = "one-race";
  ASSERT_TRUE(ledger->append(test::submit(id, 1)));

  constexpr int kRounds = 20;
  struct Outcome {
    std::uint32_t read_version = 0;
    std::optional<AppendResult> ok;
    std::optional<Error> error;
  };
  std::vector<std::vector<Outcome>> outcomes(kRounds, std::vector<Outcome>(kThreads));
  // Phase 1: everyone reads the status. Phase 2: everyone appends with the version it read.
  // The barrier between them means nobody writes before all have read, so all race for the
  // same version; the barrier after means the next round reads only after all have appended.
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        Outcome& out = outcomes[round][t];
        auto status = ledger->status(id);
        if (!status || !*status) {
          out.error = make_error(ErrorCode::internal, "status read failed");
        } else {
          out.read_version = (*status)->version.value;
        }
        sync.arrive_and_wait();
        if (!out.error) {
          auto cmd = test::action(
              id, photo_rejected("r" + std::to_string(round) + "-t" + std::to_string(t)),
              Version(out.read_version));
          auto r = ledger->append(std::move(cmd));
          if (r) {
            out.ok = *r;
          } else {
            out.error = r.error();
          }
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& th : threads) th.join();

  std::vector<AppendResult> winners;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint32_t expected_read = static_cast<std::uint32_t>(round + 1);
    int wins = 0;
    for (int t = 0; t < kThreads; ++t) {
      const Outcome& out = outcomes[round][t];
      EXPECT_EQ(out.read_version, expected_read) << "round " << round << " thread " << t;
      if (out.ok) {
        ++wins;
        EXPECT_EQ(out.ok->version.value, expected_read + 1) << "round " << round;
        winners.push_back(*out.ok);
      } else {
        ASSERT_TRUE(out.error.has_value());
        EXPECT_EQ(out.error->code, ErrorCode::conflict)
            << "round " << round << " thread " << t << ": " << describe(*out.error);
        EXPECT_EQ(out.error->field, "expected_version");
      }
    }
    EXPECT_EQ(wins, 1) << "round " << round;
  }
  // Losers wrote nothing: the stream is the submission plus one winner per round.
  expect_stream_matches(*ledger, id, 1 + kRounds, winners);
  EXPECT_EQ(ledger->head().seq.value, static_cast<std::uint64_t>(1 + kRounds));
  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
}

TEST(ConcurrencyOneFiling, RetryLoopsWithExpectedVersionLoseNothing) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  const std::string id = "one-retry";
  ASSERT_TRUE(ledger->append(test::submit(id, 1)));

  constexpr int kPerThread = 20;
  constexpr int kMaxAttempts = 10'000;  // per event; only reached if conflicts never resolve
  std::vector<std::vector<AppendResult>> acks(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<int> conflicts(kThreads, 0);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kPerThread; ++k) {
        const std::string event_id = "retry-t" + std::to_string(t) + "-k" + std::to_string(k);
        bool done = false;
        for (int attempt = 0; attempt < kMaxAttempts && !done; ++attempt) {
          auto status = ledger->status(id);
          if (!status || !*status) {
            errors[t] = "status read failed";
            return;
          }
          auto cmd = test::action(id, photo_rejected(event_id), (*status)->version);
          cmd.event_id = event_id;  // a refused attempt writes nothing, so the id stays free
          auto r = ledger->append(std::move(cmd));
          if (r) {
            if (r->duplicate) {
              errors[t] = event_id + " reported as a duplicate";
              return;
            }
            acks[t].push_back(*r);
            done = true;
          } else if (r.error().code == ErrorCode::conflict) {
            ++conflicts[t];
          } else {
            errors[t] = event_id + ": " + describe(r.error());
            return;
          }
        }
        if (!done) {
          errors[t] = event_id + ": no success after " + std::to_string(kMaxAttempts) + " tries";
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;

  std::vector<AppendResult> flat;
  int total_conflicts = 0;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acks[t].size(), static_cast<std::size_t>(kPerThread));
    total_conflicts += conflicts[t];
    flat.insert(flat.end(), acks[t].begin(), acks[t].end());
  }
  constexpr std::uint32_t kVersions = 1 + kThreads * kPerThread;
  expect_stream_matches(*ledger, id, kVersions, flat);
  // Refused attempts left no trace: the log is exactly the successful appends.
  EXPECT_EQ(ledger->head().seq.value, kVersions);

  // Every thread's events are present, each once, under its own event_id.
  auto stream = ledger->stream(id);
  ASSERT_TRUE(stream);
  std::set<std::string> ids;
  for (const Event& e : *stream) {
    if (e.version.value == 1) continue;
    EXPECT_EQ(reason_of(e), e.event_id);
    ids.insert(e.event_id);
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kPerThread; ++k) {
      EXPECT_TRUE(ids.count("retry-t" + std::to_string(t) + "-k" + std::to_string(k)))
          << "thread " << t << " event " << k << " missing";
    }
  }
  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
  RecordProperty("conflicts_retried", total_conflicts);
}

// ---- idempotent retries racing --------------------------------------------------------------

TEST(ConcurrencyIdempotency, SameEventIdRacingIsWrittenOnce) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(ledger->append(test::submit("idem-base", 1)));

  constexpr int kRounds = 16;
  std::vector<std::vector<Result<AppendResult>>> results(kRounds);
  for (auto& r : results) r.reserve(kThreads);
  std::barrier sync(kThreads);
  std::vector<std::vector<std::optional<Result<AppendResult>>>> got(
      kRounds, std::vector<std::optional<Result<AppendResult>>>(kThreads));
  // The command of a round: even rounds submit a new filing, odd rounds act on idem-base.
  auto command = [](int round) {
    AppendCommand cmd =
        round % 2 == 0
            ? test::submit("idem-r" + std::to_string(round), 100 + round)
            : test::action("idem-base", photo_rejected("round " + std::to_string(round)));
    cmd.event_id = "idem-event-" + std::to_string(round);
    return cmd;
  };
  std::vector<std::uint64_t> head_before(kRounds, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        if (t == 0) head_before[round] = ledger->head().seq.value;
        sync.arrive_and_wait();
        got[round][t].emplace(ledger->append(command(round)));
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& th : threads) th.join();

  for (int round = 0; round < kRounds; ++round) {
    int originals = 0;
    std::set<std::uint64_t> seqs;
    for (int t = 0; t < kThreads; ++t) {
      const Result<AppendResult>& r = *got[round][t];
      ASSERT_TRUE(r) << "round " << round << " thread " << t << ": " << describe(r.error());
      if (!r->duplicate) ++originals;
      seqs.insert(r->seq.value);
      EXPECT_EQ(r->event_id, "idem-event-" + std::to_string(round));
      EXPECT_EQ(r->version.value, round % 2 == 0 ? 1u : static_cast<std::uint32_t>(round / 2 + 2));
    }
    EXPECT_EQ(originals, 1) << "round " << round;
    ASSERT_EQ(seqs.size(), 1u) << "round " << round << ": racers report different seqs";
    // Exactly one event was written, and it is the reported one.
    EXPECT_EQ(*seqs.begin(), head_before[round] + 1) << "round " << round;
    auto written = ledger->events_after(Seq(head_before[round]), 100);
    ASSERT_TRUE(written);
    const std::size_t expected_after = static_cast<std::size_t>(kRounds - round);
    ASSERT_EQ(written->size(), expected_after) << "round " << round;
    EXPECT_EQ(written->front().event_id, "idem-event-" + std::to_string(round));
  }
  EXPECT_EQ(ledger->head().seq.value, static_cast<std::uint64_t>(1 + kRounds));

  std::map<std::string, int> per_event_id;
  for (const Event& e : all_events(*ledger)) ++per_event_id[e.event_id];
  for (const auto& [event_id, count] : per_event_id) EXPECT_EQ(count, 1) << event_id;
  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
}

TEST(ConcurrencyIdempotency, SameEventIdWithDifferentContentRacingHasOneWinner) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(ledger->append(test::submit("idem-mixed", 1)));

  constexpr int kRounds = 10;
  std::barrier sync(kThreads);
  std::vector<std::vector<std::optional<Result<AppendResult>>>> got(
      kRounds, std::vector<std::optional<Result<AppendResult>>>(kThreads));
  // Even threads send content A, odd threads content B, all under the same event_id.
  auto command = [](int round, int t) {
    auto cmd = test::action("idem-mixed", photo_rejected(t % 2 == 0 ? "A" : "B"));
    cmd.event_id = "mixed-" + std::to_string(round);
    return cmd;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        sync.arrive_and_wait();
        got[round][t].emplace(ledger->append(command(round, t)));
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& th : threads) th.join();

  auto stream = ledger->stream("idem-mixed");
  ASSERT_TRUE(stream);
  ASSERT_EQ(stream->size(), static_cast<std::size_t>(1 + kRounds));
  for (int round = 0; round < kRounds; ++round) {
    const Event& written = (*stream)[static_cast<std::size_t>(round + 1)];
    ASSERT_EQ(written.event_id, "mixed-" + std::to_string(round));
    const std::string winner = reason_of(written);
    int originals = 0;
    for (int t = 0; t < kThreads; ++t) {
      const Result<AppendResult>& r = *got[round][t];
      const std::string sent = t % 2 == 0 ? "A" : "B";
      if (sent == winner) {
        ASSERT_TRUE(r) << "round " << round << " thread " << t << ": " << describe(r.error());
        EXPECT_EQ(r->seq.value, written.seq.value);
        if (!r->duplicate) ++originals;
      } else {
        ASSERT_FALSE(r) << "round " << round << " thread " << t << " reused the event_id";
        EXPECT_EQ(r.error().code, ErrorCode::conflict) << describe(r.error());
        EXPECT_EQ(r.error().field, "event_id");
      }
    }
    EXPECT_EQ(originals, 1) << "round " << round;
  }
  EXPECT_EQ(ledger->head().seq.value, static_cast<std::uint64_t>(1 + kRounds));
  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
}

// ---- the hash chain -------------------------------------------------------------------------

// Appends a mixed concurrent load: each thread submits its own filings and also appends to one
// shared filing.
void mixed_load(Ledger& ledger, int filings_per_thread) {
  ASSERT_TRUE(ledger.append(test::submit("chain-shared", 1)));
  std::vector<std::string> errors(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < filings_per_thread; ++i) {
        const std::string id = "chain-t" + std::to_string(t) + "-f" + std::to_string(i);
        for (AppendCommand cmd : {test::submit(id, 10 + t * 1000 + i),
                                  test::action(id, initial_review_approved(), Version(1)),
                                  test::action("chain-shared", photo_rejected(id))}) {
          auto r = ledger.append(std::move(cmd));
          if (!r) {
            errors[t] = id + ": " + describe(r.error());
            return;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;
}

TEST(ConcurrencyHashChain, WholeLogIsChainedAfterConcurrentLoadAndReopen) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  constexpr int kFilingsPerThread = 20;
  ASSERT_NO_FATAL_FAILURE(mixed_load(*ledger, kFilingsPerThread));

  const LedgerHead head = ledger->head();
  ASSERT_EQ(head.seq.value, 1u + kThreads * kFilingsPerThread * 3);
  EXPECT_NE(head.hash, Hash{});
  EXPECT_EQ(check_chain(ledger->store(), head), "");

  // The chain as read through the API agrees with the raw records.
  const std::vector<Event> events = all_events(*ledger);
  ASSERT_EQ(events.size(), head.seq.value);
  EXPECT_EQ(events.front().prev_hash, Hash{});
  for (std::size_t i = 1; i < events.size(); ++i)
    ASSERT_EQ(events[i].prev_hash, events[i - 1].hash) << "seq " << events[i].seq.value;
  EXPECT_EQ(events.back().hash, head.hash);

  // The head survives a reopen and the chain continues from it.
  ledger.reset();
  ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->head().seq.value, head.seq.value);
  EXPECT_EQ(ledger->head().hash, head.hash);
  auto more = ledger->append(test::action("chain-shared", photo_rejected("after reopen")));
  ASSERT_TRUE(more) << describe(more.error());
  EXPECT_EQ(more->seq.value, head.seq.value + 1);
  auto next = ledger->events_after(head.seq, 10);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().prev_hash, head.hash);
  EXPECT_EQ(check_chain(ledger->store(), ledger->head()), "");
}

// The checker above must be able to fail: tampering with one record breaks the chain there.
TEST(ConcurrencyHashChain, CheckerDetectsATamperedRecord) {
  test::TempDir dir;
  auto ledger = open_ledger(dir);
  ASSERT_NE(ledger, nullptr);
  ASSERT_NO_FATAL_FAILURE(mixed_load(*ledger, 2));
  const LedgerHead head = ledger->head();
  ASSERT_EQ(check_chain(ledger->store(), head), "");

  Store& store = ledger->store();
  const std::string key = keys::seq(Seq(5));
  auto raw = store.get(Cf::log, key);
  ASSERT_TRUE(raw && *raw);
  const std::string original = **raw;

  // A changed body under the old hashes.
  auto tampered_body = original;
  tampered_body[tampered_body.size() - 64 - 1] ^= 0x01;
  ASSERT_TRUE(store.db()->Put(rocksdb::WriteOptions(), store.cf(Cf::log), key, tampered_body).ok());
  EXPECT_NE(check_chain(store, head).find("seq 5: "), std::string::npos)
      << check_chain(store, head);

  // A record re-hashed consistently on its own still breaks the link to seq 6.
  auto split = split_record(original);
  ASSERT_TRUE(split);
  std::string body(split->body);
  const std::size_t at = body.find("chain-");
  ASSERT_NE(at, std::string::npos);
  body[at] = 'x';  // still a valid, decodable filing id
  ASSERT_TRUE(decode_body(body));
  const std::string rehashed =
      make_record(body, split->prev_hash, chain_hash(body, split->prev_hash));
  ASSERT_TRUE(store.db()->Put(rocksdb::WriteOptions(), store.cf(Cf::log), key, rehashed).ok());
  EXPECT_NE(check_chain(store, head).find("seq 6: prev_hash"), std::string::npos)
      << check_chain(store, head);

  ASSERT_TRUE(store.db()->Put(rocksdb::WriteOptions(), store.cf(Cf::log), key, original).ok());
  EXPECT_EQ(check_chain(store, head), "");
}

}  // namespace
}  // namespace filingd
