// The /v1 API, as the signed-in user: the bearer token lives in sessionStorage only (gone when the
// tab closes), and the console has no access of its own — what the API refuses, it does not show.

const TOKEN_KEY = 'filingd.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY) || '',
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

// An error answer: its `status`, the API's `message` and the `field` it names (if any).
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.field = body?.field || '';
  }
}

// Called when the token is refused (401): the console goes back to its sign-in form.
let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// A query string from {name: value | [values]}; empty values are not sent, so a filter the user
// left blank never reaches the API.
function query(params = {}) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null && v !== '') q.append(name, String(v));
    }
  }
  const text = q.toString();
  return text ? '?' + text : '';
}

// `token`: another than the session's (sign-in checks one before keeping it); such a call's 401
// is only an answer, not the session ending.
async function call(method, path, body, token) {
  const own = token === undefined;
  const bearer = own ? session.token() : token;
  const headers = { Accept: 'application/json' };
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: 'omit',
  });
  const json = (r.headers.get('Content-Type') || '').includes('json') ? await r.json() : null;
  if (!r.ok) {
    if (r.status === 401 && own) onUnauthorized();
    throw new ApiError(r.status, json);
  }
  return json;
}

export const get = (path, params) => call('GET', path + query(params));
export const post = (path, body) => call('POST', path, body);
// Who a token is, without signing in with it: {name, role, permissions}.
export const whoami = (token) => call('GET', '/v1/whoami', undefined, token);

export const filingPath = (id) => '/v1/filings/' + encodeURIComponent(id);
