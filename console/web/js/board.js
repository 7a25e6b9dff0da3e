// 看板: filings counted by state and province, the overdue ones, and the SMS verifications due
// within 24 hours (GET /v1/stats, GET /v1/deadlines?kind=sms).

import { get } from './api.js';
import { countdown, fill, filingLink, h, isoIn, link, loader, message, table, time } from './dom.js';
import { STATES, label, province } from './labels.js';

const DAY_MS = 24 * 3600 * 1000;

function card(title, value, target, id) {
  const figure = h('span', { class: 'figure', id }, String(value));
  return h('div', { class: 'card' }, h('span', { class: 'card-title' }, title),
    target ? link(target, figure) : figure);
}

function filter(params) {
  return 'filings?' + new URLSearchParams(params).toString();
}

// Rows: provinces (most filings first); columns: states; a total row and column.
function matrix(groups) {
  const states = Object.keys(STATES);
  const cells = new Map(); // province -> state -> count
  const stateTotals = new Map();
  for (const g of groups) {
    if (!cells.has(g.province)) cells.set(g.province, new Map());
    cells.get(g.province).set(g.state, (cells.get(g.province).get(g.state) || 0) + g.count);
    stateTotals.set(g.state, (stateTotals.get(g.state) || 0) + g.count);
  }
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const provinces = [...cells.keys()].sort((a, b) => sum(cells.get(b)) - sum(cells.get(a)));
  const count = (n, params, attrs) =>
    h('td', { class: 'num', ...attrs }, n ? link(filter(params), String(n)) : h('span', { class: 'zero' }, '0'));
  const rows = provinces.map((p) => h('tr', { 'data-province': p },
    h('th', { scope: 'row' }, province(p)),
    states.map((s) => count(cells.get(p).get(s) || 0, { province: p, state: s }, { 'data-state': s })),
    h('td', { class: 'num total' }, String(sum(cells.get(p))))));
  if (rows.length) {
    rows.push(h('tr', { class: 'totals' }, h('th', { scope: 'row' }, '合计'),
      states.map((s) => count(stateTotals.get(s) || 0, { state: s }, { 'data-state': s })),
      h('td', { class: 'num total' }, String(sum(stateTotals)))));
  }
  return table(['省份', ...states.map((s) => label(STATES, s)), '合计'], rows, '还没有备案。');
}

function smsTable(items) {
  return table(['剩余时间', '截止时间（北京时间）', '备案', '状态', '省份', '主体名称', '负责人手机'],
    items.map((d) => h('tr', {},
      h('td', {}, countdown(d.due_at)), h('td', {}, time(d.due_at)), h('td', {}, filingLink(d.filing_id)),
      h('td', {}, label(STATES, d.state)), h('td', {}, province(d.province)),
      h('td', {}, d.subject_name ?? ''), h('td', { class: 'mono' }, d.responsible_mobile ?? ''))),
    '24 小时内没有到期的短信核验。');
}

export function render(root) {
  const cards = h('div', { class: 'cards' });
  const counts = h('div', { id: 'counts' });
  const sms = h('div', {});
  const status = h('div', {});
  root.append(h('h1', {}, '看板'), status, cards,
    h('section', {}, h('h2', {}, '按省份和状态'), counts),
    h('section', {}, h('h2', {}, '24 小时内到期的短信核验'), sms));

  const refresh = loader(async () => {
    const [stats, due] = await Promise.all([
      get('/v1/stats', { by: 'state,province' }),
      get('/v1/deadlines', { kind: 'sms', before: isoIn(DAY_MS), limit: 200 }),
    ]);
    return () => {
      status.replaceChildren();
      const w = stats.sms_due_within;
      fill(cards,
        card('备案总数', stats.total, 'filings', 'board-total'),
        card('超出时限', stats.overdue, filter({ overdue: 'true' }), 'board-overdue'),
        card('短信核验 1 小时内到期', w['1h'], null, 'board-sms-1h'),
        card('6 小时内', w['6h'], null, 'board-sms-6h'),
        card('24 小时内', w['24h'], null, 'board-sms-24h'));
      fill(counts, matrix(stats.groups));
      fill(sms, smsTable(due.items));
    };
  }, (err) => fill(status, message(`读取看板失败：${err.message}`)));
  refresh();
  return { refresh };
}
