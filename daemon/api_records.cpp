// Routes of the record-number registry (备案号).
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/record_number.hpp"
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

Task<Reply> find_records(Call& call) {
  const auto domain_param = call.query.get("domain");
  const auto subject = call.query.get("subject");
  if (domain_param.has_value() == subject.has_value())
    co_return malformed("give exactly one of domain or subject");
  std::vector<RegistryRecord> found;
  if (domain_param) {
    std::string domain(*domain_param);
    for (auto& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto number = call.ledger->record_for_domain(domain);
    if (!number) co_return number.take_error();
    if (*number) {
      auto rec = call.ledger->record(**number);
      if (!rec) co_return rec.take_error();
      if (*rec) found.push_back(std::move(**rec));
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
