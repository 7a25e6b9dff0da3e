// The verifiable log's commands (SPEC §8): `checkpoint` and `prove`, and what `verify --since`
// needs: an auditor's saved checkpoint, its signature checked.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "events/result.hpp"
#include "ledger/tree.hpp"

namespace filingd::ctl {

struct TlogArgs {
  std::string data_dir;
  std::string signing_key_file;  // empty: filingd-signing.key beside the data directory
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> size;
  bool json = false;
};

// Adds `checkpoint` and `prove`; returns them (to ask which was parsed).
std::pair<CLI::App*, CLI::App*> add_tlog_commands(CLI::App& app, TlogArgs& checkpoint,
                                                  TlogArgs& prove);
int run_checkpoint(const TlogArgs& a);
int run_prove(const TlogArgs& a);

// The tree head an auditor's checkpoint note (the file `note_file`) commits to, after checking
// its signature: by `verifier_key` (a verifier key, or "@FILE" to read one) if given, else by
// the ledger's signing key (`signing_key_file`, default beside `data_dir`). Where the ledger's
// key file is at hand, a verifier key given must be its key. The key's name is the origin the
// note must have. Errors name what is wrong: not a note, another key, another origin.
Result<TreeHead> saved_checkpoint(const std::string& note_file, const std::string& verifier_key,
                                  const std::string& signing_key_file, const std::string& data_dir);

}  // namespace filingd::ctl
