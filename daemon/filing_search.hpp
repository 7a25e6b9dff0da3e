// GET /v1/filings (SPEC §6.2): its filters, and the pages read for them from the projections'
// indexes (ledger/format/keys.hpp keys::Index), never from a scan of every filing unless no
// filter names an index.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/router.hpp"
#include "events/event.hpp"
#include "projections/sla.hpp"
#include "projections/status.hpp"

namespace filingd {

class Keyring;

struct FilingSearch {
  enum class Sort { filing_id, submitted_at, updated_at, sms_deadline };

  // A repeated filter matches any of its values; different filters must all match.
  std::vector<FilingState> states;
  std::vector<FilingType> types;
  std::vector<std::string> provinces;
  std::vector<std::string> providers;
  std::optional<bool> overdue;
  // The forms a subject name or certificate takes in the projections: keyed by the ledger's
  // index key, and in clear for filings stored before personal data was sealed.
  std::vector<std::string> names;       // keys::name_value
  std::vector<std::string> identities;  // FilingStatus::identity
  std::optional<std::string> domain;
  std::optional<std::string> record_number;
  std::optional<Timestamp> submitted_after;   // inclusive
  std::optional<Timestamp> submitted_before;  // exclusive
  Sort sort = Sort::filing_id;
  bool descending = false;

  // Errors (malformed, naming the parameter): an unknown value, an id_type without its
  // id_number (or the reverse), a bad time, sort with overdue=true.
  static Result<FilingSearch> parse(const Query& q, const Keyring* keyring);
  bool matches(const FilingStatus& s, const std::optional<Sla>& sla) const;
  // A search by a person's name or certificate: it finds none of their erased filings.
  bool by_person() const { return !names.empty() || !identities.empty(); }
};

// The declared query parameters of GET /v1/filings, and of GET /v1/filings/export (the same
// and `format`).
std::span<const QueryParam> filing_search_params();
std::span<const QueryParam> export_params();

// Where the next page starts; nullopt after the last one.
using Cursor = std::optional<std::string>;
// Receives each filing of a page, with its SLA as of now.
using EmitFiling = std::function<void(FilingStatus, const std::optional<Sla>&)>;

// One page of the filings `search` finds, in its order, handed to `emit`: at most `limit`.
Result<Cursor> search_filings(const Call& call, const FilingSearch& search, std::size_t limit,
                              const EmitFiling& emit);

}  // namespace filingd
