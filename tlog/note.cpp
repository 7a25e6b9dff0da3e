#include "tlog/note.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <utility>

#include "tlog/encoding.hpp"

namespace filingd::tlog {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kSkeyPrefix = "PRIVATE+KEY+";
constexpr std::size_t kMaxSignatures = 100;  // Go's limit; C2SP asks for at least 16

Error invalid(std::string message) { return make_error(ErrorCode::invalid, std::move(message)); }
Error malformed_note() { return make_error(ErrorCode::malformed, "malformed note"); }

// Decodes one UTF-8 sequence at s[i] (advancing i), as Go's utf8.DecodeRune: -1 for an invalid,
// overlong, surrogate or out-of-range sequence.
std::int32_t decode_rune(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<std::uint8_t>(s[i]);
  int len = 0;
  std::int32_t r = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, r = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, r = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, r = b0 & 0x07;
  } else {
    return -1;
  }
  if (s.size() - i < static_cast<std::size_t>(len)) return -1;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<std::uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    r = (r << 6) | (b & 0x3F);
  }
  if ((len == 3 && (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF))) ||
      (len == 4 && (r < 0x10000 || r > 0x10FFFF)))
    return -1;
  i += len;
  return r;
}

// Go's unicode.IsSpace.
bool is_space(std::int32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

std::string hex8(std::uint32_t v) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  return hex_encode(b);
}

// Exactly 8 hex digits (Go's ParseUint(s, 16, 32) with len(s) == 8 also takes upper case).
bool parse_hex8(std::string_view s, std::uint32_t& out) {
  if (s.size() != 8) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc{} && end == s.data() + s.size();
}

// Go's chop: splits at the first `sep`; no sep gives (s, "").
std::pair<std::string_view, std::string_view> chop(std::string_view s, char sep) {
  const std::size_t i = s.find(sep);
  if (i == std::string_view::npos) return {s, {}};
  return {s.substr(0, i), s.substr(i + 1)};
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

}  // namespace

bool is_valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size();) {
    const std::int32_t r = decode_rune(name, i);
    if (r < 0 || r == '+' || is_space(r)) return false;
  }
  return true;
}

std::uint32_t key_id(std::string_view name, std::span<const std::uint8_t> key) {
  std::string input(name);
  input += '\n';
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  std::uint8_t sum[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), sum);
  return (std::uint32_t{sum[0]} << 24) | (sum[1] << 16) | (sum[2] << 8) | sum[3];
}

// ---- Verifier ---------------------------------------------------------------------------

Result<Verifier> Verifier::parse(std::string_view vkey) {
  const auto [name, rest] = chop(vkey, '+');
  const auto [id16, key64] = chop(rest, '+');
  std::uint32_t id = 0;
  const auto key = base64_decode(key64);
  if (!is_valid_key_name(name) || !parse_hex8(id16, id) || !key || key->empty())
    return invalid("malformed verifier key");
  if (id != tlog::key_id(name, *key)) return invalid("verifier key ID does not match the key");
  if ((*key)[0] != kAlgEd25519) return invalid("verifier key algorithm is not Ed25519");
  if (key->size() != 1 + 32) return invalid("malformed verifier key");
  Verifier v;
  v.name_ = std::string(name);
  v.id_ = id;
  std::copy(key->begin() + 1, key->end(), v.public_key_.begin());
  return v;
}

std::string Verifier::vkey() const {
  std::uint8_t key[33] = {kAlgEd25519};
  std::copy(public_key_.begin(), public_key_.end(), key + 1);
  return name_ + "+" + hex8(id_) + "+" + base64_encode(key);
}

bool Verifier::verify(std::string_view message, std::span<const std::uint8_t> signature) const {
  if (signature.size() != 64) return false;
  const PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key_.data(),
                                                 public_key_.size()),
                     &EVP_PKEY_free);
  const MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return pkey && ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const std::uint8_t*>(message.data()),
                          message.size()) == 1;
}

// ---- Signer -----------------------------------------------------------------------------

Result<Signer> Signer::parse(std::string_view skey) {
  if (!skey.starts_with(kSkeyPrefix)) return invalid("malformed private key");
  const auto [name, rest] = chop(skey.substr(kSkeyPrefix.size()), '+');
  const auto [id16, key64] = chop(rest, '+');
  std::uint32_t id = 0;
  auto key = base64_decode(key64);
  if (!is_valid_key_name(name) || !parse_hex8(id16, id) || !key || key->empty())
    return invalid("malformed private key");
  if ((*key)[0] != kAlgEd25519) return invalid("private key algorithm is not Ed25519");
  if (key->size() != 1 + 32) return invalid("malformed private key");
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key->data() + 1, 32),
               &EVP_PKEY_free);
  OPENSSL_cleanse(key->data(), key->size());
  Verifier v;
  std::size_t len = v.public_key_.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), v.public_key_.data(), &len) != 1)
    return make_error(ErrorCode::internal, "OpenSSL cannot load an Ed25519 key");
  v.name_ = std::string(name);
  std::uint8_t pub[33] = {kAlgEd25519};
  std::copy(v.public_key_.begin(), v.public_key_.end(), pub + 1);
  v.id_ = tlog::key_id(name, pub);
  // The ID names the public key, so it can only be checked once that is derived.
  if (v.id_ != id) return invalid("private key ID does not match the key");
  Signer s;
  s.verifier_ = std::move(v);
  s.pkey_ = std::shared_ptr<void>(pkey.release(),
                                  [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  return s;
}

Result<Signer> Signer::generate(std::string_view name) {
  if (!is_valid_key_name(name)) return invalid("invalid key name \"" + std::string(name) + "\"");
  std::uint8_t key[33] = {kAlgEd25519};
  if (RAND_bytes(key + 1, 32) != 1)
    return make_error(ErrorCode::internal, "OpenSSL cannot generate random bytes");
  const PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key + 1, 32),
                     &EVP_PKEY_free);
  std::uint8_t pub[33] = {kAlgEd25519};
  std::size_t len = 32;
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub + 1, &len) != 1) {
    OPENSSL_cleanse(key, sizeof key);
    return make_error(ErrorCode::internal, "OpenSSL cannot create an Ed25519 key");
  }
  // Through the private key string, so that a new key and a loaded one take the same path.
  std::string skey = std::string(kSkeyPrefix) + std::string(name) + "+" +
                     hex8(tlog::key_id(name, pub)) + "+" + base64_encode(key);
  OPENSSL_cleanse(key, sizeof key);
  auto signer = parse(skey);
  OPENSSL_cleanse(skey.data(), skey.size());
  return signer;
}

std::string Signer::skey() const {
  std::uint8_t key[33] = {kAlgEd25519};
  std::size_t len = 32;
  EVP_PKEY_get_raw_private_key(static_cast<EVP_PKEY*>(pkey_.get()), key + 1, &len);
  std::string out =
      std::string(kSkeyPrefix) + name() + "+" + hex8(key_id()) + "+" + base64_encode(key);
  OPENSSL_cleanse(key, sizeof key);
  return out;
}

Result<std::array<std::uint8_t, 64>> Signer::sign(std::string_view message) const {
  std::array<std::uint8_t, 64> sig{};
  std::size_t len = sig.size();
  const MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // Ed25519 hashes internally: no digest ("NULL md"), one-shot EVP_DigestSign.
  if (!ctx || !pkey_ ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                         static_cast<EVP_PKEY*>(pkey_.get())) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const std::uint8_t*>(message.data()), message.size()) != 1 ||
      len != sig.size())
    return make_error(ErrorCode::internal, "OpenSSL cannot sign with Ed25519");
  return sig;
}

Result<std::string> Signer::sign_note(std::string_view text) const {
  if (!text.ends_with('\n')) return invalid("note text must end in a newline");
  for (std::size_t i = 0; i < text.size();) {
    const std::int32_t r = decode_rune(text, i);
    if (r < 0 || (r < 0x20 && r != '\n')) return invalid("note text is not printable UTF-8");
  }
  auto sig = sign(text);
  if (!sig) return sig.take_error();
  const std::uint32_t id = key_id();
  std::uint8_t blob[4 + 64] = {static_cast<std::uint8_t>(id >> 24),
                               static_cast<std::uint8_t>(id >> 16),
                               static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
  std::copy(sig->begin(), sig->end(), blob + 4);
  std::string note(text);
  note += '\n';
  note += kSigPrefix;
  note += name();
  note += ' ';
  note += base64_encode(blob);
  note += '\n';
  return note;
}

// ---- notes ------------------------------------------------------------------------------

Result<std::string> open_note(std::string_view note, const Verifier& verifier) {
  for (std::size_t i = 0; i < note.size();) {
    const std::int32_t r = decode_rune(note, i);
    if (r < 0 || (r < 0x20 && r != '\n')) return malformed_note();
  }
  // The text ends at the last blank line; the signature block follows it.
  const std::size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed_note();
  const std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return malformed_note();

  bool verified = false;
  for (std::size_t count = 1; !sigs.empty(); ++count) {
    const std::size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (count > kMaxSignatures || !line.starts_with(kSigPrefix)) return malformed_note();
    line.remove_prefix(kSigPrefix.size());
    const auto [name, b64] = chop(line, ' ');
    const auto sig = base64_decode(b64);
    if (!sig || !is_valid_key_name(name) || b64.empty() || sig->size() < 5) return malformed_note();
    const std::uint32_t id =
        (std::uint32_t{(*sig)[0]} << 24) | ((*sig)[1] << 16) | ((*sig)[2] << 8) | (*sig)[3];
    // C2SP: signatures by other keys are ignored, even if they share the name or the ID.
    if (name != verifier.name() || id != verifier.key_id()) continue;
    if (!verifier.verify(text, std::span(*sig).subspan(4)))
      return invalid("invalid signature for key " + verifier.name() + "+" + hex8(id));
    verified = true;
  }
  if (!verified)
    return invalid("note has no signature by key " + verifier.name() + "+" +
                   hex8(verifier.key_id()));
  return std::string(text);
}

// ---- checkpoints ------------------------------------------------------------------------

std::string format_checkpoint(const Checkpoint& checkpoint) {
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     base64_encode(checkpoint.root) + "\n";
  for (const std::string& line : checkpoint.extensions) text += line + "\n";
  return text;
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  const auto bad = [](std::string why) {
    return make_error(ErrorCode::malformed, "malformed checkpoint: " + std::move(why));
  };
  if (!text.ends_with('\n')) return bad("no final newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return bad("fewer than three lines");
  for (std::string_view line : lines)
    if (line.empty()) return bad("empty line");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  const std::string_view size = lines[1];
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (ec != std::errc{} || end != size.data() + size.size() || size[0] == '-' || size[0] == '+' ||
      (size.size() > 1 && size[0] == '0') || c.size > kMaxTreeSize)
    return bad("tree size \"" + std::string(size) + "\"");
  const auto root = base64_decode(lines[2]);
  if (!root || root->size() != kHashSize) return bad("root hash \"" + std::string(lines[2]) + "\"");
  std::copy(root->begin(), root->end(), c.root.begin());
  for (std::size_t i = 3; i < lines.size(); ++i) c.extensions.emplace_back(lines[i]);
  return c;
}

Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const Signer& signer) {
  if (checkpoint.origin.empty() || checkpoint.origin.find('\n') != std::string::npos ||
      checkpoint.size < 0 || checkpoint.size > kMaxTreeSize)
    return invalid("invalid checkpoint");
  for (const std::string& line : checkpoint.extensions)
    if (line.empty() || line.find('\n') != std::string::npos)
      return invalid("invalid checkpoint extension line");
  return signer.sign_note(format_checkpoint(checkpoint));
}

Result<Checkpoint> open_checkpoint(std::string_view note, const Verifier& verifier,
                                   std::string_view origin) {
  auto text = open_note(note, verifier);
  if (!text) return text.take_error();
  auto checkpoint = parse_checkpoint(*text);
  if (!checkpoint) return checkpoint.take_error();
  if (checkpoint->origin != origin)
    return invalid("checkpoint origin is \"" + checkpoint->origin + "\", not \"" +
                   std::string(origin) + "\"");
  return checkpoint;
}

}  // namespace filingd::tlog
