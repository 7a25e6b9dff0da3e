// The desk data set's vocabulary: the values behind vocabulary.hpp. The weights follow roughly
// how a filing desk's filings spread over provinces, providers and subject kinds.
#include "bench/desk/vocabulary.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

#include "events/validation.hpp"

namespace filingd::bench_desk {

namespace {

// The name pools, each value once: a name is a number written in their mixed radix, so
// distinct numbers give distinct names.
std::vector<std::string> distinct(std::vector<std::string> v) {
  std::vector<std::string> out;
  for (auto& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(std::move(x));
  return out;
}

}  // namespace

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

constexpr std::array<Provider, 8> kProviders = {{{"aliyun", 30},
                                                 {"tencentcloud", 22},
                                                 {"huaweicloud", 14},
                                                 {"baiducloud", 8},
                                                 {"jdcloud", 8},
                                                 {"ctyun", 7},
                                                 {"ucloud", 6},
                                                 {"ksyun", 5}}};

constexpr std::array<Kind, 6> kKinds = {{{"individual", "", 35},
                                         {"enterprise", "91", 55},
                                         {"government", "11", 2},
                                         {"public_institution", "12", 3},
                                         {"social_organization", "51", 2},
                                         {"other", "92", 3}}};

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

std::string digits(std::uint64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width)
    s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  return s;
}

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

std::string uscc(const char* prefix, const char* region, std::uint64_t k) {
  std::string code = std::string(prefix) + region + "MA" + digits(k % 10'000'000, 7);
  code += uscc_check_char(code);
  return code;
}

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

}  // namespace filingd::bench_desk
