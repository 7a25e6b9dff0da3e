// Routes over many filings: the list with its filters, and the pending deadlines.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "events/provinces.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"
#include "projections/sla.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Filters of GET /v1/filings beyond the index walked.
struct FilingFilter {
  std::optional<FilingState> state;
  std::optional<FilingType> type;
  std::optional<std::string> province;
  std::optional<bool> overdue;

  bool matches(const FilingStatus& f, const std::optional<Sla>& sla) const {
    return (!state || f.state == *state) && (!type || f.filing_type == *type) &&
           (!province || f.province == *province) &&
           (!overdue || (sla && sla->overdue) == *overdue);
  }
};

// Overdue filings (walk_overdue). Cursor: "<partition>.<hex position>".
Result<std::string> list_overdue(const Call& call, const FilingFilter& filter, std::size_t limit) {
  OverdueAt from;
  if (const auto cursor = call.query.get("cursor")) {
    const auto dot = cursor->find('.');
    if (dot == std::string::npos || dot == 0 ||
        std::from_chars(cursor->data(), cursor->data() + dot, from.partition).ec != std::errc() ||
        from.partition >= kSlaPartitions)
      return malformed("bad cursor", "cursor");
    auto decoded = from_hex(cursor->substr(dot + 1));
    if (!decoded) return malformed("bad cursor", "cursor");
    from.position = std::move(*decoded);
  }
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  std::size_t items = 0;
  std::string next;
  auto walked = walk_overdue(call, std::move(from), limit,
                             [&](FilingStatus& s, const OverdueAt& at) -> Result<bool> {
                               if (!filter.matches(s, sla_of(s, call.ctx.calendar, now)))
                                 return true;
                               write_status(w, call, std::move(s));
                               if (++items < limit) return true;
                               next = std::to_string(at.partition) + "." + to_hex(at.position);
                               return false;
                             });
  if (!walked) return walked.take_error();
  w.end_array().key("next_cursor");
  if (next.empty())
    w.null();
  else
    w.string(next);
  w.end_object();
  return body;
}

Task<Reply> list_filings(Call& call) {
  auto limit = call.query.limit(50, 1000);
  if (!limit) co_return limit.take_error();
  const Query& q = call.query;
  FilingFilter filter;
  if (auto v = q.get("state"); v && !(filter.state = parse_filing_state(*v)))
    co_return malformed("unknown state " + std::string(*v), "state");
  if (auto v = q.get("filing_type"); v && !(filter.type = parse_filing_type(*v)))
    co_return malformed("unknown filing_type " + std::string(*v), "filing_type");
  if (auto v = q.get("province"); v && !(filter.province = canonical_province(*v)))
    co_return malformed("unknown province " + std::string(*v), "province");
  if (auto v = q.get("overdue")) {
    if (*v != "true" && *v != "false")
      co_return malformed("overdue must be true or false", "overdue");
    filter.overdue = *v == "true";
  }
  if (filter.overdue == true) {
    auto page = list_overdue(call, filter, *limit);
    if (!page) co_return page.take_error();
    co_return json_response(200, std::move(*page));
  }

  // Walk one index (state first: usually the most selective) and filter by the others.
  std::optional<std::pair<keys::Index, std::string>> index;
  if (filter.state) {
    index = {keys::Index::state, std::string(to_string(*filter.state))};
  } else if (filter.type) {
    index = {keys::Index::type, std::string(to_string(*filter.type))};
  } else if (filter.province) {
    index = {keys::Index::province, *filter.province};
  }
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  std::size_t items = 0;
  std::string cursor(q.get("cursor").value_or(""));
  bool more = true;
  while (items < *limit && more) {
    auto ids = call.ledger->list(index, cursor, *limit);
    if (!ids) co_return ids.take_error();
    more = ids->size() == *limit;
    for (const auto& id : *ids) {
      cursor = id;
      auto s = call.ledger->status(id);
      if (!s) co_return s.take_error();
      if (!*s) continue;  // removed between the index read and now (a rebuild)
      if (!filter.matches(**s, sla_of(**s, call.ctx.calendar, now))) continue;
      write_status(w, call, **s);
      if (++items == *limit) break;
    }
  }
  w.end_array().key("next_cursor");
  if (more)
    w.string(cursor);
  else
    w.null();
  w.end_object();
  co_return json_response(200, std::move(body));
}

// A work-queue item (SPEC §6.4): the deadline and its filing's summary, personal data shown as
// the caller may see it.
struct Due {
  Timestamp due;
  std::string_view kind;
  std::string filing_id;
};

Status write_due(JsonWriter& w, const Call& call, const Due& d, Timestamp now) {
  w.begin_object()
      .key("filing_id")
      .string(d.filing_id)
      .key("kind")
      .string(d.kind)
      .key("due_at")
      .time(d.due);
  const std::int64_t left = (d.due.micros - now.micros) / kMicrosPerSecond;
  w.key("seconds_left").raw(std::to_string(left));
  auto s = call.ledger->status(d.filing_id);
  if (!s) return s.take_error();
  if (*s) {
    FilingStatus& f = **s;
    call.ctx.personal()->open(f);
    const bool masked = view_of(call) != PersonalView::clear;
    const auto shown = [&](const std::string& v, bool personal) {
      return personal && masked ? mask_personal(v) : v;
    };
    w.key("state").string(to_string(f.state));
    w.key("province").string(f.province);
    w.key("provider").string(f.provider);
    w.key("subject_name").string(shown(f.subject.name, f.subject.kind == "individual"));
    w.key("responsible_mobile");
    if (f.websites.empty())
      w.null();
    else
      w.string(shown(f.websites.front().responsible.mobile, true));
  }
  w.end_object();
  return {};
}

Result<std::string> write_queue(const Call& call, const std::vector<Due>& items) {
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  for (const Due& d : items)
    if (auto ok = write_due(w, call, d, now); !ok) return ok.take_error();
  w.end_array().end_object();
  return body;
}

// SLA due times, earliest first: the first `limit` of each partition, merged.
Result<std::vector<Due>> sla_deadlines(const Call& call, std::optional<Timestamp> before,
                                       std::size_t limit) {
  std::vector<Due> all;
  for (std::size_t p = 0; p < kSlaPartitions; ++p) {
    const auto [state, zhejiang] = sla_partition(p);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    auto page = call.ledger->sla_clock(state, zhejiang, "", limit);
    if (!page) return page.take_error();
    for (auto& entry : *page) {
      const Timestamp due = call.ctx.calendar.due_after(entry.since, days);
      if (before && due >= *before) break;
      all.push_back({due, "sla", std::move(entry.filing_id)});
    }
  }
  std::sort(all.begin(), all.end(), [](const Due& a, const Due& b) {
    return std::tie(a.due, a.filing_id) < std::tie(b.due, b.filing_id);
  });
  if (all.size() > limit) all.resize(limit);
  return all;
}

Task<Reply> list_deadlines(Call& call) {
  auto limit = call.query.limit(50, 1000);
  if (!limit) co_return limit.take_error();
  auto before = call.query.time("before");
  if (!before) co_return before.take_error();
  std::optional<keys::DeadlineKind> kind;
  if (const auto k = call.query.get("kind")) {
    if (*k == "sla") {
      auto sla = sla_deadlines(call, *before, *limit);
      if (!sla) co_return sla.take_error();
      auto body = write_queue(call, *sla);
      if (!body) co_return body.take_error();
      co_return json_response(200, std::move(*body));
    }
    if (!(kind = keys::parse_deadline_kind(*k)))
      co_return malformed("kind must be sms, abandon or sla", "kind");
  }
  auto list = call.ledger->deadlines(*before, kind, *limit);
  if (!list) co_return list.take_error();
  std::vector<Due> items;
  items.reserve(list->size());
  for (auto& d : *list) items.push_back({d.due, keys::to_string(d.kind), std::move(d.filing_id)});
  auto body = write_queue(call, items);
  if (!body) co_return body.take_error();
  co_return json_response(200, std::move(*body));
}

constexpr QueryParam kListParams[] = {{"state"},   {"province"}, {"filing_type"},
                                      {"overdue"}, {"limit"},    {"cursor"}};
constexpr QueryParam kDeadlineParams[] = {{"before"}, {"kind"}, {"limit"}};

constexpr Route kRoutes[] = {
    {"GET", "/v1/filings", kReadProjections, list_filings, "list_filings", kListParams},
    {"GET", "/v1/deadlines", kReadProjections, list_deadlines, "deadlines", kDeadlineParams},
};

}  // namespace

std::span<const Route> list_routes() { return kRoutes; }

}  // namespace filingd
