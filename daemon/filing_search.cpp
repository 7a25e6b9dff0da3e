#include "daemon/filing_search.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"

namespace filingd {
namespace {

using keys::Index;

// An exact filter (certificate, record number, domain, name) rarely matches more filings than
// this; a sorted page of one is read whole and sorted in memory, not walked in the sort index.
constexpr std::size_t kGatherLimit = 10'000;
// Index entries read per step of a walk.
constexpr std::size_t kStep = 256;
// A submission-time window without an exact filter is listed in filing id order from the
// submission index: its entries are read whole (a week of a million-filing desk is about 10,000)
// and sorted in memory, up to this many; a wider window walks every filing instead.
constexpr std::size_t kWindowGatherLimit = 100'000;

std::optional<Timestamp> sort_time(const FilingStatus& s, FilingSearch::Sort sort) {
  switch (sort) {
    case FilingSearch::Sort::submitted_at:
      return s.submitted_at;
    case FilingSearch::Sort::updated_at:
      return s.updated_at;
    case FilingSearch::Sort::sms_deadline:
      return s.sms_deadline;
    case FilingSearch::Sort::filing_id:
      break;
  }
  return std::nullopt;
}

Index sort_index(FilingSearch::Sort sort) {
  return sort == FilingSearch::Sort::submitted_at ? Index::submitted
         : sort == FilingSearch::Sort::updated_at ? Index::updated
                                                  : Index::sms_deadline;
}

// Where a page's candidates come from: the union of the `prefixes` (each key's rest is a filing
// id), in filing id order.
std::vector<std::string> exact_prefixes(const FilingSearch& f) {
  std::vector<std::string> out;
  for (const auto& id : f.identities) out.push_back(keys::subject_filings_prefix(id));
  if (!out.empty()) return out;
  if (f.record_number) return {keys::index_prefix(Index::record, *f.record_number)};
  if (f.domain) return {keys::index_prefix(Index::domain, *f.domain)};
  for (const auto& n : f.names) out.push_back(keys::index_prefix(Index::name, n));
  return out;
}

// Category filters as index prefixes, one list per filter given (a repeated one: any of them).
using IndexChecks = std::vector<std::vector<std::string>>;

IndexChecks category_filters(const FilingSearch& f) {
  IndexChecks out;
  const auto add = [&](Index which, const auto& values, auto name) {
    if (values.empty()) return;
    out.emplace_back();
    for (const auto& v : values) out.back().push_back(keys::index_prefix(which, name(v)));
  };
  const auto as_is = [](const std::string& v) { return v; };
  add(Index::state, f.states, [](FilingState s) { return std::string(to_string(s)); });
  add(Index::type, f.types, [](FilingType t) { return std::string(to_string(t)); });
  add(Index::provider, f.providers, as_is);
  add(Index::province, f.provinces, as_is);
  return out;
}

// Where a walk without an exact filter finds its candidates (`source`): the index of the category
// filter with the fewest filings, every filing when there is none; the other filters are its
// `checks`. Filters are counted up to kProbe entries each, so two large ones keep the order
// above (state, type, provider, province).
struct CategoryWalk {
  std::vector<std::string> source;
  IndexChecks checks;
};

Result<CategoryWalk> category_walk(const Call& call, const FilingSearch& f) {
  constexpr std::size_t kProbe = 4096;
  auto filters = category_filters(f);
  if (filters.empty()) return CategoryWalk{{std::string(keys::kStatusPrefix)}, {}};
  std::size_t best = 0, fewest = SIZE_MAX;
  for (std::size_t i = 0; i < filters.size() && filters.size() > 1; ++i) {
    std::size_t n = 0;
    for (const auto& prefix : filters[i]) {
      auto got = call.ledger->scan_index(prefix, "", kProbe);
      if (!got) return got.take_error();
      n += got->size();
      if (n >= kProbe) break;
    }
    if (n < fewest && (n < kProbe || i == 0)) {
      fewest = n;
      best = i;
    }
  }
  CategoryWalk walk{std::move(filters[best]), {}};
  for (std::size_t i = 0; i < filters.size(); ++i)
    if (i != best) walk.checks.push_back(std::move(filters[i]));
  return walk;
}

// Whether the search finds `s`: it matches, and is not an erased subject's filing searched by
// their name or certificate (PIPL art. 47: the erased person can no longer be traced to it).
bool finds(const Call& call, const FilingSearch& f, const FilingStatus& s,
           const std::optional<Sla>& sla) {
  return f.matches(s, sla) && !(f.by_person() && call.ctx.personal()->erased(s));
}

// Hands the matching filings of a walk to `emit` until the page is full. A candidate must be in
// an index of each of `checks` before its status is read: a point read of its entry, which the
// Bloom filters mostly answer, where reading, decoding and timing the status costs several
// times more (a state and a province over a million filings fail most candidates). The status
// is still matched whole. Statuses are read in batches of as many candidates as the page has
// room for (Ledger::statuses, one MultiGet): the page can only fill at a batch's last
// candidate, so that one is the walk's cursor.
class Page {
 public:
  Page(const Call& call, const FilingSearch& f, std::size_t limit, const EmitFiling& emit,
       IndexChecks checks = {})
      : call_(call),
        f_(f),
        limit_(limit),
        emit_(emit),
        checks_(std::move(checks)),
        now_(call.ctx.clock.now()) {}
  // Full once a batch filled it; a walk that runs out of candidates calls flush() first.
  bool full() const { return items_ == limit_; }
  Status offer(std::string_view filing_id) {
    for (const auto& any : checks_) {
      bool in = false;
      for (std::size_t i = 0; i < any.size() && !in; ++i) {
        auto got = call_.ledger->store().get(Cf::projections, any[i] + std::string(filing_id));
        if (!got) return got.take_error();
        in = got->has_value();
      }
      if (!in) return {};
    }
    pending_.emplace_back(filing_id);
    return pending_.size() < limit_ - items_ ? Status() : flush();
  }
  // Reads, matches and emits the candidates offered since the last batch.
  Status flush() {
    if (pending_.empty()) return {};
    auto read = call_.ledger->statuses(pending_);
    if (!read) return read.take_error();
    pending_.clear();
    for (auto& s : *read)
      if (s) offer(std::move(*s));
    return {};
  }
  void offer(FilingStatus s) {
    const auto sla = sla_of(s, call_.ctx.calendar, now_);
    if (!finds(call_, f_, s, sla)) return;
    emit_(std::move(s), sla);
    ++items_;
  }

 private:
  const Call& call_;
  const FilingSearch& f_;
  std::size_t limit_;
  const EmitFiling& emit_;
  IndexChecks checks_;
  std::vector<std::string> pending_;  // filing ids offered, not yet read
  std::size_t items_ = 0;
  Timestamp now_;
};

// Filing id order: the candidates of every prefix after the cursor, merged. Each step takes the
// candidates up to the lowest last entry of a prefix that may hold more, so none is skipped.
Result<Cursor> walk_by_id(const Call& call, const FilingSearch& f,
                          const std::vector<std::string>& prefixes, IndexChecks checks,
                          std::size_t limit, const EmitFiling& emit) {
  Page page(call, f, limit, emit, std::move(checks));
  std::string cursor(call.query.get("cursor").value_or(""));
  const auto beyond = [&](const std::string& a, const std::string& b) {
    return f.descending ? a < b : a > b;
  };
  for (;;) {
    std::vector<std::string> ids;
    std::optional<std::string> bound;  // set while some prefix may hold more
    for (const auto& prefix : prefixes) {
      auto got = call.ledger->scan_index(prefix, cursor, kStep, f.descending);
      if (!got) return got.take_error();
      if (got->size() == kStep && (!bound || beyond(*bound, got->back()))) bound = got->back();
      ids.insert(ids.end(), std::make_move_iterator(got->begin()),
                 std::make_move_iterator(got->end()));
    }
    std::sort(ids.begin(), ids.end(), [&](const auto& a, const auto& b) { return beyond(b, a); });
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::size_t i = 0;
    for (; i < ids.size() && !page.full(); ++i) {
      if (bound && beyond(ids[i], *bound)) break;
      cursor = ids[i];
      if (auto ok = page.offer(ids[i]); !ok) return ok.take_error();
    }
    if (!bound && i == ids.size()) {
      if (auto ok = page.flush(); !ok) return ok.take_error();
      return Cursor();
    }
    if (page.full()) return Cursor(cursor);
  }
}

// Sorted by a time: the sort index walked from the cursor (or the submitted_* bound it can
// start at). Cursors are the hex of the index entry's rest (time, NUL, filing id).
Result<Cursor> walk_sorted(const Call& call, const FilingSearch& f, std::string position,
                           std::size_t limit, const EmitFiling& emit) {
  Page page(call, f, limit, emit, category_filters(f));
  const std::string prefix = keys::index_kind_prefix(sort_index(f.sort));
  const bool by_submission = f.sort == FilingSearch::Sort::submitted_at;
  if (position.empty() && by_submission) {
    const auto& start = f.descending ? f.submitted_before : f.submitted_after;
    if (start) position = keys::time_value(*start);
  }
  for (;;) {
    auto got = call.ledger->scan_index(prefix, position, kStep, f.descending);
    if (!got) return got.take_error();
    bool more = got->size() == kStep;
    std::size_t i = 0;
    for (; i < got->size() && !page.full(); ++i) {
      const auto entry = keys::parse_timed((*got)[i]);
      if (!entry) continue;  // not an index entry: verify reports it
      if (by_submission &&
          (f.descending ? f.submitted_after && entry->at < *f.submitted_after
                        : f.submitted_before && entry->at >= *f.submitted_before)) {
        more = false;
        i = got->size();
        break;
      }
      position = (*got)[i];
      if (auto ok = page.offer(entry->filing_id); !ok) return ok.take_error();
    }
    if (!more && i == got->size()) {
      if (auto ok = page.flush(); !ok) return ok.take_error();
      return Cursor();
    }
    if (page.full()) return Cursor(to_hex(position));
  }
}

// Sorted, with an exact filter: every candidate read, sorted in memory, the page after the
// cursor taken. Nullopt (nothing emitted) when there are more than kGatherLimit candidates.
Result<std::optional<Cursor>> gather_sorted(const Call& call, const FilingSearch& f,
                                            const std::vector<std::string>& prefixes,
                                            const std::string& position, std::size_t limit,
                                            const EmitFiling& emit) {
  std::vector<std::string> ids;
  for (const auto& prefix : prefixes) {
    auto got = call.ledger->scan_index(prefix, "", kGatherLimit + 1);
    if (!got) return got.take_error();
    ids.insert(ids.end(), got->begin(), got->end());
    if (ids.size() > kGatherLimit) return std::optional<Cursor>();
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const Timestamp now = call.ctx.clock.now();
  struct Found {
    std::string rest;  // as in the sort index
    FilingStatus status;
    std::optional<Sla> sla;
  };
  auto statuses = call.ledger->statuses(ids);
  if (!statuses) return statuses.take_error();
  std::vector<Found> found;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto& s = (*statuses)[i];
    if (!s) continue;
    const auto at = sort_time(*s, f.sort);
    auto sla = sla_of(*s, call.ctx.calendar, now);
    if (!at || !finds(call, f, *s, sla)) continue;
    std::string rest = keys::time_value(*at);
    rest.push_back('\0');
    rest.append(ids[i]);
    if (!position.empty() && (f.descending ? rest >= position : rest <= position)) continue;
    found.push_back({std::move(rest), std::move(*s), std::move(sla)});
  }
  std::sort(found.begin(), found.end(), [&](const Found& a, const Found& b) {
    return f.descending ? a.rest > b.rest : a.rest < b.rest;
  });
  const bool more = found.size() > limit;
  if (more) found.resize(limit);
  for (Found& x : found) emit(std::move(x.status), x.sla);
  return std::optional<Cursor>(more ? Cursor(to_hex(found.back().rest)) : Cursor());
}

// Filing id order, the candidates read from the submission index between submitted_after and
// submitted_before: every candidate id, sorted, the page after the cursor offered. Nullopt
// (nothing emitted) when the window holds more than kWindowGatherLimit filings.
Result<std::optional<Cursor>> gather_window_by_id(const Call& call, const FilingSearch& f,
                                                  std::size_t limit, const EmitFiling& emit) {
  constexpr std::size_t kChunk = 4096;
  const std::string prefix = keys::index_kind_prefix(Index::submitted);
  std::string position = f.submitted_after ? keys::time_value(*f.submitted_after) : "";
  std::vector<std::string> ids;
  for (bool more = true; more;) {
    auto got = call.ledger->scan_index(prefix, position, kChunk);
    if (!got) return got.take_error();
    more = got->size() == kChunk;
    for (const auto& rest : *got) {
      const auto entry = keys::parse_timed(rest);
      if (!entry) continue;  // not an index entry: verify reports it
      if (f.submitted_before && entry->at >= *f.submitted_before) {
        more = false;
        break;
      }
      if (ids.size() == kWindowGatherLimit) return std::optional<Cursor>();
      ids.emplace_back(entry->filing_id);
    }
    if (!got->empty()) position = got->back();
  }
  const auto beyond = [&](const std::string& a, const std::string& b) {
    return f.descending ? a < b : a > b;
  };
  std::sort(ids.begin(), ids.end(), [&](const auto& a, const auto& b) { return beyond(b, a); });
  const std::string cursor(call.query.get("cursor").value_or(""));
  Page page(call, f, limit, emit);
  for (const auto& id : ids) {
    if (!cursor.empty() && !beyond(id, cursor)) continue;
    if (auto ok = page.offer(id); !ok) return ok.take_error();
    if (page.full()) return std::optional<Cursor>(Cursor(id));
  }
  if (auto ok = page.flush(); !ok) return ok.take_error();
  return std::optional<Cursor>(Cursor());
}

// Overdue filings (walk_overdue), in SLA order. Cursor: "<partition>.<hex position>".
Result<Cursor> walk_overdue_page(const Call& call, const FilingSearch& f, std::size_t limit,
                                 const EmitFiling& emit) {
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
  Page page(call, f, limit, emit);
  Cursor next;
  auto walked = walk_overdue(call, std::move(from), limit,
                             [&](FilingStatus& s, const OverdueAt& at) -> Result<bool> {
                               page.offer(std::move(s));
                               if (!page.full()) return true;
                               next = std::to_string(at.partition) + "." + to_hex(at.position);
                               return false;
                             });
  if (!walked) return walked.take_error();
  return next;
}

}  // namespace

Result<Cursor> search_filings(const Call& call, const FilingSearch& f, std::size_t limit,
                              const EmitFiling& emit) {
  if (f.overdue == true) return walk_overdue_page(call, f, limit, emit);
  const auto exact = exact_prefixes(f);
  if (f.sort == FilingSearch::Sort::filing_id) {
    // A submission window alone: its filings from the submission index, not a walk of every
    // filing in id order (the category filters have indexes of their own to walk).
    if (exact.empty() && (f.submitted_after || f.submitted_before) && f.states.empty() &&
        f.types.empty() && f.providers.empty() && f.provinces.empty()) {
      auto page = gather_window_by_id(call, f, limit, emit);
      if (!page) return page.take_error();
      if (*page) return std::move(**page);
    }
    if (!exact.empty()) return walk_by_id(call, f, exact, category_filters(f), limit, emit);
    auto walk = category_walk(call, f);
    if (!walk) return walk.take_error();
    return walk_by_id(call, f, walk->source, std::move(walk->checks), limit, emit);
  }
  std::string position;
  if (auto cursor = call.query.get("cursor")) {
    auto decoded = from_hex(*cursor);
    if (!decoded || !keys::parse_timed(*decoded)) return malformed("bad cursor", "cursor");
    position = std::move(*decoded);
  }
  if (!exact.empty()) {
    auto page = gather_sorted(call, f, exact, position, limit, emit);
    if (!page) return page.take_error();
    if (*page) return std::move(**page);
  }
  return walk_sorted(call, f, std::move(position), limit, emit);
}

}  // namespace filingd
