// 个人信息删除, for privacy officers (PIPL art. 47, SPEC §5.4): POST /v1/subjects/erase destroys
// a subject's data key; the server refuses while the subject has an open filing or an active
// record number.

import { ApiError, post } from './api.js';
import { clearErrors, field, fill, formError, h, message, select, showError } from './dom.js';
import { ID_TYPES } from './labels.js';

export function render(root) {
  const result = h('div', { 'aria-live': 'polite', id: 'erase-result' });
  const control = (name) => h('input', { name, type: 'text', 'data-field': name, autocomplete: 'off' });
  const form = h('form', { class: 'filing-form', novalidate: true, id: 'erase-form' },
    h('p', { class: 'hint' }, '删除后该主体在所有读取路径上的个人信息显示为 [erased]，不可恢复；流程历史与备案号保留。'),
    h('div', { class: 'row' },
      field('证件类型', select('id_type', ID_TYPES, 'resident_id', { 'data-field': 'id_type' })),
      field('证件号码', control('id_number')),
      field('删除原因', control('reason'))));
  const submit = h('button', { type: 'submit', class: 'danger' }, '删除个人信息');
  form.append(formError(form), h('div', { class: 'buttons' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const body = Object.fromEntries(['id_type', 'id_number', 'reason'].map((k) => [k, form.elements[k].value.trim()]));
    if (!window.confirm('确定删除该主体的个人信息？此操作不可恢复。')) return;
    submit.disabled = true;
    try {
      const r = await post('/v1/subjects/erase', body);
      form.reset();
      fill(result, message(`已删除（seq ${r.seq}），涉及备案：${r.filings.join('、') || '无'}`, 'ok'));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h('h1', {}, '个人信息删除'), form, result);
  return null;
}
