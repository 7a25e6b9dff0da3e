// Routes of the ledger as a whole and of the daemon: the global log, the head, health,
// readiness and metrics.
#include <boost/json/serialize.hpp>

#include "daemon/api.hpp"
#include "daemon/calendar_watch.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "events/json.hpp"
#include "ledger/ledger.hpp"
#include "metrics/prometheus.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

Task<Reply> global_events(Call& call) {
  auto limit = call.query.limit(100, 10'000);
  if (!limit) co_return limit.take_error();
  auto after = call.query.uint("after_seq");
  if (!after) co_return after.take_error();
  const std::uint64_t from = after->value_or(0);
  auto events = call.ledger->events_after(Seq(from), *limit);
  if (!events) co_return events.take_error();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  for (Event& e : *events) write_event(w, call, std::move(e));
  w.end_array();
  w.key("next_after_seq").number(events->empty() ? from : events->back().seq.value);
  w.end_object();
  co_return json_response(200, std::move(body));
}

Task<Reply> ledger_head(Call& call) {
  const LedgerHead h = call.ledger->head();
  co_return json_response(
      200, json::serialize(json::object{{"seq", h.seq.value}, {"hash", to_hex(h.hash)}}));
}

Task<Reply> healthz(Call&) { co_return json_response(200, R"({"status":"ok"})"); }

// 503 while the daemon starts (a rebuild may be running) or stops, and while the ledger cannot
// be written; 200 otherwise, "degraded" when a dependency (Kafka) is away but appends go on.
Task<Reply> readyz(Call& call) {
  const Ledger* ledger = call.ctx.ledger.load();
  const auto phase = call.ctx.readiness.phase();
  json::object body;
  std::string not_ready;
  if (phase != Readiness::Phase::serving || ledger == nullptr) {
    not_ready = call.ctx.readiness.reason();
  } else if (!ledger->writable()) {
    not_ready = "the ledger cannot be written (the last group commit failed)";
  }
  if (ledger) body["ledger_head_seq"] = ledger->head().seq.value;
  if (const auto until = calendar_until(call.ctx.calendar); !until.empty())
    body["calendar_until"] = until;
  if (!not_ready.empty()) {
    body["status"] = "not ready";
    body["reason"] = not_ready;
    co_return json_response(503, json::serialize(body));
  }
  body["status"] = "ready";
  if (!call.ctx.check_dependencies(body)) body["status"] = "degraded";
  co_return json_response(200, json::serialize(body));
}

Task<Reply> metrics(Call& call) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  prometheus::Writer w(r.body);
  call.ctx.metrics.render(w);
  call.ctx.render_extra_metrics(w);
  if (const Ledger* ledger = call.ctx.ledger.load()) {
    w.gauge("filingd_ledger_head_seq", "The seq of the newest durable event.",
            static_cast<double>(ledger->head().seq.value));
    if (auto counts = ledger->counts()) {
      w.family("filingd_filings", prometheus::Type::gauge, "Filings by state.");
      for (const auto& [name, n] : *counts)
        if (name.starts_with("state:"))
          w.sample("filingd_filings", {{"state", std::string_view(name).substr(6)}}, n);
      w.family("filingd_deadlines_pending", prometheus::Type::gauge,
               "Pending SMS and abandonment deadlines by kind.");
      for (const auto& [name, n] : *counts)
        if (name.starts_with("deadline:"))
          w.sample("filingd_deadlines_pending", {{"kind", std::string_view(name).substr(9)}}, n);
    }
  }
  co_return r;
}

constexpr QueryParam kEventsParams[] = {{"after_seq"}, {"limit"}};

constexpr Route kRoutes[] = {
    {"GET", "/v1/events", kReadHistory, global_events, "events", kEventsParams},
    {"GET", "/v1/ledger/head", kReadProjections, ledger_head, "ledger_head"},
    {"GET", "/healthz", 0, healthz, "healthz", {}, false},
    {"GET", "/readyz", kOperational, readyz, "readyz", {}, false},
    {"GET", "/metrics", kOperational, metrics, "metrics", {}, false},
};

}  // namespace

std::span<const Route> ledger_routes() { return kRoutes; }

}  // namespace filingd
