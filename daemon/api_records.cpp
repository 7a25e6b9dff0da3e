// Routes of the record-number registry (备案号).
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/record_number.hpp"
#include "events/validation.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

Task<Reply> get_record(Call& call) {
  const std::string& number = call.path.at(0);
  if (auto rn = parse_record_number(number, "record_number"); !rn)
    co_return malformed(rn.error().message, "record_number");
  auto rec = call.ledger->record(number);
  if (!rec) co_return rec.take_error();
  if (!*rec)
    co_return make_error(ErrorCode::not_found,
                         "record number " + number + " is not in the registry");
  co_return json_response(200, json::serialize(record_to_json(**rec)));
}

// Every record number the domain has had (SPEC §6.7: cancelled ones too): the active one, and
// those of the websites holding it in the filings the domain index names.
Result<std::set<std::string>> numbers_for_domain(const Ledger& ledger, const std::string& domain) {
  std::set<std::string> numbers;
  auto active = ledger.record_for_domain(domain);
  if (!active) return active.take_error();
  if (*active) numbers.insert(**active);
  auto filings = ledger.scan_index(keys::index_prefix(keys::Index::domain, domain), "", 10'000);
  if (!filings) return filings.take_error();
  for (const auto& id : *filings) {
    auto s = ledger.status(id);
    if (!s) return s.take_error();
    if (!*s) continue;
    for (const Website& w : (*s)->websites) {
      if (!w.record_number.empty() &&
          std::find(w.domains.begin(), w.domains.end(), domain) != w.domains.end())
        numbers.insert(w.record_number);
    }
  }
  return numbers;
}

Task<Reply> find_records(Call& call) {
  const auto domain_param = call.query.get("domain");
  const auto subject = call.query.get("subject");
  if (domain_param.has_value() == subject.has_value())
    co_return malformed("give exactly one of domain or subject");
  std::vector<RegistryRecord> found;
  if (domain_param) {
    std::string domain(*domain_param);
    if (auto ok = validate_domain(domain, "domain"); !ok)
      co_return malformed(ok.error().message, "domain");
    auto numbers = numbers_for_domain(*call.ledger, domain);
    if (!numbers) co_return numbers.take_error();
    for (const auto& number : *numbers) {
      auto rec = call.ledger->record(number);
      if (!rec) co_return rec.take_error();
      // A change filing may have moved the record off the domain since.
      if (*rec && std::find((*rec)->domains.begin(), (*rec)->domains.end(), domain) !=
                      (*rec)->domains.end())
        found.push_back(std::move(**rec));
    }
  } else {
    if (auto rn = parse_record_number(*subject, "subject"); !rn || rn->is_website())
      co_return malformed("subject must be a subject record number", "subject");
    auto recs = call.ledger->records_of_subject(*subject);
    if (!recs) co_return recs.take_error();
    found = std::move(*recs);
  }
  json::array items;
  for (const auto& r : found) items.emplace_back(record_to_json(r));
  co_return json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

constexpr QueryParam kFindParams[] = {{"domain"}, {"subject"}};

constexpr Route kRoutes[] = {
    {"GET", "/v1/records/{record_number}", kReadProjections, get_record, "get_record"},
    {"GET", "/v1/records", kReadProjections, find_records, "find_records", kFindParams},
};

}  // namespace

std::span<const Route> record_routes() { return kRoutes; }

}  // namespace filingd
