#include "filingctl/key_option.hpp"

#include <cstdio>

#include "config/config.hpp"
#include "privacy/key_file.hpp"

namespace filingd::ctl {

Result<std::shared_ptr<Keyring>> load_keyring(const std::string& key_file) {
  auto key = privacy::load_master_key(key_file);
  if (!key) return key.take_error();
  return Keyring::create(*key);
}

Result<std::unique_ptr<PersonalData>> open_personal(const Store& store,
                                                    const std::string& data_dir,
                                                    const std::string& key_file) {
  const std::string path = key_file.empty() ? default_master_key_path(data_dir) : key_file;
  auto keyring = load_keyring(path);
  if (!keyring) {
    if (!key_file.empty()) return keyring.take_error();
    std::fprintf(stderr,
                 "filingctl: no master key (%s); personal data prints as [encrypted] "
                 "(--key-file FILE)\n",
                 keyring.error().message.c_str());
    return std::make_unique<PersonalData>(store, nullptr);
  }
  if (auto ok = check_master_key(store, **keyring, data_dir); !ok) return ok.take_error();
  return std::make_unique<PersonalData>(store, std::move(*keyring));
}

}  // namespace filingd::ctl
