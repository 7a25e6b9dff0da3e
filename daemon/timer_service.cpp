#include "daemon/timer_service.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <future>

namespace filingd {
namespace {

// Deadlines read and fired per round: bounds memory, and is large enough that a chunk's
// appends share a handful of group commits.
constexpr std::size_t kChunk = 2048;
// Upper bound on one sleep, so a wall-clock jump is noticed within this.
constexpr auto kMaxSleep = std::chrono::seconds(60);

std::string deadline_event_id(const DeadlineEntry& d, Version v) {
  // Deterministic: a deadline fired twice (e.g. after a crash between commit and bookkeeping)
  // is an idempotent retry, never a second event.
  return "timer-" + std::string(keys::to_string(d.kind)) + "-" + d.filing_id + "-v" +
         std::to_string(v.value + 1);
}

}  // namespace

// What the ledger's commit listener holds: the listener outlives the service, so it reaches the
// service only through this, which stop() clears.
struct TimerService::Link {
  std::mutex mu;
  TimerService* self = nullptr;
};

TimerService::TimerService(Ledger& ledger, const Clock& clock)
    : ledger_(ledger), clock_(clock), link_(std::make_shared<Link>()) {}

TimerService::~TimerService() { stop(); }

FireReport TimerService::fire_chunk(const std::vector<DeadlineEntry>& due) {
  struct Shared {
    std::mutex mu;
    std::size_t outstanding;
    FireReport report;
    std::promise<void> done;
  };
  auto shared = std::make_shared<Shared>();
  shared->outstanding = due.size();
  auto finish_one = [this, shared](const DeadlineEntry& d, bool fired) {
    std::lock_guard lock(shared->mu);
    if (fired) {
      ++shared->report.fired;
      (d.kind == keys::DeadlineKind::sms ? fired_sms_ : fired_abandon_).fetch_add(1);
      lag_.observe(static_cast<double>(clock_.now().micros - d.due.micros) / 1e6);
    } else {
      ++shared->report.skipped;
      skipped_.fetch_add(1);
    }
    if (--shared->outstanding == 0) shared->done.set_value();
  };
  for (const DeadlineEntry& d : due) {
    auto status = ledger_.status(d.filing_id);
    const bool sms = d.kind == keys::DeadlineKind::sms;
    // The index and the status are written in one batch, so they agree; a mismatch means an
    // append moved the filing on since we read the index.
    if (!status || !*status ||
        (sms ? (*status)->state != FilingState::sms_pending || (*status)->sms_deadline != d.due
             : (*status)->state != FilingState::returned || (*status)->abandon_at != d.due)) {
      finish_one(d, false);
      continue;
    }
    AppendCommand cmd;
    cmd.filing_id = d.filing_id;
    if (sms) {
      cmd.data = SmsExpired{d.due};
    } else {
      cmd.data = FilingAbandoned{};
    }
    cmd.expected_version = (*status)->version;
    cmd.event_id = deadline_event_id(d, (*status)->version);
    cmd.actor = std::string(kSystemPrincipal);
    cmd.principal = std::string(kSystemPrincipal);
    cmd.occurred_at = d.due;
    ledger_.append_async(std::move(cmd), [d, finish_one](Result<AppendResult> r) {
      if (!r && r.error().code != ErrorCode::conflict)
        spdlog::warn("timer: {} deadline of {} not fired: {}", keys::to_string(d.kind), d.filing_id,
                     r.error().message);
      finish_one(d, r.ok() && !r->duplicate);
    });
  }
  if (!due.empty()) shared->done.get_future().wait();
  return shared->report;
}

FireReport TimerService::fire_due() {
  FireReport total;
  for (;;) {
    const Timestamp now = clock_.now();
    auto due = ledger_.deadlines(Timestamp{now.micros + 1}, std::nullopt, kChunk);
    if (!due) {
      spdlog::error("timer: cannot read deadlines: {}", due.error().message);
      return total;
    }
    if (due->empty()) return total;
    const FireReport r = fire_chunk(*due);
    total.fired += r.fired;
    total.skipped += r.skipped;
    // A chunk where nothing could fire would be read again unchanged: stop here; the next
    // commit or timer wake-up re-evaluates.
    if (r.fired == 0) return total;
  }
}

void TimerService::start() {
  {
    std::lock_guard lock(link_->mu);
    link_->self = this;
  }
  ledger_.add_commit_listener([link = link_](Seq) {
    std::lock_guard lock(link->mu);
    if (link->self) link->self->notify();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "timers");
    run();
  });
}

void TimerService::notify() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void TimerService::run() {
  for (;;) {
    fire_due();
    std::chrono::microseconds wait = kMaxSleep;
    if (auto next = ledger_.deadlines(std::nullopt, std::nullopt, 1); next && !next->empty()) {
      const auto micros = (*next)[0].due.micros - clock_.now().micros;
      wait = std::min(wait, std::chrono::microseconds(std::max<std::int64_t>(micros, 0)));
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return wake_ || stopping_; });
    if (stopping_) return;
    wake_ = false;
  }
}

void TimerService::stop() {
  {
    std::lock_guard lock(link_->mu);
    link_->self = nullptr;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void TimerService::render_metrics(prometheus::Writer& w) const {
  w.family("filingd_timer_fired_total", prometheus::Type::counter,
           "Deadline events appended by the timer service.")
      .sample("filingd_timer_fired_total", {{"kind", "sms"}}, fired_sms_.load())
      .sample("filingd_timer_fired_total", {{"kind", "abandon"}}, fired_abandon_.load());
  w.counter("filingd_timer_skipped_total", "Due deadlines not fired (the filing moved on).",
            skipped_.load());
  w.family("filingd_timer_lag_seconds", prometheus::Type::histogram,
           "Time from a deadline to its durable event.")
      .histogram("filingd_timer_lag_seconds", {}, lag_);
}

}  // namespace filingd
