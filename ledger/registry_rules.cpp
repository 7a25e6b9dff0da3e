#include "ledger/registry_rules.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include "events/record_number.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"

namespace filingd {
namespace {

// Two identities name different subjects. Keyed and clear identities (a filing stored before
// personal data was sealed) cannot be compared without the master key: the ledger compares
// those when it decides the event, in clear (decide.cpp), and a fold takes its word for it.
bool different_subjects(std::string_view a, std::string_view b) {
  return is_keyed_identity(a) == is_keyed_identity(b) && a != b;
}

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
  r.subject_key = s.identity;
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
    auto rec = reg.active(subject_text, false, "data.existing_record_number");
    if (!rec) return rec.take_error();
    subject = std::move(*rec);
  } else {
    subject = new_record(subject_text, subject_text, {}, s, e);
    txn.put(keys::subject_number(subject.subject_key), subject_text);
  }
  for (std::size_t i = 0; i < s.websites.size(); ++i) {
    const auto& w = s.websites[i];
    const std::string field = "data.websites[" + std::to_string(i) + "].record_number";
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
    const std::string field = "data.websites[" + std::to_string(i) + "].record_number";
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

}  // namespace

Status check_submission(ProjectionTxn& txn, const std::optional<Resubmitted>& before,
                        const Event& e, const FilingSubmitted& f) {
  const std::string identity = subject_identity(f);
  // A resubmission keeps its filing's identity in the indexes.
  const std::string key = before ? before->identity : identity;
  if (before) {
    if (f.filing_type != before->filing_type)
      return invalid("a resubmission cannot change filing_type (was " +
                         std::string(to_string(before->filing_type)) + ")",
                     "data.filing_type");
    if (different_subjects(identity, before->identity))
      return invalid("a resubmission cannot change the subject's certificate",
                     "data.subject.id_number");
  }
  auto open = txn.get(keys::open_filing(key));
  if (open && *open != e.filing_id)
    return conflict("this subject already has an open filing " + *open, "data.subject.id_number");

  Registry reg(txn);
  if (f.filing_type == FilingType::first_filing) {
    auto number = txn.get(keys::subject_number(key));
    if (number)
      return invalid("the subject already has record number " + *number +
                         "; file add_website or an access filing instead",
                     "data.filing_type");
    return {};
  }
  // Every other type names the subject's existing number (validation checked its format).
  auto subject = reg.get(f.existing_record_number);
  if (!subject) return subject.take_error();
  const bool access =
      f.filing_type == FilingType::new_access || f.filing_type == FilingType::continued_access;
  if (*subject || !access) {
    auto rec = reg.active(f.existing_record_number, false, "data.existing_record_number");
    if (!rec) return rec.take_error();
    if (different_subjects(rec->subject_key, key))
      return invalid("record number " + f.existing_record_number + " belongs to another subject",
                     "data.existing_record_number");
  }
  for (std::size_t i = 0; i < f.websites.size(); ++i) {
    const auto& number = f.websites[i].record_number;
    if (number.empty()) continue;
    const std::string field = "data.websites[" + std::to_string(i) + "].record_number";
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
                       "data.websites[" + std::to_string(i) + "].record_number");
    }
  }
  return {};
}

Status check_desk_rules(ProjectionTxn& txn, const Event& e, const FilingSubmitted& f) {
  Registry reg(txn);
  if (f.filing_type == FilingType::continued_access) {
    auto known = reg.get(f.existing_record_number);
    if (!known) return known.take_error();
    if (!*known)
      return invalid("record number " + f.existing_record_number +
                         " is not in the registry; only a new_access (a number issued through "
                         "another provider) may name one it does not know",
                     "data.existing_record_number");
  }
  const std::string identity = subject_identity(f);
  for (std::size_t i = 0; i < f.websites.size(); ++i) {
    const auto& domains = f.websites[i].domains;
    for (std::size_t j = 0; j < domains.size(); ++j) {
      const std::string& d = domains[j];
      const std::string field =
          "data.websites[" + std::to_string(i) + "].domains[" + std::to_string(j) + "]";
      auto owner = reg.domain_owner(d);
      if (!owner) return owner.take_error();
      if (*owner) {
        auto rec = reg.get(**owner);
        if (!rec) return rec.take_error();
        if (*rec && (*rec)->active && different_subjects((*rec)->subject_key, identity))
          return conflict(
              "domain " + d + " has active record number " + **owner + " of another subject",
              field);
      }
      auto open = txn.get(keys::open_domain(d));
      if (!open || *open == e.filing_id) continue;
      auto other = load_status(txn, *open);
      if (!other) return other.take_error();
      if (is_open(other->state) && different_subjects(other->identity, identity))
        return conflict("domain " + d + " stands in open filing " + *open + " of another subject",
                        field);
    }
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
                              "data.websites[" + std::to_string(i) + "].record_number");
        if (!rec) return rec.take_error();
        reg.cancel(*rec, e, reason);
      }
      return {};
    case FilingType::cancel_subject: {
      auto rec = reg.active(s.existing_record_number, false, "data.existing_record_number");
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

}  // namespace filingd
