#include "filingctl/tlog_commands.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "config/config.hpp"
#include "events/json_writer.hpp"
#include "filingctl/output.hpp"
#include "ledger/ledger.hpp"
#include "ledger/proofs.hpp"
#include "replay/open.hpp"
#include "tlog/encoding.hpp"
#include "tlog/note.hpp"

namespace filingd::ctl {
namespace {

Result<std::string> read_small_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(ErrorCode::not_found, std::string(what) + " " + path + " cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().size() > 64 * 1024)
    return make_error(ErrorCode::invalid, std::string(what) + " " + path + " is too large");
  return s.str();
}

std::string key_path(const TlogArgs& a) {
  return a.signing_key_file.empty() ? default_signing_key_path(a.data_dir) : a.signing_key_file;
}

// The ledger's signing key: the key file's own name is the origin (never created here).
Result<tlog::Signer> load_signer(const std::string& path) {
  auto text = read_small_file(path, "signing key file");
  if (!text) return text.take_error();
  std::string_view line = *text;
  if (line.ends_with('\n')) line.remove_suffix(1);
  auto parsed = tlog::Signer::parse(line);
  if (!parsed)
    return make_error(ErrorCode::invalid,
                      "signing key file " + path + ": " + parsed.error().message);
  // The daemon's checks too (a regular file, 0600).
  return tlog::load_or_create_signing_key(path, parsed->name());
}

// The tree head of the ledger's newest durable batch, or of `size` events of it.
Result<TreeHead> tree_head_of(const Store& store, std::optional<std::uint64_t> size) {
  auto head = stored_head(store);
  if (!head) return head.take_error();
  const auto tree_size = static_cast<std::int64_t>(head->seq.value);
  if (size && *size > head->seq.value)
    return make_error(ErrorCode::malformed, "--size " + std::to_string(*size) +
                                                " is beyond the ledger's " +
                                                std::to_string(tree_size) + " events");
  return tree_head_at(tree_reader(store), size ? static_cast<std::int64_t>(*size) : tree_size);
}

}  // namespace

std::pair<CLI::App*, CLI::App*> add_tlog_commands(CLI::App& app, TlogArgs& checkpoint,
                                                  TlogArgs& prove) {
  const auto common = [](CLI::App* sub, TlogArgs& a) {
    sub->add_option("--data-dir", a.data_dir, "the ledger's data directory")->required();
    sub->add_option("--signing-key-file", a.signing_key_file,
                    "the daemon's checkpoint signing key (default: filingd-signing.key beside "
                    "the data directory)");
  };
  auto* c = app.add_subcommand("checkpoint", "the ledger's signed checkpoint (C2SP note)");
  common(c, checkpoint);
  c->add_option("--size", checkpoint.size, "of the tree of this many events (default: all)");
  auto* p = app.add_subcommand("prove", "the inclusion proof of one event, with its checkpoint");
  common(p, prove);
  p->add_option("seq", prove.seq, "the event's seq")->required();
  p->add_option("--size", prove.size, "in the tree of this many events (default: all)");
  return {c, p};
}

namespace {

// What both commands start from: the ledger, the tree head asked for, and its signed note.
struct Signed {
  std::unique_ptr<Store> store;
  TreeHead head;
  std::string note;
};

// The exit code on failure (after saying why).
std::variant<Signed, int> open_signed(const TlogArgs& a) {
  auto signer = load_signer(key_path(a));
  if (!signer) return fail(signer.error().message, kUsage);
  auto store = open_for_reading(a.data_dir);
  if (!store) return fail(store.error().message, kUsage);
  auto head = tree_head_of(**store, a.size);
  if (!head)
    return fail(head.error().message, head.error().code == ErrorCode::malformed ? kFailed : kUsage);
  auto note = Checkpointer(*signer, signer->name()).sign(*head);
  if (!note) return fail(note.error().message, kUsage);
  return Signed{std::move(*store), *head, std::move(*note)};
}

}  // namespace

int run_checkpoint(const TlogArgs& a) {
  auto opened = open_signed(a);
  if (const int* code = std::get_if<int>(&opened)) return *code;
  std::cout << std::get<Signed>(opened).note;
  return kOk;
}

int run_prove(const TlogArgs& a) {
  auto opened = open_signed(a);
  if (const int* code = std::get_if<int>(&opened)) return *code;
  const Signed& s = std::get<Signed>(opened);
  auto proof = prove_inclusion(tree_reader(*s.store), a.seq, s.head.size, s.head.size);
  if (!proof) return fail(proof.error().message, kFailed);
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("checkpoint").string(s.note).key("inclusion");
  write_json(w, *proof);
  w.end_object();
  std::cout << out << '\n';
  return kOk;
}

Result<TreeHead> saved_checkpoint(const std::string& note_file, const std::string& verifier_key,
                                  const std::string& signing_key_file,
                                  const std::string& data_dir) {
  auto note = read_small_file(note_file, "checkpoint file");
  if (!note) return note.take_error();
  // The ledger's own key, where its file is at hand: it names the ledger's origin.
  const std::string key_file =
      signing_key_file.empty() ? default_signing_key_path(data_dir) : signing_key_file;
  std::optional<tlog::Verifier> own;
  if (verifier_key.empty() || std::filesystem::exists(key_file)) {
    auto signer = load_signer(key_file);
    if (!signer) return signer.take_error();
    own = signer->verifier();
  }
  std::optional<tlog::Verifier> verifier = own;
  if (!verifier_key.empty()) {
    std::string vkey = verifier_key;
    if (vkey.starts_with('@')) {
      auto text = read_small_file(vkey.substr(1), "verifier key file");
      if (!text) return text.take_error();
      vkey = *text;
      while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == '\r')) vkey.pop_back();
    }
    auto parsed = tlog::Verifier::parse(vkey);
    if (!parsed) return make_error(ErrorCode::invalid, "--verifier-key: " + parsed.error().message);
    if (own && parsed->vkey() != own->vkey())
      return make_error(ErrorCode::invalid, "--verifier-key " + parsed->vkey() +
                                                " is not this ledger's signing key (" +
                                                own->vkey() + ")");
    verifier = *parsed;
  }
  auto checkpoint = tlog::open_checkpoint(*note, *verifier, verifier->name());
  if (!checkpoint)
    return make_error(checkpoint.error().code,
                      "checkpoint file " + note_file + ": " + checkpoint.error().message);
  return TreeHead{checkpoint->size, checkpoint->root};
}

}  // namespace filingd::ctl
