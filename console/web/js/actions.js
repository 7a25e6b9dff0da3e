// A filing's next actions, for operators: the events the server's state machine allows in the
// filing's state (GET /v1/workflow), each a small form with its fields. The append carries the
// version the operator saw (expected_version), so a filing that moved meanwhile is refused, not
// overwritten; a refused field is named beside it. Events only the daemon's timers append
// (sms_expired, filing_abandoned) have no form.

import { ApiError, filingPath, post } from './api.js';
import { clearErrors, field, formError, h, link, select, showError } from './dom.js';
import { EVENTS, PHOTO_METHODS, STATES, label } from './labels.js';

const text = (name, title, hint) => ({ name, title, hint });
const long = (name, title) => ({ name, title, long: true });
const reviewer = text('reviewer', '审核人');
const reasonCode = text('reason_code', '原因代码', '例如 website_name');
const reason = long('reason', '原因');
const method = { name: 'method', title: '核验方式', options: PHOTO_METHODS };

// Filing types whose approval issues numbers: a first filing its subject's and its websites',
// a new website its own (under the existing subject number).
const ISSUES_SUBJECT_NUMBER = new Set(['first_filing']);
const ISSUES_WEBSITE_NUMBERS = new Set(['first_filing', 'add_website']);

function bureauApprovalFields(s) {
  const fields = [];
  if (ISSUES_SUBJECT_NUMBER.has(s.filing_type))
    fields.push(text('subject_record_number', '主体备案号', '例如 京ICP备2026000123号'));
  if (ISSUES_WEBSITE_NUMBERS.has(s.filing_type)) {
    s.websites.forEach((w, i) => fields.push({
      name: `websites[${i}].record_number`, title: `网站备案号：${w.domains[0]}`,
      hint: '例如 京ICP备2026000123号-1', website: i, domain: w.domains[0],
    }));
  }
  return fields;
}

// event type -> {fields: [...] | (status) => [...], hidden?: (status) => bool, note?}
const ACTIONS = {
  initial_review_approved: { fields: [reviewer, reason], hidden: (s) => s.initial_review === 'approved' },
  initial_review_rejected: { fields: [reviewer, reasonCode, reason] },
  photo_approved: { fields: [method, reviewer], hidden: (s) => s.photo === 'approved' },
  photo_rejected: { fields: [method, reviewer, reason] },
  submitted_to_bureau: { fields: [], note: '提交后管局向网站负责人发送短信验证码，核验时限随即开始计时。' },
  sms_confirmed: { fields: [], note: '网站负责人已在时限内完成短信核验。' },
  sms_attempt_failed: { fields: [], note: '记录一次核验失败；第 5 次失败退回备案。' },
  bureau_approved: { fields: bureauApprovalFields },
  bureau_rejected: { fields: [reasonCode, reason] },
  filing_withdrawn: { fields: [reasonCode, reason] },
  record_cancelled: { fields: [text('record_number', '备案号'), reason] },
};

function control(f) {
  const attrs = { name: f.name, 'data-field': f.name };
  if (f.options) return select(f.name, f.options, Object.keys(f.options)[0], attrs);
  if (f.long) return h('textarea', { ...attrs, rows: 2 });
  return h('input', { ...attrs, type: 'text', autocomplete: 'off' });
}

// The event's data from the form: filled values only, but every website's number (so that the
// index an error names is the form's), as [{domain, record_number}].
function data(form, fields) {
  const out = {};
  for (const f of fields) {
    const value = form.elements[f.name].value.trim();
    if (f.website !== undefined) (out.websites ||= []).push({ domain: f.domain, record_number: value });
    else if (value) out[f.name] = value;
  }
  return out;
}

function actionForm(status, type, spec, done) {
  const fields = typeof spec.fields === 'function' ? spec.fields(status) : spec.fields;
  const submit = h('button', { type: 'submit' }, '确认' + label(EVENTS, type));
  const form = h('form', { class: 'action-form', novalidate: true },
    spec.note ? h('p', { class: 'hint' }, spec.note) : null,
    fields.map((f) => field(f.title, control(f), f.hint)));
  form.append(formError(form), submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const r = await post(filingPath(status.filing_id) + '/events',
        { type, data: data(form, fields), expected_version: status.version });
      done(`已记录：${label(EVENTS, type)}（seq ${r.seq}），状态：${label(STATES, r.state)}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showError(form, err, 'data.');
      submit.disabled = false;
    }
  });
  return h('details', { class: 'action', 'data-action': type },
    h('summary', {}, label(EVENTS, type)), form);
}

// The actions allowed in `status`'s state; `done(text)` runs after a successful append.
export function actions(ctx, status, done) {
  const allowed = ctx.workflow[status.state] || [];
  const items = [];
  for (const type of allowed) {
    if (type === 'filing_submitted') {
      items.push(h('div', { class: 'action', 'data-action': type },
        link('resubmit/' + encodeURIComponent(status.filing_id), '修改后重新提交', { class: 'button' })));
      continue;
    }
    const spec = ACTIONS[type];
    if (spec && !spec.hidden?.(status)) items.push(actionForm(status, type, spec, done));
  }
  return items.length ? h('div', { class: 'actions' }, items)
    : h('p', { class: 'empty' }, `当前状态（${label(STATES, status.state)}）没有可执行的操作。`);
}
