#include "events/provinces.hpp"

#include <array>

namespace filingd {
namespace {

struct Province {
  std::string_view abbr;    // canonical one-character abbreviation, as in record numbers
  std::string_view name;    // short full name (北京)
  std::string_view suffix;  // administrative suffix of the official name (市, 省, 自治区, ...)
  std::string_view alias;   // a second abbreviation in real-world use, or empty
};

// The one table of province names; record numbers resolve their province character here too.
constexpr std::array<Province, 31> kProvinces = {{
    {"京", "北京", "市", ""},           {"津", "天津", "市", ""},
    {"冀", "河北", "省", ""},           {"晋", "山西", "省", ""},
    {"蒙", "内蒙古", "自治区", ""},     {"辽", "辽宁", "省", ""},
    {"吉", "吉林", "省", ""},           {"黑", "黑龙江", "省", ""},
    {"沪", "上海", "市", ""},           {"苏", "江苏", "省", ""},
    {"浙", "浙江", "省", ""},           {"皖", "安徽", "省", ""},
    {"闽", "福建", "省", ""},           {"赣", "江西", "省", ""},
    {"鲁", "山东", "省", ""},           {"豫", "河南", "省", ""},
    {"鄂", "湖北", "省", ""},           {"湘", "湖南", "省", ""},
    {"粤", "广东", "省", ""},           {"桂", "广西", "壮族自治区", ""},
    {"琼", "海南", "省", ""},           {"渝", "重庆", "市", ""},
    {"川", "四川", "省", "蜀"},         {"贵", "贵州", "省", "黔"},
    {"云", "云南", "省", "滇"},         {"藏", "西藏", "自治区", ""},
    {"陕", "陕西", "省", ""},           {"甘", "甘肃", "省", "陇"},
    {"青", "青海", "省", ""},           {"宁", "宁夏", "回族自治区", ""},
    {"新", "新疆", "维吾尔自治区", ""},
}};

bool names_province(const Province& p, std::string_view input) {
  if (input == p.abbr || input == p.name) return true;
  if (!p.alias.empty() && input == p.alias) return true;
  return input.size() == p.name.size() + p.suffix.size() && input.starts_with(p.name) &&
         input.ends_with(p.suffix);
}

}  // namespace

std::optional<std::string> canonical_province(std::string_view input) {
  for (const auto& p : kProvinces) {
    if (names_province(p, input)) return std::string(p.abbr);
  }
  return std::nullopt;
}

}  // namespace filingd
