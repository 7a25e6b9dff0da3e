// The projection half of `verify` (the calling thread): folds the events the log checker
// sends, with the append path's projector, into scratch in-memory projections, then compares
// them with the live column family (same digest as projections_digest, entry by entry).
// Internal to replay/verify.cpp.
#pragma once

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/projector.hpp"
#include "replay/memory_projections.hpp"
#include "replay/rebuild.hpp"
#include "replay/verify_support.hpp"

namespace filingd::verify_detail {

class Folder {
 public:
  // `events`: about how many events the log holds (sizes the scratch projections, which hold
  // about one entry per event; they grow if needed).
  Folder(const Reads& reads, std::uint64_t events) : r_(reads) {
    scratch_.reserve(static_cast<std::size_t>(events));
    states_.reserve(static_cast<std::size_t>(events));
  }

  // Folds what the checker sends until it closes the queue (true: the log walk is over) or an
  // event does not replay (false).
  bool run(BatchQueue& queue) {
    for (;;) {
      std::vector<Decoded> batch = queue.pop();
      if (batch.empty()) {
        write_cached_statuses();
        return true;
      }
      for (Decoded& d : batch) {
        if (!fold(d)) {
          queue.stop();
          return false;
        }
      }
      queue.recycle(std::move(batch));
    }
  }

  bool complete() const { return fold_.clean(); }
  // The state each folded event led to, by seq - 1.
  const std::vector<std::uint8_t>& states() const { return states_; }

  // The fast path of the comparison: a pass over the live column family in key order, looking
  // each key up in the rebuilt set. When every rebuilt entry is found, the rebuilt entries were
  // visited in key order too, so the rebuilt digest is exact without sorting. The pass may be
  // split in two key ranges that two threads scan at once (see split_key()).
  struct LiveScan {
    std::uint64_t entries = 0;  // live
    std::size_t found = 0;      // of them, in the rebuild
    Hash rebuilt{};             // set by finish_scan()
    std::vector<std::string> differences;
    // Without a digest to feed (the upper range): the rebuilt entries met, in key order.
    std::vector<std::pair<std::string, const std::string*>> entries_met;
  };

  // A key near the middle of the projections, to split the scan at; empty: do not split.
  std::string split_key(std::size_t split_above) const {
    if (scratch_.size() <= split_above) return {};
    auto sample = scratch_.sample_keys(1024);
    if (sample.empty()) return {};
    auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
    std::nth_element(sample.begin(), mid, sample.end());
    return std::string(*mid);
  }

  // Scans the live keys in [from, to) ("" = unbounded), feeding `digest` or, without one,
  // recording the rebuilt entries met. Only reads the scratch projections: two threads may
  // scan two ranges at once.
  Result<LiveScan> scan_range(std::string_view from, std::string_view to,
                              ProjectionDigest* digest) const {
    LiveScan out;
    // Entries are taken in batches so that their lookups (random probes into a large table)
    // can be prefetched together.
    struct Pending {
      std::string key, value;
      std::uint64_t hash = 0;
    };
    std::vector<Pending> batch(kCompareBatch);
    std::size_t n = 0;
    auto flush = [&] {
      for (std::size_t i = 0; i < n; ++i) scratch_.prefetch(batch[i].hash);
      for (std::size_t i = 0; i < n; ++i) scratch_.prefetch_item(batch[i].hash);
      for (std::size_t i = 0; i < n; ++i) {
        const Pending& p = batch[i];
        const std::string* mine = scratch_.find(p.key, p.hash);
        if (mine == nullptr) {
          note(out.differences, p.key, "is live but not in the rebuild");
          continue;
        }
        ++out.found;
        if (digest) {
          digest->add(p.key, *mine);
        } else {
          out.entries_met.emplace_back(p.key, mine);
        }
        if (*mine != p.value)
          note(out.differences, p.key, "has another value live than in the rebuild");
      }
      n = 0;
    };
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    for (from.empty() ? it->SeekToFirst() : it->Seek(from); it->Valid(); it->Next()) {
      if (!to.empty() && it->key().ToStringView() >= to) break;
      Pending& p = batch[n++];
      p.key.assign(it->key().data(), it->key().size());
      p.value.assign(it->value().data(), it->value().size());
      p.hash = MemoryProjections::hash(p.key);
      ++out.entries;
      if (n == batch.size()) flush();
    }
    flush();
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    return out;
  }

  // Appends the upper range's scan to the lower one's and finishes the rebuilt digest.
  static LiveScan finish_scan(LiveScan lower, ProjectionDigest& digest,
                              std::optional<LiveScan> upper) {
    if (upper) {
      for (const auto& [key, value] : upper->entries_met) digest.add(key, *value);
      lower.entries += upper->entries;
      lower.found += upper->found;
      for (auto& d : upper->differences) {
        if (lower.differences.size() < kMaxProblemsPerCheck)
          lower.differences.push_back(std::move(d));
      }
    }
    lower.rebuilt = digest.finish();
    return lower;
  }

  // Both digests (ProjectionDigest, as projections_digest computes them) and the first
  // differing keys, from the scan and the live digest and entry count the checker computed
  // meanwhile; merges when the fast path does not apply.
  Status compare(VerifyReport& report, LiveScan scan, const std::pair<Hash, std::uint64_t>& live) {
    std::vector<std::string> differences = std::move(scan.differences);
    // (The live column family is read twice; the entry counts agree unless a writer broke
    // the snapshot.)
    if (scan.found == scratch_.size() && scan.entries == live.second) {
      report.projection_entries = scan.entries;
      report.live_digest = live.first;
      report.rebuilt_digest = scan.rebuilt;
    } else {
      differences.clear();
      if (auto ok = digest_by_merge(report, differences); !ok) return ok;
    }
    if (*report.live_digest != *report.rebuilt_digest) {
      std::string what = "the projections differ from a rebuild of the log: live digest " +
                         to_hex(*report.live_digest) + ", rebuilt " +
                         to_hex(*report.rebuilt_digest);
      for (const auto& d : differences) what += "; key " + d;
      compare_.add(Seq(0), std::move(what));
    }
    return {};
  }

  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&fold_, &compare_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
  }

 private:
  bool fold(Decoded& d) {
    const Event& e = d.event;
    if (d.filing >= cache_.size()) cache_.resize(d.filing + 1);
    std::unique_ptr<FilingStatus>& cached = cache_[d.filing];
    if (!cached) {
      auto status = load_status(scratch_, e.filing_id);
      if (!status) {
        fold_.add(e.seq, "the rebuilt status of " + e.filing_id +
                             " does not decode: " + status.error().message);
        return false;
      }
      cached = std::make_unique<FilingStatus>(std::move(*status));
    }
    // In place: the fold stops at the first event that does not replay.
    if (auto ok = project_in_place(scratch_, *cached, e); !ok) {
      fold_.add(e.seq, "the event does not replay: " + ok.error().message);
      return false;
    }
    states_.push_back(static_cast<std::uint8_t>(cached->state));
    // Decoded statuses are kept while a filing is open and encoded into the scratch
    // projections only when it closes (or at the end): a filing's status is encoded once or
    // twice, not at every event. A closed filing rarely sees another event, so memory stays
    // bounded by the open filings.
    if (!is_open(cached->state)) {
      if (cached->exists()) scratch_.put(keys::status(cached->filing_id), encode_status(*cached));
      cached.reset();
    }
    return true;
  }

  // The statuses still held decoded (open filings), into the scratch projections.
  void write_cached_statuses() {
    for (auto& cached : cache_) {
      if (!cached) continue;
      if (cached->exists()) scratch_.put(keys::status(cached->filing_id), encode_status(*cached));
      cached.reset();
    }
  }

  static void note(std::vector<std::string>& differences, std::string_view key, const char* how) {
    if (differences.size() < kMaxProblemsPerCheck)
      differences.push_back("\"" + printable(key) + "\" " + how);
  }

  // Merges the live column family with the sorted rebuilt entries.
  Status digest_by_merge(VerifyReport& report, std::vector<std::string>& differences) {
    const auto mine = scratch_.sorted();
    ProjectionDigest live;
    ProjectionDigest rebuilt;
    report.projection_entries = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    std::size_t i = 0;
    it->SeekToFirst();
    while (it->Valid() || i < mine.size()) {
      const bool live_left = it->Valid();
      const std::string_view lk = live_left ? it->key().ToStringView() : std::string_view();
      const int order = !live_left            ? 1
                        : i == mine.size()    ? -1
                        : lk < mine[i].first  ? -1
                        : lk == mine[i].first ? 0
                                              : 1;
      if (order <= 0) {
        live.add(lk, it->value().ToStringView());
        ++report.projection_entries;
      }
      if (order >= 0) rebuilt.add(mine[i].first, mine[i].second);
      if (order < 0) note(differences, lk, "is live but not in the rebuild");
      if (order > 0) note(differences, mine[i].first, "is in the rebuild but missing live");
      if (order == 0 && it->value().ToStringView() != mine[i].second)
        note(differences, lk, "has another value live than in the rebuild");
      if (order <= 0) it->Next();
      if (order >= 0) ++i;
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    report.live_digest = live.finish();
    report.rebuilt_digest = rebuilt.finish();
    return {};
  }

  const Reads& r_;
  MemoryProjections scratch_;
  std::vector<std::unique_ptr<FilingStatus>> cache_;  // by filing index
  std::vector<std::uint8_t> states_;
  Check fold_, compare_;
};

}  // namespace filingd::verify_detail
