// The storefront: products, a delivery address, check out (place, then pay), and the
// order as it moves through its states. Only the public REST API, with a pasted token.
import { call, cell, short, showError, tokenField, when } from '/assets/api.js';

const $ = (id) => document.getElementById(id);
const token = tokenField($('token'), 'shop.user-token', () => refresh());
const errorBox = $('error');
const FINAL = ['RECEIVED', 'CANCELLED', 'EXPIRED', 'FAILED'];
let current = null; // the order shown
let poller = null;

async function api(method, path, body, key) {
  try {
    const answer = await call(token(), method, path, body, key);
    return answer.data;
  } catch (err) {
    showError(errorBox, err);
    throw err;
  }
}

async function loadProducts() {
  const { products = [] } = await api('GET', '/v1/products?pageSize=100');
  const body = $('products').tBodies[0];
  body.replaceChildren();
  for (const p of products) {
    const row = body.insertRow();
    cell(row, p.name);
    cell(row, p.price || 0);
    cell(row, p.stock || 0);
    const input = document.createElement('input');
    Object.assign(input, { type: 'number', min: 0, max: 1000, value: 0 });
    input.dataset.productId = p.id;
    input.setAttribute('aria-label', `quantity of ${p.name}`);
    row.insertCell().append(input);
  }
}

async function loadWallet() {
  const wallet = await api('GET', '/v1/wallet');
  $('balance').textContent = `${wallet.balance || 0} points`;
}

async function loadOrders() {
  const { orders = [] } = await api('GET', '/v1/orders?pageSize=20');
  const body = $('orders').tBodies[0];
  body.replaceChildren();
  for (const o of orders) {
    const row = body.insertRow();
    row.className = 'selectable';
    cell(row, o.id);
    cell(row, when(o.createdAt));
    cell(row, short(o.status, 'ORDER_STATUS_'), 'state');
    cell(row, o.totalAmount || 0);
    row.addEventListener('click', () => show(o));
  }
}

function show(order) {
  current = order;
  const status = short(order.status, 'ORDER_STATUS_');
  const delivery = order.delivery ? short(order.delivery.status, 'DELIVERY_STATUS_') : '';
  $('order').hidden = false;
  $('order-id').textContent = order.id;
  $('order-status').textContent = status;
  $('order-status').className = `state ${status}`;
  $('order-delivery').textContent = delivery ? `delivery ${delivery}` : '';
  $('order-total').textContent = `total ${order.totalAmount || 0}, paid ${order.paidAmount || 0}`;
  $('order-last-error').textContent = order.lastError ? `Last error: ${order.lastError}` : '';
  $('pay').hidden = status !== 'PENDING_PAYMENT';
  $('cancel').hidden = !['PENDING_PAYMENT', 'PAID'].includes(status);
  $('confirm').hidden = !(status === 'PAID' && delivery === 'DELIVERED');
  const history = $('history').tBodies[0];
  if (history.dataset.order !== order.id) {
    history.replaceChildren();
    history.dataset.order = order.id;
  }
  const last = history.rows[history.rows.length - 1];
  const seen = `${status} ${delivery}`;
  if (!last || last.dataset.seen !== seen) {
    const row = history.insertRow();
    row.dataset.seen = seen;
    cell(row, new Date().toLocaleTimeString());
    cell(row, status, 'state');
    cell(row, delivery);
  }
  clearInterval(poller);
  if (!FINAL.includes(status)) poller = setInterval(poll, 2000);
}

async function poll() {
  if (!current) return;
  try {
    show(await api('GET', `/v1/orders/${current.id}`));
  } catch {
    clearInterval(poller);
  }
}

async function act(button, work) {
  showError(errorBox, null);
  button.disabled = true;
  try {
    await work();
  } catch {
    // shown in the error box
  } finally {
    button.disabled = false;
    loadOrders().catch(() => {});
    loadWallet().catch(() => {});
  }
}

$('delivery').addEventListener('submit', (event) => {
  event.preventDefault();
  const items = [...document.querySelectorAll('#products input')]
    .filter((i) => Number(i.value) > 0)
    .map((i) => ({ productId: i.dataset.productId, quantity: Number(i.value) }));
  const delivery = Object.fromEntries(new FormData(event.target));
  if (!delivery.requirement) delete delivery.requirement;
  act($('checkout'), async () => {
    if (items.length === 0) {
      showError(errorBox, new Error('Choose a quantity first.'));
      return;
    }
    // One key per click: a retried request (say, after a lost answer) is not a second order.
    const placed = await api('POST', '/v1/orders', { items, delivery }, crypto.randomUUID());
    show(placed);
    show(await api('POST', `/v1/orders/${placed.id}/pay`, {}, crypto.randomUUID()));
    await loadProducts();
  });
});
$('pay').addEventListener('click', () =>
  act($('pay'), async () => show(await api('POST', `/v1/orders/${current.id}/pay`, {}, crypto.randomUUID()))));
$('cancel').addEventListener('click', () =>
  act($('cancel'), async () => show(await api('POST', `/v1/orders/${current.id}/cancel`, { reason: 'cancelled in the storefront' }))));
$('confirm').addEventListener('click', () =>
  act($('confirm'), async () => show(await api('POST', `/v1/orders/${current.id}/confirm-receipt`, {}))));

function refresh() {
  showError(errorBox, null);
  if (!token()) {
    showError(errorBox, new Error('Paste a user token above (README: shopctl token).'));
    return;
  }
  Promise.all([loadProducts(), loadWallet(), loadOrders()]).catch(() => {});
}
refresh();
