// Building the page from data without ever parsing data as HTML: every value becomes a text node
// or an attribute set through the DOM, so a filing named "<img src=x onerror=alert(1)>" is text.

// h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [more]) -> an element.
// Attributes are set with setAttribute, listeners with addEventListener; null/undefined/false
// attributes and children are skipped; strings and numbers become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

// Replaces an element's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A link inside the console: '#/filing/<id>' with the id encoded, so no value can leave the hash.
export function link(path, text, attrs = {}) {
  return h('a', { ...attrs, href: '#/' + path }, text);
}

export function filingLink(id) {
  return link('filing/' + encodeURIComponent(id), id, { class: 'mono' });
}

// ---- time, in Asia/Shanghai ------------------------------------------------------------------

const shanghai = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

// '2026-11-22T08:00:00Z' -> '2026-11-22 16:00:00' (Beijing time); '' for none.
export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = Object.fromEntries(shanghai.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

// A datetime-local value ('2026-11-22T16:00'), read as Beijing time, as RFC 3339 UTC.
export function shanghaiInputToIso(value) {
  if (!value) return '';
  const d = new Date(value + (value.length === 16 ? ':00' : '') + '+08:00');
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace('.000Z', 'Z');
}

// RFC 3339 -> a datetime-local value in Beijing time ('2026-11-22T16:00').
export function isoToShanghaiInput(iso) {
  const t = time(iso);
  return t ? t.slice(0, 16).replace(' ', 'T') : '';
}

// Now plus `ms`, as RFC 3339 UTC (whole seconds), for the API's `before` parameters.
export function isoIn(ms) {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Seconds -> '1天 02:03:04' / '02:03:04'.
function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const pad = (n) => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return days > 0 ? `${days}天 ${hms}` : hms;
}

// ---- live countdowns -------------------------------------------------------------------------

const URGENT_SECONDS = 2 * 3600;
const countdowns = new Set();

function paint(el) {
  const left = (el.dueMs - Date.now()) / 1000;
  el.textContent = left >= 0 ? '剩余 ' + duration(left) : '已超时 ' + duration(-left);
  el.classList.toggle('urgent', left < URGENT_SECONDS);
  el.classList.toggle('late', left < 0);
}

// A span that counts down to `iso` every second; red under two hours, marked once past.
export function countdown(iso) {
  const el = h('span', { class: 'countdown' });
  el.dueMs = new Date(iso).getTime();
  paint(el);
  countdowns.add(el);
  return el;
}

setInterval(() => {
  for (const el of countdowns) {
    if (el.isConnected) paint(el);
    else countdowns.delete(el);
  }
}, 1000);

// ---- small pieces ----------------------------------------------------------------------------

export function table(headers, rows, empty = '无') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

// A definition list from [label, value, wide?] pairs, in two columns (`columns` 1: one); a wide
// pair takes a whole row; pairs with a null value are left out.
export function facts(pairs, columns = 2) {
  return h('dl', { class: columns === 1 ? 'facts one' : 'facts' },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v, wide]) => h('div', { class: wide ? 'wide' : null }, h('dt', {}, k), h('dd', {}, v))));
}

export function message(text, kind = 'error') {
  return h('p', { class: 'message ' + kind, role: kind === 'error' ? 'alert' : 'status' }, text);
}

// Runs `load` for a page and drops answers that a newer load has overtaken, so a slow read never
// paints over a fresh one. `load` returns a function that paints, or throws.
export function loader(load, onError) {
  let generation = 0;
  return async () => {
    const mine = ++generation;
    try {
      const paint = await load();
      if (mine === generation) paint();
    } catch (err) {
      if (mine === generation) onError(err);
    }
  };
}

// <label> + control + the place its error goes; `field` is the API's name of the value, which a
// 422 answer names (showError puts the message beside it).
export function field(text, control, hint) {
  control.id ||= 'f-' + Math.random().toString(36).slice(2, 10);
  const error = h('span', { class: 'field-error', role: 'alert' });
  control.errorSlot = error;
  if (hint) control.setAttribute('aria-describedby', control.id + '-hint');
  return h('div', { class: 'field' }, h('label', { for: control.id }, text), control,
    hint ? h('span', { class: 'hint', id: control.id + '-hint' }, hint) : null, error);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    Object.entries(options).map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

// ---- form errors -----------------------------------------------------------------------------

// A form's own error line, for an error that names no field of it.
export function formError(form) {
  form.errorSlot ||= h('p', { class: 'field-error', role: 'alert' });
  return form.errorSlot;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    if (el.errorSlot) el.errorSlot.textContent = '';
  }
  formError(form).textContent = '';
}

// Shows an API error beside the control whose data-field is the field it names ("data." dropped
// with `prefix`), or the nearest enclosing one ("websites[0].domains[1]" -> "websites[0].domains"),
// else on the form's own line.
export function showError(form, err, prefix = '') {
  let path = err.field || '';
  if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length);
  const controls = [...form.querySelectorAll('[data-field]')];
  while (path) {
    const el = controls.find((c) => c.dataset.field === path);
    if (el && el.errorSlot) {
      el.setAttribute('aria-invalid', 'true');
      el.errorSlot.textContent = err.message;
      el.focus();
      return;
    }
    const cut = path.search(/(\[\d+\]|\.[^.[\]]+)$/);
    if (cut <= 0) break;
    path = path.slice(0, cut);
  }
  formError(form).textContent = (err.status === 409 ? '冲突：' : '') + err.message;
}
