// The desk data set's vocabulary (bench/desk/dataset.cpp): the provinces, providers and subject
// kinds with the weights the filings follow, the pools names, domains and reasons come from, and
// the helpers that turn a sequence number into a certificate number or a value into a query.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/time.hpp"

namespace filingd::bench_desk {

struct Province {
  const char* abbr;
  const char* city;    // the capital, for names and addresses
  const char* region;  // its GB/T 2260 code, for certificates
  double weight;
};
extern const std::array<Province, 31> kProvinces;

struct Provider {
  const char* name;
  double weight;
};
extern const std::array<Provider, 8> kProviders;

// Subject kinds: weight, USCC registration code ("" for individuals).
struct Kind {
  const char* name;
  const char* uscc_prefix;
  double weight;
};
extern const std::array<Kind, 6> kKinds;

// The name pools hold each value once (see vocabulary.cpp): distinct sequence numbers give
// distinct names.
extern const std::vector<std::string> kBrand, kIndustry, kCompanySuffix, kGovernment, kInstitution,
    kAssociation, kShop, kSurname, kGiven, kSyllable;
extern const std::vector<std::pair<std::string, double>> kTlds;  // with their weights
extern const std::vector<std::string> kSiteWords, kPersonalSites, kSubdomains, kPhotoReasons;
// (code, reason) pairs.
extern const std::vector<std::pair<std::string, std::string>> kReturnReasons, kBureauReasons;
extern const std::vector<std::string> kWithdrawReasons;

template <class T>
const T& pick(const std::vector<T>& v, std::uint64_t i) {
  return v[i % v.size()];
}

std::string digits(std::uint64_t v, int width);

// GB 11643: region, birth date (1960 on, from k / 500), sequence (k % 500, +500 for the second
// series), check character. Distinct for distinct (k, series) below 7,500,000.
std::string resident_id(const char* region, std::uint64_t k, bool second_series);

// GB 32100: registration code, region, an organisation code "MA" + 7 digits of k, check.
std::string uscc(const char* prefix, const char* region, std::uint64_t k);

// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);

int year_of(Timestamp t);

}  // namespace filingd::bench_desk
