// 备案: the filings list with the search of SPEC §6.2 (GET /v1/filings), paged by the API's
// cursor. The filter lives in the page's address (#/filings?state=…), so the board links into it
// and the browser's back button works; a filter left blank is not sent.

import { get } from './api.js';
import { fill, filingLink, field, h, isoToShanghaiInput, link, loader, message, select,
  shanghaiInputToIso, table, time } from './dom.js';
import { FILING_TYPES, ID_TYPES, PROVINCES, SLA_STEPS, SORTS, STATES, label, province } from './labels.js';

const any = { '': '全部' };
const TEXT_FILTERS = [
  ['provider', '服务商'], ['subject_name', '主体名称'], ['domain', '域名'], ['record_number', '备案号'],
];

function filterForm(params) {
  const states = new Set(params.getAll('state'));
  const textInput = (name) => h('input', { name, type: 'text', value: params.get(name) || '' });
  const when = (name) => h('input', { name, type: 'datetime-local', value: isoToShanghaiInput(params.get(name)) });
  return h('form', { class: 'filters', id: 'filters' },
    h('fieldset', { class: 'states' }, h('legend', {}, '状态（可多选）'),
      Object.entries(STATES).map(([s, name]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'state', value: s, checked: states.has(s) }), name))),
    h('div', { class: 'row' },
      field('省份', select('province', { ...any, ...Object.fromEntries(
        Object.keys(PROVINCES).map((p) => [p, province(p)])) }, params.get('province') || '')),
      field('备案类型', select('filing_type', { ...any, ...FILING_TYPES }, params.get('filing_type') || '')),
      field('超出时限', select('overdue', { ...any, true: '是', false: '否' }, params.get('overdue') || '')),
      TEXT_FILTERS.map(([name, title]) => field(title, textInput(name)))),
    h('div', { class: 'row' },
      field('证件类型', select('id_type', ID_TYPES, params.get('id_type') || 'resident_id')),
      field('证件号码', textInput('id_number')),
      field('提交时间从（北京时间）', when('submitted_after')),
      field('提交时间至（北京时间）', when('submitted_before')),
      field('排序', select('sort', { '': '默认', ...SORTS }, params.get('sort') || '')),
      field('顺序', select('order', { '': '默认', asc: '升序', desc: '降序' }, params.get('order') || '')),
      field('每页', select('limit', { 20: '20', 50: '50', 100: '100' }, params.get('limit') || '50'))),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit' }, '查询'),
      h('button', { type: 'reset', class: 'secondary', onclick: (e) => {
        e.preventDefault();
        location.hash = '#/filings';
      } }, '清除条件')));
}

// The form as the list's query: only filled values; an ID type only with its number.
function formParams(form) {
  const data = new FormData(form);
  const out = new URLSearchParams();
  for (const s of data.getAll('state')) out.append('state', s);
  for (const name of ['province', 'filing_type', 'overdue', ...TEXT_FILTERS.map(([n]) => n),
    'sort', 'order']) {
    const v = String(data.get(name) || '').trim();
    if (v) out.set(name, v);
  }
  const number = String(data.get('id_number') || '').trim();
  if (number) {
    out.set('id_type', data.get('id_type'));
    out.set('id_number', number);
  }
  for (const name of ['submitted_after', 'submitted_before']) {
    const iso = shanghaiInputToIso(data.get(name));
    if (iso) out.set(name, iso);
  }
  if (data.get('limit') !== '50') out.set('limit', data.get('limit'));
  return out;
}

function sla(s) {
  if (!s.sla) return '';
  return h('span', { class: s.sla.overdue ? 'late' : '' },
    `${label(SLA_STEPS, s.sla.step)} ${time(s.sla.due_at)}${s.sla.overdue ? '（超期）' : ''}`);
}

function rows(items) {
  return items.map((s) => h('tr', { 'data-filing': s.filing_id },
    h('td', {}, filingLink(s.filing_id)), h('td', {}, label(FILING_TYPES, s.filing_type)),
    h('td', {}, h('span', { class: 'state state-' + s.state }, label(STATES, s.state))),
    h('td', {}, province(s.province)), h('td', {}, s.provider),
    h('td', { class: 'subject-name' }, s.subject?.name ?? ''),
    h('td', {}, s.websites.flatMap((w) => w.domains).join(' ')),
    h('td', {}, time(s.submitted_at)), h('td', {}, time(s.updated_at)), h('td', {}, sla(s))));
}

export function render(root, ctx, route) {
  const params = route.params;
  const form = filterForm(params);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = formParams(form).toString();
    location.hash = '#/filings' + (q ? '?' + q : '');
  });
  const status = h('div', {});
  const results = h('div', {});
  const pager = h('nav', { class: 'pager', 'aria-label': '分页' });
  root.append(h('div', { class: 'title-row' }, h('h1', {}, '备案'),
    ctx.can('append') ? link('new', '新建备案', { class: 'button' }) : null),
  form, status, results, pager);

  const cursors = ['']; // the cursor of each page up to the current one
  const refresh = loader(async () => {
    const query = Object.fromEntries([...new Set(params.keys())].map((k) => [k, params.getAll(k)]));
    const page = await get('/v1/filings', { ...query, cursor: cursors[cursors.length - 1] });
    return () => {
      status.replaceChildren();
      fill(results, table(['备案编号', '类型', '状态', '省份', '服务商', '主体名称', '域名',
        '提交时间', '更新时间', '时限'], rows(page.items), '没有符合条件的备案。'));
      const go = (delta) => () => {
        if (delta > 0) cursors.push(page.next_cursor);
        else cursors.pop();
        refresh();
      };
      fill(pager,
        h('button', { type: 'button', class: 'secondary', disabled: cursors.length === 1, onclick: go(-1) }, '上一页'),
        h('span', { id: 'page-number' }, `第 ${cursors.length} 页`),
        h('button', { type: 'button', class: 'secondary', disabled: !page.next_cursor, onclick: go(1), id: 'next-page' }, '下一页'));
    };
  }, (err) => {
    fill(status, message(`查询失败：${err.message}`));
    results.replaceChildren();
  });
  refresh();
  return { refresh };
}
