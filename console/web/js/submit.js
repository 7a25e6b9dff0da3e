// 新建备案 and 重新提交: the filing fields of SPEC §3.4 as a form — subject, websites with their
// responsible persons, the record numbers the type carries. A new filing is POST /v1/filings; a
// returned filing's resubmission is a filing_submitted event with the same fields, prefilled from
// its status. A refused field (422) is named beside it.

import { ApiError, filingPath, get, post } from './api.js';
import { clearErrors, field, fill, formError, h, message, select, showError } from './dom.js';
import { FILING_TYPES, ID_TYPES, PROVINCES, SUBJECT_KINDS, carriesExistingNumber, province,
  websitesCarryNumber } from './labels.js';

const PERSON = [['name', '姓名'], ['id_type', '证件类型'], ['id_number', '证件号码'],
  ['mobile', '手机号码'], ['email', '电子邮箱']];

function input(path, value = '') {
  return h('input', { type: 'text', name: path, 'data-field': path, value, autocomplete: 'off' });
}

function choice(path, options, value) {
  return select(path, options, value, { 'data-field': path });
}

function websiteFields(i, w, type, remove) {
  const base = `websites[${i}]`;
  const r = w.responsible || {};
  const number = field('网站备案号', input(`${base}.record_number`, w.record_number || ''), '接入、变更、注销时填写原网站备案号');
  number.hidden = !websitesCarryNumber(type);
  number.classList.add('website-number');
  return h('fieldset', { class: 'website' }, h('legend', {}, `网站 ${i + 1}`),
    h('div', { class: 'row' },
      field('网站名称', input(`${base}.name`, w.name || '')),
      field('域名', input(`${base}.domains`, (w.domains || []).join(' ')), '多个域名用空格分隔'),
      number),
    h('div', { class: 'row' }, PERSON.map(([k, text]) => k === 'id_type'
      ? field('负责人' + text, choice(`${base}.responsible.id_type`, ID_TYPES, r.id_type || 'resident_id'))
      : field('负责人' + text, input(`${base}.responsible.${k}`, r[k] || '')))),
    remove ? h('button', { type: 'button', class: 'secondary', onclick: remove }, '删除此网站') : null);
}

// The form's values as the API's filing fields; hidden fields (not carried by the type) left out.
function fields(form, count) {
  const v = (name) => (form.elements[name]?.value || '').trim();
  const type = v('filing_type');
  const out = {
    filing_type: type, province: v('province'), provider: v('provider'),
    subject: Object.fromEntries(['kind', 'name', 'id_type', 'id_number', 'address'].map((k) => [k, v('subject.' + k)])),
    websites: [],
  };
  if (carriesExistingNumber(type)) out.existing_record_number = v('existing_record_number');
  for (let i = 0; i < count; i++) {
    const base = `websites[${i}]`;
    const w = {
      name: v(base + '.name'),
      domains: v(base + '.domains').split(/[\s,，、]+/).filter(Boolean),
      responsible: Object.fromEntries(PERSON.map(([k]) => [k, v(`${base}.responsible.${k}`)])),
    };
    if (websitesCarryNumber(type) && v(base + '.record_number')) w.record_number = v(base + '.record_number');
    out.websites.push(w);
  }
  return out;
}

function build(root, prefill, resubmitOf) {
  let sites = prefill.websites?.length ? prefill.websites : [{}];
  const s = prefill.subject || {};
  const type = prefill.filing_type || 'first_filing';
  const existing = field('原主体备案号', input('existing_record_number', prefill.existing_record_number || ''), '除首次备案外必填');
  existing.hidden = !carriesExistingNumber(type);
  const siteBox = h('div', {});
  const form = h('form', { class: 'filing-form', novalidate: true, id: 'filing-form' },
    h('fieldset', {}, h('legend', {}, '备案'),
      h('div', { class: 'row' },
        resubmitOf ? null : field('备案编号', input('filing_id'), '留空由系统生成'),
        field('备案类型', choice('filing_type', FILING_TYPES, type)),
        field('省份', choice('province', Object.fromEntries(Object.keys(PROVINCES).map((p) => [p, province(p)])), prefill.province || '京')),
        field('服务商', input('provider', prefill.provider || '')),
        existing)),
    h('fieldset', {}, h('legend', {}, '主办单位（主体）'),
      h('div', { class: 'row' },
        field('主体性质', choice('subject.kind', SUBJECT_KINDS, s.kind || 'individual')),
        field('名称/姓名', input('subject.name', s.name || '')),
        field('证件类型', choice('subject.id_type', ID_TYPES, s.id_type || 'resident_id')),
        field('证件号码', input('subject.id_number', s.id_number || '')),
        field('通信地址', input('subject.address', s.address || '')))),
    siteBox,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', onclick: () => { keep(); sites.push({}); paintSites(); } }, '添加网站'),
      h('button', { type: 'submit', id: 'submit-filing' }, resubmitOf ? '重新提交' : '提交备案')));

  // The websites as typed so far, so adding or removing one renumbers the rest without loss.
  const keep = () => { sites = fields(form, sites.length).websites; };
  const paintSites = () => fill(siteBox, sites.map((w, i) => websiteFields(i, w, form.elements.filing_type.value,
    sites.length > 1 ? () => { keep(); sites.splice(i, 1); paintSites(); } : null)));
  paintSites();
  form.elements.filing_type.addEventListener('change', () => {
    const t = form.elements.filing_type.value;
    existing.hidden = !carriesExistingNumber(t);
    for (const el of form.querySelectorAll('.website-number')) el.hidden = !websitesCarryNumber(t);
  });
  form.insertBefore(formError(form), form.lastChild);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = fields(form, sites.length);
    const submitButton = form.querySelector('[type=submit]');
    submitButton.disabled = true;
    try {
      let id;
      if (resubmitOf) {
        await post(filingPath(resubmitOf.filing_id) + '/events',
          { type: 'filing_submitted', data: body, expected_version: resubmitOf.version });
        id = resubmitOf.filing_id;
      } else {
        const filingId = form.elements.filing_id.value.trim();
        id = (await post('/v1/filings', filingId ? { ...body, filing_id: filingId } : body)).filing_id;
      }
      location.hash = '#/filing/' + encodeURIComponent(id);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showError(form, err, resubmitOf ? 'data.' : '');
      submitButton.disabled = false;
    }
  });
  root.append(form);
}

export function render(root, _ctx, route) {
  if (route.page === 'new') {
    root.append(h('h1', {}, '新建备案'));
    build(root, {}, null);
    return null;
  }
  const id = route.arg;
  root.append(h('h1', {}, '重新提交备案 ', h('span', { class: 'mono' }, id)));
  const status = h('div', {});
  root.append(status);
  get(filingPath(id)).then((s) => build(root, s, s))
    .catch((err) => fill(status, message(`读取备案失败：${err.message}`)));
  return null;
}
