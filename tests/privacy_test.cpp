// privacy/: known-answer tests for the primitives, then every error case of sealing, key
// wrapping and the master key file, then masking.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/mask.hpp"
#include "privacy/crypto.hpp"
#include "privacy/key_file.hpp"
#include "privacy/wrap.hpp"

// gtest's own substring assertions: the project does not link gmock.
#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, needle, haystack)
#define EXPECT_LACKS(haystack, needle) \
  EXPECT_PRED_FORMAT2(::testing::IsNotSubstring, needle, haystack)

namespace filingd::privacy {
namespace {

namespace fs = std::filesystem;

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {kDigits[c >> 4], kDigits[c & 15]};
  return out;
}

std::string hex(const Digest& d) {
  return hex({reinterpret_cast<const char*>(d.data()), d.size()});
}

Key key_of(std::string_view hex_key) { return Key::from_bytes(unhex(hex_key)).value(); }
Key random_key() { return Key::random().value(); }

// ---- AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", rev. 2005,
// Appendix B, test cases 13-16 (the 256-bit-key cases with 96-bit IVs). Expected = C ‖ T.

struct GcmVector {
  const char *name, *key, *iv, *plaintext, *aad, *expected;
};

constexpr const char* kK15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr const char* kP15 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr const char* kC15 =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
const GcmVector kGcmVectors[] = {
    {"TC13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TC14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
    {"TC15", kK15, "cafebabefacedbaddecaf888", kP15, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
     "b094dac5d93471bdec1a502270e3cc6c"},
    // TC16: a 60-byte plaintext (partial last block) with 20 bytes of AAD.
    {"TC16", kK15, "cafebabefacedbaddecaf888", "", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(PrivacyCrypto, AesGcmSpecVectors) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.name);
    std::string plaintext = unhex(v.plaintext), expected = unhex(v.expected);
    if (std::string_view(v.name) == "TC16") {  // P and C of TC15 cut to 60 bytes
      plaintext = unhex(kP15).substr(0, 60);
      expected = unhex(kC15).substr(0, 60) + expected;
    }
    const Key key = key_of(v.key);
    auto sealed = testing::seal_with_nonce(key, unhex(v.iv), plaintext, unhex(v.aad));
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(hex(*sealed), hex(expected));
    // open() takes nonce ‖ C ‖ T, the layout seal() writes.
    auto opened = open(key, unhex(v.iv) + expected, unhex(v.aad));
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(hex(*opened), hex(plaintext));
  }
}

// ---- HMAC-SHA-256: RFC 4231 §4.2-4.5, 4.7, 4.8 (test cases 1-4, 6, 7; 5 is truncated output).
TEST(PrivacyCrypto, HmacSha256Rfc4231) {
  const std::string aa131(131, '\xaa');
  const struct {
    std::string key, data;
    const char* mac;
  } cases[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {aa131, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {aa131,
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) {
    auto mac = hmac_sha256(std::string_view(c.key), c.data);
    ASSERT_TRUE(mac.ok());
    EXPECT_EQ(hex(*mac), c.mac);
  }
  // The Key overload is the same function of the key's 32 bytes.
  const Key k = random_key();
  EXPECT_EQ(hex(*hmac_sha256(k, "110101199003074514")),
            hex(*hmac_sha256(k.view(), "110101199003074514")));
}

TEST(PrivacyCrypto, KeyedHasherEqualsHmacAcrossHashersAndThreads) {
  const Key k1 = random_key(), k2 = random_key();
  const KeyedHasher h1 = KeyedHasher::create(k1).value();
  KeyedHasher h2 = KeyedHasher::create(k2).value();
  const auto check = [&] {
    for (std::string data : {"", "110101199003074514", "张三"}) {
      EXPECT_EQ(hex(*h1.hash(data)), hex(*hmac_sha256(k1, data)));
      EXPECT_EQ(hex(*h2.hash(data)), hex(*hmac_sha256(k2, data)));  // alternating hashers
    }
  };
  check();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) check();
    });
  for (auto& t : threads) t.join();
  const KeyedHasher moved = std::move(h2);
  EXPECT_EQ(hex(*moved.hash("x")), hex(*hmac_sha256(k2, "x")));
}

// ---- HKDF-SHA-256: RFC 5869 Appendix A.1 (test case 1) and A.3 (test case 3: no salt, no info,
// the form derive_key uses).
TEST(PrivacyCrypto, HkdfRfc5869) {
  const std::string ikm(22, '\x0b');
  auto okm1 =
      hkdf_sha256(ikm, unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm1.ok());
  EXPECT_EQ(hex(*okm1),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  auto okm3 = hkdf_sha256(ikm, "", "", 42);
  ASSERT_TRUE(okm3.ok());
  EXPECT_EQ(hex(*okm3),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_EQ(hkdf_sha256(ikm, "", "", 0).error().code, ErrorCode::invalid);
  EXPECT_EQ(hkdf_sha256(ikm, "", "", 8161).error().code, ErrorCode::invalid);
}

TEST(PrivacyCrypto, DeriveKeyIsHkdfPerLabel) {
  const Key master = random_key();
  const Key index = derive_key(master, kIndexKeyInfo).value();
  const Key wrap = derive_key(master, kWrapKeyInfo).value();
  EXPECT_FALSE(index == wrap);
  EXPECT_FALSE(index == master);
  EXPECT_TRUE(index == derive_key(master, kIndexKeyInfo).value());
  EXPECT_EQ(hex(index.view()), hex(*hkdf_sha256(master.view(), "", kIndexKeyInfo, kKeySize)));
}

template <class T>
concept Streamable = requires(std::ostream& os, const T& t) {
  os << t;
};
static_assert(!Streamable<Key>, "a Key must not be printable");

TEST(PrivacyCrypto, KeyIsNotPrintableAndWipesWhenMovedFrom) {
  Key a = random_key();
  EXPECT_EQ(::testing::PrintToString(a), "Key(redacted)");
  const Key copy = a;
  Key b = std::move(a);
  EXPECT_TRUE(b == copy);
  EXPECT_EQ(hex(a.view()), std::string(64, '0'));  // NOLINT(bugprone-use-after-move)
  auto bad = Key::from_bytes(std::string(31, 'k'));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid);
  EXPECT_LACKS(bad.error().message, "kkk");
}

TEST(PrivacyCrypto, RandomBytesAndConstantTimeEqual) {
  auto a = random_bytes(32), b = random_bytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(random_bytes(0)->size(), 0u);
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  std::string s = "secret";
  cleanse(s);
  EXPECT_TRUE(s.empty());
}

TEST(PrivacyCrypto, SealOpenRoundTripWithFreshNonces) {
  const Key key = random_key();
  for (std::string plain : {std::string(), std::string("张三"), std::string(1000, 'x')}) {
    auto s1 = seal(key, plain, "subject-1/name"), s2 = seal(key, plain, "subject-1/name");
    ASSERT_TRUE(s1.ok() && s2.ok());
    EXPECT_EQ(s1->size(), plain.size() + kSealOverhead);
    EXPECT_NE(s1->substr(0, kNonceSize), s2->substr(0, kNonceSize));
    EXPECT_EQ(open(key, *s1, "subject-1/name").value(), plain);
  }
}

TEST(PrivacyCrypto, OpenErrorsAreDistinct) {
  const Key key = random_key();
  const std::string sealed = seal(key, "110101199003074514", "aad-personal").value();
  for (std::size_t n : {std::size_t{0}, kNonceSize, kSealOverhead - 1}) {
    auto r = open(key, sealed.substr(0, n), "aad-personal");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid);
    EXPECT_CONTAINS(r.error().message, "truncated");
  }
  const auto expect_auth_failure = [](const Result<std::string>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::io);
    EXPECT_CONTAINS(r.error().message, "failed authentication");
    EXPECT_LACKS(r.error().message, "aad-personal");
  };
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {  // nonce, ciphertext and tag
    std::string altered = sealed;
    altered[bit / 8] = static_cast<char>(altered[bit / 8] ^ (1 << (bit % 8)));
    expect_auth_failure(open(key, altered, "aad-personal"));
  }
  expect_auth_failure(open(key, sealed.substr(0, sealed.size() - 1), "aad-personal"));
  expect_auth_failure(open(random_key(), sealed, "aad-personal"));
  expect_auth_failure(open(key, sealed, "aad-personaL"));
  expect_auth_failure(open(key, sealed, ""));
}

TEST(PrivacyCrypto, SealAndOpenFromManyThreads) {
  const Key key = random_key();
  std::vector<std::thread> threads;
  std::vector<std::string> nonces[4];
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string plain = "value " + std::to_string(t) + "/" + std::to_string(i);
        const std::string sealed = seal(key, plain, "aad").value();
        EXPECT_EQ(open(key, sealed, "aad").value(), plain);
        nonces[t].push_back(sealed.substr(0, kNonceSize));
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (const auto& v : nonces) distinct.insert(v.begin(), v.end());
  EXPECT_EQ(distinct.size(), 8000u);  // per-thread nonce buffers do not overlap
}

TEST(PrivacyCrypto, ForkedChildDoesNotRepeatTheParentsNonces) {
  const Key key = random_key();
  ASSERT_TRUE(seal(key, "x", "").ok());  // fills this thread's nonce buffer
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string nonce = seal(key, "x", "").value().substr(0, kNonceSize);
    _exit(::write(fds[1], nonce.data(), nonce.size()) == static_cast<ssize_t>(nonce.size()) ? 0
                                                                                            : 1);
  }
  const std::string parent = seal(key, "x", "").value().substr(0, kNonceSize);
  std::string child(kNonceSize, '\0');
  EXPECT_EQ(::read(fds[0], child.data(), child.size()), static_cast<ssize_t>(kNonceSize));
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(hex(child), hex(parent));
}

// ---- wrap

TEST(PrivacyWrap, RoundTripAndFormat) {
  const Key wrap_key = derive_key(random_key(), kWrapKeyInfo).value();
  const Key data_key = random_key();
  auto wrapped = wrap_data_key(wrap_key, data_key, "subject:ref-1");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), kWrappedKeySize);
  EXPECT_EQ(wrapped->size(), 61u);
  EXPECT_EQ((*wrapped)[0], '\x01');
  EXPECT_TRUE(unwrap_data_key(wrap_key, *wrapped, "subject:ref-1").value() == data_key);
  EXPECT_NE(*wrapped, wrap_data_key(wrap_key, data_key, "subject:ref-1").value());
}

TEST(PrivacyWrap, UnwrapErrorsAreDistinct) {
  const Key master = random_key();
  const Key wrap_key = derive_key(master, kWrapKeyInfo).value();
  const std::string wrapped = wrap_data_key(wrap_key, random_key(), "subject:ref-1").value();
  const auto expect = [](const Result<Key>& r, ErrorCode code, const std::string& text) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code);
    EXPECT_CONTAINS(r.error().message, text);
    EXPECT_LACKS(r.error().message, "ref-1");
  };
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{29}, kWrappedKeySize - 1})
    expect(unwrap_data_key(wrap_key, wrapped.substr(0, n), "subject:ref-1"), ErrorCode::invalid,
           "wrapped key is truncated (" + std::to_string(n) + " of 61 bytes)");
  expect(unwrap_data_key(wrap_key, wrapped + "x", "subject:ref-1"), ErrorCode::invalid,
         "wrapped key is too long");
  expect(unwrap_data_key(wrap_key, '\x02' + wrapped.substr(1), "subject:ref-1"), ErrorCode::invalid,
         "unknown format version 2");
  const std::string auth = "wrong master key, or the wrapped key was altered";
  for (std::size_t i = 1; i < wrapped.size(); ++i) {
    std::string altered = wrapped;
    altered[i] = static_cast<char>(altered[i] ^ 0x80);
    expect(unwrap_data_key(wrap_key, altered, "subject:ref-1"), ErrorCode::io, auth);
  }
  const Key other_master_wrap = derive_key(random_key(), kWrapKeyInfo).value();
  expect(unwrap_data_key(other_master_wrap, wrapped, "subject:ref-1"), ErrorCode::io, auth);
  // Right master, wrong purpose: the index key must not unwrap.
  expect(unwrap_data_key(derive_key(master, kIndexKeyInfo).value(), wrapped, "subject:ref-1"),
         ErrorCode::io, auth);
  // Moved to another subject.
  expect(unwrap_data_key(wrap_key, wrapped, "subject:ref-2"), ErrorCode::io, auth);
}

// ---- master key file

class PrivacyKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "privacy_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "filingd.key").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  std::string read() {
    std::stringstream ss;
    ss << std::ifstream(path_, std::ios::binary).rdbuf();
    return ss.str();
  }
  // Both loaders refuse the file with this code and message text, naming the path.
  void expect_refused(ErrorCode code, const std::string& text) {
    for (int f = 0; f < 2; ++f) {
      const Error e = f == 0 ? load_master_key(path_).take_error()
                             : load_or_create_master_key(path_).take_error();
      EXPECT_EQ(e.code, code) << e.message;
      EXPECT_CONTAINS(e.message, text);
      EXPECT_CONTAINS(e.message, path_);
    }
  }
  // A valid file's text, from a key this test created.
  std::string valid_text() {
    const std::string other = (dir_ / "valid.key").string();
    EXPECT_TRUE(load_or_create_master_key(other).ok());
    std::stringstream ss;
    ss << std::ifstream(other, std::ios::binary).rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(PrivacyKeyFile, CreatedOnceWithMode0600ThenReloaded) {
  auto first = load_or_create_master_key(path_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const std::string text = read();
  // "filingd-master-key-v1 <64 lower-case hex> <8 lower-case hex>\n"
  ASSERT_EQ(text.size(), 96u);
  EXPECT_EQ(text.substr(0, 22), "filingd-master-key-v1 ");
  EXPECT_EQ(text.substr(86, 1), " ");
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.substr(22, 64).find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(text.substr(87, 8).find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(text.substr(22, 64), hex(first->key.view()));
  auto again = load_or_create_master_key(path_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_TRUE(again->key == first->key);
  EXPECT_TRUE(load_master_key(path_).value() == first->key);
  EXPECT_EQ(read(), text);
}

TEST_F(PrivacyKeyFile, AcceptsUpperCaseCrlfAndNoFinalNewline) {
  std::string text = valid_text();
  const Key key = load_master_key((dir_ / "valid.key").string()).value();
  text.pop_back();
  for (const std::string& t : {text, text + "\r\n"}) {
    write(t);
    EXPECT_TRUE(load_master_key(path_).value() == key);
  }
  for (std::size_t i = 22; i < text.size(); ++i) text[i] = static_cast<char>(std::toupper(text[i]));
  write(text + "\n");
  EXPECT_TRUE(load_master_key(path_).value() == key);
}

TEST_F(PrivacyKeyFile, GroupOrOtherAccessIsRefused) {
  const std::string text = valid_text();
  for (auto [mode, words] : {std::pair{0644, "mode 0644 is readable by group and others"},
                             {0640, "mode 0640 is readable by group"},
                             {0604, "mode 0604 is readable by others"},
                             {0620, "mode 0620 is writable by group"},
                             {0660, "mode 0660 is readable and writable by group"},
                             {0601, "mode 0601 is executable by others"}}) {
    SCOPED_TRACE(words);
    write(text, static_cast<mode_t>(mode));
    expect_refused(ErrorCode::invalid, std::string(words) + ": chmod 600 " + path_);
  }
}

TEST_F(PrivacyKeyFile, BadContentIsRefusedWithoutEchoingIt) {
  const std::string text = valid_text();
  const std::string key_hex = text.substr(22, 64);
  write("");
  expect_refused(ErrorCode::invalid, "is empty");
  write(text.substr(0, 50));
  expect_refused(ErrorCode::invalid, "is truncated (50 of 95 characters)");
  write(text.substr(0, 86));  // key complete, check value missing
  expect_refused(ErrorCode::invalid, "is truncated (86 of 95 characters)");
  write("filingd-master-key-v2" + text.substr(21));
  expect_refused(ErrorCode::invalid, "is malformed at column 21");
  std::string bad_digit = text;
  bad_digit[40] = 'g';
  write(bad_digit);
  expect_refused(ErrorCode::invalid, "is malformed at column 41");
  write(text + text);
  expect_refused(ErrorCode::invalid, "is malformed: extra characters");
  write(std::string(5000, 'f'));
  expect_refused(ErrorCode::invalid, "is malformed");
  std::string mistyped = text;
  mistyped[30] = mistyped[30] == '0' ? '1' : '0';
  write(mistyped);
  expect_refused(ErrorCode::invalid, "fails its check value");
  EXPECT_LACKS(load_master_key(path_).error().message, mistyped.substr(22, 64));
  EXPECT_LACKS(load_master_key(path_).error().message, key_hex.substr(0, 8));
}

TEST_F(PrivacyKeyFile, DirectoryFifoAndMissing) {
  fs::create_directory(path_);
  expect_refused(ErrorCode::invalid, "is a directory");
  fs::remove(path_);
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  expect_refused(ErrorCode::invalid, "is not a regular file");
  fs::remove(path_);

  auto missing = load_master_key(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io);
  EXPECT_CONTAINS(missing.error().message, "cannot open master key file " + path_);
  EXPECT_FALSE(fs::exists(path_));  // load_master_key never creates

  const std::string nested = (dir_ / "no-such-dir" / "filingd.key").string();
  auto no_dir = load_or_create_master_key(nested);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.error().code, ErrorCode::io);
  EXPECT_CONTAINS(no_dir.error().message, "cannot create master key file " + nested);
}

// Root reads a mode 0000 file: as root, the loaders run in a child that has dropped to nobody.
TEST_F(PrivacyKeyFile, UnreadableFile) {
  write(valid_text(), 0000);
  if (::geteuid() != 0) {
    expect_refused(ErrorCode::io, "Permission denied");
    return;
  }
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // nobody may reach the file, not read it
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(out[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    std::string report;
    for (int f = 0; f < 2; ++f) {
      const Error e = f == 0 ? load_master_key(path_).take_error()
                             : load_or_create_master_key(path_).take_error();
      report += std::to_string(static_cast<int>(e.code)) + '\t' + e.message + '\n';
    }
    const bool sent =
        ::write(out[1], report.data(), report.size()) == static_cast<ssize_t>(report.size());
    ::_exit(sent ? 0 : 3);
  }
  ::close(out[1]);
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) report.append(buf, n);
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::istringstream lines(report);
  int seen = 0;
  for (std::string line; std::getline(lines, line); ++seen) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    EXPECT_EQ(std::stoi(line.substr(0, tab)), static_cast<int>(ErrorCode::io)) << line;
    EXPECT_CONTAINS(line, "Permission denied");
    EXPECT_CONTAINS(line, path_);
  }
  EXPECT_EQ(seen, 2) << report;
}

}  // namespace
}  // namespace filingd::privacy

namespace filingd {
namespace {

// ---- masking

TEST(PrivacyMask, SpecExamples) {
  EXPECT_EQ(mask_tail("110101199003074514"), "**************4514");
  EXPECT_EQ(mask_tail("张三"), "**");
  EXPECT_EQ(mask_tail("欧阳娜娜丽莎"), "**娜娜丽莎");
  EXPECT_EQ(mask_tail("13800138000"), "*******8000");
}

TEST(PrivacyMask, ShortValuesAreMaskedWhole) {
  EXPECT_EQ(mask_tail(""), "");
  EXPECT_EQ(mask_tail("a"), "*");
  EXPECT_EQ(mask_tail("张"), "*");
  EXPECT_EQ(mask_tail("张三丰"), "***");
  EXPECT_EQ(mask_tail("司马相如"), "****");
  EXPECT_EQ(mask_tail("abcd"), "****");
  EXPECT_EQ(mask_tail("abcde"), "*bcde");
  EXPECT_EQ(mask_tail("诸葛孔明先"), "*葛孔明先");
}

TEST(PrivacyMask, MixedScriptsCountCharactersNotBytes) {
  EXPECT_EQ(mask_tail("Li 张三丰"), "** 张三丰");
  EXPECT_EQ(mask_tail("北京ABC科技有限公司"), "*******有限公司");
  EXPECT_EQ(mask_tail("张三abc1"), "**abc1");
  EXPECT_EQ(mask_tail("😀😀abcd"), "**abcd");  // 4-byte sequences
  EXPECT_EQ(mask_tail("x😀é中"), "****");
  EXPECT_EQ(mask_tail("ab😀é中"), "*b😀é中");
}

TEST(PrivacyMask, InvalidUtf8CountsPerByteAndStaysValid) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(mask_tail("\xff\xfe"
                      "abcd"),
            "**abcd");
  EXPECT_EQ(mask_tail("\xff"), "*");
  EXPECT_EQ(mask_tail("abcd\xff"), "*bcd" + fffd);
  EXPECT_EQ(mask_tail("abc\xE4\xB8"), "*bc" + fffd + fffd);  // truncated 3-byte sequence
  EXPECT_EQ(mask_tail("ab\xC0\xAF"
                      "cd"),
            "**" + fffd + fffd + "cd");  // overlong '/'
  EXPECT_EQ(mask_tail("a\xED\xA0\x80"
                      "b"),
            "*" + fffd + fffd + fffd + "b");  // surrogate D800
  EXPECT_EQ(mask_tail("\xF4\x90\x80\x80"
                      "ab"),
            "**" + fffd + fffd + "ab");  // > U+10FFFF
  EXPECT_EQ(mask_tail("abcd\x80\x80\x80\x80"), "****" + fffd + fffd + fffd + fffd);
  EXPECT_EQ(mask_tail(std::string("ab\0cde", 6)), std::string("**\0cde", 6));
}

}  // namespace
}  // namespace filingd
