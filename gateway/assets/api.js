// Shared by the storefront and the console: the pasted token (kept for this tab
// only), calls to the public REST API, and errors shown with their request id.

export class ApiError extends Error {
  constructor(status, error, requestId) {
    const e = error || {};
    super(`${status} ${e.code || ''} ${e.reason || ''}: ${e.message || 'no answer'}`);
    this.status = status;
    this.code = e.code;
    this.reason = e.reason;
    this.requestId = requestId;
  }
}

// A token field: what is pasted is kept in sessionStorage under `key`.
export function tokenField(input, key, onChange) {
  input.value = sessionStorage.getItem(key) || '';
  let last = input.value.trim();
  input.addEventListener('change', () => {
    const value = input.value.trim();
    if (value === last) return;
    last = value;
    sessionStorage.setItem(key, value);
    onChange();
  });
  return () => input.value.trim();
}

// One call; resolves to { data, requestId, replayed } or throws an ApiError.
export async function call(token, method, path, body, idempotencyKey) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const requestId = response.headers.get('x-request-id');
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && data.error, requestId);
  return { data, requestId, replayed: response.headers.get('idempotent-replayed') === 'true' };
}

// Shows an error (or clears it with null) in `box`.
export function showError(box, err) {
  box.hidden = !err;
  if (!err) return;
  box.textContent = err.requestId ? `${err.message} (request id ${err.requestId})` : String(err.message || err);
}

// `ORDER_STATUS_PAID` -> `PAID`.
export function short(name, prefix) {
  return (name || '').startsWith(prefix) ? name.slice(prefix.length) : name || '';
}

// A cell with text (never HTML: everything shown comes from the API).
export function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (className) td.className = className;
  return td;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}
