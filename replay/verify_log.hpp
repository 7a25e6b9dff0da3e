// The log half of `verify` (a helper thread): walks the log (hashes, chain, seq) and hands each
// decoded event to the folder, writing the streams index entry each event should have into the
// scratch store; then checks the meta head, the expected head and the streams index (a merge of
// the live entries with the expected ones), and digests the live projections. The idempotency
// index is checked the same way once the folder has written the state each event led to.
// Nothing is held per event or per filing. Internal to replay/verify.cpp.
#pragma once

#include <rocksdb/iterator.h>

#include <memory>
#include <optional>
#include <utility>

#include "events/codec.hpp"
#include "events/personal.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "replay/rebuild.hpp"
#include "replay/sorted_runs.hpp"
#include "replay/verify_support.hpp"
#include "replay/verify_tree.hpp"

namespace filingd::verify_detail {

class LogChecker {
 public:
  // `scratch` receives the expected streams index entries (and, without a folder, the
  // idempotency ones). `stored_tree`: the tree column family is in this build's layout, and
  // compared with the tree the log gives.
  LogChecker(const Reads& reads, Store& scratch, const VerifyOptions& options, BatchQueue* folder,
             bool stored_tree)
      : r_(reads),
        options_(options),
        folder_(folder),
        tree_(reads, options.since, stored_tree),
        streams_out_(scratch, Cf::streams, BudgetShares(options.memory_budget).runs),
        idempotency_out_(scratch, Cf::idempotency, BudgetShares(options.memory_budget).runs),
        scratch_(scratch) {}

  // Everything but the projections and, with a folder, the idempotency index. An Error: the
  // checks could not run.
  Status run(VerifyReport& report) {
    const bool folding = folder_ != nullptr;
    auto walked = walk(report);
    if (folder_) folder_->close();
    if (!walked) return walked;
    for (SortedRuns* out : {&streams_out_, &idempotency_out_})
      if (auto ok = out->flush(); !ok) return ok;
    tree_.finish(log_complete(), report.events);
    report.tree_root = tree_.tree().root();
    if (auto ok = check_head(report); !ok) return ok;
    check_expected_head(report);
    if (auto ok = check_streams(report); !ok) return ok;
    if (folding) return digest_live();  // while the folder is still busy
    return check_idempotency(report, report.events, log_complete(), false);
  }

  // The idempotency index against the expected entries in the scratch store, which cover the
  // events up to `checked_to` (all of them if `complete`), with the state each led to if
  // `with_state`.
  Status check_idempotency(VerifyReport& report, std::uint64_t checked_to, bool complete,
                           bool with_state) {
    const std::size_t compared = with_state ? kIdempotencyChecked : kIdempotencyChecked - 1;
    return merge_columns(
        r_.store, r_.scan, scratch_, Cf::idempotency,
        [&](std::string_view event_id, const std::string_view* live,
            const std::string_view* expected) {
          const std::string entry =
              "the idempotency entry of event_id \"" + printable(event_id) + "\"";
          std::optional<IdempotencyEntry> stored;
          if (live) {
            ++report.idempotency_entries;
            stored = decode_idempotency(*live);
            if (!stored) {
              idempotency_.add(
                  Seq(0), entry + " is malformed (" + std::to_string(live->size()) + " bytes)");
              return true;
            }
            if (!expected && !complete && stored->seq.value > checked_to) return true;  // unchecked
          }
          if (!live) {
            const auto want = *decode_idempotency_prefix(*expected);
            idempotency_.add(want.seq, "event " + seq_text(want.seq.value) + " (event_id \"" +
                                           printable(event_id) + "\") has no idempotency entry");
            return true;
          }
          if (!expected) {
            idempotency_.add(
                in_log(stored->seq, checked_to),
                entry + " -> " + seq_text(stored->seq.value) + " names no event of the log");
            return true;
          }
          if (live->substr(0, compared) == expected->substr(0, compared)) return true;
          const auto want = *decode_idempotency_prefix(*expected);
          if (stored->seq != want.seq) {
            idempotency_.add(
                Seq(std::min(stored->seq.value, want.seq.value)),
                entry + " points at " + seq_text(stored->seq.value) +
                    (stored->seq.value > checked_to && complete ? ", which is not in the log"
                                                                : std::string()) +
                    ", but that event is " + seq_text(want.seq.value));
          } else if (stored->version != want.version) {
            idempotency_.add(want.seq, entry + " records version " +
                                           std::to_string(stored->version.value) + " for " +
                                           seq_text(want.seq.value) + ", which is version " +
                                           std::to_string(want.version.value));
          } else {
            idempotency_.add(want.seq, entry + " (" + seq_text(want.seq.value) +
                                           ") records state " + state_name(stored->state) +
                                           ", the replay gives " + state_name(want.state));
          }
          return true;
        });
  }

  // The digest of the live projections and their number of entries (after run()).
  const std::optional<std::pair<Hash, std::uint64_t>>& live_digest() const { return live_; }

  bool log_complete() const { return log_.clean(); }
  std::uint64_t filings() const { return filings_; }
  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&log_, &versions_, &head_, &expected_, &streams_, &idempotency_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
    tree_.take_problems(out);
  }

 private:
  Status walk(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::log)));
    std::vector<Event> batch;
    if (folder_) batch = folder_->reuse();
    Hash prev{};
    std::uint64_t expected = 1;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
      const std::string_view key = it->key().ToStringView();
      const auto parsed = keys::parse_seq(key);
      if (!parsed) {
        log_.add(Seq(expected), "a log key of " + std::to_string(key.size()) +
                                    " bytes (not a seq) where " + seq_text(expected) +
                                    " belongs: \"" + printable(key) + "\"");
        break;
      }
      const std::uint64_t seq = parsed->value;
      if (seq != expected) {
        log_.add(Seq(expected), seq > expected ? "event " + seq_text(expected) +
                                                     " is missing: the log jumps from " +
                                                     seq_text(expected - 1) + " to " + seq_text(seq)
                                               : "log key " + seq_text(seq) + " out of order");
        break;
      }
      auto record = split_record(it->value().ToStringView());
      if (!record) {
        log_.add(Seq(seq), "the stored event is truncated (" + std::to_string(it->value().size()) +
                               " bytes)");
        break;
      }
      // The hash over the stored bytes, never over a re-encoding (old schemas upcast on read).
      const Hash computed = chain_hash(record->body, record->prev_hash);
      if (computed != record->hash) {
        log_.add(Seq(seq), "the stored event was altered: SHA-256 over its bytes is " +
                               short_hex(computed) + ", its recorded hash is " +
                               short_hex(record->hash));
        break;
      }
      auto e = decode_body(record->body);
      if (!e) {
        log_.add(Seq(seq), "the stored event does not decode: " + e.error().message);
        break;
      }
      if (e->seq.value != seq) {
        log_.add(Seq(seq), "key " + seq_text(seq) + " holds the event of " +
                               seq_text(e->seq.value) + " (events moved or swapped)");
        break;
      }
      if (record->prev_hash != prev) {
        log_.add(Seq(seq), "the chain is broken: prev_hash " + short_hex(record->prev_hash) +
                               " is not the hash of " +
                               (seq == 1 ? std::string("nothing (zero)")
                                         : seq_text(seq - 1) + " (" + short_hex(prev) + ")") +
                               "; an event was removed, inserted or rewritten");
        break;
      }
      streams_out_.put(keys::stream(e->filing_id, e->version), encode_seq(Seq(seq)));
      if (!folder_)
        idempotency_out_.put(e->event_id, expected_idempotency(Seq(seq), e->version, {}));
      if (e->version.value == 1 && !std::holds_alternative<SubjectErased>(e->data)) ++filings_;
      if (const SealedPersonal* sealed = sealed_of(e->data); sealed && sealed->box.empty())
        ++report.clear_personal;
      prev = record->hash;
      tree_.add(seq, prev);
      if (options_.expect_head && options_.expect_head->seq.value == seq &&
          options_.expect_head->hash != prev)
        expected_.add(Seq(seq), "the log was rewritten: the event at " + seq_text(seq) +
                                    " has hash " + to_hex(prev) + ", expected " +
                                    to_hex(options_.expect_head->hash));
      report.events = seq;
      report.head = Seq(seq);
      report.head_hash = prev;
      if (folder_) {
        e->prev_hash = record->prev_hash;
        e->hash = prev;
        batch.push_back(std::move(*e));
        if (batch.size() == kBatchEvents) {
          if (!folder_->push(std::move(batch))) {
            folder_ = nullptr;  // the folder gave up
          } else {
            batch = folder_->reuse();
          }
        }
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
    if (folder_ && !batch.empty()) folder_->push(std::move(batch));
    return {};
  }

  Status check_head(const VerifyReport& report) {
    std::string raw;
    auto s = r_.store.db()->Get(r_.point, r_.store.cf(Cf::meta), keys::kHead, &raw);
    if (!s.ok() && !s.IsNotFound()) return from_rocksdb(s, "meta read failed");
    if (s.IsNotFound()) {
      if (report.events > 0 && log_complete())
        head_.add(Seq(1), "the ledger head (meta) is missing but the log holds " +
                              std::to_string(report.events) + " events");
      return {};
    }
    const auto stored = decode_head(raw);
    if (!stored) {
      head_.add(Seq(0),
                "the ledger head (meta) is corrupt (" + std::to_string(raw.size()) + " bytes)");
      return {};
    }
    const std::uint64_t head = stored->seq.value;
    const Hash& head_hash = stored->hash;
    if (!log_complete()) return {};  // the walk already named the first bad seq
    const std::uint64_t last = report.head.value;
    if (head > last) {
      head_.add(Seq(last + 1), "events " + seq_text(last + 1) + ".." + std::to_string(head) +
                                   " are missing: the ledger head is " + seq_text(head) +
                                   " but the log ends at " + seq_text(last));
    } else if (head < last) {
      head_.add(Seq(head + 1), "the log holds events after the ledger head " + seq_text(head) +
                                   " (up to " + seq_text(last) + ")");
    } else if (head_hash != report.head_hash) {
      head_.add(Seq(last), "the ledger head hash " + short_hex(head_hash) +
                               " is not the hash of the last event " + short_hex(report.head_hash));
    }
    return {};
  }

  // The walk compared the hash at the expected seq if it got there.
  void check_expected_head(const VerifyReport& report) {
    if (!options_.expect_head) return;
    const Seq want = options_.expect_head->seq;
    if (want.value > report.events && log_complete())
      expected_.add(want, "the expected head " + seq_text(want.value) +
                              " is not in the log, which ends at " + seq_text(report.events) +
                              " (truncated?)");
  }

  // `seq` if it is one of the `checked` events, else 0 (no event's problem).
  static Seq in_log(Seq seq, std::uint64_t checked) {
    return seq.value >= 1 && seq.value <= checked ? seq : Seq(0);
  }

  // The streams index against the expected entries, which also show each stream's versions in
  // order: they must run 1, 2, 3, ... and (fewer entries than events) none may repeat.
  Status check_streams(VerifyReport& report) {
    const std::uint64_t checked = report.events;
    const bool complete = log_complete();
    std::uint64_t expected_entries = 0;
    std::string stream_before;
    std::uint32_t version_before = 0;
    const auto versions = [&](const keys::StreamKey& stream, Seq at) {
      ++expected_entries;
      const std::uint32_t after =
          stream.filing_id == stream_before ? version_before : std::uint32_t{0};
      const std::uint32_t v = stream.version.value;
      if (v == 0)
        versions_.add(at, std::string(stream.filing_id) + " has a version 0 (" +
                              seq_text(at.value) + "): versions start at 1");
      if (v > after + 1)
        versions_.add(at, std::string(stream.filing_id) + " skips version " +
                              std::to_string(after + 1) +
                              (v > after + 2 ? " to " + std::to_string(v - 1) : std::string()) +
                              ": version " + std::to_string(v) + " (" + seq_text(at.value) +
                              ") follows version " + std::to_string(after));
      stream_before.assign(stream.filing_id);
      version_before = v;
    };
    auto merged = merge_columns(
        r_.store, r_.scan, scratch_, Cf::streams,
        [&](std::string_view key, const std::string_view* live, const std::string_view* expected) {
          const auto stream = keys::parse_stream(key);
          std::optional<Seq> points_at;
          if (live) {
            ++report.stream_entries;
            points_at = decode_seq(*live);
            if (!stream || stream->filing_id.empty() || !points_at) {
              streams_.add(Seq(0), "streams index entry \"" + printable(key) + "\" is malformed");
              return true;
            }
            if (!expected && !complete && points_at->value > checked) return true;  // unchecked
          }
          Seq want;  // the seq the entry should point at, when the log has the entry
          if (expected) {
            want = *decode_seq(*expected);
            versions(*stream, want);
          }
          const std::string name =
              std::string(stream->filing_id) + " v" + std::to_string(stream->version.value);
          if (!live) {
            streams_.add(want, "event " + seq_text(want.value) + " (" + name +
                                   ") has no streams index entry");
          } else if (!expected) {
            streams_.add(in_log(*points_at, checked), "the streams index entry " + name + " -> " +
                                                          seq_text(points_at->value) +
                                                          " names no event of the log");
          } else if (*live != *expected) {
            streams_.add(Seq(std::min(points_at->value, want.value)),
                         "the streams index entry " + name + " points at " +
                             seq_text(points_at->value) + ", but " + name + " is " +
                             seq_text(want.value));
          }
          return true;
        });
    if (merged && expected_entries < checked)
      versions_.add(Seq(0), std::to_string(checked - expected_entries) +
                                " events of the log repeat a version of their stream");
    return merged;
  }

  Status digest_live() {
    ProjectionDigest digest;
    std::uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++n)
      digest.add(it->key().ToStringView(), it->value().ToStringView());
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    live_.emplace(digest.finish(), n);
    return {};
  }

  const Reads& r_;
  const VerifyOptions& options_;
  BatchQueue* folder_;
  std::optional<std::pair<Hash, std::uint64_t>> live_;
  Check log_, versions_, head_, expected_, streams_, idempotency_;
  TreeCheck tree_;
  SortedRuns streams_out_, idempotency_out_;
  Store& scratch_;
  std::uint64_t filings_ = 0;
};

}  // namespace filingd::verify_detail
