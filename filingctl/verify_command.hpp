// `filingctl verify`: the whole ledger checked (chain, indexes, projections, Merkle tree), and
// optionally its head or an auditor's saved checkpoint.
#pragma once

#include <cstddef>
#include <string>

#include "replay/projection_fold.hpp"

namespace filingd::ctl {

struct VerifyArgs {
  std::string data_dir;
  std::string expect_head;
  std::string since;  // an auditor's checkpoint note file
  std::string verifier_key;
  std::string signing_key_file;
  bool skip_projections = false;
  std::size_t memory_mib = kDefaultFoldBudget >> 20;
  std::string scratch_dir;
  bool json = false;
};

// Exit codes: 0 the ledger verified; 1 it did not (the problems printed); 2 usage or I/O error.
int run_verify(const VerifyArgs& a);

}  // namespace filingd::ctl
