// The desk benchmark's data set (bench/desk/run): a JSON-lines file for `filingctl import` of N
// filings as a filing desk holds them after two years, and the request paths that query them.
//
//   desk_dataset --filings N --out FILE --queries DIR [--seed S] [--now RFC3339] [--sample K]
//
// Each filing lives a simulated life from its submission (spread evenly over the two years
// before --now, default the current time) until --now: provider review (photo rejections,
// initial review rejections), withdrawals, submission to the bureau, SMS verification (failed
// attempts, expiries), the bureau's approval with record numbers or rejection, resubmissions
// after a return, abandonment 45 days after one, record cancellations. The events after --now
// are not written, so each filing ends in the state its life had reached then: most old ones
// approved, withdrawn or abandoned, recent ones anywhere in the workflow. A few stall in an open
// state (SLA overdue) and a few are left in sms_pending past their deadline (the daemon expires
// them when it starts). Every subject (individuals with resident IDs or permits, enterprises and
// other organisations with GB 32100 USCCs, the 31 provinces weighted roughly as the filings are,
// 8 providers) files once; 5 % of the subjects with an approved first filing file add_website
// later, and 10 % of the filings are new_access filings naming a number issued elsewhere. Names
// (Chinese), certificate numbers, mobiles and domains are distinct, so the desk's rules (one
// open filing per subject, a domain in one subject's filings) refuse none.
//
// DIR receives one file of request paths per filter of GET /v1/filings (state.paths,
// province.paths, ..., K values each for the exact filters, sampled over the whole data set),
// and meta.json: the counts of the data set (filings, events, by state, ...).
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "events/validation.hpp"

using namespace filingd;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHour = kMicrosPerHour;
constexpr std::int64_t kDay = kMicrosPerDay;
constexpr std::int64_t kSmsWindow = 24 * kHour;  // the shipped config's default policy

struct Province {
  const char* abbr;
  const char* city;    // the capital, for names and addresses
  const char* region;  // its GB/T 2260 code, for certificates
  double weight;
};

constexpr std::array<Province, 31> kProvinces = {{
    {"粤", "广州", "440106", 15},      {"京", "北京", "110101", 9},
    {"浙", "杭州", "330106", 8},       {"苏", "南京", "320102", 8},
    {"沪", "上海", "310101", 7},       {"鲁", "济南", "370102", 5},
    {"川", "成都", "510104", 4.5},     {"闽", "福州", "350102", 4},
    {"豫", "郑州", "410102", 3.5},     {"鄂", "武汉", "420102", 3.5},
    {"湘", "长沙", "430102", 3},       {"皖", "合肥", "340102", 3},
    {"冀", "石家庄", "130102", 2.5},   {"陕", "西安", "610102", 2},
    {"渝", "重庆", "500103", 2},       {"辽", "沈阳", "210102", 2},
    {"赣", "南昌", "360102", 1.8},     {"桂", "南宁", "450102", 1.6},
    {"津", "天津", "120101", 1.5},     {"云", "昆明", "530102", 1.3},
    {"晋", "太原", "140105", 1.2},     {"黑", "哈尔滨", "230102", 1},
    {"贵", "贵阳", "520102", 1},       {"吉", "长春", "220102", 0.9},
    {"琼", "海口", "460105", 0.8},     {"蒙", "呼和浩特", "150102", 0.7},
    {"新", "乌鲁木齐", "650102", 0.6}, {"甘", "兰州", "620102", 0.5},
    {"宁", "银川", "640104", 0.3},     {"青", "西宁", "630102", 0.25},
    {"藏", "拉萨", "540102", 0.15},
}};

struct Provider {
  const char* name;
  double weight;
};
constexpr std::array<Provider, 8> kProviders = {{{"aliyun", 30},
                                                 {"tencentcloud", 22},
                                                 {"huaweicloud", 14},
                                                 {"baiducloud", 8},
                                                 {"jdcloud", 8},
                                                 {"ctyun", 7},
                                                 {"ucloud", 6},
                                                 {"ksyun", 5}}};

// Subject kinds: weight, USCC registration code ("" for individuals).
struct Kind {
  const char* name;
  const char* uscc_prefix;
  double weight;
};
constexpr std::array<Kind, 6> kKinds = {{{"individual", "", 35},
                                         {"enterprise", "91", 55},
                                         {"government", "11", 2},
                                         {"public_institution", "12", 3},
                                         {"social_organization", "51", 2},
                                         {"other", "92", 3}}};

// The name pools, each value once: a name is a number written in their mixed radix, so
// distinct numbers give distinct names.
std::vector<std::string> distinct(std::vector<std::string> v) {
  std::vector<std::string> out;
  for (auto& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(std::move(x));
  return out;
}

const std::vector<std::string> kBrand = distinct(
    {"云帆", "星河", "蓝海", "金石", "华彩", "瑞达", "恒信", "博远", "创新", "智联", "天成",
     "宏图", "鼎盛", "锦程", "卓越", "盛世", "汇通", "新元", "正道", "明德", "长风", "凌云",
     "海纳", "远航", "晨光", "弘毅", "聚贤", "启明", "致远", "泰和", "安康", "福瑞", "盈科",
     "睿思", "优品", "乐享", "众合", "同创", "方圆", "诚信", "鸿运", "腾飞", "华夏", "中天",
     "万象", "嘉禾", "德润", "普惠", "联众", "佳和", "信达", "东方", "南山", "北辰", "西岭",
     "青松", "白云", "紫金", "银河", "绿洲", "碧水", "丹霞", "翠竹", "梧桐", "春晖", "秋实",
     "冬青", "夏荷", "朗润", "清源", "山海", "星辰", "光华", "永泰", "立信", "和美", "欣荣",
     "茂源", "祥瑞", "尚品", "精诚", "宏达", "新锐", "易达", "九州", "四海", "八方", "百川",
     "千帆", "万里", "一品", "三元", "五福", "七彩", "十方", "天下"});
const std::vector<std::string> kIndustry = distinct(
    {"网络科技",   "信息技术",   "电子商务", "文化传媒", "教育咨询", "软件开发", "数据服务",
     "智能科技",   "广告传媒",   "国际贸易", "餐饮管理", "旅游开发", "医疗器械", "生物科技",
     "新能源",     "供应链管理", "建筑工程", "环保科技", "农业科技", "健康管理", "体育文化",
     "影视制作",   "游戏开发",   "信息咨询", "人力资源", "企业管理", "工业设计", "印务",
     "房地产经纪", "汽车服务",   "家居用品", "服饰"});
const std::vector<std::string> kCompanySuffix = {"有限公司", "股份有限公司", "有限责任公司",
                                                 "集团有限公司"};
const std::vector<std::string> kGovernment =
    distinct({"人民政府办公室", "教育局", "卫生健康委员会", "市场监督管理局", "文化和旅游局",
              "公安局", "交通运输局", "生态环境局", "民政局", "财政局", "人力资源和社会保障局",
              "住房和城乡建设局", "农业农村局", "商务局", "统计局", "应急管理局"});
const std::vector<std::string> kInstitution = distinct(
    {"中学", "小学", "医院", "图书馆", "研究院", "博物馆", "职业技术学院", "疾病预防控制中心"});
const std::vector<std::string> kAssociation =
    distinct({"协会", "商会", "基金会", "研究会", "促进会", "联合会"});
const std::vector<std::string> kShop =
    distinct({"工作室", "商行", "经营部", "网店", "设计室", "小吃店"});
const std::vector<std::string> kSurname = distinct(
    {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",  "徐", "孙", "马", "朱", "胡",
     "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐",  "许", "韩", "冯", "邓", "曹",
     "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",  "余", "杜", "叶", "程", "苏",
     "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟",  "谭", "陆", "汪", "范", "金",
     "石", "廖", "贾", "夏", "韦", "付", "方", "白", "邹", "孟",  "熊", "秦", "邱", "江", "尹",
     "薛", "闫", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺",  "顾", "毛", "郝", "龚", "邵",
     "万", "钱", "严", "覃", "武", "戴", "莫", "孔", "向", "欧阳"});
const std::vector<std::string> kGiven = distinct(
    {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
     "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "辉", "建",
     "文", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "欢", "阳",
     "佳", "晨", "琳", "雪", "慧", "婷", "倩", "颖", "露", "瑶", "怡", "思", "梦", "雨", "欣",
     "晓", "悦", "嘉", "子", "涵", "轩", "博", "睿", "泽", "昊", "然", "航", "宏", "志", "海",
     "波", "峰", "毅", "东", "亮", "国", "庆", "春", "秋", "冬", "兰", "梅", "竹", "菊", "松",
     "云", "飞", "鑫", "淼", "森", "晶", "昕", "彤", "妍", "薇", "蕾", "莉", "婕", "璐", "楠",
     "骏", "哲", "翔", "逸", "铭", "诚", "瑞", "祥", "福", "安", "康", "乐", "天", "星", "辰",
     "光", "荣", "耀", "强", "振", "兴", "德", "仁", "义", "礼", "智", "信", "忠", "良", "恒",
     "远", "达", "通", "贤", "卓", "越", "锦", "程", "川", "山", "石", "青", "蓝", "紫", "金"});
const std::vector<std::string> kSyllable = {
    "yun",  "fan",  "xing", "he",   "lan",   "hai",   "jin",  "shi",  "hua",   "cai",  "rui",
    "da",   "bo",   "zhi",  "tian", "cheng", "hong",  "tu",   "ding", "jing",  "zhuo", "yue",
    "tong", "ming", "de",   "feng", "ling",  "na",    "hang", "chen", "guang", "ju",   "qi",
    "tai",  "an",   "kang", "fu",   "ying",  "ke",    "si",   "you",  "pin",   "le",   "zhong",
    "qing", "song", "bai",  "zi",   "wan",   "xiang", "mei",  "li",   "kai",   "peng", "lei",
    "hao",  "yu",   "xin",  "wei",  "sheng", "long",  "teng", "bao",  "chun"};
const std::vector<std::pair<std::string, double>> kTlds = {
    {"cn", 40}, {"com", 30}, {"com.cn", 12}, {"net", 8}, {"top", 5}, {"org.cn", 3}, {"xyz", 2}};
const std::vector<std::string> kSiteWords = {"官网", "商城", "资讯网", "服务平台",
                                             "论坛", "在线", "门户"};
const std::vector<std::string> kPersonalSites = {"的个人博客", "的作品集", "的技术笔记",
                                                 "的摄影网站", "的个人主页"};
const std::vector<std::string> kSubdomains = {"shop", "blog", "m", "app", "news", "bbs"};
const std::vector<std::string> kPhotoReasons = {"照片背景不是白色，请重新拍摄",
                                                "核验照片模糊，请重新上传",
                                                "幕布照片未露出幕布边缘", "负责人着装不符合要求"};
const std::vector<std::pair<std::string, std::string>> kReturnReasons = {
    {"subject_info", "主体证件信息与营业执照不一致"},
    {"website_name", "网站名称不符合命名规范"},
    {"address", "通信地址不详细，请填写到门牌号"},
    {"responsible", "网站负责人证件已过期"}};
const std::vector<std::pair<std::string, std::string>> kBureauReasons = {
    {"website_content", "网站内容与备案类型不符"},
    {"subject_info", "主体信息有误"},
    {"domain_owner", "域名持有者与主体不一致"},
    {"phone_check", "负责人电话核验未通过"}};
const std::vector<std::string> kWithdrawReasons = {"主体放弃备案", "更换服务商", "网站不再开办",
                                                   "信息填写有误，重新提交"};

template <class T>
const T& pick(const std::vector<T>& v, std::uint64_t i) {
  return v[i % v.size()];
}

std::string digits(std::uint64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width)
    s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  return s;
}

// GB 11643: region, birth date (1960 on, from k / 500), sequence (k % 500, +500 for the second
// series), check character. Distinct for distinct (k, series) below 7,500,000.
std::string resident_id(const char* region, std::uint64_t k, bool second_series) {
  using namespace std::chrono;
  const year_month_day birth{sys_days{year{1960} / January / 1} +
                             days{static_cast<int>((k / 500) % 15000)}};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%s%04d%02u%02u%03u", region, static_cast<int>(birth.year()),
                static_cast<unsigned>(birth.month()), static_cast<unsigned>(birth.day()),
                static_cast<unsigned>(k % 500 + (second_series ? 500 : 0)));
  std::string id = buf;
  id += resident_id_check_char(id);
  return id;
}

// GB 32100: registration code, region, an organisation code "MA" + 7 digits of k, check.
std::string uscc(const char* prefix, const char* region, std::uint64_t k) {
  std::string code = std::string(prefix) + region + "MA" + digits(k % 10'000'000, 7);
  code += uscc_check_char(code);
  return code;
}

// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

int year_of(Timestamp t) {
  using namespace std::chrono;
  const sys_days d = floor<days>(sys_time<microseconds>(microseconds(t.micros)));
  return static_cast<int>(year_month_day(d).year());
}

// Reservoir sample of K values.
class Sample {
 public:
  Sample(std::size_t k, std::mt19937_64& rng) : k_(k), rng_(rng) {}
  void offer(std::string v) {
    ++seen_;
    if (values_.size() < k_) {
      values_.push_back(std::move(v));
    } else {
      const std::uint64_t j = std::uniform_int_distribution<std::uint64_t>(0, seen_ - 1)(rng_);
      if (j < k_) values_[j] = std::move(v);
    }
  }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::size_t k_;
  std::mt19937_64& rng_;
  std::uint64_t seen_ = 0;
  std::vector<std::string> values_;
};

struct Step {
  Payload data;
  Timestamp at;
  std::string actor;
};

class Generator {
 public:
  Generator(std::uint64_t filings, Timestamp now, std::uint64_t seed, std::size_t sample)
      : filings_(filings),
        now_(now),
        start_(Timestamp{now.micros - 730 * kDay}),
        rng_(seed),
        names_(sample, rng_),
        identities_(sample, rng_),
        domains_(sample, rng_),
        records_(sample, rng_) {
    std::vector<double> w;
    for (const auto& p : kProvinces) w.push_back(p.weight);
    province_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
    w.clear();
    for (const auto& p : kProviders) w.push_back(p.weight);
    provider_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
    w.clear();
    for (const auto& k : kKinds) w.push_back(k.weight);
    kind_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
    w.clear();
    for (const auto& t : kTlds) w.push_back(t.second);
    tld_dist_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
  }

  void run(std::ostream& out) {
    const std::int64_t span = now_.micros - 10 * kMicrosPerMinute - start_.micros;
    for (std::uint64_t i = 0; i < filings_; ++i) {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      const Timestamp t0{start_.micros + static_cast<std::int64_t>((static_cast<double>(i) + u) *
                                                                   static_cast<double>(span) /
                                                                   static_cast<double>(filings_))};
      filing(out, t0);
    }
  }

  void write_queries(const fs::path& dir) const;
  void write_meta(const fs::path& path) const;

 private:
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool chance(double p) { return uniform() < p; }
  std::int64_t exp_micros(std::int64_t mean) {
    return static_cast<std::int64_t>(std::exponential_distribution<double>(1.0)(rng_) *
                                     static_cast<double>(mean)) +
           kMicrosPerMinute;
  }
  std::int64_t uniform_micros(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  std::string actor(const char* role, int n) {
    return std::string(role) + "-" + std::to_string(1 + rng_() % static_cast<unsigned>(n));
  }

  std::string next_filing_id(Timestamp t0) {
    return "F" + std::to_string(year_of(t0)) + "-" + digits(++filing_seq_, 7);
  }

  std::string new_domain_base() {
    const std::uint64_t k = domain_seq_++;
    return pick(kSyllable, rng_()) + pick(kSyllable, rng_()) + std::to_string(k) + "." +
           kTlds[tld_dist_(rng_)].first;
  }

  std::string record_number(const Province& p, int year) {
    const auto n = ++record_seq_[std::string(p.abbr) + std::to_string(year)];
    return std::string(p.abbr) + "ICP备" + std::to_string(year) + digits(n, 6) + "号";
  }

  FilingSubmitted make_subject(const Province& p);
  Website make_website(const FilingSubmitted& f, const Province& p, bool first, std::size_t j);
  void filing(std::ostream& out, Timestamp t0);
  void write_line(std::ostream& out, const std::string& id, const std::vector<Step>& steps);
  // How a filing's life ended.
  struct Outcome {
    bool approved = false;
    Timestamp approved_at;
    std::string subject_number;  // its subject's record number, once approved
  };
  // Lives a filing's life from `f`'s submission at t0; returns the events up to now_. The
  // websites of an add_website filing get the suffixes after `suffix_base`.
  std::vector<Step> life(const FilingSubmitted& f, const Province& p, Timestamp t0,
                         std::size_t suffix_base, Outcome& outcome);
  // A later add_website filing of the subject whose first filing `approval` approved.
  void add_website(std::ostream& out, const FilingSubmitted& first, const Province& p,
                   const Outcome& approval);

  std::uint64_t filings_;
  Timestamp now_, start_;
  std::mt19937_64 rng_;
  std::discrete_distribution<std::size_t> province_dist_, provider_dist_, kind_dist_, tld_dist_;
  std::uint64_t filing_seq_ = 0, domain_seq_ = 0, person_seq_ = 0;
  std::map<std::string, std::uint64_t> kind_seq_;
  std::map<std::string, std::uint64_t> record_seq_;
  Sample names_, identities_, domains_, records_;
  // What the data set holds.
  std::uint64_t lines_ = 0, events_ = 0, stalled_ = 0, sms_left_overdue_ = 0;
  std::map<std::string, std::uint64_t> by_state_, by_type_, by_kind_;
  std::map<std::string, std::uint64_t> by_province_, by_provider_;
};

FilingSubmitted Generator::make_subject(const Province& p) {
  FilingSubmitted f;
  f.province = p.abbr;
  f.provider = kProviders[provider_dist_(rng_)].name;
  const Kind& kind = kKinds[kind_dist_(rng_)];
  const std::uint64_t k = kind_seq_[kind.name]++;
  const std::string city = p.city;
  Subject& s = f.subject;
  s.kind = kind.name;
  ++by_kind_[kind.name];
  const std::uint64_t person = person_seq_++;
  if (s.kind == "individual") {
    // Surname, one or two given characters: distinct for the first 100 × 149 × 150 individuals
    // (about 2.2 million).
    const std::uint64_t ns = kSurname.size(), ng = kGiven.size();
    const std::uint64_t g2 = (k / (ns * ng)) % (ng + 1);
    s.name = pick(kSurname, k) + pick(kGiven, k / ns) + (g2 == 0 ? "" : kGiven[g2 - 1]);
    const double u = uniform();
    if (u < 0.96) {
      s.id_type = "resident_id";
      s.id_number = resident_id(p.region, person, false);
    } else if (u < 0.98) {
      s.id_type = "hk_macao_permit";
      s.id_number = "H" + digits(person, 8);
    } else {
      s.id_type = "passport";
      s.id_number = "E" + digits(person, 8);
    }
    s.address = city + "市" + pick(kBrand, rng_()) + "路" + std::to_string(1 + rng_() % 300) +
                "号" + std::to_string(1 + rng_() % 30) + "栋" +
                std::to_string(101 + rng_() % 2000) + "室";
  } else {
    const std::string w1 = pick(kBrand, k), w2 = pick(kBrand, k / kBrand.size() + 37);
    const std::uint64_t rest = k / (kBrand.size() * kBrand.size());
    if (s.kind == "enterprise") {
      s.name =
          city + w1 + w2 + pick(kIndustry, rest) + pick(kCompanySuffix, rest / kIndustry.size());
      const std::uint64_t more = rest / (kIndustry.size() * kCompanySuffix.size());
      if (more > 0) s.name += "（第" + std::to_string(more + 1) + "分公司）";
    } else {
      const std::vector<std::string>& tail = s.kind == "government"            ? kGovernment
                                             : s.kind == "public_institution"  ? kInstitution
                                             : s.kind == "social_organization" ? kAssociation
                                                                               : kShop;
      s.name = city + "市" + w1 + w2 + pick(tail, rest);
      const std::uint64_t more = rest / tail.size();
      if (more > 0) s.name += "（" + std::to_string(more + 1) + "）";
    }
    s.id_type = "uscc";
    s.id_number = uscc(kind.uscc_prefix, p.region, k);
    s.address =
        city + "市" + pick(kBrand, rng_()) + "大道" + std::to_string(1 + rng_() % 900) + "号";
  }
  f.websites.push_back(make_website(f, p, true, 0));
  const double u = uniform();
  const std::size_t sites = u < 0.85 ? 1 : u < 0.97 ? 2 : 3;
  for (std::size_t j = 1; j < sites; ++j) f.websites.push_back(make_website(f, p, false, j));
  return f;
}

Website Generator::make_website(const FilingSubmitted& f, const Province& p, bool first,
                                std::size_t j) {
  Website w;
  const bool individual = f.subject.kind == "individual";
  if (individual) {
    w.name = f.subject.name + pick(kPersonalSites, rng_());
  } else {
    w.name = pick(kBrand, rng_()) + pick(kSiteWords, rng_());
  }
  const std::string base = new_domain_base();
  if (first || chance(0.5)) {
    w.domains = {base};
    if (chance(0.7)) w.domains.push_back("www." + base);
  } else {
    w.domains = {pick(kSubdomains, j + rng_() % 3) + "." + base};
  }
  if (individual) {
    w.responsible = Person{f.subject.name, f.subject.id_type, f.subject.id_number, "", ""};
  } else {
    const std::uint64_t k = person_seq_++;
    const std::uint64_t g2 = (k / 16000) % 161;
    w.responsible.name =
        pick(kSurname, k / 7) + pick(kGiven, k / 3) + (g2 == 0 ? "" : kGiven[g2 - 1]);
    w.responsible.id_type = "resident_id";
    w.responsible.id_number = resident_id(p.region, k, true);
  }
  static constexpr const char* kMobilePrefix[] = {"13", "15", "17", "18", "19"};
  w.responsible.mobile =
      std::string(kMobilePrefix[rng_() % 5]) + digits((person_seq_ * 7919 + j) % 1'000'000'000, 9);
  if (chance(0.6)) w.responsible.email = "webmaster@" + w.domains.front();
  return w;
}

void Generator::write_line(std::ostream& out, const std::string& id,
                           const std::vector<Step>& steps) {
  std::string line;
  JsonWriter w(line);
  w.begin_object().key("filing_id").string(id).key("events").begin_array();
  for (const Step& s : steps) {
    w.begin_object();
    w.key("type").string(to_string(type_of(s.data)));
    w.key("data");
    write_json(w, s.data);
    w.key("occurred_at").time(s.at);
    w.key("actor").string(s.actor);
    w.end_object();
  }
  w.end_array().end_object();
  line.push_back('\n');
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  ++lines_;
  events_ += steps.size();
}

std::vector<Step> Generator::life(const FilingSubmitted& f, const Province& p, Timestamp t0,
                                  std::size_t suffix_base, Outcome& outcome) {
  std::vector<Step> steps;
  outcome = {};
  FilingState state = FilingState::provider_review;
  Timestamp t = t0;
  // Adds the event at t (at least a second after the one before) unless that is after now_.
  const auto add = [&](Payload data, std::int64_t after, std::string who, FilingState to) {
    Timestamp at{t.micros + std::max<std::int64_t>(after, kMicrosPerSecond)};
    if (at > now_) return false;
    t = at;
    steps.push_back({std::move(data), at, std::move(who)});
    state = to;
    return true;
  };
  const auto stall = [&](double p) {
    if (!chance(p)) return false;
    ++stalled_;
    return true;
  };
  steps.push_back({f, t0, actor("desk", 20)});
  for (int attempt = 1;; ++attempt) {
    // Provider review: the photo check, then the initial review.
    bool returned = false;
    [&] {
      if (stall(0.004)) return;
      if (chance(0.25)) {
        PhotoRejected r;
        r.reviewer = actor("rev", 12);
        r.reason = pick(kPhotoReasons, rng_());
        if (!add(r, exp_micros(4 * kHour), r.reviewer, state)) return;
      }
      PhotoApproved pa;
      pa.reviewer = actor("rev", 12);
      pa.method = chance(0.8) ? PhotoMethod::photo : PhotoMethod::video;
      if (!add(pa, exp_micros(6 * kHour), pa.reviewer, state)) return;
      if (chance(0.06)) {
        const auto& [code, reason] = kReturnReasons[rng_() % kReturnReasons.size()];
        InitialReviewRejected r{{actor("rev", 12), code, reason}};
        if (add(r, exp_micros(5 * kHour), r.reviewer, FilingState::returned)) returned = true;
        return;
      }
      InitialReviewApproved a{{actor("rev", 12), "", ""}};
      if (!add(a, exp_micros(5 * kHour), a.reviewer, FilingState::ready_for_bureau)) return;
      if (stall(0.002)) return;
      if (chance(0.02)) {
        FilingWithdrawn wd;
        wd.reason = pick(kWithdrawReasons, rng_());
        add(wd, exp_micros(kDay), actor("desk", 20), FilingState::withdrawn);
        return;
      }
      if (!add(SubmittedToBureau{}, exp_micros(6 * kHour), actor("desk", 20),
               skips_sms(f.filing_type) ? FilingState::bureau_review : FilingState::sms_pending))
        return;
      if (state == FilingState::sms_pending) {
        const Timestamp deadline{t.micros + kSmsWindow};
        if (chance(0.0005)) {
          // Left past its deadline without an expiry: the daemon's timer expires it at start.
          if (deadline < now_) ++sms_left_overdue_;
          return;
        }
        if (chance(0.03)) {
          if (!add(SmsAttemptFailed{}, uniform_micros(kMicrosPerMinute, 4 * kHour), "miit", state))
            return;
        }
        if (chance(0.04)) {
          SmsExpired x{deadline};
          if (add(x, deadline.micros - t.micros, "legacy-timer", FilingState::returned))
            returned = true;
          return;
        }
        const std::int64_t left = deadline.micros - t.micros;
        if (!add(SmsConfirmed{}, std::min(exp_micros(2 * kHour), left), "miit",
                 FilingState::bureau_review))
          return;
      }
      if (stall(0.004)) return;
      if (chance(0.08)) {
        const auto& [code, reason] = kBureauReasons[rng_() % kBureauReasons.size()];
        if (add(BureauRejected{code, reason}, uniform_micros(2 * kDay, 15 * kDay), "bureau",
                FilingState::returned))
          returned = true;
        return;
      }
      // The bureau approves: numbers issued (first filing, add_website) or recorded (new
      // access).
      BureauApproved b;
      const std::int64_t after = uniform_micros(3 * kDay, 28 * kDay);
      if (Timestamp{t.micros + after} > now_) return;
      if (f.filing_type == FilingType::new_access) {
        b.subject_record_number = f.existing_record_number;
        for (const auto& w : f.websites) b.websites.push_back({w.domains.front(), w.record_number});
      } else {
        b.subject_record_number = f.filing_type == FilingType::first_filing
                                      ? record_number(p, year_of(Timestamp{t.micros + after}))
                                      : f.existing_record_number;
        for (std::size_t j = 0; j < f.websites.size(); ++j)
          b.websites.push_back(
              {f.websites[j].domains.front(),
               b.subject_record_number + "-" + std::to_string(suffix_base + j + 1)});
      }
      add(b, after, "bureau", FilingState::approved);
      outcome.approved = true;
      outcome.approved_at = t;
      outcome.subject_number = b.subject_record_number;
      records_.offer(b.subject_record_number);
      records_.offer(b.websites[rng_() % b.websites.size()].record_number);
      if (chance(0.01)) {
        RecordCancelled c{b.websites.front().record_number, "网站已关闭，主动注销"};
        add(c, exp_micros(200 * kDay), actor("desk", 20), FilingState::approved);
      }
    }();
    if (!returned) break;
    // Returned: resubmitted, withdrawn, or abandoned 45 days on.
    const Timestamp abandon_at{t.micros + 45 * kDay};
    const double u = uniform();
    if (u < 0.55 && attempt < 3) {
      const std::int64_t after = exp_micros(6 * kDay);
      if (t.micros + after < abandon_at.micros) {
        if (!add(f, after, actor("desk", 20), FilingState::provider_review)) break;
        continue;
      }
    } else if (u < 0.70) {
      FilingWithdrawn wd;
      wd.reason = pick(kWithdrawReasons, rng_());
      add(wd, std::min(exp_micros(5 * kDay), 44 * kDay), actor("desk", 20), FilingState::withdrawn);
      break;
    }
    add(FilingAbandoned{}, abandon_at.micros - t.micros + uniform_micros(0, 2 * kHour),
        "legacy-timer", FilingState::abandoned);
    break;
  }
  ++by_state_[std::string(to_string(state))];
  ++by_type_[std::string(to_string(f.filing_type))];
  ++by_province_[f.province];
  ++by_provider_[f.provider];
  return steps;
}

void Generator::filing(std::ostream& out, Timestamp t0) {
  const Province& p = kProvinces[province_dist_(rng_)];
  FilingSubmitted f = make_subject(p);
  if (chance(0.10)) {
    // A new access filing: the number was issued elsewhere, years ago.
    f.filing_type = FilingType::new_access;
    f.existing_record_number = record_number(p, 2015 + static_cast<int>(rng_() % 9));
    for (std::size_t j = 0; j < f.websites.size(); ++j)
      f.websites[j].record_number = f.existing_record_number + "-" + std::to_string(j + 1);
  }
  names_.offer("subject_name=" + url_encode(f.subject.name));
  identities_.offer("id_type=" + f.subject.id_type +
                    "&id_number=" + url_encode(f.subject.id_number));
  const auto& site = f.websites[rng_() % f.websites.size()];
  domains_.offer("domain=" + site.domains[rng_() % site.domains.size()]);
  if (f.filing_type == FilingType::new_access) records_.offer(f.existing_record_number);
  Outcome outcome;
  const std::string id = next_filing_id(t0);
  write_line(out, id, life(f, p, t0, 0, outcome));
  if (outcome.approved && f.filing_type == FilingType::first_filing && chance(0.05))
    add_website(out, f, p, outcome);
}

void Generator::add_website(std::ostream& out, const FilingSubmitted& first, const Province& p,
                            const Outcome& approval) {
  const Timestamp t0{approval.approved_at.micros + exp_micros(60 * kDay)};
  if (t0 > now_) return;
  FilingSubmitted f = first;
  f.filing_type = FilingType::add_website;
  f.existing_record_number = approval.subject_number;
  f.websites = {make_website(f, p, true, 0)};
  Outcome outcome;
  write_line(out, next_filing_id(t0), life(f, p, t0, first.websites.size(), outcome));
}

void write_paths(const fs::path& file, const std::vector<std::string>& queries) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& q : queries) out << "/v1/filings?" << q << '\n';
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void Generator::write_queries(const fs::path& dir) const {
  fs::create_directories(dir);
  std::vector<std::string> q;
  const auto states = {"provider_review", "ready_for_bureau", "sms_pending", "bureau_review",
                       "returned",        "approved",         "withdrawn",   "abandoned"};
  for (auto s : states) q.push_back(std::string("state=") + s);
  write_paths(dir / "state.paths", q);
  q.clear();
  for (const auto& p : kProvinces) q.push_back("province=" + url_encode(p.abbr));
  write_paths(dir / "province.paths", q);
  q.clear();
  for (const auto& p : kProviders) q.push_back(std::string("provider=") + p.name);
  write_paths(dir / "provider.paths", q);
  q.clear();
  for (const auto& [t, n] : by_type_) q.push_back("filing_type=" + t);
  write_paths(dir / "filing_type.paths", q);
  write_paths(dir / "overdue.paths", {"overdue=true"});
  write_paths(dir / "subject_name.paths", names_.values());
  write_paths(dir / "id.paths", identities_.values());
  write_paths(dir / "domain.paths", domains_.values());
  write_paths(dir / "record_number.paths", [&] {
    std::vector<std::string> v;
    for (const auto& r : records_.values()) v.push_back("record_number=" + url_encode(r));
    return v;
  }());
  // A week of submissions, anywhere in the two years.
  q.clear();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const Timestamp a{
        start_.micros +
        static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(723 * kDay / kMicrosPerHour)) *
            kMicrosPerHour};
    q.push_back("submitted_after=" + url_encode(format_rfc3339(a)) +
                "&submitted_before=" + url_encode(format_rfc3339(Timestamp{a.micros + 7 * kDay})));
  }
  write_paths(dir / "submitted.paths", q);
  // Two filters: a state and a province.
  q.clear();
  for (auto s : states)
    for (const auto& p : kProvinces)
      q.push_back(std::string("state=") + s + "&province=" + url_encode(p.abbr));
  write_paths(dir / "state_province.paths", q);
  // A repeated filter: either of two states.
  q.clear();
  for (auto a : states)
    for (auto b : states)
      if (std::string_view(a) < std::string_view(b))
        q.push_back(std::string("state=") + a + "&state=" + b);
  write_paths(dir / "state_either.paths", q);
}

void Generator::write_meta(const fs::path& path) const {
  std::string text;
  JsonWriter w(text);
  const auto counts = [&](std::string_view name, const std::map<std::string, std::uint64_t>& m) {
    w.key(name).begin_object();
    for (const auto& [k, n] : m) {
      w.raw("\"" + k + "\":" + std::to_string(n));
    }
    w.end_object();
  };
  w.begin_object();
  w.key("filings").number(lines_).key("events").number(events_);
  w.key("generated_for").time(now_).key("first_submission").time(start_);
  w.key("stalled").number(stalled_).key("sms_left_overdue").number(sms_left_overdue_);
  counts("by_state", by_state_);
  counts("by_type", by_type_);
  counts("by_kind", by_kind_);
  counts("by_provider", by_provider_);
  counts("by_province", by_province_);
  w.end_object();
  std::ofstream out(path, std::ios::trunc);
  out << text << '\n';
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t filings = 1'000'000, seed = 20261206;
  std::size_t sample = 10'000;
  std::string out_path, queries;
  std::optional<Timestamp> now;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--filings") {
      filings = std::stoull(value);
    } else if (flag == "--out") {
      out_path = value;
    } else if (flag == "--queries") {
      queries = value;
    } else if (flag == "--seed") {
      seed = std::stoull(value);
    } else if (flag == "--sample") {
      sample = std::stoul(value);
    } else if (flag == "--now") {
      now = parse_rfc3339(value);
      if (!now) {
        std::fprintf(stderr, "desk_dataset: bad --now %s\n", value.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "desk_dataset: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (out_path.empty() || queries.empty()) {
    std::fprintf(stderr,
                 "usage: desk_dataset --filings N --out FILE --queries DIR [--seed S] "
                 "[--now RFC3339] [--sample K]\n");
    return 2;
  }
  try {
    if (!now) {
      using namespace std::chrono;
      now = Timestamp{duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
    }
    Generator g(filings, *now, seed, sample);
    const std::string partial = out_path + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error("cannot write " + partial);
      g.run(out);
      out.close();
      if (!out) throw std::runtime_error("cannot write " + partial);
    }
    g.write_queries(queries);
    g.write_meta(fs::path(queries) / "meta.json");
    fs::rename(partial, out_path);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "desk_dataset: %s\n", e.what());
    return 1;
  }
}
