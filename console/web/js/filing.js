// A filing: its status, subject, websites with their record numbers, time limits, the actions an
// operator may take now, and its timeline — every event with its business and recorded time,
// actor and principal, reason and hash, and the server's check of its hash, its link to the event
// before it and its place in the signed Merkle tree (GET /v1/filings/{id}, …/events, …/verify).

import { filingPath, get } from './api.js';
import { countdown, facts, fill, h, loader, message, table, time } from './dom.js';
import { actions } from './actions.js';
import { EVENTS, FILING_TYPES, ID_TYPES, PHOTO_METHODS, RETURN_CAUSES, REVIEW_FLAGS, SLA_STEPS,
  STATES, SUBJECT_KINDS, label, province } from './labels.js';

function when(iso, live) {
  if (!iso) return null;
  return h('span', {}, time(iso), live ? [' ', countdown(iso)] : null);
}

function statusFacts(s) {
  const returned = s.returned
    ? `${label(RETURN_CAUSES, s.returned.cause)}${s.returned.reason ? '：' + s.returned.reason : ''}` : null;
  return facts([
    ['状态', h('span', { class: 'state state-' + s.state, id: 'filing-state' }, label(STATES, s.state))],
    ['退回原因', returned],
    ['备案类型', label(FILING_TYPES, s.filing_type)],
    ['初审', label(REVIEW_FLAGS, s.initial_review)],
    ['拍照/视频核验', label(REVIEW_FLAGS, s.photo)],
    ['省份', province(s.province)],
    ['服务商', s.provider],
    ['第几次提交', String(s.attempt)],
    ['版本', String(s.version)],
    ['短信核验截止', s.sms_deadline ? h('span', { id: 'sms-deadline' }, when(s.sms_deadline, s.state === 'sms_pending')) : null],
    ['短信核验失败次数', s.sms_failures ? String(s.sms_failures) : null],
    ['时限', s.sla ? h('span', { class: s.sla.overdue ? 'late' : '' },
      `${label(SLA_STEPS, s.sla.step)}，${time(s.sla.due_at)} 前${s.sla.overdue ? '（已超期）' : ''}`) : null],
    ['逾期放弃于', when(s.abandon_at, s.state === 'returned')],
    ['主体备案号', s.subject_record_number],
    ['原备案号', s.existing_record_number],
    ['提交时间', time(s.submitted_at)],
    ['进入当前状态', time(s.state_since)],
    ['更新时间', time(s.updated_at)],
  ]);
}

function subjectFacts(subject) {
  return facts([
    ['主体性质', label(SUBJECT_KINDS, subject.kind)],
    ['主办单位/个人', h('span', { id: 'subject-name' }, subject.name ?? '')],
    ['证件类型', label(ID_TYPES, subject.id_type)],
    ['证件号码', h('span', { class: 'mono', id: 'subject-id-number' }, subject.id_number ?? '')],
    ['通信地址', subject.address],
  ], 1);
}

function websites(list) {
  return table(['网站名称', '域名', '负责人', '证件号码', '手机', '邮箱', '网站备案号'],
    list.map((w) => h('tr', {},
      h('td', {}, w.name), h('td', {}, w.domains.join(' ')), h('td', {}, w.responsible.name ?? ''),
      h('td', { class: 'mono responsible-id' }, w.responsible.id_number ?? ''),
      h('td', { class: 'mono' }, w.responsible.mobile ?? ''), h('td', {}, w.responsible.email ?? ''),
      h('td', { class: 'record-number' }, w.record_number ?? '—'))));
}

// What an event's data says, as [label, value] pairs.
const DATA_LABELS = {
  reviewer: '审核人', method: '核验方式', reason_code: '原因代码', reason: '原因',
  sms_deadline: '短信核验截止', policy_id: '短信时限策略', phone: '手机', attempt: '失败次数',
  deadline: '截止时间', subject_record_number: '主体备案号', record_number: '备案号',
};
// The subject's keyed hash (SPEC §5.2) that sealed events carry: a storage detail, not shown.
const HIDDEN_DATA = new Set(['subject_ref']);

function eventData(type, data) {
  if (type === 'filing_submitted') {
    return [['内容', [label(FILING_TYPES, data.filing_type), province(data.province), data.provider,
      data.subject?.name, ...data.websites.flatMap((w) => w.domains)].filter(Boolean).join(' · ')]];
  }
  return Object.entries(data).filter(([k]) => !HIDDEN_DATA.has(k)).map(([k, v]) => {
    if (k === 'method') return [DATA_LABELS[k], label(PHOTO_METHODS, v)];
    if (k === 'sms_deadline' || k === 'deadline') return [DATA_LABELS[k], time(v)];
    if (k === 'websites') return ['网站备案号', v.map((w) => `${w.domain} → ${w.record_number}`).join('；')];
    return [DATA_LABELS[k] || k, typeof v === 'string' ? v : JSON.stringify(v)];
  });
}

function chainMark(check) {
  if (!check) return h('span', { class: 'chain pending' }, '待校验');
  if (check.hash_ok && check.chain_ok && check.in_tree) return h('span', { class: 'chain ok', title: '哈希、前后链接与默克尔树包含证明均已在服务器校验' }, '✓ 链已校验');
  const failed = [!check.hash_ok && '哈希', !check.chain_ok && '链接', !check.in_tree && '默克尔树'].filter(Boolean);
  return h('span', { class: 'chain bad' }, '✗ 校验失败：' + failed.join('、'));
}

function timeline(events, verification) {
  const checks = new Map(verification.items.map((c) => [c.seq, c]));
  const summary = verification.verified
    ? message(`服务器已校验本备案全部 ${verification.items.length} 个事件：哈希、链接和默克尔树包含证明均一致（树大小 ${verification.tree_size}）。`, 'ok')
    : message('服务器校验发现不一致的事件，见下方标记。');
  // A filing_submitted after the first is the applicant's resubmission.
  const name = (e, i) => (i > 0 && e.type === 'filing_submitted' ? '重新提交备案' : label(EVENTS, e.type));
  return [summary, h('ol', { class: 'timeline', id: 'timeline' }, events.map((e, i) => h('li', { class: 'event', 'data-type': e.type, 'data-seq': e.seq },
    h('div', { class: 'event-head' }, h('span', { class: 'seq' }, '#' + e.seq),
      h('strong', { class: 'event-type' }, name(e, i)), chainMark(checks.get(e.seq))),
    facts([
      ['业务时间', time(e.occurred_at)],
      ['记录时间', time(e.recorded_at)],
      ['操作人', e.actor],
      ['令牌', e.principal],
      ...eventData(e.type, e.data || {}),
      ['哈希', h('code', { class: 'hash' }, e.hash), 'wide'],
    ]))))];
}

export function render(root, ctx, route) {
  const id = route.arg;
  const title = h('h1', {}, '备案 ', h('span', { class: 'mono' }, id));
  const status = h('div', {});
  const notice = h('div', { 'aria-live': 'polite' });
  const overview = h('div', {});
  const subject = h('div', {});
  const sites = h('div', {});
  const acts = h('div', {});
  const history = h('div', {});
  const canAct = ctx.can('append');
  const canReadHistory = ctx.can('read_history');
  fill(root, title, status, notice,
    h('div', { class: 'columns' },
      h('section', {}, h('h2', {}, '状态'), overview),
      h('section', {}, h('h2', {}, '主体'), subject)),
    h('section', {}, h('h2', {}, '网站'), sites),
    canAct ? h('section', { id: 'actions' }, h('h2', {}, '下一步操作'), acts) : null,
    h('section', { id: 'timeline-section' }, h('h2', {}, '时间线'), history));

  let shownVersion = null;
  const refresh = loader(async () => {
    const path = filingPath(id);
    const [s, events, verification] = await Promise.all([get(path),
      canReadHistory ? get(path + '/events') : null, canReadHistory ? get(path + '/verify') : null]);
    return () => {
      status.replaceChildren();
      fill(overview, statusFacts(s));
      fill(subject, subjectFacts(s.subject));
      fill(sites, websites(s.websites));
      // Rebuilt only when the filing moved: a half-filled form survives unrelated changes.
      if (canAct && s.version !== shownVersion) {
        fill(acts, actions(ctx, s, (text) => {
          fill(notice, message(text, 'ok'));
          refresh();
        }));
      }
      shownVersion = s.version;
      if (events) fill(history, timeline(events.items, verification));
      else fill(history, message('当前令牌的角色不能查看事件历史（需要操作员或审计员）。', 'info'));
    };
  }, (err) => fill(status, message(err.status === 404 ? `备案 ${id} 不存在。` : `读取备案失败：${err.message}`)));
  refresh();
  return { refresh };
}
