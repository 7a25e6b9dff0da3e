// What a desk client (the console, SPEC §7) asks before it draws anything: who its token is and
// what it may do, and which events the state machine allows in each state — so the console
// offers the actions the server would accept, from the server's own table.
#include <algorithm>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;

constexpr std::pair<Role, std::string_view> kRoles[] = {{Role::operator_, "operator"},
                                                        {Role::auditor, "auditor"},
                                                        {Role::reader, "reader"},
                                                        {Role::privacy_officer, "privacy_officer"}};

constexpr std::pair<Permission, std::string_view> kPermissions[] = {
    {kReadProjections, "read_projections"},
    {kReadHistory, "read_history"},
    {kUnmasked, "unmasked"},
    {kAppend, "append"},
    {kErase, "erase"}};

// GET /v1/whoami: {"name", "role", "permissions"}. `role` is null without configured tokens,
// where every request is the principal "local" with every permission.
Task<Reply> whoami(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("name").string(call.who.name).key("role");
  const auto role = std::find_if(std::begin(kRoles), std::end(kRoles), [&](const auto& r) {
    return permissions_of(r.first) == call.who.permissions;
  });
  if (call.ctx.auth.enabled() && role != std::end(kRoles))
    w.string(role->second);
  else
    w.null();
  w.key("permissions").begin_array();
  for (const auto& [bit, name] : kPermissions)
    if (call.who.permissions & bit) w.string(name);
  w.end_array().end_object();
  co_return json_response(200, std::move(body));
}

// GET /v1/workflow: {"allowed_events": {state: [event type, ...]}}, every state in order.
Task<Reply> workflow(Call&) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("allowed_events").begin_object();
  for (auto s = static_cast<std::uint8_t>(FilingState::provider_review);
       s <= static_cast<std::uint8_t>(FilingState::abandoned); ++s) {
    const auto state = static_cast<FilingState>(s);
    w.key(to_string(state)).begin_array();
    for (EventType t : allowed_events(state)) w.string(to_string(t));
    w.end_array();
  }
  w.end_object().end_object();
  co_return json_response(200, std::move(body));
}

constexpr Route kRoutes[] = {
    {"GET", "/v1/whoami", kReadProjections, whoami, "whoami", {}, false},
    {"GET", "/v1/workflow", kReadProjections, workflow, "workflow", {}, false},
};

}  // namespace

std::span<const Route> desk_routes() { return kRoutes; }

}  // namespace filingd
