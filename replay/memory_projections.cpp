#include "replay/memory_projections.hpp"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <memory>

#include "events/codec.hpp"
#include "ledger/format/event_record.hpp"
#include "replay/rebuild.hpp"
#include "replay/sorted_runs.hpp"

namespace filingd {
namespace {

// A fast 64-bit string hash (8 bytes per multiply, then a full avalanche), good enough for a
// power-of-two open-addressing table; keys here are short (10..60 bytes).
std::uint64_t hash_of(std::string_view key) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = 0x243F6A8885A308D3ull ^ (n * kMul);
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}
std::uint32_t tag_of(std::uint64_t hash) { return static_cast<std::uint32_t>(hash >> 32); }

}  // namespace

MemoryProjections::MemoryProjections() : slots_(1024) {}

void MemoryProjections::Key::assign(std::string_view k) {
  size_ = static_cast<std::uint32_t>(k.size());
  if (k.size() <= kInline) {
    // std::copy, not memcpy: erase() assigns an empty view whose data() is null, and memcpy
    // with a null source is undefined even for zero bytes (UBSan: nonnull-attribute).
    std::copy(k.begin(), k.end(), inline_);
    heap_.reset();
  } else {
    heap_ = std::make_unique<char[]>(k.size());
    std::copy(k.begin(), k.end(), heap_.get());
  }
}

std::size_t MemoryProjections::probe(std::string_view key, std::uint64_t hash, bool& found) const {
  const std::size_t mask = slots_.size() - 1;
  const std::uint32_t tag = tag_of(hash);
  std::size_t insert_at = SIZE_MAX;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.index == kEmpty) {
      found = false;
      return insert_at != SIZE_MAX ? insert_at : i;
    }
    if (s.index == kErased) {
      if (insert_at == SIZE_MAX) insert_at = i;
    } else if (s.tag == tag && items_[s.index - 1].key.view() == key) {
      found = true;
      return i;
    }
  }
}

void MemoryProjections::grow(std::size_t min_slots) {
  std::size_t n = std::bit_ceil(std::max<std::size_t>(min_slots, 1024));
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(n));
  erased_ = 0;
  const std::size_t mask = n - 1;
  for (const Slot& s : old) {
    if (s.index == kEmpty || s.index == kErased) continue;
    const std::uint64_t h = hash_of(items_[s.index - 1].key.view());
    std::size_t i = h & mask;
    while (slots_[i].index != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void MemoryProjections::release() { *this = MemoryProjections(); }

void MemoryProjections::clear() {
  items_.clear();
  free_items_.clear();
  std::fill(slots_.begin(), slots_.end(), Slot{});
  live_ = 0;
  erased_ = 0;
}

std::optional<std::string> MemoryProjections::get(std::string_view key) {
  const std::string* v = find(key);
  if (v == nullptr) return std::nullopt;
  return *v;
}

const std::string* MemoryProjections::find(std::string_view key) const {
  bool found = false;
  const std::size_t i = probe(key, hash_of(key), found);
  return found ? &items_[slots_[i].index - 1].value : nullptr;
}

void MemoryProjections::put(std::string_view key, std::string value) {
  const std::uint64_t h = hash_of(key);
  bool found = false;
  std::size_t i = probe(key, h, found);
  if (found) {
    items_[slots_[i].index - 1].value = std::move(value);
    return;
  }
  if ((live_ + erased_ + 1) * 4 > slots_.size() * 3) {
    // Mostly erased slots: rehash at the same size; else double.
    grow(live_ * 2 >= slots_.size() ? slots_.size() * 2 : slots_.size());
    i = probe(key, h, found);
  }
  std::uint32_t item;
  if (!free_items_.empty()) {
    item = free_items_.back();
    free_items_.pop_back();
  } else {
    item = static_cast<std::uint32_t>(items_.size());
    items_.emplace_back();
  }
  items_[item].key.assign(key);
  items_[item].value = std::move(value);
  if (slots_[i].index == kErased) --erased_;
  slots_[i] = Slot{tag_of(h), item + 1};
  ++live_;
}

void MemoryProjections::del(std::string_view key) {
  bool found = false;
  const std::size_t i = probe(key, hash_of(key), found);
  if (!found) return;
  const std::uint32_t item = slots_[i].index - 1;
  items_[item].key.assign({});
  items_[item].value = std::string();
  free_items_.push_back(item);
  --live_;
  // A slot followed by an empty one ends no probe sequence: it can be emptied outright.
  if (slots_[(i + 1) & (slots_.size() - 1)].index == kEmpty) {
    slots_[i].index = kEmpty;
  } else {
    slots_[i].index = kErased;
    ++erased_;
  }
}

std::vector<MemoryProjections::Entry> MemoryProjections::sorted() const {
  std::vector<Entry> out;
  out.reserve(live_);
  for (const Slot& s : slots_) {
    if (s.index == kEmpty || s.index == kErased) continue;
    const Item& item = items_[s.index - 1];
    out.emplace_back(item.key.view(), item.value);
  }
  // std::string_view compares with char_traits<char>, i.e. like memcmp: bytewise, unsigned.
  // Keys are distinct: no tie to break.
  sort_on_two_threads(out.begin(), out.end(),
                      [](const Entry& a, const Entry& b) { return a.first < b.first; });
  return out;
}

Hash MemoryProjections::digest() const {
  ProjectionDigest d;
  for (const auto& [k, v] : sorted()) d.add(k, v);
  return d.finish();
}

Status replay_projections(const Store& store, MemoryProjections& out, std::optional<Seq> until) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    if (until && e->seq > *until) break;
    auto before = load_status(out, e->filing_id);
    if (!before) return before.take_error();
    auto after = project(out, *before, *e);
    if (!after)
      return make_error(ErrorCode::internal, "event seq " + std::to_string(e->seq.value) +
                                                 " does not replay: " + after.error().message);
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  return {};
}

}  // namespace filingd
