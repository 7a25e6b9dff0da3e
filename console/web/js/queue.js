// 待办: every pending deadline — SMS verification, abandonment of returned filings, working-day
// time limits — most urgent first, each counting down live; red under two hours
// (GET /v1/deadlines, and ?kind=sla for the time limits).

import { get } from './api.js';
import { countdown, fill, filingLink, h, loader, message, table, time } from './dom.js';
import { DEADLINE_KINDS, STATES, label, province } from './labels.js';

const LIMIT = 200;

export function render(root, _ctx, route) {
  const kind = route.params.get('kind') || '';
  const tabs = h('nav', { class: 'tabs', 'aria-label': '待办类型' },
    [['', '全部'], ...Object.entries(DEADLINE_KINDS)].map(([k, text]) =>
      h('a', { href: '#/queue' + (k ? '?kind=' + k : ''), 'aria-current': k === kind ? 'page' : null }, text)));
  const list = h('div', {});
  const status = h('div', {});
  root.append(h('h1', {}, '待办'), tabs, status, list);

  const refresh = loader(async () => {
    // Without `kind` the API lists SMS and abandonment deadlines; time limits are their own list.
    const reads = [];
    if (kind !== 'sla') reads.push(get('/v1/deadlines', { kind, limit: LIMIT }));
    if (kind === '' || kind === 'sla') reads.push(get('/v1/deadlines', { kind: 'sla', limit: LIMIT }));
    const items = (await Promise.all(reads)).flatMap((r) => r.items)
      .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at) || a.filing_id.localeCompare(b.filing_id));
    return () => {
      status.replaceChildren();
      fill(list, table(
        ['剩余时间', '类型', '到期时间（北京时间）', '备案', '状态', '省份', '服务商', '主体名称', '负责人手机'],
        items.map((d) => h('tr', { 'data-filing': d.filing_id, 'data-kind': d.kind },
          h('td', {}, countdown(d.due_at)), h('td', {}, label(DEADLINE_KINDS, d.kind)),
          h('td', {}, time(d.due_at)), h('td', {}, filingLink(d.filing_id)),
          h('td', {}, label(STATES, d.state)), h('td', {}, province(d.province)),
          h('td', {}, d.provider ?? ''), h('td', {}, d.subject_name ?? ''),
          h('td', { class: 'mono' }, d.responsible_mobile ?? ''))),
        '没有待办。'));
    };
  }, (err) => fill(status, message(`读取待办失败：${err.message}`)));
  refresh();
  return { refresh };
}
