// Key layout of the ledger's column families. Numbers are big-endian so RocksDB's bytewise
// order is numeric order; variable parts come last or are NUL-terminated, so prefixes scan.
//
//   log          seq                                  -> stored event record
//   streams      filing_id \0 version                 -> seq
//   idempotency  event_id                             -> seq, version, state, fingerprint
//   keys         subject_ref                          -> the subject's data key, wrapped
//   tree         block                                -> stored hashes (ledger/tree.hpp)
//   meta         "head"                               -> seq, hash
//                "publisher_cursor"                   -> seq  (the Kafka publisher's)
//                "rebuilding"                         -> ""   (a rebuild is in progress)
//   projections  S filing_id                          -> status
//                I kind value \0 filing_id            -> ""   (list indexes, keys::Index)
//                O subject                            -> open filing_id
//                N subject                            -> subject record number
//                Q subject \0 filing_id               -> ""   (the subject's filings)
//                E subject_ref                        -> u32  (erased; erasures so far)
//                R record_number                      -> registry record
//                D domain                             -> active website record number
//                P domain                             -> open filing_id holding it
//                T due kind filing_id                 -> ""   (pending deadlines)
//                C name                               -> u64  (filings per state, deadlines
//                                                              per kind: "state:approved")
//                L state zhejiang since filing_id     -> ""   (SLA clocks)
//
// The values are encoded and decoded in values.hpp, event_record.hpp and projection_values.hpp:
// no other file computes a byte offset into a stored key or value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/ids.hpp"
#include "events/time.hpp"

namespace filingd::keys {

void put_u64(std::string& out, std::uint64_t v);
void put_u32(std::string& out, std::uint32_t v);
std::uint64_t get_u64(std::string_view in);  // in.size() >= 8
std::uint32_t get_u32(std::string_view in);  // in.size() >= 4

std::string seq(Seq s);
// The seq of a log key (or a stream value); nullopt unless it is 8 bytes.
std::optional<Seq> parse_seq(std::string_view key);
// The tree column family: the record of a block of leaves, keyed by the block's number,
// big-endian u64, so key order is index order (ledger/tree.hpp).
std::string tree_block(std::int64_t block);
std::string stream(std::string_view filing_id, Version v);
std::string stream_prefix(std::string_view filing_id);
struct StreamKey {
  std::string_view filing_id;
  Version version;
};
std::optional<StreamKey> parse_stream(std::string_view key);

inline constexpr std::string_view kHead = "head";
inline constexpr std::string_view kPublisherCursor = "publisher_cursor";
// Present while projections are being rebuilt: they are incomplete until it is gone.
inline constexpr std::string_view kRebuildMarker = "rebuilding";
// The projections' layout version (values.hpp encode_count); another one needs a rebuild.
inline constexpr std::string_view kProjectionsLayout = "projections_layout";
// The master key's check value (Keyring::check_value) once the ledger holds keys under it.
inline constexpr std::string_view kMasterKeyCheck = "master_key_check";
// Present while every event of the ledger was appended with personal data sealed: no subject
// has a clear identity in the projections, so a submission need not look for one.
inline constexpr std::string_view kSealedFromGenesis = "sealed_from_genesis";
// purge/<subject_ref>: written by an erasure, deleted once the destroyed data key's bytes are
// compacted out of the files; one left at open (a crash came first) asks for the purge again.
inline constexpr std::string_view kPurgePrefix = "purge/";
std::string purge(std::string_view subject_ref);

std::string status(std::string_view filing_id);
inline constexpr std::string_view kStatusPrefix = "S";

// The list indexes (SPEC §6.2): I kind value \0 filing_id -> "". The sorted ones (submitted,
// updated, sms_deadline) hold time_value(t) as their value, so a scan of index_kind_prefix walks
// them in time order.
enum class Index : char {
  state = 's',
  province = 'p',
  type = 't',
  provider = 'v',
  domain = 'd',       // each domain of each website
  record = 'r',       // each record number the filing holds or names
  name = 'n',         // the subject's name: name_value()
  submitted = 'a',    // submitted_at
  updated = 'u',      // updated_at
  sms_deadline = 'm'  // the pinned SMS deadline, once there is one
};
std::string index(Index which, std::string_view value, std::string_view filing_id);
std::string index_prefix(Index which, std::string_view value);
std::string index_kind_prefix(Index which);
// A time as 8 bytes whose bytewise order is time order.
std::string time_value(Timestamp t);
// What the rest of a sorted index's key (after index_kind_prefix) holds.
struct TimedEntry {
  Timestamp at;
  std::string_view filing_id;
};
std::optional<TimedEntry> parse_timed(std::string_view rest);
// A subject name in the name index: its keyed hash ("k" + FilingSubmitted::name_ref) once names
// are sealed; the name itself ("c" + name) for a filing stored before, or without a keyring.
std::string name_value(std::string_view name_ref, std::string_view clear_name);

std::string count(std::string_view name);
inline constexpr std::string_view kCountPrefix = "C";
// The counter name of a (state, province, provider, filing type) group: "group:" and the four
// values separated by U+001F (none contains it: a provider with a control character is refused).
inline constexpr std::string_view kStatsGroupPrefix = "group:";
std::string stats_group(std::string_view state, std::string_view province,
                        std::string_view provider, std::string_view filing_type);
struct StatsGroup {
  std::string_view state, province, provider, filing_type;
};
std::optional<StatsGroup> parse_stats_group(std::string_view name);

// `subject`: projections/status.hpp subject_identity.
std::string open_filing(std::string_view subject);
std::string subject_number(std::string_view subject);
std::string subject_filing(std::string_view subject, std::string_view filing_id);
std::string subject_filings_prefix(std::string_view subject);
std::string erased(std::string_view subject_ref);
// The stream of a subject's erasures (not a filing's: its id has a character no filing id may).
std::string subject_stream(std::string_view subject_ref);
std::string record(std::string_view record_number);
std::string domain(std::string_view domain);
// P domain -> the open filing whose websites hold it (SPEC §6.1: refused at submission for
// another subject).
std::string open_domain(std::string_view domain);

enum class DeadlineKind : char { sms = 's', abandon = 'a' };
std::string_view to_string(DeadlineKind k);
std::optional<DeadlineKind> parse_deadline_kind(std::string_view s);

// SLA clocks: L state zhejiang(0|1) state_since filing_id -> "". Ordered by start time within a
// partition, which for a fixed SLA length is due order.
std::string sla(char state, bool zhejiang, Timestamp since, std::string_view filing_id);
std::string sla_prefix(char state, bool zhejiang);
// The rest of an SLA key after its prefix.
struct SlaKey {
  Timestamp since;
  std::string_view filing_id;
};
std::optional<SlaKey> parse_sla(std::string_view key_after_prefix);

inline constexpr std::string_view kDeadlinePrefix = "T";
std::string deadline(Timestamp due, DeadlineKind kind, std::string_view filing_id);
struct DeadlineKey {
  Timestamp due;
  DeadlineKind kind;
  std::string_view filing_id;
};
std::optional<DeadlineKey> parse_deadline(std::string_view key);

}  // namespace filingd::keys
