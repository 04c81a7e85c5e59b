// The operator console: sagas by state and age, one saga's step timeline from the
// saga log (what ran, when, how long, what failed), Retry for a STUCK saga, and the
// events a consumer parked. Only the public REST API, with a pasted admin token.
import { call, cell, short, showError, tokenField, when } from '/assets/api.js';

const $ = (id) => document.getElementById(id);
const token = tokenField($('token'), 'shop.admin-token', () => refresh());
const errorBox = $('error');
const OPEN = ['RUNNING', 'COMPENSATING'];
let nextPage = '';
let shown = null; // the saga in the detail panel
let poller = null;

async function api(method, path, body) {
  try {
    const answer = await call(token(), method, path, body);
    return answer.data;
  } catch (err) {
    showError(errorBox, err);
    throw err;
  }
}

function age(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

// One page of sagas (newest first); the age filter applies to what is loaded.
async function loadSagas(more) {
  const params = new URLSearchParams({ pageSize: '100' });
  if ($('state').value) params.set('state', $('state').value);
  if (more && nextPage) params.set('pageToken', nextPage);
  const { sagas = [], nextPageToken = '' } = await api('GET', `/v1/admin/sagas?${params}`);
  nextPage = nextPageToken;
  $('more').hidden = !nextPage;
  const body = $('sagas').tBodies[0];
  if (!more) body.replaceChildren();
  const minAge = Number($('age').value) * 1000;
  for (const s of sagas) {
    if (minAge && Date.now() - new Date(s.createdAt).getTime() < minAge) continue;
    const row = body.insertRow();
    row.className = 'selectable';
    row.dataset.sagaId = s.id;
    const state = short(s.state, 'SAGA_STATE_');
    cell(row, s.id);
    cell(row, s.kind);
    cell(row, state, `state ${state}`);
    cell(row, s.step);
    cell(row, s.attempts || 0);
    cell(row, age(s.createdAt));
    cell(row, s.lastError);
    const actions = row.insertCell();
    if (state === 'STUCK') {
      const button = document.createElement('button');
      button.textContent = 'Retry';
      button.className = 'retry';
      button.addEventListener('click', (event) => {
        event.stopPropagation();
        retry(s.id);
      });
      actions.append(button);
    }
    row.addEventListener('click', () => showSaga(s.id));
  }
  $('count').textContent = `${body.rows.length} shown`;
}

// Each log record with how long its step took (from its STARTED to this record).
function timeline(steps) {
  const started = {};
  return steps.map((step) => {
    const at = new Date(step.at).getTime();
    let took = '';
    if (step.phase === 'STARTED') started[step.step] = at;
    else if (started[step.step] !== undefined) took = `${at - started[step.step]} ms`;
    return { ...step, took };
  });
}

async function showSaga(id) {
  const { saga, steps = [] } = await api('GET', `/v1/admin/sagas/${id}`);
  shown = saga;
  const state = short(saga.state, 'SAGA_STATE_');
  $('detail').hidden = false;
  $('detail-id').textContent = saga.id;
  $('detail-state').textContent = state;
  $('detail-state').className = `state ${state}`;
  $('detail-facts').textContent =
    `${saga.kind} saga of order ${saga.orderId}, at ${saga.step}, ${saga.attempts || 0} attempts, ` +
    `created ${when(saga.createdAt)}` +
    (saga.pastPivot ? ', past the pivot (goes forward only)' : '') +
    (saga.nextAttemptAt ? `, next attempt ${when(saga.nextAttemptAt)}` : '') +
    (saga.outcome ? `, outcome ${saga.outcome}` : '');
  $('detail-error').textContent = saga.lastError ? `Last error: ${saga.lastError}` : '';
  $('retry').hidden = state !== 'STUCK';
  const body = $('timeline').tBodies[0];
  body.replaceChildren();
  for (const step of timeline(steps)) {
    const row = body.insertRow();
    if (step.phase === 'FAILED') row.className = 'failed';
    cell(row, when(step.at));
    cell(row, step.step);
    cell(row, step.phase);
    cell(row, step.took);
    cell(row, step.detail);
  }
  for (const row of $('sagas').tBodies[0].rows) {
    row.classList.toggle('selected', row.dataset.sagaId === saga.id);
  }
  clearInterval(poller);
  if (OPEN.includes(state)) poller = setInterval(() => showSaga(saga.id).catch(() => clearInterval(poller)), 1000);
}

async function retry(id) {
  showError(errorBox, null);
  try {
    await api('POST', `/v1/admin/sagas/${id}/retry`, {});
    await showSaga(id);
    await loadSagas(false);
  } catch {
    // shown in the error box
  }
}

async function loadParked() {
  const params = new URLSearchParams({ pageSize: '100' });
  if ($('resolved').checked) params.set('includeResolved', 'true');
  const { events = [] } = await api('GET', `/v1/admin/parked-events?${params}`);
  const body = $('parked').tBodies[0];
  body.replaceChildren();
  for (const e of events) {
    const row = body.insertRow();
    for (const text of [e.consumer, e.offset, e.kind, e.orderId, e.reason, e.attempts || 0,
      when(e.parkedAt), when(e.nextRetryAt), when(e.resolvedAt)]) cell(row, text);
  }
}

function refresh() {
  showError(errorBox, null);
  if (!token()) {
    showError(errorBox, new Error('Paste an admin token above (README: shopctl token --role admin).'));
    return;
  }
  Promise.all([loadSagas(false), loadParked()]).catch(() => {});
  if (shown) showSaga(shown.id).catch(() => {});
}

$('retry').addEventListener('click', () => shown && retry(shown.id));
$('refresh').addEventListener('click', refresh);
$('more').addEventListener('click', () => loadSagas(true).catch(() => {}));
for (const id of ['state', 'age']) $(id).addEventListener('change', () => loadSagas(false).catch(() => {}));
$('resolved').addEventListener('change', () => loadParked().catch(() => {}));
refresh();
