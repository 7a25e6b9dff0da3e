// The desk data set's generator: the filings' lives, their import lines, the request paths and
// meta.json (see generator.hpp).
#include "bench/desk/generator.hpp"

#include <algorithm>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string_view>

#include "bench/desk/vocabulary.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"

namespace filingd::bench_desk {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHour = kMicrosPerHour;
constexpr std::int64_t kDay = kMicrosPerDay;
constexpr std::int64_t kSmsWindow = 24 * kHour;  // the shipped config's default policy

void write_paths(const fs::path& file, const std::vector<std::string>& queries) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& q : queries) out << "/v1/filings?" << q << '\n';
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

Generator::Generator(std::uint64_t filings, Timestamp now, std::uint64_t seed, std::size_t sample)
    : filings_(filings),
      now_(now),
      start_(Timestamp{now.micros - 730 * kDay}),
      rng_(seed),
      names_(sample, rng_),
      identities_(sample, rng_),
      domains_(sample, rng_),
      records_(sample, rng_) {
  std::vector<double> w;
  for (const auto& p : kProvinces) w.push_back(p.weight);
  province_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
  w.clear();
  for (const auto& p : kProviders) w.push_back(p.weight);
  provider_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
  w.clear();
  for (const auto& k : kKinds) w.push_back(k.weight);
  kind_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
  w.clear();
  for (const auto& t : kTlds) w.push_back(t.second);
  tld_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
}

void Generator::run(std::ostream& out) {
  const std::int64_t span = now_.micros - 10 * kMicrosPerMinute - start_.micros;
  for (std::uint64_t i = 0; i < filings_; ++i) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    const Timestamp t0{start_.micros + static_cast<std::int64_t>((static_cast<double>(i) + u) *
                                                                 static_cast<double>(span) /
                                                                 static_cast<double>(filings_))};
    filing(out, t0);
  }
}

double Generator::uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
bool Generator::chance(double p) { return uniform() < p; }
std::int64_t Generator::exp_micros(std::int64_t mean) {
  return static_cast<std::int64_t>(std::exponential_distribution<double>(1.0)(rng_) *
                                   static_cast<double>(mean)) +
         kMicrosPerMinute;
}
std::int64_t Generator::uniform_micros(std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
}
std::string Generator::actor(const char* role, int n) {
  return std::string(role) + "-" + std::to_string(1 + rng_() % static_cast<unsigned>(n));
}

std::string Generator::next_filing_id(Timestamp t0) {
  return "F" + std::to_string(year_of(t0)) + "-" + digits(++filing_seq_, 7);
}

std::string Generator::new_domain_base() {
  const std::uint64_t k = domain_seq_++;
  return pick(kSyllable, rng_()) + pick(kSyllable, rng_()) + std::to_string(k) + "." +
         kTlds[tld_dist_(rng_)].first;
}

std::string Generator::record_number(const Province& p, int year) {
  const auto n = ++record_seq_[std::string(p.abbr) + std::to_string(year)];
  return std::string(p.abbr) + "ICP备" + std::to_string(year) + digits(n, 6) + "号";
}

FilingSubmitted Generator::make_subject(const Province& p) {
  FilingSubmitted f;
  f.province = p.abbr;
  f.provider = kProviders[provider_dist_(rng_)].name;
  const Kind& kind = kKinds[kind_dist_(rng_)];
  const std::uint64_t k = kind_seq_[kind.name]++;
  const std::string city = p.city;
  Subject& s = f.subject;
  s.kind = kind.name;
  ++by_kind_[kind.name];
  const std::uint64_t person = person_seq_++;
  if (s.kind == "individual") {
    // Surname, one or two given characters: distinct for the first 100 × 149 × 150 individuals
    // (about 2.2 million).
    const std::uint64_t ns = kSurname.size(), ng = kGiven.size();
    const std::uint64_t g2 = (k / (ns * ng)) % (ng + 1);
    s.name = pick(kSurname, k) + pick(kGiven, k / ns) + (g2 == 0 ? "" : kGiven[g2 - 1]);
    const double u = uniform();
    if (u < 0.96) {
      s.id_type = "resident_id";
      s.id_number = resident_id(p.region, person, false);
    } else if (u < 0.98) {
      s.id_type = "hk_macao_permit";
      s.id_number = "H" + digits(person, 8);
    } else {
      s.id_type = "passport";
      s.id_number = "E" + digits(person, 8);
    }
    s.address = city + "市" + pick(kBrand, rng_()) + "路" + std::to_string(1 + rng_() % 300) +
                "号" + std::to_string(1 + rng_() % 30) + "栋" +
                std::to_string(101 + rng_() % 2000) + "室";
  } else {
    const std::string w1 = pick(kBrand, k), w2 = pick(kBrand, k / kBrand.size() + 37);
    const std::uint64_t rest = k / (kBrand.size() * kBrand.size());
    if (s.kind == "enterprise") {
      s.name =
          city + w1 + w2 + pick(kIndustry, rest) + pick(kCompanySuffix, rest / kIndustry.size());
      const std::uint64_t more = rest / (kIndustry.size() * kCompanySuffix.size());
      if (more > 0) s.name += "（第" + std::to_string(more + 1) + "分公司）";
    } else {
      const std::vector<std::string>& tail = s.kind == "government"            ? kGovernment
                                             : s.kind == "public_institution"  ? kInstitution
                                             : s.kind == "social_organization" ? kAssociation
                                                                               : kShop;
      s.name = city + "市" + w1 + w2 + pick(tail, rest);
      const std::uint64_t more = rest / tail.size();
      if (more > 0) s.name += "（" + std::to_string(more + 1) + "）";
    }
    s.id_type = "uscc";
    s.id_number = uscc(kind.uscc_prefix, p.region, k);
    s.address =
        city + "市" + pick(kBrand, rng_()) + "大道" + std::to_string(1 + rng_() % 900) + "号";
  }
  f.websites.push_back(make_website(f, p, true, 0));
  const double u = uniform();
  const std::size_t sites = u < 0.85 ? 1 : u < 0.97 ? 2 : 3;
  for (std::size_t j = 1; j < sites; ++j) f.websites.push_back(make_website(f, p, false, j));
  return f;
}

Website Generator::make_website(const FilingSubmitted& f, const Province& p, bool first,
                                std::size_t j) {
  Website w;
  const bool individual = f.subject.kind == "individual";
  if (individual) {
    w.name = f.subject.name + pick(kPersonalSites, rng_());
  } else {
    w.name = pick(kBrand, rng_()) + pick(kSiteWords, rng_());
  }
  const std::string base = new_domain_base();
  if (first || chance(0.5)) {
    w.domains = {base};
    if (chance(0.7)) w.domains.push_back("www." + base);
  } else {
    w.domains = {pick(kSubdomains, j + rng_() % 3) + "." + base};
  }
  if (individual) {
    w.responsible = Person{f.subject.name, f.subject.id_type, f.subject.id_number, "", ""};
  } else {
    const std::uint64_t k = person_seq_++;
    const std::uint64_t g2 = (k / 16000) % 161;
    w.responsible.name =
        pick(kSurname, k / 7) + pick(kGiven, k / 3) + (g2 == 0 ? "" : kGiven[g2 - 1]);
    w.responsible.id_type = "resident_id";
    w.responsible.id_number = resident_id(p.region, k, true);
  }
  static constexpr const char* kMobilePrefix[] = {"13", "15", "17", "18", "19"};
  w.responsible.mobile =
      std::string(kMobilePrefix[rng_() % 5]) + digits((person_seq_ * 7919 + j) % 1'000'000'000, 9);
  if (chance(0.6)) w.responsible.email = "webmaster@" + w.domains.front();
  return w;
}

void Generator::write_line(std::ostream& out, const std::string& id,
                           const std::vector<Step>& steps) {
  std::string line;
  JsonWriter w(line);
  w.begin_object().key("filing_id").string(id).key("events").begin_array();
  for (const Step& s : steps) {
    w.begin_object();
    w.key("type").string(to_string(type_of(s.data)));
    w.key("data");
    write_json(w, s.data);
    w.key("occurred_at").time(s.at);
    w.key("actor").string(s.actor);
    w.end_object();
  }
  w.end_array().end_object();
  line.push_back('\n');
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  ++lines_;
  events_ += steps.size();
}

std::vector<Step> Generator::life(const FilingSubmitted& f, const Province& p, Timestamp t0,
                                  std::size_t suffix_base, Outcome& outcome) {
  std::vector<Step> steps;
  outcome = {};
  FilingState state = FilingState::provider_review;
  Timestamp t = t0;
  // Adds the event at t (at least a second after the one before) unless that is after now_.
  const auto add = [&](Payload data, std::int64_t after, std::string who, FilingState to) {
    Timestamp at{t.micros + std::max<std::int64_t>(after, kMicrosPerSecond)};
    if (at > now_) return false;
    t = at;
    steps.push_back({std::move(data), at, std::move(who)});
    state = to;
    return true;
  };
  const auto stall = [&](double p) {
    if (!chance(p)) return false;
    ++stalled_;
    return true;
  };
  steps.push_back({f, t0, actor("desk", 20)});
  for (int attempt = 1;; ++attempt) {
    // Provider review: the photo check, then the initial review.
    bool returned = false;
    [&] {
      if (stall(0.004)) return;
      if (chance(0.25)) {
        PhotoRejected r;
        r.reviewer = actor("rev", 12);
        r.reason = pick(kPhotoReasons, rng_());
        if (!add(r, exp_micros(4 * kHour), r.reviewer, state)) return;
      }
      PhotoApproved pa;
      pa.reviewer = actor("rev", 12);
      pa.method = chance(0.8) ? PhotoMethod::photo : PhotoMethod::video;
      if (!add(pa, exp_micros(6 * kHour), pa.reviewer, state)) return;
      if (chance(0.06)) {
        const auto& [code, reason] = kReturnReasons[rng_() % kReturnReasons.size()];
        InitialReviewRejected r{{actor("rev", 12), code, reason}};
        if (add(r, exp_micros(5 * kHour), r.reviewer, FilingState::returned)) returned = true;
        return;
      }
      InitialReviewApproved a{{actor("rev", 12), "", ""}};
      if (!add(a, exp_micros(5 * kHour), a.reviewer, FilingState::ready_for_bureau)) return;
      if (stall(0.002)) return;
      if (chance(0.02)) {
        FilingWithdrawn wd;
        wd.reason = pick(kWithdrawReasons, rng_());
        add(wd, exp_micros(kDay), actor("desk", 20), FilingState::withdrawn);
        return;
      }
      if (!add(SubmittedToBureau{}, exp_micros(6 * kHour), actor("desk", 20),
               skips_sms(f.filing_type) ? FilingState::bureau_review : FilingState::sms_pending))
        return;
      if (state == FilingState::sms_pending) {
        const Timestamp deadline{t.micros + kSmsWindow};
        if (chance(0.0005)) {
          // Left past its deadline without an expiry: the daemon's timer expires it at start.
          if (deadline < now_) ++sms_left_overdue_;
          return;
        }
        if (chance(0.03)) {
          if (!add(SmsAttemptFailed{}, uniform_micros(kMicrosPerMinute, 4 * kHour), "miit", state))
            return;
        }
        if (chance(0.04)) {
          SmsExpired x{deadline};
          if (add(x, deadline.micros - t.micros, "legacy-timer", FilingState::returned))
            returned = true;
          return;
        }
        const std::int64_t left = deadline.micros - t.micros;
        if (!add(SmsConfirmed{}, std::min(exp_micros(2 * kHour), left), "miit",
                 FilingState::bureau_review))
          return;
      }
      if (stall(0.004)) return;
      if (chance(0.08)) {
        const auto& [code, reason] = kBureauReasons[rng_() % kBureauReasons.size()];
        if (add(BureauRejected{code, reason}, uniform_micros(2 * kDay, 15 * kDay), "bureau",
                FilingState::returned))
          returned = true;
        return;
      }
      // The bureau approves: numbers issued (first filing, add_website) or recorded (new
      // access).
      BureauApproved b;
      const std::int64_t after = uniform_micros(3 * kDay, 28 * kDay);
      if (Timestamp{t.micros + after} > now_) return;
      if (f.filing_type == FilingType::new_access) {
        b.subject_record_number = f.existing_record_number;
        for (const auto& w : f.websites) b.websites.push_back({w.domains.front(), w.record_number});
      } else {
        b.subject_record_number = f.filing_type == FilingType::first_filing
                                      ? record_number(p, year_of(Timestamp{t.micros + after}))
                                      : f.existing_record_number;
        for (std::size_t j = 0; j < f.websites.size(); ++j)
          b.websites.push_back(
              {f.websites[j].domains.front(),
               b.subject_record_number + "-" + std::to_string(suffix_base + j + 1)});
      }
      add(b, after, "bureau", FilingState::approved);
      outcome.approved = true;
      outcome.approved_at = t;
      outcome.subject_number = b.subject_record_number;
      records_.offer(b.subject_record_number);
      records_.offer(b.websites[rng_() % b.websites.size()].record_number);
      if (chance(0.01)) {
        RecordCancelled c{b.websites.front().record_number, "网站已关闭，主动注销"};
        add(c, exp_micros(200 * kDay), actor("desk", 20), FilingState::approved);
      }
    }();
    if (!returned) break;
    // Returned: resubmitted, withdrawn, or abandoned 45 days on.
    const Timestamp abandon_at{t.micros + 45 * kDay};
    const double u = uniform();
    if (u < 0.55 && attempt < 3) {
      const std::int64_t after = exp_micros(6 * kDay);
      if (t.micros + after < abandon_at.micros) {
        if (!add(f, after, actor("desk", 20), FilingState::provider_review)) break;
        continue;
      }
    } else if (u < 0.70) {
      FilingWithdrawn wd;
      wd.reason = pick(kWithdrawReasons, rng_());
      add(wd, std::min(exp_micros(5 * kDay), 44 * kDay), actor("desk", 20), FilingState::withdrawn);
      break;
    }
    add(FilingAbandoned{}, abandon_at.micros - t.micros + uniform_micros(0, 2 * kHour),
        "legacy-timer", FilingState::abandoned);
    break;
  }
  ++by_state_[std::string(to_string(state))];
  ++by_type_[std::string(to_string(f.filing_type))];
  ++by_province_[f.province];
  ++by_provider_[f.provider];
  return steps;
}

void Generator::filing(std::ostream& out, Timestamp t0) {
  const Province& p = kProvinces[province_dist_(rng_)];
  FilingSubmitted f = make_subject(p);
  if (chance(0.10)) {
    // A new access filing: the number was issued elsewhere, years ago.
    f.filing_type = FilingType::new_access;
    f.existing_record_number = record_number(p, 2015 + static_cast<int>(rng_() % 9));
    for (std::size_t j = 0; j < f.websites.size(); ++j)
      f.websites[j].record_number = f.existing_record_number + "-" + std::to_string(j + 1);
  }
  names_.offer("subject_name=" + url_encode(f.subject.name));
  identities_.offer("id_type=" + f.subject.id_type +
                    "&id_number=" + url_encode(f.subject.id_number));
  const auto& site = f.websites[rng_() % f.websites.size()];
  domains_.offer("domain=" + site.domains[rng_() % site.domains.size()]);
  if (f.filing_type == FilingType::new_access) records_.offer(f.existing_record_number);
  Outcome outcome;
  const std::string id = next_filing_id(t0);
  write_line(out, id, life(f, p, t0, 0, outcome));
  if (outcome.approved && f.filing_type == FilingType::first_filing && chance(0.05))
    add_website(out, f, p, outcome);
}

void Generator::add_website(std::ostream& out, const FilingSubmitted& first, const Province& p,
                            const Outcome& approval) {
  const Timestamp t0{approval.approved_at.micros + exp_micros(60 * kDay)};
  if (t0 > now_) return;
  FilingSubmitted f = first;
  f.filing_type = FilingType::add_website;
  f.existing_record_number = approval.subject_number;
  f.websites = {make_website(f, p, true, 0)};
  Outcome outcome;
  write_line(out, next_filing_id(t0), life(f, p, t0, first.websites.size(), outcome));
}

void Generator::write_queries(const fs::path& dir) const {
  fs::create_directories(dir);
  std::vector<std::string> q;
  const auto states = {"provider_review", "ready_for_bureau", "sms_pending", "bureau_review",
                       "returned",        "approved",         "withdrawn",   "abandoned"};
  for (auto s : states) q.push_back(std::string("state=") + s);
  write_paths(dir / "state.paths", q);
  q.clear();
  for (const auto& p : kProvinces) q.push_back("province=" + url_encode(p.abbr));
  write_paths(dir / "province.paths", q);
  q.clear();
  for (const auto& p : kProviders) q.push_back(std::string("provider=") + p.name);
  write_paths(dir / "provider.paths", q);
  q.clear();
  for (const auto& [t, n] : by_type_) q.push_back("filing_type=" + t);
  write_paths(dir / "filing_type.paths", q);
  write_paths(dir / "overdue.paths", {"overdue=true"});
  write_paths(dir / "subject_name.paths", names_.values());
  write_paths(dir / "id.paths", identities_.values());
  write_paths(dir / "domain.paths", domains_.values());
  write_paths(dir / "record_number.paths", [&] {
    std::vector<std::string> v;
    for (const auto& r : records_.values()) v.push_back("record_number=" + url_encode(r));
    return v;
  }());
  // A week of submissions, anywhere in the two years.
  q.clear();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const Timestamp a{
        start_.micros +
        static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(723 * kDay / kMicrosPerHour)) *
            kMicrosPerHour};
    q.push_back("submitted_after=" + url_encode(format_rfc3339(a)) +
                "&submitted_before=" + url_encode(format_rfc3339(Timestamp{a.micros + 7 * kDay})));
  }
  write_paths(dir / "submitted.paths", q);
  // Two filters: a state and a province.
  q.clear();
  for (auto s : states)
    for (const auto& p : kProvinces)
      q.push_back(std::string("state=") + s + "&province=" + url_encode(p.abbr));
  write_paths(dir / "state_province.paths", q);
  // A repeated filter: either of two states.
  q.clear();
  for (auto a : states)
    for (auto b : states)
      if (std::string_view(a) < std::string_view(b))
        q.push_back(std::string("state=") + a + "&state=" + b);
  write_paths(dir / "state_either.paths", q);
}

void Generator::write_meta(const fs::path& path) const {
  std::string text;
  JsonWriter w(text);
  const auto counts = [&](std::string_view name, const std::map<std::string, std::uint64_t>& m) {
    w.key(name).begin_object();
    for (const auto& [k, n] : m) {
      w.raw("\"" + k + "\":" + std::to_string(n));
    }
    w.end_object();
  };
  w.begin_object();
  w.key("filings").number(lines_).key("events").number(events_);
  w.key("generated_for").time(now_).key("first_submission").time(start_);
  w.key("stalled").number(stalled_).key("sms_left_overdue").number(sms_left_overdue_);
  counts("by_state", by_state_);
  counts("by_type", by_type_);
  counts("by_kind", by_kind_);
  counts("by_provider", by_provider_);
  counts("by_province", by_province_);
  w.end_object();
  std::ofstream out(path, std::ios::trunc);
  out << text << '\n';
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace filingd::bench_desk
