// 备案号: the record-number registry (GET /v1/records/{number}, ?domain=, ?subject=): a number's
// record, the record of a domain, or a subject's number with all its websites'.

import { ApiError, get } from './api.js';
import { field, fill, filingLink, h, message, select, table, time } from './dom.js';
import { RECORD_KINDS, RECORD_STATUS, label } from './labels.js';

const MODES = { number: '按备案号', domain: '按域名', subject: '按主体备案号（含其网站）' };

async function lookup(mode, value) {
  if (mode === 'number') {
    try {
      return [await get('/v1/records/' + encodeURIComponent(value))];
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return [];
      throw err;
    }
  }
  return (await get('/v1/records', { [mode]: value })).items;
}

function records(items) {
  return table(['备案号', '类别', '状态', '主体备案号', '域名', '备案', '核发时间', '注销'],
    items.map((r) => h('tr', { 'data-record': r.record_number },
      h('td', { class: 'mono' }, r.record_number), h('td', {}, label(RECORD_KINDS, r.kind)),
      h('td', { class: r.status === 'cancelled' ? 'late' : '' }, label(RECORD_STATUS, r.status)),
      h('td', {}, r.subject_record_number), h('td', {}, (r.domains || []).join(' ')),
      h('td', {}, filingLink(r.filing_id)), h('td', {}, time(r.issued_at)),
      h('td', {}, r.cancelled_at ? `${time(r.cancelled_at)} ${r.cancel_reason || ''}` : ''))),
    '登记簿中没有找到。');
}

export function render(root, _ctx, route) {
  const mode = route.params.get('by') || 'number';
  const value = route.params.get('q') || '';
  const form = h('form', { class: 'filters', id: 'record-form' }, h('div', { class: 'row' },
    field('查询方式', select('by', MODES, mode)),
    field('备案号 / 域名', h('input', { name: 'q', type: 'text', value, class: 'wide' }), '例如 京ICP备2026000123号-1 或 example.cn'),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, '查询'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = form.elements.q.value.trim();
    location.hash = '#/records' + (q ? '?' + new URLSearchParams({ by: form.elements.by.value, q }) : '');
  });
  const results = h('div', { id: 'record-results' });
  root.append(h('h1', {}, '备案号查询'), form, results);

  const refresh = async () => {
    if (!value || !MODES[mode]) return;
    try {
      fill(results, records(await lookup(mode, value)));
    } catch (err) {
      fill(results, message(`查询失败：${err.message}`));
    }
  };
  refresh();
  return { refresh };
}
