// Routes of subjects (the people and organisations who file): erasure of personal data (SPEC
// §5.4, PIPL art. 47).
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/validation.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

Result<std::string> string_member(const json::object& body, const char* name, bool required) {
  const json::value* v = body.if_contains(name);
  if (v == nullptr) {
    if (required) return make_error(ErrorCode::invalid, std::string(name) + " is required", name);
    return std::string();
  }
  if (!v->is_string()) return malformed(std::string(name) + " must be a string", name);
  return std::string(v->get_string());
}

// POST /v1/subjects/erase {"id_type", "id_number", "reason"}: appends subject_erased and destroys
// the subject's data key in one batch; every read path shows the personal fields as "[erased]"
// from then on. 404 unknown subject, 409 an open filing or an active record number.
Task<Reply> erase_subject(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return body.take_error();
  for (const auto& [key, value] : *body) {
    if (key != "id_type" && key != "id_number" && key != "reason")
      co_return make_error(ErrorCode::invalid, "unknown field " + std::string(key),
                           std::string(key));
  }
  auto id_type = string_member(*body, "id_type", true);
  if (!id_type) co_return id_type.take_error();
  auto id_number = string_member(*body, "id_number", true);
  if (!id_number) co_return id_number.take_error();
  auto reason = string_member(*body, "reason", true);
  if (!reason) co_return reason.take_error();
  if (id_type->empty() || id_type->size() > kMaxShortText || id_number->empty() ||
      id_number->size() > kMaxShortText)
    co_return make_error(ErrorCode::invalid, "id_type and id_number must be 1 to 128 bytes",
                         "id_number");
  if (!call.ctx.keyring)
    co_return make_error(ErrorCode::unavailable, "erasure needs the master key");
  const std::string ref = call.ctx.keyring->subject_ref(*id_type, *id_number);

  // A subject known only from filings stored before personal data was sealed has no data key:
  // its personal data lies in those events in clear, which erasure cannot reach.
  auto clear_filings = call.ledger->subject_filings(*id_type + ':' + *id_number);
  if (!clear_filings) co_return clear_filings.take_error();

  AppendCommand cmd;
  cmd.filing_id = keys::subject_stream(ref);
  cmd.data = SubjectErased{ref, std::move(*reason)};
  cmd.actor = call.who.name;
  cmd.principal = call.who.name;
  auto erased = co_await append_command(call, std::move(cmd));
  if (!erased) {
    if (erased.error().code == ErrorCode::not_found && !clear_filings->empty())
      co_return make_error(ErrorCode::conflict,
                           "this subject's filings were stored before personal data was "
                           "encrypted: their personal data cannot be erased",
                           "id_number");
    co_return erased.take_error();
  }
  call.ledger->purge_destroyed_keys();
  auto filings = call.ledger->subject_filings(ref);
  if (!filings) co_return filings.take_error();
  json::array ids(filings->begin(), filings->end());
  co_return json_response(
      201, json::serialize(json::object{
               {"subject_ref", ref}, {"seq", erased->seq.value}, {"filings", std::move(ids)}}));
}

constexpr Route kRoutes[] = {
    {"POST", "/v1/subjects/erase", kErase, erase_subject, "erase_subject"},
};

}  // namespace

std::span<const Route> subject_routes() { return kRoutes; }

}  // namespace filingd
