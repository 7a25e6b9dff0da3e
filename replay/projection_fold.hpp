// Folding the log into the projections column family of a scratch store in bounded memory:
// rebuild_projections copies the result into the ledger, verify compares it with the live one.
//
// The projector reads and writes through a write-back overlay in memory. When the overlay
// outgrows its share of the budget it is written to the column family as a sorted run
// (replay/sorted_runs.hpp: no memtable, no WAL; a fold that does not finish is started over),
// and emptied; reads it cannot answer go to the column family. Open filings' statuses stay decoded
// between their events (decoding and encoding a status is a large part of an event's cost) and are
// encoded when the filing closes, or all at once when they outgrow their share. The derived entries
// (list indexes and counters, Derived::leave_out) are written once, by finish(), from a scan of the
// final statuses. Memory: the budget, whatever the size of the log.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "replay/memory_projections.hpp"

namespace filingd {

inline constexpr std::size_t kDefaultFoldBudget = std::size_t{256} << 20;

// How a pass over the log (rebuild, verify) divides its memory budget: half for the fold, an
// eighth for its scratch store's block cache, a sixteenth for each buffer of sorted runs
// (verify's expected index entries; two fill at once). The last eighth is headroom for the
// estimates.
struct BudgetShares {
  explicit BudgetShares(std::size_t budget)
      : fold(budget / 2),
        scratch_cache(std::max<std::size_t>(budget / 8, 1 << 20)),
        runs(budget / 16) {}
  std::size_t fold, scratch_cache, runs;
};

// The store a pass folds into, in a fresh private directory under `dir` (empty: the system temp
// dir) that goes when the Store does. Its tables' index and filters are held in a block cache of
// `cache_bytes`, read a few KiB at a time: what it holds does not grow with what it stores.
// Logs a warning when `dir` is on a file system held in memory.
Result<std::unique_ptr<Store>> open_scratch(const std::string& dir, std::size_t cache_bytes);

// The keys a fold has written to its column family, as a blocked Bloom filter (one cache line
// a lookup): a lookup of a key never written, most of a fold's misses, is answered without
// probing each sorted run's filter. Fixed in size: past its capacity only its false positives
// (lookups that go on to the column family) grow.
class SpilledKeys {
 public:
  explicit SpilledKeys(std::size_t bytes);
  void add(std::string_view key);
  // False: the key was never add()ed.
  bool may_contain(std::string_view key) const;

 private:
  using Block = std::array<std::uint64_t, 8>;  // 512 bits, a cache line
  std::vector<Block> blocks_;
};

class ProjectionFold {
 public:
  // Folds into `target`'s projections column family, which must start empty.
  ProjectionFold(Store& target, std::size_t memory_budget);
  ProjectionFold(const ProjectionFold&) = delete;
  ProjectionFold& operator=(const ProjectionFold&) = delete;

  // Folds `e`, the next event in seq order; the state its filing is in after it. Errors: the
  // event does not replay (the projector refuses it, or a status does not decode), io.
  Result<FilingState> fold(const Event& e);
  // Writes what is still in memory, then the derived entries.
  Status finish();

 private:
  // The projector's read-your-writes view: the overlay, then the column family.
  class Overlay final : public ProjectionTxn {
   public:
    // `filter_bytes`: the size of its SpilledKeys.
    Overlay(Store& target, std::size_t filter_bytes)
        : target_(target), filter_bytes_(filter_bytes) {}
    std::optional<std::string> get(std::string_view key) override;
    void put(std::string_view key, std::string value) override;
    void del(std::string_view key) override;
    // About what the overlay holds in memory.
    std::size_t bytes() const { return bytes_; }
    // Writes the overlay to the column family and empties it.
    Status spill();
    // Gives back the memory of an empty overlay (after the last spill).
    void release() {
      puts_.release();
      dels_.release();
    }
    // The first failed read (the projector's reads cannot fail).
    const std::optional<Error>& error() const { return error_; }

   private:
    Store& target_;
    MemoryProjections puts_;
    MemoryProjections dels_;  // keys deleted since the last spill (valueless)
    std::size_t bytes_ = 0;
    std::size_t filter_bytes_;
    std::unique_ptr<SpilledKeys> spilled_;  // null until the first spill
    std::optional<Error> error_;
  };

  // The decoded statuses, encoded into the overlay.
  void write_cached();
  Status derive();

  Store& target_;
  Overlay overlay_;
  std::unordered_map<std::string, FilingStatus> cached_;  // open filings, by id
  std::size_t max_overlay_bytes_;
  std::size_t max_cached_;
};

}  // namespace filingd
