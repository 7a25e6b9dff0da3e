#include "ledger/format/values.hpp"

#include <cstring>

#include "ledger/format/keys.hpp"

namespace filingd {
namespace {

constexpr std::size_t kHeadSize = 8 + kHashSize;
constexpr std::size_t kIdempotencySize = 8 + 4 + 1 + kHashSize;

void put_hash(std::string& out, const Hash& h) {
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
}

Hash get_hash(std::string_view in) {
  Hash h{};
  std::memcpy(h.data(), in.data(), h.size());
  return h;
}

}  // namespace

std::string encode_head(const LedgerHead& h) {
  std::string out;
  out.reserve(kHeadSize);
  keys::put_u64(out, h.seq.value);
  put_hash(out, h.hash);
  return out;
}

std::optional<LedgerHead> decode_head(std::string_view value) {
  if (value.size() != kHeadSize) return std::nullopt;
  return LedgerHead{Seq(keys::get_u64(value)), get_hash(value.substr(8))};
}

std::string encode_idempotency(const IdempotencyEntry& e) {
  std::string out;
  out.reserve(kIdempotencySize);
  keys::put_u64(out, e.seq.value);
  keys::put_u32(out, e.version.value);
  out.push_back(static_cast<char>(e.state));
  put_hash(out, e.fingerprint);
  return out;
}

std::optional<IdempotencyEntry> decode_idempotency(std::string_view value) {
  if (value.size() != kIdempotencySize) return std::nullopt;
  const auto state = static_cast<std::uint8_t>(value[12]);
  if (state > static_cast<std::uint8_t>(FilingState::abandoned)) return std::nullopt;
  return IdempotencyEntry{Seq(keys::get_u64(value)), Version(keys::get_u32(value.substr(8))),
                          static_cast<FilingState>(state), get_hash(value.substr(13))};
}

std::string encode_seq(Seq s) { return keys::seq(s); }

std::optional<Seq> decode_seq(std::string_view value) { return keys::parse_seq(value); }

std::string encode_count(std::uint64_t n) {
  std::string out;
  keys::put_u64(out, n);
  return out;
}

std::optional<std::uint64_t> decode_count(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return keys::get_u64(value);
}

std::string encode_data_key(std::uint32_t generation, std::string_view wrapped) {
  std::string out;
  keys::put_u32(out, generation);
  out += wrapped;
  return out;
}

std::optional<StoredDataKey> decode_data_key(std::string_view value) {
  if (value.size() <= 4) return std::nullopt;
  return StoredDataKey{keys::get_u32(value), value.substr(4)};
}

}  // namespace filingd
