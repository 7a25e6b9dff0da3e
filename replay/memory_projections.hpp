// Projections held in memory: a ProjectionTxn the projector can fold events into without a
// store. It is the write-back overlay of replay/projection_fold.hpp (rebuild, verify), and
// replay_projections() folds a log into it.
//
// The projector's point reads and writes are the hot path of a fold (several per event), so
// entries live in a flat open-addressing hash table (one probe array, entries in one vector)
// rather than a node-based map; the key-ordered view is sorted on demand. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/projector.hpp"
#include "ledger/store.hpp"

namespace filingd {

class MemoryProjections final : public ProjectionTxn {
 public:
  MemoryProjections();

  std::optional<std::string> get(std::string_view key) override;
  void put(std::string_view key, std::string value) override;
  void del(std::string_view key) override;

  std::size_t size() const { return live_; }
  // Removes every entry. The table and the vector of entries keep their size: a fold's overlay
  // fills up to the same size again after each spill, and growing them anew (a move of every
  // entry at each doubling, fresh pages to fault in) was a tenth of its work.
  void clear();
  // Removes every entry, giving back the memory.
  void release();
  // The value of `key`, or null; valid until the next put/del.
  const std::string* find(std::string_view key) const;

  using Entry = std::pair<std::string_view, std::string_view>;
  // Every entry in bytewise key order (RocksDB's BytewiseComparator order); views into this
  // object, valid until the next put/del.
  std::vector<Entry> sorted() const;

  // ProjectionDigest (replay/rebuild.hpp) over sorted(): equal to projections_digest() of a
  // column family holding the same entries.
  Hash digest() const;

 private:
  struct Slot {
    std::uint32_t tag = 0;    // high bits of the key's hash
    std::uint32_t index = 0;  // entries_ index + 1; kEmpty or kErased otherwise
  };
  // A key kept inside its item when short, as nearly all projection keys are (saves a cache
  // miss per lookup), else on the heap.
  class Key {
   public:
    void assign(std::string_view k);
    std::string_view view() const { return {size_ <= kInline ? inline_ : heap_.get(), size_}; }

   private:
    static constexpr std::size_t kInline = 36;
    std::uint32_t size_ = 0;
    char inline_[kInline];
    std::unique_ptr<char[]> heap_;
  };
  struct Item {
    Key key;
    std::string value;
  };
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kErased = UINT32_MAX;

  // The slot holding `key`, or (when absent) the slot where it would be inserted; `found`
  // tells which.
  std::size_t probe(std::string_view key, std::uint64_t hash, bool& found) const;
  void grow(std::size_t min_slots);

  std::vector<Slot> slots_;  // power-of-two size, at most 3/4 full (live + erased)
  std::vector<Item> items_;
  std::vector<std::uint32_t> free_items_;  // erased items, reused by put
  std::size_t live_ = 0;
  std::size_t erased_ = 0;  // kErased slots
};

// Folds the store's log, in seq order up to `until` (all of it if nullopt), into `out` through
// the projector, exactly as a rebuild would, without touching the store: the projections as of
// that seq. Start from an empty `out`. Errors: io, internal (an event that does not decode or
// does not replay, named by seq).
Status replay_projections(const Store& store, MemoryProjections& out,
                          std::optional<Seq> until = std::nullopt);

}  // namespace filingd
