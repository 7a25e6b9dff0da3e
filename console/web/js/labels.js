// The domain's words in Simplified Chinese (SPEC §1, the providers' guides). The API speaks the
// English names; a name missing here is shown as the API sent it.

export const STATES = {
  provider_review: '服务商审核',
  ready_for_bureau: '待提交管局',
  sms_pending: '短信核验中',
  bureau_review: '管局审核',
  returned: '已退回',
  approved: '已通过',
  withdrawn: '已撤回',
  abandoned: '已放弃',
};

export const EVENTS = {
  filing_submitted: '提交备案',
  initial_review_approved: '初审通过',
  initial_review_rejected: '初审驳回',
  photo_approved: '核验通过',
  photo_rejected: '核验驳回',
  submitted_to_bureau: '提交管局',
  sms_confirmed: '短信核验完成',
  sms_attempt_failed: '短信核验失败',
  sms_expired: '短信核验超时',
  bureau_approved: '管局审核通过',
  bureau_rejected: '管局驳回',
  filing_withdrawn: '撤回备案',
  filing_abandoned: '逾期放弃',
  record_cancelled: '注销备案号',
  subject_erased: '删除主体个人信息',
};

export const FILING_TYPES = {
  first_filing: '首次备案',
  new_access: '新增接入',
  continued_access: '继续接入',
  add_website: '新增网站',
  change: '变更备案',
  cancel_website: '注销网站',
  cancel_subject: '注销主体',
  cancel_access: '取消接入',
};

// What a submission carries besides its fields (SPEC §1.2, §6.1): every type but a first filing
// names the subject's existing record number; the bureau issues website numbers to first
// filings and new websites, every other type may name (access and cancel_website must name)
// each website's existing number.
export const carriesExistingNumber = (type) => type !== 'first_filing';
export const websitesCarryNumber = (type) => type !== 'first_filing' && type !== 'add_website';

// Abbreviation (as the API and record numbers use it) -> name.
export const PROVINCES = {
  京: '北京', 津: '天津', 冀: '河北', 晋: '山西', 蒙: '内蒙古', 辽: '辽宁', 吉: '吉林',
  黑: '黑龙江', 沪: '上海', 苏: '江苏', 浙: '浙江', 皖: '安徽', 闽: '福建', 赣: '江西',
  鲁: '山东', 豫: '河南', 鄂: '湖北', 湘: '湖南', 粤: '广东', 桂: '广西', 琼: '海南',
  渝: '重庆', 川: '四川', 贵: '贵州', 云: '云南', 藏: '西藏', 陕: '陕西', 甘: '甘肃',
  青: '青海', 宁: '宁夏', 新: '新疆',
};

export const SUBJECT_KINDS = {
  individual: '个人',
  enterprise: '企业',
  government: '政府机关',
  public_institution: '事业单位',
  social_organization: '社会团体',
  other: '其他',
};

export const ID_TYPES = {
  resident_id: '居民身份证',
  passport: '护照',
  hk_macao_permit: '港澳居民来往内地通行证',
  taiwan_permit: '台湾居民来往大陆通行证',
  foreign_permanent_residence: '外国人永久居留身份证',
  uscc: '统一社会信用代码',
  other_org: '其他组织证件',
};

export const REVIEW_FLAGS = { pending: '待审核', approved: '已通过', rejected: '已驳回' };

export const PHOTO_METHODS = { photo: '拍照核验', video: '视频核验', sh_app: '上海管局App' };

export const RETURN_CAUSES = {
  initial_review_rejected: '初审驳回',
  sms_expired: '短信核验超时',
  sms_failed: '短信核验失败',
  bureau_rejected: '管局驳回',
};

export const SLA_STEPS = {
  initial_review: '初审',
  photo_review: '核验审核',
  bureau_handoff: '提交管局',
  bureau_review: '管局审核',
};

export const DEADLINE_KINDS = { sms: '短信核验', abandon: '逾期放弃', sla: '时限' };

export const ROLES = {
  operator: '操作员',
  auditor: '审计员',
  reader: '只读',
  privacy_officer: '隐私专员',
};

export const RECORD_KINDS = { subject: '主体', website: '网站' };
export const RECORD_STATUS = { active: '有效', cancelled: '已注销' };

export const SORTS = { submitted_at: '提交时间', updated_at: '更新时间', sms_deadline: '短信截止' };

export function label(map, key) {
  return key === null || key === undefined ? '' : map[key] ?? String(key);
}

export function province(abbr) {
  return PROVINCES[abbr] ? `${PROVINCES[abbr]}（${abbr}）` : String(abbr ?? '');
}
