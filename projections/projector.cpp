#include "projections/projector.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "events/record_number.hpp"
#include "projections/keys.hpp"
#include "projections/sla.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

Error invalid(std::string msg, std::string field) {
  return make_error(ErrorCode::invalid, std::move(msg), std::move(field));
}
Error conflict(std::string msg, std::string field) {
  return make_error(ErrorCode::conflict, std::move(msg), std::move(field));
}

// ---- the registry, as seen through a txn ---------------------------------------------------

class Registry {
 public:
  explicit Registry(ProjectionTxn& txn) : txn_(txn) {}

  Result<std::optional<RegistryRecord>> get(std::string_view number) {
    return load_record(txn_, number);
  }

  // An existing, active record of the given kind, else an error naming `field`.
  Result<RegistryRecord> active(std::string_view number, bool website, const std::string& field) {
    auto r = get(number);
    if (!r) return r.take_error();
    if (!*r)
      return invalid("record number " + std::string(number) + " is not in the registry", field);
    if (!(*r)->active)
      return conflict("record number " + std::string(number) + " is cancelled", field);
    if ((*r)->website != website)
      return invalid(
          std::string(number) + " is not a " + (website ? "website" : "subject") + " record number",
          field);
    return std::move(**r);
  }

  void put(const RegistryRecord& r) {
    txn_.put(keys::record(r.record_number), encode_registry_record(r));
  }

  Result<std::optional<std::string>> domain_owner(std::string_view domain) {
    return txn_.get(keys::domain(domain));
  }
  void map_domain(std::string_view domain, const std::string& number) {
    txn_.put(keys::domain(domain), number);
  }
  void unmap_domains(const RegistryRecord& r) {
    for (const auto& d : r.domains) {
      auto owner = txn_.get(keys::domain(d));
      if (owner && *owner == r.record_number) txn_.del(keys::domain(d));
    }
  }

  void cancel(RegistryRecord& r, const Event& e, const std::string& reason) {
    r.active = false;
    r.cancelled_at = e.occurred_at;
    r.cancel_reason = reason;
    if (r.website) unmap_domains(r);
    put(r);
  }

  // Cancels a record and, for a subject number, every website under it.
  Status cancel_cascade(RegistryRecord r, const Event& e, const std::string& reason) {
    if (!r.website) {
      for (const auto& w : r.websites) {
        auto site = get(w);
        if (!site) return site.take_error();
        if (*site && (*site)->active) cancel(**site, e, reason);
      }
      txn_.del(keys::subject_number(r.subject_key));
    }
    cancel(r, e, reason);
    return {};
  }

 private:
  ProjectionTxn& txn_;
};

// A newly recorded number: a subject number when `number == subject_number`.
RegistryRecord new_record(const std::string& number, const std::string& subject_number,
                          std::vector<std::string> domains, const FilingStatus& s, const Event& e) {
  RegistryRecord r;
  r.record_number = number;
  r.website = number != subject_number;
  r.subject_record_number = subject_number;
  r.domains = std::move(domains);
  r.filing_id = s.filing_id;
  r.subject_key = subject_key(s.subject);
  r.issued_at = e.occurred_at;
  return r;
}

// A domain may map to at most one active website number.
Status check_domain_free(Registry& reg, std::string_view domain, std::string_view number,
                         const std::string& field) {
  auto owner = reg.domain_owner(domain);
  if (!owner) return owner.take_error();
  if (*owner && **owner != number)
    return conflict(
        "domain " + std::string(domain) + " already has active record number " + **owner, field);
  return {};
}

Result<RecordNumber> parse_in_province(std::string_view text, const std::string& province,
                                       const std::string& field) {
  auto rn = parse_record_number(text, field);
  if (!rn) return rn;
  if (rn->province != province)
    return invalid("record number " + std::string(text) + " is from province " + rn->province +
                       ", the filing's province is " + province,
                   field);
  return rn;
}

// ---- submission ------------------------------------------------------------------------------

// `before`: what the filing was before this submission (nullopt for a new filing).
struct Resubmitted {
  FilingType filing_type;
  std::string subject_key;
};

Status check_submission(ProjectionTxn& txn, const std::optional<Resubmitted>& before,
                        const Event& e, const FilingSubmitted& f) {
  const std::string key = subject_key(f.subject);
  if (before) {
    if (f.filing_type != before->filing_type)
      return invalid("a resubmission cannot change filing_type (was " +
                         std::string(to_string(before->filing_type)) + ")",
                     "filing_type");
    if (key != before->subject_key)
      return invalid("a resubmission cannot change the subject's certificate", "subject.id_number");
  }
  auto open = txn.get(keys::open_filing(key));
  if (open && *open != e.filing_id)
    return conflict("subject " + f.subject.id_type + " " + f.subject.id_number +
                        " already has an open filing " + *open,
                    "subject.id_number");

  Registry reg(txn);
  if (f.filing_type == FilingType::first_filing) {
    auto number = txn.get(keys::subject_number(key));
    if (number)
      return invalid("the subject already has record number " + *number +
                         "; file add_website or an access filing instead",
                     "filing_type");
    return {};
  }
  // Every other type names the subject's existing number (validation checked its format).
  auto subject = reg.get(f.existing_record_number);
  if (!subject) return subject.take_error();
  const bool access =
      f.filing_type == FilingType::new_access || f.filing_type == FilingType::continued_access;
  if (*subject || !access) {
    auto rec = reg.active(f.existing_record_number, false, "existing_record_number");
    if (!rec) return rec.take_error();
    if (rec->subject_key != key)
      return invalid("record number " + f.existing_record_number + " belongs to another subject",
                     "existing_record_number");
  }
  for (std::size_t i = 0; i < f.websites.size(); ++i) {
    const auto& number = f.websites[i].record_number;
    if (number.empty()) continue;
    const std::string field = "websites[" + std::to_string(i) + "].record_number";
    auto site = reg.get(number);
    if (!site) return site.take_error();
    if (*site || !access) {
      auto rec = reg.active(number, true, field);
      if (!rec) return rec.take_error();
    }
  }
  if (f.filing_type == FilingType::cancel_website) {
    for (std::size_t i = 0; i < f.websites.size(); ++i) {
      if (f.websites[i].record_number.empty())
        return invalid("cancel_website needs each website's record_number",
                       "websites[" + std::to_string(i) + "].record_number");
    }
  }
  return {};
}

// ---- bureau approval ------------------------------------------------------------------------

// first_filing / add_website: the bureau issues new numbers, one per website of the filing.
Status issue_numbers(Registry& reg, ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                     const BureauApproved& b) {
  const bool first = s.filing_type == FilingType::first_filing;
  const std::string subject_text = first ? b.subject_record_number : s.existing_record_number;
  if (subject_text.empty())
    return invalid("bureau_approved of a first filing needs subject_record_number",
                   "data.subject_record_number");
  if (!first && !b.subject_record_number.empty() && b.subject_record_number != subject_text)
    return invalid("subject_record_number must be the subject's existing number " + subject_text,
                   "data.subject_record_number");
  auto subject_rn = parse_in_province(subject_text, s.province, "data.subject_record_number");
  if (!subject_rn) return subject_rn.take_error();

  RegistryRecord subject;
  if (first) {
    auto existing = reg.get(subject_text);
    if (!existing) return existing.take_error();
    if (*existing)
      return conflict("record number " + subject_text + " was already issued" +
                          ((*existing)->active ? "" : " and is cancelled; it is never reused"),
                      "data.subject_record_number");
    subject = new_record(subject_text, subject_text, {}, s, e);
    txn.put(keys::subject_number(subject.subject_key), subject_text);
  } else {
    auto rec = reg.active(subject_text, false, "data.subject_record_number");
    if (!rec) return rec.take_error();
    subject = std::move(*rec);
  }

  std::vector<bool> numbered(s.websites.size(), false);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < b.websites.size(); ++i) {
    const auto& wn = b.websites[i];
    const std::string field = "data.websites[" + std::to_string(i) + "].record_number";
    auto rn = parse_record_number(wn.record_number, field);
    if (!rn) return rn.take_error();
    if (!rn->is_website() || rn->subject != subject_text)
      return invalid(wn.record_number + " is not a website number under " + subject_text, field);
    auto existing = reg.get(wn.record_number);
    if (!existing) return existing.take_error();
    if (*existing || !seen.insert(wn.record_number).second)
      return conflict("website suffix -" + std::to_string(rn->suffix) + " was already used under " +
                          subject_text + "; suffixes are never reused",
                      field);
    auto site = std::find_if(s.websites.begin(), s.websites.end(), [&](const Website& w) {
      return std::find(w.domains.begin(), w.domains.end(), wn.domain) != w.domains.end();
    });
    if (site == s.websites.end())
      return invalid("domain " + wn.domain + " is not a domain of this filing",
                     "data.websites[" + std::to_string(i) + "].domain");
    const auto idx = static_cast<std::size_t>(site - s.websites.begin());
    if (numbered[idx])
      return invalid("website " + site->name + " was given two record numbers",
                     "data.websites[" + std::to_string(i) + "].domain");
    numbered[idx] = true;
    for (const auto& d : site->domains) {
      if (auto ok = check_domain_free(reg, d, wn.record_number, field); !ok) return ok;
    }
    for (const auto& d : site->domains) reg.map_domain(d, wn.record_number);
    reg.put(new_record(wn.record_number, subject_text, site->domains, s, e));
    subject.websites.push_back(wn.record_number);
  }
  for (std::size_t i = 0; i < numbered.size(); ++i) {
    if (!numbered[i])
      return invalid("website " + s.websites[i].name + " (" + s.websites[i].domains.front() +
                         ") has no record number",
                     "data.websites");
  }
  reg.put(subject);
  return {};
}

// new_access / continued_access: the numbers already exist (possibly issued elsewhere); record
// the ones the registry does not know yet, never revive a cancelled one.
Status record_access(Registry& reg, ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                     const BureauApproved& b) {
  const std::string& subject_text = s.existing_record_number;
  if (!b.subject_record_number.empty() && b.subject_record_number != subject_text)
    return invalid(
        "an access filing keeps its numbers: subject_record_number must be " + subject_text,
        "data.subject_record_number");
  for (std::size_t i = 0; i < b.websites.size(); ++i) {
    const auto& wn = b.websites[i];
    const bool known = std::any_of(s.websites.begin(), s.websites.end(), [&](const Website& w) {
      return w.record_number == wn.record_number &&
             std::find(w.domains.begin(), w.domains.end(), wn.domain) != w.domains.end();
    });
    if (!known)
      return invalid("an access filing keeps its numbers: " + wn.domain + " is not filed as " +
                         wn.record_number,
                     "data.websites[" + std::to_string(i) + "].record_number");
  }
  auto existing = reg.get(subject_text);
  if (!existing) return existing.take_error();
  RegistryRecord subject;
  if (*existing) {
    auto rec = reg.active(subject_text, false, "existing_record_number");
    if (!rec) return rec.take_error();
    subject = std::move(*rec);
  } else {
    subject = new_record(subject_text, subject_text, {}, s, e);
    txn.put(keys::subject_number(subject.subject_key), subject_text);
  }
  for (std::size_t i = 0; i < s.websites.size(); ++i) {
    const auto& w = s.websites[i];
    const std::string field = "websites[" + std::to_string(i) + "].record_number";
    auto site = reg.get(w.record_number);
    if (!site) return site.take_error();
    if (*site) {
      auto rec = reg.active(w.record_number, true, field);
      if (!rec) return rec.take_error();
    } else {
      reg.put(new_record(w.record_number, subject_text, w.domains, s, e));
      subject.websites.push_back(w.record_number);
    }
    for (const auto& d : w.domains) {
      if (auto ok = check_domain_free(reg, d, w.record_number, field); !ok) return ok;
      reg.map_domain(d, w.record_number);
    }
  }
  reg.put(subject);
  return {};
}

// change: numbers stay; the website records take the filing's (new) domains.
Status record_change(Registry& reg, const FilingStatus& s) {
  for (std::size_t i = 0; i < s.websites.size(); ++i) {
    const auto& w = s.websites[i];
    if (w.record_number.empty()) continue;
    const std::string field = "websites[" + std::to_string(i) + "].record_number";
    auto rec = reg.active(w.record_number, true, field);
    if (!rec) return rec.take_error();
    for (const auto& d : w.domains) {
      if (auto ok = check_domain_free(reg, d, w.record_number, field); !ok) return ok;
    }
    reg.unmap_domains(*rec);
    rec->domains = w.domains;
    rec->filing_id = s.filing_id;
    for (const auto& d : w.domains) reg.map_domain(d, w.record_number);
    reg.put(*rec);
  }
  return {};
}

Status apply_approval(ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                      const BureauApproved& b) {
  Registry reg(txn);
  const std::string reason = std::string(to_string(s.filing_type)) + " filing " + s.filing_id;
  switch (s.filing_type) {
    case FilingType::first_filing:
    case FilingType::add_website:
      return issue_numbers(reg, txn, s, e, b);
    case FilingType::new_access:
    case FilingType::continued_access:
      return record_access(reg, txn, s, e, b);
    case FilingType::change:
      return record_change(reg, s);
    case FilingType::cancel_website:
      for (std::size_t i = 0; i < s.websites.size(); ++i) {
        auto rec = reg.active(s.websites[i].record_number, true,
                              "websites[" + std::to_string(i) + "].record_number");
        if (!rec) return rec.take_error();
        reg.cancel(*rec, e, reason);
      }
      return {};
    case FilingType::cancel_subject: {
      auto rec = reg.active(s.existing_record_number, false, "existing_record_number");
      if (!rec) return rec.take_error();
      return reg.cancel_cascade(std::move(*rec), e, reason);
    }
    case FilingType::cancel_access:
      return {};  // the provider's access ends; the numbers live on elsewhere
  }
  return {};
}

Status apply_cancellation(ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                          const RecordCancelled& c) {
  const bool ours = c.record_number == s.subject_record_number ||
                    std::any_of(s.websites.begin(), s.websites.end(), [&](const Website& w) {
                      return w.record_number == c.record_number;
                    });
  if (!ours)
    return invalid(c.record_number + " is not a record number of filing " + s.filing_id,
                   "data.record_number");
  Registry reg(txn);
  auto rec = reg.get(c.record_number);
  if (!rec) return rec.take_error();
  if (!*rec) return invalid(c.record_number + " is not in the registry", "data.record_number");
  if (!(*rec)->active)
    return conflict(c.record_number + " is already cancelled", "data.record_number");
  return reg.cancel_cascade(std::move(**rec), e, c.reason);
}

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
  return out;
}

// Counters that /metrics reads without scanning: filings per state, deadlines per kind.
std::vector<std::string> counted_as(const FilingStatus& s) {
  std::vector<std::string> out;
  if (!s.exists()) return out;
  out.push_back("state:" + std::string(to_string(s.state)));
  for (const auto& d : deadlines_of(s))
    out.push_back("deadline:" + std::string(keys::to_string(d.kind)));
  return out;
}

void bump(ProjectionTxn& txn, std::string_view name, std::int64_t delta) {
  const std::string key = keys::count(name);
  auto raw = txn.get(key);
  const std::uint64_t now = (raw && raw->size() == 8 ? keys::get_u64(*raw) : 0) + delta;
  if (now == 0) {
    txn.del(key);
    return;
  }
  std::string value;
  keys::put_u64(value, now);
  txn.put(key, std::move(value));
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
  return std::tie(s.state, s.province, s.filing_type, s.sms_deadline, s.abandon_at, s.state_since);
}

bool same_index_fields(const FilingStatus& a, const FilingStatus& b) {
  return index_tie(a) == index_tie(b);
}

// Those fields (and the filing_id the keys carry) alone: what an in-place fold keeps of the
// status before an event, instead of a copy of the whole status.
FilingStatus index_fields(const FilingStatus& s) {
  FilingStatus f;
  f.filing_id = s.filing_id;
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
    txn.put(keys::open_filing(subject_key(after.subject)), after.filing_id);
  } else if (was_open && !is_open(after.state)) {
    txn.del(keys::open_filing(subject_key(after.subject)));
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
  auto after = project_all_but_status(txn, before, e);
  if (after) txn.put(keys::status(after->filing_id), encode_status(*after));
  return after;
}

Result<FilingStatus> project_all_but_status(ProjectionTxn& txn, const FilingStatus& before,
                                            const Event& e) {
  FilingStatus after = before;
  if (auto ok = project_in_place(txn, after, e); !ok) return ok.take_error();
  return after;
}

Status project_in_place(ProjectionTxn& txn, FilingStatus& status, const Event& e, Derived derived) {
  const FilingState state_before = status.state;
  std::optional<FilingStatus> before;
  if (derived == Derived::maintain) before = index_fields(status);
  std::optional<Resubmitted> resubmitted;
  const auto* submission = std::get_if<FilingSubmitted>(&e.data);
  if (submission && status.exists())
    resubmitted = Resubmitted{status.filing_type, subject_key(status.subject)};
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
  for (const auto& [name, n] : counts) {
    std::string value;
    keys::put_u64(value, n);
    out.emplace_back(keys::count(name), std::move(value));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace filingd
