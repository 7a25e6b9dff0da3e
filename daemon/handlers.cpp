#include "daemon/handlers.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <chrono>

#include "daemon/api.hpp"
#include "events/validation.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"
#include "projections/sla.hpp"

namespace filingd {

Result<boost::json::object> parse_body(const HttpRequest& request) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec);
  if (ec) return malformed("request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return malformed("request body must be a JSON object");
  return std::move(v.as_object());
}

namespace {

namespace asio = boost::asio;

// Completes on the caller's executor once the ledger has answered: `submit(cmd, done)` hands
// `cmd` to the ledger, whose completion thread calls `done`.
template <class R, class Command, class Submit>
Task<Result<R>> async_ledger(Command cmd, Submit submit) {
  auto executor = co_await asio::this_coro::executor;
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  auto initiation = [&submit, executor](auto handler, Command c) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    submit(std::move(c), [h, executor](Result<R> r) {
      asio::post(executor, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
  };
  Result<R> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<Executor>&, void(Result<R>)>(
          initiation, use_task, std::move(cmd));
  co_return result;
}

}  // namespace

Task<Result<AppendResult>> append_command(Call& call, AppendCommand cmd) {
  const auto start = std::chrono::steady_clock::now();
  Ledger* ledger = call.ledger;
  // Named (GCC 12, as above).
  auto submit = [ledger](AppendCommand c, Ledger::AppendCallback done) {
    ledger->append_async(std::move(c), std::move(done));
  };
  auto r = co_await async_ledger<AppendResult>(std::move(cmd), submit);
  call.ctx.metrics.observe_append(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  co_return r;
}

Task<Result<ImportResult>> import_command(Call& call, ImportCommand cmd) {
  Ledger* ledger = call.ledger;
  auto submit = [ledger](ImportCommand c, Ledger::ImportCallback done) {
    ledger->import_async(std::move(c), std::move(done));
  };
  auto r = co_await async_ledger<ImportResult>(std::move(cmd), submit);
  co_return r;
}

PersonalView view_of(const Call& call) {
  return (call.who.permissions & kUnmasked) ? PersonalView::clear : PersonalView::masked;
}

void write_status(JsonWriter& w, const Call& call, FilingStatus s) {
  const auto sla = sla_of(s, call.ctx.calendar, call.ctx.clock.now());
  call.ctx.personal()->open(s);
  const RecordStatusOf records = record_status_of(*call.ledger);
  write_json(w, s, view_of(call), sla ? &*sla : nullptr, &records);
}

std::string status_text(const Call& call, FilingStatus s) {
  std::string out;
  JsonWriter w(out);
  write_status(w, call, std::move(s));
  return out;
}

void write_event(JsonWriter& w, const Call& call, Event e) {
  call.ctx.personal()->open(e);
  write_json(w, e, view_of(call));
}

Status walk_overdue(const Call& call, OverdueAt at, std::size_t page,
                    const std::function<Result<bool>(FilingStatus&, const OverdueAt&)>& visit) {
  const Timestamp now = call.ctx.clock.now();
  for (; at.partition < kSlaPartitions; ++at.partition, at.position.clear()) {
    const auto [state, zhejiang] = sla_partition(at.partition);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    for (bool more = true; more;) {
      auto entries = call.ledger->sla_clock(state, zhejiang, at.position, page);
      if (!entries) return entries.take_error();
      more = entries->size() == page;
      for (const auto& entry : *entries) {
        if (call.ctx.calendar.due_after(entry.since, days) > now) {
          more = false;  // the rest of this partition is not overdue yet
          break;
        }
        at.position = entry.position;
        auto s = call.ledger->status(entry.filing_id);
        if (!s) return s.take_error();
        if (!*s) continue;
        auto go_on = visit(**s, at);
        if (!go_on) return go_on.take_error();
        if (!*go_on) return {};
      }
    }
  }
  return {};
}

Result<std::uint64_t> count_overdue_clocks(const Call& call,
                                           const std::function<bool(FilingState)>& counted) {
  const Timestamp now = call.ctx.clock.now();
  std::uint64_t n = 0;
  for (std::size_t p = 0; p < kSlaPartitions; ++p) {
    const auto [state, zhejiang] = sla_partition(p);
    if (!counted(state)) continue;
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    // A clock's due time depends only on its start's day, and grows with it: the filings
    // overdue are those started before the first day whose due time has not passed. A clock
    // started today is never overdue; the days before it are tried back from there (a few
    // weeks at most).
    WorkCalendar::Day first = WorkCalendar::day_of(now);
    while (call.ctx.calendar.due_after(WorkCalendar::start_of(first - 1), days) > now) --first;
    auto counted_here = call.ledger->count_sla_clock(state, zhejiang, WorkCalendar::start_of(first));
    if (!counted_here) return counted_here.take_error();
    n += *counted_here;
  }
  return n;
}

Error unknown_filing(std::string_view id) {
  return make_error(ErrorCode::not_found, "filing " + std::string(id) + " does not exist",
                    "filing_id");
}

Result<std::vector<Event>> filing_stream(const Call& call, std::string_view id) {
  if (!validate_filing_id(id)) return unknown_filing(id);
  auto events = call.ledger->stream(id);
  if (!events) return events.take_error();
  if (events->empty()) return unknown_filing(id);
  return events;
}

Error malformed(std::string message, std::string field) {
  return make_error(ErrorCode::malformed, std::move(message), std::move(field));
}

}  // namespace filingd
