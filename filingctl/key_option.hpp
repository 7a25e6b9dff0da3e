// --key-file (SPEC §5.3): the master key that opens the personal data filingctl prints.
#pragma once

#include <memory>
#include <string>

#include "events/result.hpp"
#include "ledger/keyring.hpp"
#include "ledger/personal_data.hpp"
#include "ledger/store.hpp"

namespace filingd::ctl {

// The keyring of the master key in `key_file`. Errors: the key file's (key_file.hpp).
Result<std::shared_ptr<Keyring>> load_keyring(const std::string& key_file);

// What opens the personal data of the ledger in `data_dir`: with the master key of `key_file`
// (empty: the daemon's default, beside the data directory), or, when the default is absent or
// unreadable, one under which every sealed field prints "[encrypted]" (said once on stderr). A
// key file named explicitly must load, and must be the ledger's key.
Result<std::unique_ptr<PersonalData>> open_personal(const Store& store,
                                                    const std::string& data_dir,
                                                    const std::string& key_file);

}  // namespace filingd::ctl
