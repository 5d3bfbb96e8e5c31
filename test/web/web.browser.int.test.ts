// The web client in headless Chromium against the real split-tier stack (API and web on different
// ports, photos on s3rver as the CDN origin): sign up, upload, feed, follow, like, log out, errors, phone.
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { scenePng } from './png.fixture.js';
import { maxUploadBytes, repoRoot, startWebStack, type WebStack } from './stack.js';

const shots = path.join(repoRoot, 'docs', 'screenshots');
/** GRAMINSTA_UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/; without it a run leaves the tree as it was. */
const updateScreenshots = process.env.GRAMINSTA_UPDATE_SCREENSHOTS === '1';
const password = 'correct horse battery';

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Collects page errors and failed API answers the page did not expect, so a test can assert there were none. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

async function signUp(page: Page, webURL: string, username: string, displayName: string): Promise<void> {
  await page.goto(webURL);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name (optional)').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Your feed is empty' }).waitFor();
}

function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * Takes the screenshot `name` of docs/screenshots/. With GRAMINSTA_UPDATE_SCREENSHOTS=1 it is written there;
 * otherwise it is compared with the committed one by size (pixels differ run to run: times, progress).
 */
async function screenshot(page: Page, name: string): Promise<void> {
  const file = path.join(shots, name);
  if (updateScreenshots) {
    await page.screenshot({ path: file });
    return;
  }
  const taken = pngSize(await page.screenshot());
  expect(taken, `${name} has the size of docs/screenshots/${name} (GRAMINSTA_UPDATE_SCREENSHOTS=1 rewrites it)`).to.deep.equal(pngSize(await fs.readFile(file)));
}

/** Waits until the toast has gone, so screenshots show the screen itself. */
async function toastGone(page: Page): Promise<void> {
  await page.locator('.toast.is-visible').waitFor({ state: 'detached', timeout: 10000 });
}

async function feedImagesLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('.card img'));
    return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
  });
}

describe('web client in a browser (real API, Postgres, Redis, s3rver)', function () {
  this.timeout(240000);
  let stack: WebStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function newPage(options: Parameters<Browser['newContext']>[0] = { viewport: { width: 1280, height: 900 } }): Promise<Page> {
    const context = await browser.newContext(options);
    contexts.push(context);
    return await context.newPage();
  }

  before(async function () {
    this.timeout(300000);
    stack = await startWebStack();
    browser = await launch();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && stack) console.log(stack.logs());
  });

  it('signs up, uploads a photo straight to storage with a progress bar, and shows it in the feed from the CDN', async () => {
    const page = await newPage();
    const problems = watch(page);
    await signUp(page, stack.webURL, 'alice', 'Alice Winter');
    expect(await page.evaluate(() => localStorage.getItem('graminsta.token'))).to.be.a('string');

    // Slow the upload link down so the progress bar has something to show.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 600 * 1024 });

    const puts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PUT') puts.push(request.url());
    });
    await page.getByRole('link', { name: 'New photo' }).click();
    await page.getByRole('heading', { name: 'New photo' }).waitFor();
    const big = scenePng({ width: 1080, height: 1080, hue: 200, grain: 40, seed: 7 });
    await page.locator('#photo-file').setInputFiles({ name: 'blue-hour.png', mimeType: 'image/png', buffer: big });
    await page.getByRole('img', { name: 'Preview of blue-hour.png' }).waitFor();
    await page.getByLabel('Caption (optional)').fill('Blue hour over the dunes');
    await page.getByRole('button', { name: 'Share photo' }).click();
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('#upload-progress');
      return bar !== null && bar.hasAttribute('value') && bar.value >= 20 && bar.value <= 80;
    });
    await screenshot(page, 'upload-progress.png');
    await page.waitForURL(/#\/p\/\d+$/, { timeout: 60000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(puts).to.have.length(1);
    expect(puts[0]!.startsWith(`${stack.cdnBaseURL}/`), `the bytes went to ${puts[0]}`).to.equal(true);

    // A second, smaller photo, then the feed shows both, newest first, with images from the CDN base URL.
    await page.getByRole('link', { name: 'New photo' }).click();
    await page.locator('#photo-file').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: scenePng({ width: 960, height: 720, hue: 20 }) });
    await page.getByLabel('Caption (optional)').fill('Last light of the day');
    await page.getByRole('button', { name: 'Share photo' }).click();
    await page.waitForURL(/#\/p\/\d+$/);
    await page.getByRole('link', { name: 'Feed' }).click();
    const cards = page.locator('.card');
    await cards.nth(1).waitFor();
    expect(await cards.count()).to.equal(2);
    await feedImagesLoaded(page);
    expect(await cards.nth(0).getByRole('img').getAttribute('alt')).to.equal('Last light of the day');
    expect(await cards.nth(1).getByRole('img').getAttribute('alt')).to.equal('Blue hour over the dunes');
    const srcs = await page.locator('.card img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).currentSrc));
    for (const src of srcs) expect(src.startsWith(`${stack.cdnBaseURL}/`), src).to.equal(true);
    expect(problems).to.deep.equal([]);
  });

  it('shows clear errors for a file that is not an image, a photo the API refuses, and a dropped connection', async () => {
    const page = await newPage();
    await signUp(page, stack.webURL, 'mallory', 'Mallory');
    await page.getByRole('link', { name: 'New photo' }).click();
    const file = page.locator('#photo-file');
    const fileError = page.locator('#photo-file-error');

    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.getByText('notes.txt is not a JPEG, PNG, WebP or GIF image.').waitFor();
    expect(await file.getAttribute('aria-invalid')).to.equal('true');

    // Named and typed like a PNG, but the bytes are not one: the page says so before uploading anything.
    await file.setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: Buffer.from('definitely not a png, just text pretending') });
    await page.getByText('holiday.png could not be read as an image.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Share photo' }).click();
    expect(await page.locator('#upload-progress').isVisible()).to.equal(false);

    // A real image over the API's limit: the API refuses it and the page explains.
    const huge = scenePng({ width: 1280, height: 1280, hue: 300, grain: 70, seed: 3 });
    expect(huge.length).to.be.greaterThan(maxUploadBytes);
    await file.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: huge });
    await page.getByRole('img', { name: 'Preview of huge.png' }).waitFor();
    expect(await fileError.isVisible()).to.equal(false);
    await page.getByRole('button', { name: 'Share photo' }).click();
    const alert = page.locator('.form-alert');
    await alert.filter({ hasText: 'larger than the server accepts' }).waitFor();
    expect(await alert.textContent()).to.equal('Your photo was not shared. The photo is larger than the server accepts. Try a smaller or more compressed image.');
    expect(await page.locator('#upload-progress-label').textContent()).to.equal('Upload failed');

    // The connection drops while the bytes go to storage.
    await page.route(`${stack.cdnBaseURL}/**`, (route) => (route.request().method() === 'PUT' ? route.abort('connectionreset') : route.continue()));
    await file.setInputFiles({ name: 'small.png', mimeType: 'image/png', buffer: scenePng({ width: 320, height: 240, hue: 120 }) });
    await page.getByRole('img', { name: 'Preview of small.png' }).waitFor();
    await page.getByLabel('Caption (optional)').fill('This one will not make it');
    await page.getByRole('button', { name: 'Share photo' }).click();
    await alert.filter({ hasText: 'interrupted' }).waitFor();
    expect(await alert.textContent()).to.equal('Your photo was not shared. The upload was interrupted. Check your connection and try again.');
    expect(await page.getByRole('button', { name: 'Share photo' }).isEnabled()).to.equal(true);
    expect(await page.getByRole('button', { name: 'Cancel upload' }).isVisible()).to.equal(false);
    await toastGone(page);
    await screenshot(page, 'upload-error.png');

    const res = await fetch(`${stack.apiURL}/api/v1/users/mallory`);
    expect(((await res.json()) as { user: { photos: number } }).user.photos).to.equal(0);
  });

  it('lets another person find a profile, follow, like, unfollow and log out', async () => {
    const page = await newPage();
    const problems = watch(page);
    await signUp(page, stack.webURL, 'bob', 'Bob Marsh');

    await page.getByLabel('Find people').fill('@alice');
    await page.getByRole('button', { name: 'Open profile' }).click();
    await page.getByRole('heading', { name: 'Alice Winter' }).waitFor();
    await page.locator('.photo-grid img').nth(1).waitFor();
    const followers = page.locator('.count-followers .count-value');
    expect(await followers.textContent()).to.equal('0');
    await page.getByRole('button', { name: 'Follow @alice', exact: true }).click();
    await page.getByRole('button', { name: 'Unfollow @alice' }).waitFor();
    expect(await followers.textContent()).to.equal('1');
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('.photo-grid img')).every((img) => img.complete && img.naturalWidth > 0));
    await toastGone(page);
    await screenshot(page, 'profile.png');

    await page.getByRole('link', { name: 'Feed' }).click();
    await page.locator('.card').nth(1).waitFor();
    const like = page.getByRole('button', { name: 'Like photo by Alice Winter', exact: true }).first();
    // The page shows a like at once (optimistically); the reload below must come after the server has it, or it
    // could cancel the request in flight or load the feed before the like committed.
    const liked = page.waitForResponse((r) => r.request().method() === 'PUT' && /\/photos\/\d+\/like$/.test(new URL(r.url()).pathname));
    await like.click();
    expect((await liked).status(), 'the like is stored').to.equal(204);
    const firstCard = page.locator('.card').first();
    await firstCard.getByRole('button', { name: 'Unlike photo by Alice Winter' }).waitFor();
    expect(await firstCard.locator('.like-count').textContent()).to.equal('1 like');

    // The like is on the server, not just on the page.
    await page.reload();
    await page.locator('.card').first().getByRole('button', { name: 'Unlike photo by Alice Winter' }).waitFor();
    expect(await page.locator('.card').first().getByRole('button', { name: /photo by Alice Winter/ }).getAttribute('aria-pressed')).to.equal('true');
    await feedImagesLoaded(page);
    await toastGone(page);
    await screenshot(page, 'feed-desktop.png');

    await page.goto(`${stack.webURL}/#/u/alice`);
    await page.getByRole('button', { name: 'Unfollow @alice' }).click();
    // exact: by default a role name matches as a substring, and 'Follow @alice' would match the Unfollow button
    // still on screen while the request is in flight.
    await page.getByRole('button', { name: 'Follow @alice', exact: true }).waitFor();
    expect(await followers.textContent()).to.equal('0');
    await page.getByRole('link', { name: 'Feed' }).click();
    await page.getByRole('heading', { name: 'Your feed is empty' }).waitFor();

    const token = await page.evaluate(() => localStorage.getItem('graminsta.token'));
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('graminsta.token'))).to.equal(null);
    const me = await fetch(`${stack.apiURL}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status, 'the token is revoked on the server').to.equal(401);
    await page.goto(`${stack.webURL}/#/upload`);
    await page.waitForURL(/#\/login\?next=/);
    expect(problems).to.deep.equal([]);
  });

  it('works on a phone-sized screen, with the keyboard alone for log-in and likes', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await page.goto(`${stack.webURL}/#/login`);
    await page.getByLabel('Username').focus();
    await page.keyboard.type('bob');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('field-password');
    await page.keyboard.type('wrong password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'That username and password do not match' }).waitFor();
    await page.getByLabel('Password').fill(password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your feed is empty' }).waitFor();

    await page.goto(`${stack.webURL}/#/u/alice`);
    await page.getByRole('button', { name: 'Follow @alice', exact: true }).click();
    // The button changes once the server answered: the feed asked for after that has alice's photos.
    await page.getByRole('button', { name: 'Unfollow @alice' }).waitFor();
    await page.getByRole('link', { name: 'Feed' }).click();
    await page.locator('.card').nth(1).waitFor();
    await feedImagesLoaded(page);

    const layout = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    expect(layout.scrollWidth, 'no sideways scrolling').to.be.at.most(layout.innerWidth);
    const nav = await page.getByRole('link', { name: 'New photo' }).boundingBox();
    expect(nav, 'the tab bar is on screen').to.not.equal(null);
    expect(nav!.y + nav!.height).to.be.at.most(844);
    expect(nav!.height).to.be.at.least(44);
    const likeBox = await page.locator('.like-button').first().boundingBox();
    expect(likeBox!.width).to.be.at.least(44);
    expect(likeBox!.height).to.be.at.least(44);

    // Likes work from the keyboard: focus the button, press Space.
    const second = page.locator('.card').nth(1).locator('.like-button');
    await second.focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelectorAll('.card')[1]?.querySelector('.like-button')?.getAttribute('aria-pressed') === 'true');
    await page.evaluate(() => window.scrollTo(0, 0));
    await toastGone(page);
    await screenshot(page, 'feed-phone.png');
  });
});
