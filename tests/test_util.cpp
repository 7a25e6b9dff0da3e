#include "tests/test_util.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cctype>
#include <random>

#include "daemon/api.hpp"

#include "tests/samples/samples.hpp"

namespace filingd::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("filingd-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

AppendCommand submit(std::string filing_id, int n, FilingType type) {
  AppendCommand c;
  c.filing_id = std::move(filing_id);
  c.data = samples::submission(static_cast<std::uint64_t>(n), "cn", type);
  c.actor = "desk-1";
  return c;
}

PersonData person(int n) {
  return {samples::resident_id(900'000 + static_cast<std::uint64_t>(n)),
          "欧阳娜娜" + std::to_string(n), "北京市朝阳区幸福路" + std::to_string(n) + "号",
          "139" + std::to_string(10'000'000 + n)};
}

AppendCommand individual(std::string filing_id, int n) {
  AppendCommand c = submit(std::move(filing_id), n);
  auto& f = std::get<FilingSubmitted>(c.data);
  const PersonData p = person(n);
  f.subject.kind = "individual";
  f.subject.id_type = "resident_id";
  f.subject.id_number = p.id_number;
  f.subject.name = p.name;
  f.subject.address = p.address;
  filingd::Person& r = f.websites.at(0).responsible;
  r.id_number = p.id_number;
  r.name = p.name;
  r.mobile = p.mobile;
  return c;
}

std::shared_ptr<Keyring> keyring_of(const privacy::Key& master) {
  auto keyring = Keyring::create(master);
  EXPECT_TRUE(keyring) << keyring.error().message;
  return keyring ? *keyring : nullptr;
}

std::shared_ptr<Keyring> new_keyring() { return keyring_of(*privacy::Key::random()); }

AppendCommand action(std::string filing_id, Payload data, std::optional<Version> expected) {
  AppendCommand c;
  c.filing_id = std::move(filing_id);
  c.data = std::move(data);
  c.expected_version = expected;
  c.actor = "rev-1";
  return c;
}

std::string url_encode(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

HttpResponse call_api(Api& api, HttpRequest request) {
  boost::asio::io_context io;
  auto response =
      boost::asio::co_spawn(io, api.handle(std::move(request)), boost::asio::use_future);
  io.run();
  return response.get();
}

std::string v1_withdrawn_record() {
  constexpr std::string_view hex =
      "010107000000000000000c0000000000000046323032362d3030303132330200"
      "0000240000000000000035663063376330652d303030302d343030302d383030"
      "302d3030303030303030303030610100000000402addd860060040222cddd860"
      "060006000000000000006465736b2d310b000000010000001b00000000000000"
      "e794b3e8afb7e4babae4b88de5868de99c80e8a681e5a487e6a1880001020304"
      "05060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f978e425a63"
      "cba76629e7ac20baa94e01a57e490920b01ff856ed5db4b864deb2";
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

}  // namespace filingd::test
