#include "ledger/projector.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/format/values.hpp"
#include "ledger/registry_rules.hpp"
#include "projections/sla.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

// ---- list indexes, open-filing index, deadlines ---------------------------------------------

struct DeadlineEntry {
  Timestamp due;
  keys::DeadlineKind kind;
};

std::vector<DeadlineEntry> deadlines_of(const FilingStatus& s) {
  std::vector<DeadlineEntry> out;
  if (s.state == FilingState::sms_pending && s.sms_deadline)
    out.push_back({*s.sms_deadline, keys::DeadlineKind::sms});
  if (s.state == FilingState::returned && s.abandon_at)
    out.push_back({*s.abandon_at, keys::DeadlineKind::abandon});
  return out;
}

std::vector<std::string> index_keys(const FilingStatus& s) {
  std::vector<std::string> out;
  if (!s.exists()) return out;
  out.push_back(keys::index(keys::Index::state, to_string(s.state), s.filing_id));
  out.push_back(keys::index(keys::Index::province, s.province, s.filing_id));
  out.push_back(keys::index(keys::Index::type, to_string(s.filing_type), s.filing_id));
  for (const auto& d : deadlines_of(s)) out.push_back(keys::deadline(d.due, d.kind, s.filing_id));
  if (sla_working_days(s.state, s.province) > 0)
    out.push_back(keys::sla(static_cast<char>(s.state), sla_zhejiang(s.province), s.state_since,
                            s.filing_id));
  out.push_back(keys::subject_filing(s.identity, s.filing_id));
  return out;
}

// Counters read without scanning: filings per state and deadlines per kind (/metrics), and per
// (state, province, provider, filing type) group (/v1/stats, keys::stats_group).
std::vector<std::string> counted_as(const FilingStatus& s) {
  std::vector<std::string> out;
  if (!s.exists()) return out;
  out.push_back("state:" + std::string(to_string(s.state)));
  out.push_back(
      keys::stats_group(to_string(s.state), s.province, s.provider, to_string(s.filing_type)));
  for (const auto& d : deadlines_of(s))
    out.push_back("deadline:" + std::string(keys::to_string(d.kind)));
  return out;
}

void bump(ProjectionTxn& txn, std::string_view name, std::int64_t delta) {
  const std::string key = keys::count(name);
  auto raw = txn.get(key);
  const std::uint64_t now = (raw ? decode_count(*raw).value_or(0) : 0) + delta;
  if (now == 0) {
    txn.del(key);
    return;
  }
  txn.put(key, encode_count(now));
}

// Removes what is only in `old_items` (calling `gone`) and adds what is only in `new_items`
// (calling `added`), so an event that changes nothing touches nothing.
template <class Gone, class Added>
void diff(const std::vector<std::string>& old_items, const std::vector<std::string>& new_items,
          Gone gone, Added added) {
  for (const auto& k : old_items) {
    if (std::find(new_items.begin(), new_items.end(), k) == new_items.end()) gone(k);
  }
  for (const auto& k : new_items) {
    if (std::find(old_items.begin(), old_items.end(), k) == old_items.end()) added(k);
  }
}

// Every field index_keys() and counted_as() read (exists() is the state). An event that changes
// none of them, as most review and SMS steps do, leaves every index and counter as it was.
template <class S>
auto index_tie(S& s) {
  return std::tie(s.state, s.province, s.provider, s.filing_type, s.sms_deadline, s.abandon_at,
                  s.state_since);
}

bool same_index_fields(const FilingStatus& a, const FilingStatus& b) {
  return index_tie(a) == index_tie(b);
}

// Those fields (and the filing_id the keys carry) alone: what an in-place fold keeps of the
// status before an event, instead of a copy of the whole status.
FilingStatus index_fields(const FilingStatus& s) {
  FilingStatus f;
  f.filing_id = s.filing_id;
  f.identity = s.identity;
  index_tie(f) = index_tie(s);
  return f;
}

// The derived entries (see Derived); `before` needs only index_fields().
void update_derived(ProjectionTxn& txn, const FilingStatus& before, const FilingStatus& after) {
  if (same_index_fields(before, after)) return;
  diff(
      index_keys(before), index_keys(after), [&](const std::string& k) { txn.del(k); },
      [&](const std::string& k) { txn.put(k, {}); });
  diff(
      counted_as(before), counted_as(after), [&](const std::string& k) { bump(txn, k, -1); },
      [&](const std::string& k) { bump(txn, k, +1); });
}

// The open-filing index, which check_submission reads. The subject is read from `after`: a
// resubmission cannot change it (check_submission).
void update_open_filing(ProjectionTxn& txn, FilingState before, const FilingStatus& after) {
  const bool was_open = before != FilingState::none && is_open(before);
  if (is_open(after.state) && !was_open) {
    txn.put(keys::open_filing(after.identity), after.filing_id);
  } else if (was_open && !is_open(after.state)) {
    txn.del(keys::open_filing(after.identity));
  }
}

}  // namespace

Result<FilingStatus> load_status(ProjectionTxn& txn, std::string_view filing_id) {
  auto bytes = txn.get(keys::status(filing_id));
  if (!bytes) return FilingStatus{};
  return decode_status(*bytes);
}

Result<std::optional<RegistryRecord>> load_record(ProjectionTxn& txn, std::string_view number) {
  auto bytes = txn.get(keys::record(number));
  if (!bytes) return std::optional<RegistryRecord>{};
  auto rec = decode_registry_record(*bytes);
  if (!rec) return rec.take_error();
  return std::optional<RegistryRecord>(std::move(*rec));
}

Result<FilingStatus> project(ProjectionTxn& txn, const FilingStatus& before, const Event& e) {
  FilingStatus after = before;
  if (auto ok = project_in_place(txn, after, e); !ok) return ok.take_error();
  if (after.exists()) txn.put(keys::status(after.filing_id), encode_status(after));
  return after;
}

Status project_in_place(ProjectionTxn& txn, FilingStatus& status, const Event& e, Derived derived) {
  // An erasure is the subject's, not a filing's: it only marks the subject erased (its stream's
  // version counts the erasures).
  if (const auto* erased = std::get_if<SubjectErased>(&e.data)) {
    txn.put(keys::erased(erased->subject_ref), encode_count(e.version.value));
    return {};
  }
  const FilingState state_before = status.state;
  std::optional<FilingStatus> before;
  if (derived == Derived::maintain) before = index_fields(status);
  std::optional<Resubmitted> resubmitted;
  const auto* submission = std::get_if<FilingSubmitted>(&e.data);
  if (submission && status.exists()) resubmitted = Resubmitted{status.filing_type, status.identity};
  if (auto ok = apply_event(status, e); !ok) return ok;

  if (submission) {
    if (auto ok = check_submission(txn, resubmitted, e, *submission); !ok) return ok;
  } else if (const auto* b = std::get_if<BureauApproved>(&e.data)) {
    if (auto ok = apply_approval(txn, status, e, *b); !ok) return ok;
  } else if (const auto* c = std::get_if<RecordCancelled>(&e.data)) {
    if (auto ok = apply_cancellation(txn, status, e, *c); !ok) return ok;
  }

  if (before) update_derived(txn, *before, status);
  update_open_filing(txn, state_before, status);
  return {};
}

std::vector<std::pair<std::string, std::string>> derived_entries(
    std::span<const FilingStatus> statuses) {
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, std::uint64_t> counts;
  for (const FilingStatus& s : statuses) {
    for (auto& k : index_keys(s)) out.emplace_back(std::move(k), std::string());
    for (const auto& name : counted_as(s)) ++counts[name];
  }
  for (const auto& [name, n] : counts) out.emplace_back(keys::count(name), encode_count(n));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace filingd
