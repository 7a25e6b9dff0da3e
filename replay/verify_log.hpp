// The log half of `verify` (a helper thread): walks the log (hashes, chain, seq, versions) and
// hands each decoded event to the folder, then checks the meta head, the expected head, the
// streams and idempotency indexes against the log, and digests the live projections. Internal
// to replay/verify.cpp.
#pragma once

#include <rocksdb/iterator.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include "events/codec.hpp"
#include "events/personal.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "replay/rebuild.hpp"
#include "replay/verify_support.hpp"
#include "replay/verify_tree.hpp"

namespace filingd::verify_detail {

class LogChecker {
 public:
  LogChecker(const Reads& reads, const VerifyOptions& options, BatchQueue* folder)
      : r_(reads), options_(options), folder_(folder), tree_(reads, options.since) {}

  // Everything but the projections. An Error: the checks could not run.
  Status run(VerifyReport& report) {
    const bool folding = folder_ != nullptr;
    auto walked = walk(report);
    if (folder_) folder_->close();
    if (!walked) return walked;
    tree_.finish(log_complete(), report.events);
    report.tree_root = tree_.tree().root();
    if (auto ok = check_head(report); !ok) return ok;
    check_expected_head(report);
    if (auto ok = check_streams(report); !ok) return ok;
    if (auto ok = check_idempotency(report); !ok) return ok;
    // While the folder is still busy: the live half of the projection comparison.
    return folding ? digest_live() : Status{};
  }

  // The digest of the live projections and their number of entries (after run()).
  const std::optional<std::pair<Hash, std::uint64_t>>& live_digest() const { return live_; }

  bool log_complete() const { return log_.clean(); }
  std::uint64_t filings() const { return filings_.size(); }
  const std::vector<SeqInfo>& seqs() const { return seqs_; }
  std::string describe_event(std::uint64_t seq) const {
    const SeqInfo& i = seqs_[seq - 1];
    return seq_text(seq) + " (" + *filings_[i.filing] + " v" + std::to_string(i.version) + ")";
  }
  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&log_, &head_, &expected_, &streams_, &idempotency_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
    tree_.take_problems(out);
  }

 private:
  Status walk(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::log)));
    std::vector<Decoded> batch;
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
      const auto filing = track(*e);
      if (!filing) break;
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
        batch.push_back({std::move(*e), *filing});
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

  // Per-filing version continuity and the per-seq facts. The filing's index, or nullopt after
  // reporting a problem.
  std::optional<std::uint32_t> track(const Event& e) {
    auto [pos, added] = filing_index_.try_emplace(e.filing_id, 0);
    if (added) {
      pos->second = static_cast<std::uint32_t>(filings_.size());
      filings_.push_back(&pos->first);
      last_version_.push_back(0);
    }
    std::uint32_t& last = last_version_[pos->second];
    if (e.version.value != last + 1) {
      log_.add(e.seq, "filing " + e.filing_id + " goes from version " + std::to_string(last) +
                          " to version " + std::to_string(e.version.value) + " (expected " +
                          std::to_string(last + 1) + ")");
      return std::nullopt;
    }
    last = e.version.value;
    SeqInfo info;
    info.event_id_hash = std::hash<std::string_view>{}(e.event_id);
    info.filing = pos->second;
    info.version = e.version.value;
    seqs_.push_back(info);
    return pos->second;
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

  // The verified event at `seq`, or null (beyond the verified prefix of the log).
  SeqInfo* info(std::uint64_t seq) {
    return seq >= 1 && seq <= seqs_.size() ? &seqs_[seq - 1] : nullptr;
  }
  bool beyond_verified(std::uint64_t seq) const { return seq > seqs_.size() && !log_complete(); }

  Status check_streams(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::streams)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.stream_entries;
      const std::string_view key = it->key().ToStringView();
      const auto stream = keys::parse_stream(key);
      const auto points_at = decode_seq(it->value().ToStringView());
      if (!stream || stream->filing_id.empty() || !points_at) {
        streams_.add(Seq(0), "streams index entry \"" + printable(key) + "\" is malformed");
        continue;
      }
      const std::string_view filing = stream->filing_id;
      const std::uint32_t version = stream->version.value;
      const std::uint64_t seq = points_at->value;
      SeqInfo* at = info(seq);
      if (at != nullptr) {
        auto f = filing_index_.find(filing);
        if (f != filing_index_.end() && f->second == at->filing && version == at->version &&
            !at->has_stream) {
          at->has_stream = true;
          continue;
        }
      } else if (beyond_verified(seq)) {
        continue;
      }
      const std::string entry = "the streams index entry " + std::string(filing) + " v" +
                                std::to_string(version) + " -> " + seq_text(seq);
      if (at == nullptr) {
        streams_.add(Seq(0), entry + " points at no event of the log");
      } else if (at->has_stream && *filings_[at->filing] == filing && version == at->version) {
        streams_.add(Seq(seq), entry + " is a second entry for " + describe_event(seq));
      } else {
        streams_.add(Seq(seq), entry + " does not point at its event: " + seq_text(seq) + " is " +
                                   describe_event(seq));
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "streams read failed");
    for (std::uint64_t s = 1; s <= seqs_.size(); ++s) {
      if (!seqs_[s - 1].has_stream)
        streams_.add(Seq(s), "event " + describe_event(s) + " has no streams index entry");
    }
    return {};
  }

  Status check_idempotency(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::idempotency)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.idempotency_entries;
      const std::string_view key = it->key().ToStringView();
      const std::string_view value = it->value().ToStringView();
      const auto entry = [&] {
        return "the idempotency entry of event_id \"" + printable(key) + "\"";
      };
      const auto stored = decode_idempotency(value);
      if (!stored) {
        idempotency_.add(Seq(0),
                         entry() + " is malformed (" + std::to_string(value.size()) + " bytes)");
        continue;
      }
      const std::uint64_t seq = stored->seq.value;
      const std::uint32_t version = stored->version.value;
      SeqInfo* at = info(seq);
      if (at == nullptr) {
        if (!beyond_verified(seq))
          idempotency_.add(Seq(0),
                           entry() + " points at " + seq_text(seq) + ", which is not in the log");
        continue;
      }
      if (at->event_id_hash != std::hash<std::string_view>{}(key)) {
        idempotency_.add(Seq(seq), entry() + " points at " + describe_event(seq) +
                                       ", which has another event_id");
      } else if (version != at->version) {
        idempotency_.add(Seq(seq), entry() + " records version " + std::to_string(version) +
                                       " for " + describe_event(seq));
      } else if (at->has_idempotency) {
        idempotency_.add(Seq(seq), entry() + " is a second entry for " + describe_event(seq));
      } else {
        at->has_idempotency = true;
        at->recorded_state = static_cast<std::uint8_t>(stored->state);
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "idempotency read failed");
    for (std::uint64_t s = 1; s <= seqs_.size(); ++s) {
      if (!seqs_[s - 1].has_idempotency)
        idempotency_.add(Seq(s), "event " + describe_event(s) + " has no idempotency entry");
    }
    return {};
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
  Check log_, head_, expected_, streams_, idempotency_;
  TreeCheck tree_;
  std::unordered_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> filing_index_;
  std::vector<const std::string*> filings_;  // keys of filing_index_ (stable)
  std::vector<std::uint32_t> last_version_;
  std::vector<SeqInfo> seqs_;
};

}  // namespace filingd::verify_detail
