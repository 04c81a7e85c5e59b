// Drives the gateway's pages in Debian's headless Chromium with playwright-core, as a
// person would: `node pages.cjs storefront|console|docs`. Settings come from the
// environment (BASE_URL, TOKEN, SHOP_PLAYWRIGHT, SCREENSHOTS, and per scenario
// PRODUCT or SAGA_ID); the last line printed is a JSON summary for the Rust test.
const { chromium } = require(process.env.SHOP_PLAYWRIGHT);
const path = require('path');

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOTS;
// The flags this machine needs: no sandbox as root, and no background connections
// (the network is closed; Chromium would retry them).
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function withPage(work) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30000);
    const problems = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    // Everything the pages load must come from the gateway itself.
    page.on('request', (req) => { if (!req.url().startsWith(base)) problems.push(`external request: ${req.url()}`); });
    try {
      return { ...(await work(page)), problems };
    } catch (err) {
      await page.screenshot({ path: path.join(shots, `${process.argv[2]}-failed.png`), fullPage: true }).catch(() => {});
      throw new Error(`${err.message}\n${problems.join('\n')}`);
    }
  } finally {
    await browser.close();
  }
}

async function pasteToken(page) {
  await page.fill('#token', process.env.TOKEN);
  await page.press('#token', 'Enter');
}

const scenarios = {
  // Picks the product, enters an address, checks out, and waits to see PAID.
  async storefront(page) {
    await page.goto(`${base}/`);
    await pasteToken(page);
    const row = page.locator('#products tbody tr', { hasText: process.env.PRODUCT });
    await row.locator('input[type=number]').fill('2');
    await page.fill('input[name=recipientName]', 'Choi Test');
    await page.fill('input[name=address]', '1 Test-ro, Seoul');
    await page.fill('input[name=contact]', '010-0000-0000');
    await page.click('#checkout');
    await page.locator('#order-status', { hasText: /^PAID$/ }).waitFor();
    const orderId = await page.textContent('#order-id');
    const history = await page.locator('#history tbody tr').allTextContents();
    await page.screenshot({ path: path.join(shots, 'storefront.png'), fullPage: true });
    return { orderId, status: await page.textContent('#order-status'), history };
  },

  // Finds the STUCK saga, reads its timeline, presses Retry, waits for COMPLETED.
  async console(page) {
    const id = process.env.SAGA_ID;
    await page.goto(`${base}/admin`);
    await pasteToken(page);
    await page.selectOption('#state', 'STUCK');
    const row = page.locator(`#sagas tr[data-saga-id="${id}"]`);
    await row.locator('.state', { hasText: 'STUCK' }).waitFor();
    await row.click();
    await page.locator('#detail-state', { hasText: 'STUCK' }).waitFor();
    await page.locator('#timeline tbody tr').first().waitFor();
    const timeline = await page.locator('#timeline tbody tr').allTextContents();
    const lastError = await page.textContent('#detail-error');
    await page.screenshot({ path: path.join(shots, 'console-stuck.png'), fullPage: true });
    await row.locator('button.retry').click();
    await page.locator('#detail-state', { hasText: 'COMPLETED' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'console-retried.png'), fullPage: true });
    return { state: await page.textContent('#detail-state'), lastError, timeline };
  },

  // The docs page renders every operation from the gateway's own document.
  async docs(page) {
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor();
    const operations = await page.locator('.opblock').count();
    await page.screenshot({ path: path.join(shots, 'docs.png') });
    return { operations };
  },
};

withPage(scenarios[process.argv[2]])
  .then((result) => console.log(JSON.stringify(result)))
  .catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
