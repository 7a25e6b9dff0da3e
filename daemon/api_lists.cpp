// Routes over many filings: the list with its filters, and the pending deadlines.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "daemon/api.hpp"
#include "daemon/filing_search.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "events/provinces.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"
#include "projections/sla.hpp"
#include "replay/filing_export.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

Task<Reply> list_filings(Call& call) {
  auto limit = call.query.limit(50, 1000);
  if (!limit) co_return limit.take_error();
  auto search = FilingSearch::parse(call.query, call.ledger->keyring().get());
  if (!search) co_return search.take_error();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  auto next = search_filings(call, *search, *limit, [&](FilingStatus s, const std::optional<Sla>&) {
    write_status(w, call, std::move(s));
  });
  if (!next) co_return next.take_error();
  w.end_array().key("next_cursor");
  if (*next)
    w.string(**next);
  else
    w.null();
  w.end_object();
  co_return json_response(200, std::move(body));
}

// One row per filing (SPEC §6.5), with the list's filters, in pages of up to 100,000 rows: the
// next page's cursor is in the X-Next-Cursor header.
Task<Reply> export_filings(Call& call) {
  const auto format = parse_export_format(call.query.get("format").value_or("csv"));
  if (!format) co_return malformed("format must be csv or jsonl", "format");
  auto limit = call.query.limit(10'000, 100'000);
  if (!limit) co_return limit.take_error();
  auto search = FilingSearch::parse(call.query, call.ledger->keyring().get());
  if (!search) co_return search.take_error();
  HttpResponse r;
  r.body = filing_export_preamble(*format);
  const PersonalView view = view_of(call);
  auto next =
      search_filings(call, *search, *limit, [&](FilingStatus s, const std::optional<Sla>& sla) {
        call.ctx.personal()->open(s);
        append_filing_row(r.body, *format, s, sla, view);
      });
  if (!next) co_return next.take_error();
  const bool csv = *format == ExportFormat::csv;
  r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition", csv ? "attachment; filename=\"filings.csv\""
                                                    : "attachment; filename=\"filings.jsonl\"");
  if (*next) r.headers.emplace_back("X-Next-Cursor", **next);
  co_return r;
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

constexpr QueryParam kDeadlineParams[] = {{"before"}, {"kind"}, {"limit"}};

const Route kRoutes[] = {
    {"GET", "/v1/filings", kReadProjections, list_filings, "list_filings", filing_search_params()},
    {"GET", "/v1/filings/export", kReadProjections, export_filings, "export_filings",
     export_params()},
    {"GET", "/v1/deadlines", kReadProjections, list_deadlines, "deadlines", kDeadlineParams},
};

}  // namespace

std::span<const Route> list_routes() { return kRoutes; }

}  // namespace filingd
