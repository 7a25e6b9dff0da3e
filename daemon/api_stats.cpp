// GET /v1/stats (SPEC §6.3): filings counted by any of state, province, provider and filing
// type, with the overdue filings and the SMS deadlines due soon. The groups come from counters the
// projector keeps per (state, province, provider, filing type), so counting never scans filings;
// overdue and the SMS windows walk only their own index entries, and read the filings concerned
// only when a filter other than the state needs their status.
#include <map>
#include <tuple>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/provinces.hpp"
#include "ledger/ledger.hpp"
#include "projections/sla.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kDimensions[] = {"state", "province", "provider", "filing_type"};

// The filters of the list that the groups carry (each value: any of those given).
struct StatsFilter {
  std::vector<std::string> values[4];  // by dimension; empty: any

  bool matches(const std::string_view (&group)[4]) const {
    for (int d = 0; d < 4; ++d)
      if (!values[d].empty() &&
          std::find(values[d].begin(), values[d].end(), group[d]) == values[d].end())
        return false;
    return true;
  }
  // Whether only the state is filtered (or nothing): a filing's state is known without its
  // status where an index is kept per state.
  bool by_state_only() const { return values[1].empty() && values[2].empty() && values[3].empty(); }
  bool unfiltered() const { return by_state_only() && values[0].empty(); }
  bool matches(const FilingStatus& s) const {
    const std::string_view group[4] = {to_string(s.state), s.province, s.provider,
                                       to_string(s.filing_type)};
    return matches(group);
  }
};

Result<StatsFilter> read_filter(const Query& q) {
  StatsFilter f;
  for (std::string_view v : q.all("state")) {
    if (!parse_filing_state(v)) return malformed("unknown state " + std::string(v), "state");
    f.values[0].emplace_back(v);
  }
  for (std::string_view v : q.all("province")) {
    auto p = canonical_province(v);
    if (!p) return malformed("unknown province " + std::string(v), "province");
    f.values[1].push_back(*p);
  }
  for (std::string_view v : q.all("provider")) f.values[2].emplace_back(v);
  for (std::string_view v : q.all("filing_type")) {
    if (!parse_filing_type(v))
      return malformed("unknown filing_type " + std::string(v), "filing_type");
    f.values[3].emplace_back(v);
  }
  return f;
}

// Which dimensions to group by: "by=state,province" (absent: none, the totals only).
Result<std::vector<int>> read_by(const Query& q) {
  std::vector<int> by;
  const auto text = q.get("by");
  if (!text || text->empty()) return by;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto* at = std::find(std::begin(kDimensions), std::end(kDimensions), name);
    if (at == std::end(kDimensions))
      return malformed("by: unknown dimension \"" + std::string(name) +
                           "\" (state, province, provider, filing_type)",
                       "by");
    const int d = static_cast<int>(at - std::begin(kDimensions));
    if (std::find(by.begin(), by.end(), d) != by.end())
      return malformed("by: " + std::string(name) + " given twice", "by");
    by.push_back(d);
  }
  return by;
}

// Overdue filings matching `filter`: from the SLA clocks alone when it names states only
// (count_overdue_clocks), else each overdue filing's status read (walk_overdue).
Result<std::uint64_t> count_overdue(const Call& call, const StatsFilter& filter) {
  if (filter.by_state_only()) {
    const auto& states = filter.values[0];
    return count_overdue_clocks(call, [&](FilingState s) {
      return states.empty() ||
             std::find(states.begin(), states.end(), to_string(s)) != states.end();
    });
  }
  std::uint64_t n = 0;
  auto walked = walk_overdue(call, {}, 1000, [&](FilingStatus& s, const OverdueAt&) {
    if (filter.matches(s)) ++n;
    return Result<bool>(true);
  });
  if (!walked) return walked.take_error();
  return n;
}

Task<Reply> stats(Call& call) {
  auto filter = read_filter(call.query);
  if (!filter) co_return filter.take_error();
  auto by = read_by(call.query);
  if (!by) co_return by.take_error();
  auto counts = call.ledger->counts();
  if (!counts) co_return counts.take_error();

  std::map<std::vector<std::string>, std::uint64_t> groups;
  std::uint64_t total = 0;
  for (const auto& [name, n] : *counts) {
    const auto g = keys::parse_stats_group(name);
    if (!g) continue;
    const std::string_view values[4] = {g->state, g->province, g->provider, g->filing_type};
    if (!filter->matches(values)) continue;
    total += n;
    std::vector<std::string> key;
    for (int d : *by) key.emplace_back(values[d]);
    groups[key] += n;
  }
  auto overdue = count_overdue(call, *filter);
  if (!overdue) co_return overdue.take_error();

  // SMS deadlines due within 1, 6 and 24 hours, earliest first.
  const Timestamp now = call.ctx.clock.now();
  auto due = call.ledger->deadlines(Timestamp{now.micros + 24 * kMicrosPerHour},
                                    keys::DeadlineKind::sms, SIZE_MAX);
  if (!due) co_return due.take_error();
  std::uint64_t within[3] = {};
  for (const auto& d : *due) {
    if (!filter->unfiltered()) {  // the filter values are in the filing's status
      auto s = call.ledger->status(d.filing_id);
      if (!s) co_return s.take_error();
      if (!*s || !filter->matches(**s)) continue;
    }
    const std::int64_t left = d.due.micros - now.micros;
    if (left < kMicrosPerHour) ++within[0];
    if (left < 6 * kMicrosPerHour) ++within[1];
    ++within[2];
  }

  std::string body;
  JsonWriter w(body);
  w.begin_object().key("groups").begin_array();
  for (const auto& [key, n] : groups) {
    w.begin_object();
    for (std::size_t i = 0; i < by->size(); ++i) w.key(kDimensions[(*by)[i]]).string(key[i]);
    w.key("count").number(n).end_object();
  }
  w.end_array();
  w.key("total").number(total).key("overdue").number(*overdue);
  w.key("sms_due_within").begin_object();
  w.key("1h").number(within[0]).key("6h").number(within[1]).key("24h").number(within[2]);
  w.end_object().end_object();
  co_return json_response(200, std::move(body));
}

constexpr QueryParam kStatsParams[] = {
    {"by"}, {"state", true}, {"province", true}, {"provider", true}, {"filing_type", true}};

constexpr Route kRoutes[] = {
    {"GET", "/v1/stats", kReadProjections, stats, "stats", kStatsParams},
};

}  // namespace

std::span<const Route> stats_routes() { return kRoutes; }

}  // namespace filingd
