// Shared test fixtures: temp directories and ready-made filing commands.
#pragma once

#include <filesystem>
#include <string>

#include "ledger/ledger.hpp"

namespace filingd::test {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A valid first_filing submission for subject number `n` (distinct n = distinct subjects and
// domains), province 京.
FilingSubmitted sample_submission(int n, FilingType type = FilingType::first_filing);

AppendCommand submit(std::string filing_id, int n, FilingType type = FilingType::first_filing);
AppendCommand action(std::string filing_id, Payload data,
                     std::optional<Version> expected = std::nullopt);

// A GB 11643-valid resident ID derived from n.
std::string resident_id(int n);

}  // namespace filingd::test
