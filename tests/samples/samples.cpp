#include "tests/samples/samples.hpp"

#include <chrono>
#include <cstdio>

#include "events/validation.hpp"

namespace filingd::samples {

// Region 110101, a birth date and sequence number derived from n, then the check character.
std::string resident_id(std::uint64_t n) {
  using namespace std::chrono;
  const year_month_day birth{sys_days{year{1950} / January / 1} +
                             days{static_cast<int>((n / 1000) % 14600)}};
  char buf[24];
  std::snprintf(buf, sizeof buf, "110101%04d%02u%02u%03u", static_cast<int>(birth.year()),
                static_cast<unsigned>(birth.month()), static_cast<unsigned>(birth.day()),
                static_cast<unsigned>(n % 1000));
  std::string id = buf;
  id += resident_id_check_char(id);
  return id;
}

// An enterprise of Beijing (9 1 110000), an organisation code from n, then the check character.
std::string uscc(std::uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "9111000%010llu", static_cast<unsigned long long>(n % 10000000000));
  std::string code = buf;
  code += uscc_check_char(code);
  return code;
}

std::string domain_of(std::uint64_t n, std::string_view suffix) {
  return "site" + std::to_string(n) + "." + std::string(suffix);
}

FilingSubmitted submission(std::uint64_t n, std::string_view domain_suffix, FilingType type) {
  FilingSubmitted f;
  f.filing_type = type;
  f.province = "京";
  f.provider = "jdcloud";
  f.subject = Subject{"enterprise", "北京测试科技有限公司" + std::to_string(n), "uscc", uscc(n),
                      "北京市海淀区中关村大街" + std::to_string(n % 1000) + "号"};
  Website w;
  w.name = "测试网站" + std::to_string(n);
  const std::string domain = domain_of(n, domain_suffix);
  w.domains = {domain, "www." + domain};
  w.responsible = Person{"张三", "resident_id", resident_id(n),
                         "138" + std::to_string(10000000 + n % 90000000), "ops@example.cn"};
  f.websites.push_back(std::move(w));
  return f;
}

PhotoRejected photo_rejected() {
  PhotoRejected p;
  p.reviewer = "rev-1";
  p.method = PhotoMethod::photo;
  p.reason = "照片背景不是白色，请重新拍摄";
  return p;
}

}  // namespace filingd::samples
