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

// The SLA clocks, as (state, zhejiang) partitions, each in due order.
constexpr std::size_t kSlaPartitions = kSlaStates.size() * 2;
std::pair<FilingState, bool> sla_partition(std::size_t i) {
  return {kSlaStates[i / 2], i % 2 == 1};
}

// Overdue filings: within a partition, start order is due order, so each partition is walked
// only up to its first filing that is not yet overdue. Cursor: "<partition>.<hex position>".
Result<std::string> list_overdue(const Call& call, const FilingFilter& filter, std::size_t limit) {
  std::size_t partition = 0;
  std::string position;
  if (const auto cursor = call.query.get("cursor")) {
    const auto dot = cursor->find('.');
    if (dot == std::string::npos || dot == 0 ||
        std::from_chars(cursor->data(), cursor->data() + dot, partition).ec != std::errc() ||
        partition >= kSlaPartitions)
      return malformed("bad cursor", "cursor");
    auto decoded = from_hex(cursor->substr(dot + 1));
    if (!decoded) return malformed("bad cursor", "cursor");
    position = std::move(*decoded);
  }
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  std::size_t items = 0;
  std::string next;
  for (; partition < kSlaPartitions && next.empty(); ++partition, position.clear()) {
    const auto [state, zhejiang] = sla_partition(partition);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    bool more = true;
    while (more && next.empty()) {
      auto page = call.ledger->sla_clock(state, zhejiang, position, limit);
      if (!page) return page.take_error();
      more = page->size() == limit;
      for (const auto& entry : *page) {
        if (call.ctx.calendar.due_after(entry.since, days) > now) {
          more = false;  // the rest of this partition is not overdue yet
          break;
        }
        position = entry.position;
        auto s = call.ledger->status(entry.filing_id);
        if (!s) return s.take_error();
        if (!*s) continue;
        const auto sla = sla_of(**s, call.ctx.calendar, now);
        if (!filter.matches(**s, sla)) continue;
        write_status(w, call, **s);
        if (++items == limit) {
          next = std::to_string(partition) + "." + to_hex(position);
          break;
        }
      }
    }
  }
  w.end_array().key("next_cursor");
  if (next.empty())
    w.null();
  else
    w.string(next);
  w.end_object();
  return body;
}

asio::awaitable<Reply> list_filings(Call& call) {
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
    if (*v != "true" && *v != "false") co_return malformed("overdue must be true or false", "overdue");
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

// SLA due times, earliest first: the first `limit` of each partition, merged.
Result<json::array> sla_deadlines(const Call& call, std::optional<Timestamp> before,
                                  std::size_t limit) {
  struct Due {
    Timestamp due;
    FilingState state;
    std::string filing_id;
  };
  std::vector<Due> all;
  for (std::size_t p = 0; p < kSlaPartitions; ++p) {
    const auto [state, zhejiang] = sla_partition(p);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    auto page = call.ledger->sla_clock(state, zhejiang, "", limit);
    if (!page) return page.take_error();
    for (auto& entry : *page) {
      const Timestamp due = call.ctx.calendar.due_after(entry.since, days);
      if (before && due >= *before) break;
      all.push_back({due, state, std::move(entry.filing_id)});
    }
  }
  std::sort(all.begin(), all.end(), [](const Due& a, const Due& b) {
    return std::tie(a.due, a.filing_id) < std::tie(b.due, b.filing_id);
  });
  if (all.size() > limit) all.resize(limit);
  json::array items;
  for (const auto& d : all)
    items.emplace_back(json::object{{"filing_id", d.filing_id},
                                    {"kind", "sla"},
                                    {"state", to_string(d.state)},
                                    {"due_at", format_rfc3339(d.due)}});
  return items;
}

asio::awaitable<Reply> list_deadlines(Call& call) {
  auto limit = call.query.limit(50, 1000);
  if (!limit) co_return limit.take_error();
  auto before = call.query.time("before");
  if (!before) co_return before.take_error();
  std::optional<keys::DeadlineKind> kind;
  if (const auto k = call.query.get("kind")) {
    if (*k == "sla") {
      auto sla = sla_deadlines(call, *before, *limit);
      if (!sla) co_return sla.take_error();
      co_return json_response(200, json::serialize(json::object{{"items", std::move(*sla)}}));
    }
    if (!(kind = keys::parse_deadline_kind(*k)))
      co_return malformed("kind must be sms, abandon or sla", "kind");
  }
  auto list = call.ledger->deadlines(*before, kind, *limit);
  if (!list) co_return list.take_error();
  json::array items;
  for (const auto& d : *list)
    items.emplace_back(json::object{{"filing_id", d.filing_id},
                                    {"kind", keys::to_string(d.kind)},
                                    {"due_at", format_rfc3339(d.due)}});
  co_return json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
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
