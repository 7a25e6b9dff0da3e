// Shared test fixtures: temp directories and ready-made filing commands.
#pragma once

#include <filesystem>
#include <string>

#include "daemon/http.hpp"
#include "ledger/ledger.hpp"

namespace filingd {
class Api;
}
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

// samples::submission(n) (tests/samples) as a command of actor desk-1.
AppendCommand submit(std::string filing_id, int n, FilingType type = FilingType::first_filing);

// Subject n as a person (SPEC §5.1): values no other subject has, in every personal field.
struct PersonData {
  std::string id_number;
  std::string name;
  std::string address;
  std::string mobile;
};
PersonData person(int n);
// submit() with person(n) as an individual subject and as its website's responsible person.
AppendCommand individual(std::string filing_id, int n);

// A keyring of `master`, and of a fresh random master key.
std::shared_ptr<Keyring> keyring_of(const privacy::Key& master);
std::shared_ptr<Keyring> new_keyring();
AppendCommand action(std::string filing_id, Payload data,
                     std::optional<Version> expected = std::nullopt);

// Percent-encodes every byte but RFC 3986's unreserved ones, for a query value.
std::string url_encode(std::string_view value);

// Runs `request` through the API, as the HTTP server would, and returns its response.
HttpResponse call_api(Api& api, HttpRequest request);

// A stored record (body || prev_hash || hash) of a schema 1 filing_withdrawn, written once by
// the schema 1 encoder: seq 7, F2026-000123 v2, event_id 5f0c7c0e-0000-4000-8000-00000000000a,
// actor desk-1, reason "申请人不再需要备案", prev_hash 00 01 02 .. 1f.
std::string v1_withdrawn_record();

}  // namespace filingd::test
