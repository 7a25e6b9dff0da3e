// The desk data set's generator (bench/desk/dataset.cpp describes the data set): lives each
// filing's simulated life up to `now`, writes it as a `filingctl import` line, and samples the
// values the request paths query; then writes those paths and meta.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "events/event.hpp"

namespace filingd::bench_desk {

struct Province;

// Reservoir sample of K values.
class Sample {
 public:
  Sample(std::size_t k, std::mt19937_64& rng) : k_(k), rng_(rng) {}
  void offer(std::string v) {
    ++seen_;
    if (values_.size() < k_) {
      values_.push_back(std::move(v));
    } else {
      const std::uint64_t j = std::uniform_int_distribution<std::uint64_t>(0, seen_ - 1)(rng_);
      if (j < k_) values_[j] = std::move(v);
    }
  }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::size_t k_;
  std::mt19937_64& rng_;
  std::uint64_t seen_ = 0;
  std::vector<std::string> values_;
};

struct Step {
  Payload data;
  Timestamp at;
  std::string actor;
};

class Generator {
 public:
  Generator(std::uint64_t filings, Timestamp now, std::uint64_t seed, std::size_t sample);

  void run(std::ostream& out);

  void write_queries(const std::filesystem::path& dir) const;
  void write_meta(const std::filesystem::path& path) const;

 private:
  double uniform();
  bool chance(double p);
  std::int64_t exp_micros(std::int64_t mean);
  std::int64_t uniform_micros(std::int64_t lo, std::int64_t hi);
  std::string actor(const char* role, int n);
  std::string next_filing_id(Timestamp t0);
  std::string new_domain_base();
  std::string record_number(const Province& p, int year);

  FilingSubmitted make_subject(const Province& p);
  Website make_website(const FilingSubmitted& f, const Province& p, bool first, std::size_t j);
  void filing(std::ostream& out, Timestamp t0);
  void write_line(std::ostream& out, const std::string& id, const std::vector<Step>& steps);
  // How a filing's life ended.
  struct Outcome {
    bool approved = false;
    Timestamp approved_at;
    std::string subject_number;  // its subject's record number, once approved
  };
  // Lives a filing's life from `f`'s submission at t0; returns the events up to now_. The
  // websites of an add_website filing get the suffixes after `suffix_base`.
  std::vector<Step> life(const FilingSubmitted& f, const Province& p, Timestamp t0,
                         std::size_t suffix_base, Outcome& outcome);
  // A later add_website filing of the subject whose first filing `approval` approved.
  void add_website(std::ostream& out, const FilingSubmitted& first, const Province& p,
                   const Outcome& approval);

  std::uint64_t filings_;
  Timestamp now_, start_;
  std::mt19937_64 rng_;
  std::discrete_distribution<std::size_t> province_dist_, provider_dist_, kind_dist_, tld_dist_;
  std::uint64_t filing_seq_ = 0, domain_seq_ = 0, person_seq_ = 0;
  std::map<std::string, std::uint64_t> kind_seq_;
  std::map<std::string, std::uint64_t> record_seq_;
  Sample names_, identities_, domains_, records_;
  // What the data set holds.
  std::uint64_t lines_ = 0, events_ = 0, stalled_ = 0, sms_left_overdue_ = 0;
  std::map<std::string, std::uint64_t> by_state_, by_type_, by_kind_;
  std::map<std::string, std::uint64_t> by_province_, by_provider_;
};

}  // namespace filingd::bench_desk
