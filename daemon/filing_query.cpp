// GET /v1/filings's query (SPEC §6.2): its parameters, parsed into a FilingSearch, and whether
// a filing matches it. filing_search.cpp walks the indexes for the candidates.
#include <algorithm>

#include "daemon/filing_search.hpp"
#include "daemon/handlers.hpp"
#include "events/provinces.hpp"
#include "events/validation.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/keyring.hpp"

namespace filingd {
namespace {

template <class T>
bool any_of(const std::vector<T>& values, const T& v) {
  return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

Result<FilingSearch> FilingSearch::parse(const Query& q, const Keyring* keyring) {
  FilingSearch f;
  for (auto v : q.all("state")) {
    auto s = parse_filing_state(v);
    if (!s) return malformed("unknown state " + std::string(v), "state");
    f.states.push_back(*s);
  }
  for (auto v : q.all("filing_type")) {
    auto t = parse_filing_type(v);
    if (!t) return malformed("unknown filing_type " + std::string(v), "filing_type");
    f.types.push_back(*t);
  }
  for (auto v : q.all("province")) {
    auto p = canonical_province(v);
    if (!p) return malformed("unknown province " + std::string(v), "province");
    f.provinces.push_back(*p);
  }
  for (auto v : q.all("provider")) f.providers.emplace_back(v);
  if (auto v = q.get("overdue")) {
    if (*v != "true" && *v != "false") return malformed("overdue must be true or false", "overdue");
    f.overdue = *v == "true";
  }
  if (auto v = q.get("subject_name")) {
    if (keyring) f.names.push_back(keys::name_value(keyring->name_ref(*v), ""));
    f.names.push_back(keys::name_value("", *v));
  }
  const auto id_type = q.get("id_type");
  const auto id_number = q.get("id_number");
  if (id_type.has_value() != id_number.has_value())
    return malformed("id_type and id_number are searched together",
                     id_type ? "id_number" : "id_type");
  if (id_type) {
    if (!is_personal_certificate(*id_type) && !is_organisation_certificate(*id_type))
      return malformed("unknown id_type " + std::string(*id_type), "id_type");
    if (keyring) f.identities.push_back(keyring->subject_ref(*id_type, *id_number));
    f.identities.push_back(std::string(*id_type) + ':' + std::string(*id_number));
  }
  if (auto v = q.get("domain")) {
    std::string d(*v);
    if (auto ok = validate_domain(d, "domain"); !ok) return malformed(ok.error().message, "domain");
    f.domain = std::move(d);
  }
  if (auto v = q.get("record_number")) f.record_number = std::string(*v);
  auto after = q.time("submitted_after");
  if (!after) return after.take_error();
  f.submitted_after = *after;
  auto before = q.time("submitted_before");
  if (!before) return before.take_error();
  f.submitted_before = *before;
  if (auto v = q.get("sort")) {
    if (*v == "submitted_at")
      f.sort = Sort::submitted_at;
    else if (*v == "updated_at")
      f.sort = Sort::updated_at;
    else if (*v == "sms_deadline")
      f.sort = Sort::sms_deadline;
    else
      return malformed("sort must be submitted_at, updated_at or sms_deadline", "sort");
    if (f.overdue == true)
      return malformed("overdue=true lists in SLA due order: it takes no sort", "sort");
  }
  if (auto v = q.get("order")) {
    if (*v != "asc" && *v != "desc") return malformed("order must be asc or desc", "order");
    f.descending = *v == "desc";
  }
  return f;
}

bool FilingSearch::matches(const FilingStatus& s, const std::optional<Sla>& sla) const {
  if (!any_of(states, s.state) || !any_of(types, s.filing_type) || !any_of(provinces, s.province) ||
      !any_of(providers, s.provider))
    return false;
  if (overdue && (sla && sla->overdue) != *overdue) return false;
  if (!names.empty() && !any_of(names, keys::name_value(s.name_ref, s.subject.name))) return false;
  if (!identities.empty() && !any_of(identities, s.identity)) return false;
  if (domain && std::none_of(s.websites.begin(), s.websites.end(), [&](const Website& w) {
        return std::find(w.domains.begin(), w.domains.end(), *domain) != w.domains.end();
      }))
    return false;
  if (record_number && s.subject_record_number != *record_number &&
      s.existing_record_number != *record_number &&
      std::none_of(s.websites.begin(), s.websites.end(),
                   [&](const Website& w) { return w.record_number == *record_number; }))
    return false;
  if (submitted_after && s.submitted_at < *submitted_after) return false;
  if (submitted_before && s.submitted_at >= *submitted_before) return false;
  return true;
}

constexpr QueryParam kSearchParams[] = {
    {"state", true},    {"province", true},  {"filing_type", true},
    {"provider", true}, {"overdue"},         {"subject_name"},
    {"id_type"},        {"id_number"},       {"domain"},
    {"record_number"},  {"submitted_after"}, {"submitted_before"},
    {"sort"},           {"order"},           {"limit"},
    {"cursor"}};

std::span<const QueryParam> filing_search_params() { return kSearchParams; }
std::span<const QueryParam> export_params() {
  static const std::vector<QueryParam> params = [] {
    std::vector<QueryParam> all(std::begin(kSearchParams), std::end(kSearchParams));
    all.push_back({"format"});
    return all;
  }();
  return params;
}

}  // namespace filingd
