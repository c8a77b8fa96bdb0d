// Drives Debian's Chromium headless through puppeteer-core so a test can
// load a page (herald's status page) and read what it rendered.
//
//   node chromium_page.js --chromium /usr/bin/chromium --user-data-dir DIR
//
// Commands, one JSON object a line on stdin; each is answered by one event:
//   {"op":"goto","url":"http://127.0.0.1:N/"}      -> {"ev":"loaded","status":200}
//   {"op":"eval","expr":"document.title"}          -> {"ev":"value","value":...}
//       (expr: a JavaScript expression evaluated in the page; its value
//        must be JSON-serialisable; a promise is awaited)
//   {"op":"wait","expr":"...","timeout":5000}      -> {"ev":"waited","value":...}
//       (until expr is truthy; {"ev":"timeout","value":<last value>} if not)
//   {"op":"screenshot","path":"/abs/file.png"}     -> {"ev":"screenshot","bytes":N}
//   {"op":"media","scheme":"dark"}                 -> {"ev":"media"}
//       (emulates prefers-color-scheme: "dark", "light" or "" for none)
//   {"op":"log"}  -> {"ev":"log","errors":[...],"console":[...],"requests":[...]}
//       (uncaught page errors, console messages, every URL the page requested)
//   {"op":"quit"}
// Failures: {"ev":"fatal","message":"..."} (the driver then exits) or, for
// a command that threw, {"ev":"error","message":"..."}.
// puppeteer-core comes from tools/install-deps' npm directory (NODE_PATH);
// it never downloads a browser.
'use strict';

const fs = require('fs');
const puppeteer = require('puppeteer-core');

const {arg, emit, commands} = require('./driver_io');

async function run(page, log, cmd) {
  if (cmd.op === 'goto') {
    const response = await page.goto(cmd.url, {waitUntil: 'load', timeout: 15000});
    return {ev: 'loaded', status: response ? response.status() : null};
  }
  if (cmd.op === 'eval') {
    return {ev: 'value', value: await page.evaluate(cmd.expr)};
  }
  if (cmd.op === 'wait') {
    const end = Date.now() + (cmd.timeout || 5000);
    let value;
    do {
      value = await page.evaluate(cmd.expr);
      if (value) return {ev: 'waited', value};
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < end);
    return {ev: 'timeout', value};
  }
  if (cmd.op === 'screenshot') {
    await page.screenshot({path: cmd.path, fullPage: true, type: 'png'});
    return {ev: 'screenshot', bytes: fs.statSync(cmd.path).size};
  }
  if (cmd.op === 'media') {
    await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: cmd.scheme || ''}]);
    return {ev: 'media'};
  }
  if (cmd.op === 'log') return {ev: 'log', ...log};
  throw new Error('unknown op ' + JSON.stringify(cmd.op));
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: arg('chromium', '/usr/bin/chromium'),
    userDataDir: arg('user-data-dir', undefined),
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--hide-scrollbars', '--force-color-profile=srgb',
    ],
    defaultViewport: {width: 1280, height: 900, deviceScaleFactor: 1},
    protocolTimeout: 20000,
    dumpio: Boolean(process.env.HERALD_CHROMIUM_DUMPIO),  // browser's stderr
    timeout: 20000,
  });
  let quitting = false;
  browser.on('disconnected', () => {
    if (!quitting) {
      emit({ev: 'fatal', message: 'browser disconnected'});
      process.exit(3);
    }
  });
  const page = await browser.newPage();
  const log = {errors: [], console: [], requests: []};
  const keep = (list, item) => { if (list.length < 1000) list.push(item); };
  page.on('pageerror', (e) => keep(log.errors, String(e && e.message || e)));
  page.on('console', (m) => keep(log.console, m.type() + ': ' + m.text()));
  page.on('request', (r) => keep(log.requests, r.url()));
  emit({ev: 'ready', version: await browser.version()});

  for (let next = await commands.next(); !next.done; next = await commands.next()) {
    const line = next.value;
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.op === 'quit') break;
    try {
      emit(await run(page, log, cmd));
    } catch (e) {
      emit({ev: 'error', message: String(e && e.stack || e)});
    }
  }
  quitting = true;
  await browser.close().catch(() => {});
  process.exit(0);
}

// Bounded: a test that forgets to quit does not leave a browser behind.
setTimeout(() => {
  emit({ev: 'fatal', message: 'driver lifetime (180 s) exceeded'});
  process.exit(4);
}, 180000).unref();

main().catch((e) => {
  emit({ev: 'fatal', message: String(e && e.stack || e)});
  process.exit(2);
});
