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

// The index entries of the fields index_tie() names.
std::vector<std::string> tied_keys(const FilingStatus& s) {
  using keys::Index;
  std::vector<std::string> out;
  if (!s.exists()) return out;
  out.push_back(keys::index(Index::state, to_string(s.state), s.filing_id));
  out.push_back(keys::index(Index::province, s.province, s.filing_id));
  out.push_back(keys::index(Index::type, to_string(s.filing_type), s.filing_id));
  out.push_back(keys::index(Index::provider, s.provider, s.filing_id));
  if (s.sms_deadline)
    out.push_back(keys::index(Index::sms_deadline, keys::time_value(*s.sms_deadline), s.filing_id));
  for (const auto& d : deadlines_of(s)) out.push_back(keys::deadline(d.due, d.kind, s.filing_id));
  if (sla_working_days(s.state, s.province) > 0)
    out.push_back(keys::sla(static_cast<char>(s.state), sla_zhejiang(s.province), s.state_since,
                            s.filing_id));
  out.push_back(keys::subject_filing(s.identity, s.filing_id));
  return out;
}

// The entries of what only a submission or an approval changes (changes_sites): the subject's
// name, the submission time, the websites' domains and the record numbers the filing holds or
// names. Kept apart so that the fold copies none of it for the other events.
std::vector<std::string> site_keys(const FilingStatus& s) {
  using keys::Index;
  std::vector<std::string> out;
  if (!s.exists()) return out;
  if (!s.name_ref.empty() || !s.subject.name.empty())
    out.push_back(
        keys::index(Index::name, keys::name_value(s.name_ref, s.subject.name), s.filing_id));
  out.push_back(keys::index(Index::submitted, keys::time_value(s.submitted_at), s.filing_id));
  auto add = [&](Index which, const std::string& value) {
    if (value.empty()) return;
    auto k = keys::index(which, value, s.filing_id);
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(std::move(k));
  };
  for (const Website& w : s.websites) {
    for (const auto& d : w.domains) add(Index::domain, d);
    add(Index::record, w.record_number);
  }
  add(Index::record, s.subject_record_number);
  add(Index::record, s.existing_record_number);
  return out;
}

bool changes_sites(const Event& e) {
  return std::holds_alternative<FilingSubmitted>(e.data) ||
         std::holds_alternative<BureauApproved>(e.data);
}

std::string updated_key(const FilingStatus& s) {
  return keys::index(keys::Index::updated, keys::time_value(s.updated_at), s.filing_id);
}

std::vector<std::string> index_keys(const FilingStatus& s) {
  std::vector<std::string> out = tied_keys(s);
  if (!s.exists()) return out;
  for (auto& k : site_keys(s)) out.push_back(std::move(k));
  out.push_back(updated_key(s));
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

// Every field tied_keys() and counted_as() read (exists() is the state). An event that changes
// none of them, as most review and SMS steps do, leaves those indexes and counters as they were.
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
// What site_keys() reads only for an event that may change it (changes_sites).
FilingStatus index_fields(const FilingStatus& s, const Event& e) {
  FilingStatus f;
  f.filing_id = s.filing_id;
  f.identity = s.identity;
  f.updated_at = s.updated_at;
  index_tie(f) = index_tie(s);
  if (changes_sites(e)) {
    f.name_ref = s.name_ref;
    f.subject.name = s.subject.name;
    f.submitted_at = s.submitted_at;
    f.websites = s.websites;
    f.subject_record_number = s.subject_record_number;
    f.existing_record_number = s.existing_record_number;
  }
  return f;
}

// The derived entries (see Derived); `before` needs only index_fields().
void update_derived(ProjectionTxn& txn, const FilingStatus& before, const FilingStatus& after,
                    const Event& e) {
  auto del = [&](const std::string& k) { txn.del(k); };
  auto put = [&](const std::string& k) { txn.put(k, {}); };
  if (!before.exists() || before.updated_at != after.updated_at) {
    if (before.exists()) txn.del(updated_key(before));
    txn.put(updated_key(after), {});
  }
  if (changes_sites(e)) diff(site_keys(before), site_keys(after), del, put);
  if (same_index_fields(before, after)) return;
  diff(tied_keys(before), tied_keys(after), del, put);
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

std::vector<std::string> domains_of(const FilingStatus& s) {
  std::vector<std::string> out;
  for (const Website& w : s.websites) out.insert(out.end(), w.domains.begin(), w.domains.end());
  return out;
}

// The open-domain index, which decide reads to refuse a domain another subject's open filing
// holds. `before_domains`: what the filing's open entries were (none if it was not open). A
// ledger written before the rule may hold a domain in two open filings: the entry names the
// latest, and is removed only by the filing it names.
void update_open_domains(ProjectionTxn& txn, const std::vector<std::string>& before_domains,
                         const FilingStatus& after) {
  const std::vector<std::string> now =
      is_open(after.state) ? domains_of(after) : std::vector<std::string>();
  diff(
      before_domains, now,
      [&](const std::string& d) {
        const auto key = keys::open_domain(d);
        if (txn.get(key) == after.filing_id) txn.del(key);
      },
      [&](const std::string& d) { txn.put(keys::open_domain(d), after.filing_id); });
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
  if (derived == Derived::maintain) before = index_fields(status, e);
  std::optional<Resubmitted> resubmitted;
  const auto* submission = std::get_if<FilingSubmitted>(&e.data);
  std::vector<std::string> open_domains_before;
  if (submission && status.exists()) {
    resubmitted = Resubmitted{status.filing_type, status.identity};
    if (is_open(status.state)) open_domains_before = domains_of(status);
  }
  if (auto ok = apply_event(status, e); !ok) return ok;

  if (submission) {
    if (auto ok = check_submission(txn, resubmitted, e, *submission); !ok) return ok;
    status.record_number_verified = true;
    if (submission->filing_type == FilingType::new_access) {
      auto known = load_record(txn, submission->existing_record_number);
      if (!known) return known.take_error();
      status.record_number_verified = known->has_value();
    }
  } else if (const auto* b = std::get_if<BureauApproved>(&e.data)) {
    if (auto ok = apply_approval(txn, status, e, *b); !ok) return ok;
  } else if (const auto* c = std::get_if<RecordCancelled>(&e.data)) {
    if (auto ok = apply_cancellation(txn, status, e, *c); !ok) return ok;
  }

  if (before) update_derived(txn, *before, status, e);
  update_open_filing(txn, state_before, status);
  const bool was_open = state_before != FilingState::none && is_open(state_before);
  if (submission) {
    update_open_domains(txn, open_domains_before, status);
  } else if (was_open && !is_open(status.state)) {
    update_open_domains(txn, domains_of(status), status);
  }
  return {};
}

void DerivedEntries::add(const FilingStatus& status, std::vector<std::string>& keys) {
  for (auto& k : index_keys(status)) keys.push_back(std::move(k));
  for (const auto& name : counted_as(status)) ++counts_[name];
}

std::vector<std::pair<std::string, std::string>> DerivedEntries::counters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, n] : counts_) out.emplace_back(keys::count(name), encode_count(n));
  return out;
}

}  // namespace filingd
