#include "ledger/format/keys.hpp"

namespace filingd::keys {

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string seq(Seq s) {
  std::string k;
  put_u64(k, s.value);
  return k;
}

std::string tree_block(std::int64_t block) {
  std::string k;
  put_u64(k, static_cast<std::uint64_t>(block));
  return k;
}

std::optional<Seq> parse_seq(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  return Seq(get_u64(key));
}

std::string stream_prefix(std::string_view filing_id) {
  std::string k(filing_id);
  k.push_back('\0');
  return k;
}

std::string stream(std::string_view filing_id, Version v) {
  std::string k = stream_prefix(filing_id);
  put_u32(k, v.value);
  return k;
}

std::optional<StreamKey> parse_stream(std::string_view key) {
  const std::size_t nul = key.find('\0');
  if (nul == std::string_view::npos || key.size() != nul + 5) return std::nullopt;
  return StreamKey{key.substr(0, nul), Version(get_u32(key.substr(nul + 1)))};
}

namespace {
std::string tagged(char tag, std::string_view rest) {
  std::string k;
  k.reserve(rest.size() + 1);
  k.push_back(tag);
  k.append(rest);
  return k;
}
}  // namespace

std::string status(std::string_view filing_id) { return tagged('S', filing_id); }

std::string index_prefix(Index which, std::string_view value) {
  std::string k = "I";
  k.push_back(static_cast<char>(which));
  k.append(value);
  k.push_back('\0');
  return k;
}

std::string index(Index which, std::string_view value, std::string_view filing_id) {
  return index_prefix(which, value).append(filing_id);
}

std::string index_kind_prefix(Index which) {
  std::string k = "I";
  k.push_back(static_cast<char>(which));
  return k;
}

std::string time_value(Timestamp t) {
  std::string v;
  put_u64(v, static_cast<std::uint64_t>(t.micros) ^ (std::uint64_t{1} << 63));
  return v;
}

std::optional<TimedEntry> parse_timed(std::string_view rest) {
  if (rest.size() < 10 || rest[8] != '\0') return std::nullopt;
  const auto micros = static_cast<std::int64_t>(get_u64(rest) ^ (std::uint64_t{1} << 63));
  return TimedEntry{Timestamp{micros}, rest.substr(9)};
}

std::string name_value(std::string_view name_ref, std::string_view clear_name) {
  return name_ref.empty() ? "c" + std::string(clear_name) : "k" + std::string(name_ref);
}

std::string open_domain(std::string_view domain) { return tagged('P', domain); }

std::string count(std::string_view name) { return tagged('C', name); }
std::string open_filing(std::string_view subject) { return tagged('O', subject); }
std::string subject_number(std::string_view subject) { return tagged('N', subject); }
std::string subject_filings_prefix(std::string_view subject) {
  std::string k = tagged('Q', subject);
  k.push_back('\0');
  return k;
}
std::string subject_filing(std::string_view subject, std::string_view filing_id) {
  return subject_filings_prefix(subject).append(filing_id);
}
std::string erased(std::string_view subject_ref) { return tagged('E', subject_ref); }
std::string stats_group(std::string_view state, std::string_view province,
                        std::string_view provider, std::string_view filing_type) {
  std::string name(kStatsGroupPrefix);
  for (std::string_view part : {state, province, provider, filing_type})
    name.append(part).push_back('\x1f');
  name.pop_back();
  return name;
}

std::optional<StatsGroup> parse_stats_group(std::string_view name) {
  if (!name.starts_with(kStatsGroupPrefix)) return std::nullopt;
  name.remove_prefix(kStatsGroupPrefix.size());
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    const auto sep = name.find('\x1f');
    if ((sep == std::string_view::npos) != (i == 3)) return std::nullopt;
    parts[i] = name.substr(0, sep);
    name.remove_prefix(sep == std::string_view::npos ? name.size() : sep + 1);
  }
  return StatsGroup{parts[0], parts[1], parts[2], parts[3]};
}

std::string purge(std::string_view subject_ref) {
  return std::string(kPurgePrefix).append(subject_ref);
}
std::string subject_stream(std::string_view subject_ref) {
  return "subject:" + std::string(subject_ref);
}
std::string record(std::string_view record_number) { return tagged('R', record_number); }
std::string domain(std::string_view domain) { return tagged('D', domain); }

std::string_view to_string(DeadlineKind k) { return k == DeadlineKind::sms ? "sms" : "abandon"; }

std::optional<DeadlineKind> parse_deadline_kind(std::string_view s) {
  if (s == "sms") return DeadlineKind::sms;
  if (s == "abandon") return DeadlineKind::abandon;
  return std::nullopt;
}

std::string sla_prefix(char state, bool zhejiang) {
  std::string k = "L";
  k.push_back(state);
  k.push_back(zhejiang ? '1' : '0');
  return k;
}

std::string sla(char state, bool zhejiang, Timestamp since, std::string_view filing_id) {
  std::string k = sla_prefix(state, zhejiang);
  put_u64(k, static_cast<std::uint64_t>(since.micros) ^ (1ULL << 63));
  k.append(filing_id);
  return k;
}

std::optional<SlaKey> parse_sla(std::string_view rest) {
  if (rest.size() < 8) return std::nullopt;
  return SlaKey{Timestamp{static_cast<std::int64_t>(get_u64(rest) ^ (1ULL << 63))}, rest.substr(8)};
}

std::string deadline(Timestamp due, DeadlineKind kind, std::string_view filing_id) {
  std::string k = "T";
  // Offset so that times before 1970 still sort correctly as unsigned.
  put_u64(k, static_cast<std::uint64_t>(due.micros) ^ (1ULL << 63));
  k.push_back(static_cast<char>(kind));
  k.append(filing_id);
  return k;
}

std::optional<DeadlineKey> parse_deadline(std::string_view key) {
  if (key.size() < 11 || key[0] != 'T') return std::nullopt;
  DeadlineKey d;
  d.due = Timestamp{static_cast<std::int64_t>(get_u64(key.substr(1)) ^ (1ULL << 63))};
  if (key[9] != static_cast<char>(DeadlineKind::sms) &&
      key[9] != static_cast<char>(DeadlineKind::abandon))
    return std::nullopt;
  d.kind = static_cast<DeadlineKind>(key[9]);
  d.filing_id = key.substr(10);
  return d;
}

}  // namespace filingd::keys
