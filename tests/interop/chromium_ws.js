// Drives Debian's Chromium (BoringSSL) headless through puppeteer-core so a
// test can watch the browser's own WebSocket talk to herald.
//
//   node chromium_ws.js --chromium /usr/bin/chromium --user-data-dir DIR \
//       [--spki BASE64_SHA256_OF_SPKI]
//
// Commands, one JSON object a line on stdin:
//   {"op":"open","id":1,"url":"wss://127.0.0.1:PORT/?token=..."}
//   {"op":"send","id":1,"data":"text"}
//   {"op":"close","id":1,"code":1000,"reason":"bye"}
//   {"op":"tls","url":"https://127.0.0.1:PORT/"}  (a fetch of url; reports how
//                                                  the browser's TLS went)
//   {"op":"quit"}
// Events, one JSON object a line on stdout:
//   {"ev":"ready","version":"Chrome/...","origin":"http://127.0.0.1:N"}
//   {"ev":"open","id":1}
//   {"ev":"message","id":1,"data":"...","binary":false}
//   {"ev":"error","id":1}
//   {"ev":"close","id":1,"code":4004,"reason":"...","wasClean":true}
//   {"ev":"tls","status":426,"protocol":"TLS 1.3","cipher":"AES_128_GCM",...}
//   {"ev":"fatal","message":"..."}
// puppeteer-core comes from tools/install-deps' npm directory (NODE_PATH);
// it never downloads a browser.
'use strict';

const http = require('http');
const puppeteer = require('puppeteer-core');

const {arg, emit, commands} = require('./driver_io');

async function main() {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--ssl-version-min=tls1.3',  // herald's own record layer is TLS 1.3 only
  ];
  const spki = arg('spki', '');
  // Trusts exactly herald's key (honoured only with --user-data-dir).
  if (spki) args.push('--ignore-certificate-errors-spki-list=' + spki);
  const browser = await puppeteer.launch({
    executablePath: arg('chromium', '/usr/bin/chromium'),
    userDataDir: arg('user-data-dir', undefined),
    headless: true,
    args,
    protocolTimeout: 20000,
    dumpio: Boolean(process.env.HERALD_CHROMIUM_DUMPIO),  // browser's stderr
    timeout: 20000,
  });
  let quitting = false;
  const quit = async (code) => {
    if (quitting) return;
    quitting = true;
    await browser.close().catch(() => {});
    process.exit(code);
  };
  browser.on('disconnected', () => {
    if (!quitting) {
      emit({ev: 'fatal', message: 'browser disconnected'});
      process.exit(3);
    }
  });
  // The page comes from a loopback HTTP server of ours: Chromium's Local
  // Network Access checks block WebSockets to 127.0.0.1 from about:blank or
  // data: pages (an opaque, non-local origin), but not from a loopback page.
  const server = http.createServer((req, res) => {
    res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8'});
    res.end('<!doctype html><title>herald interop</title>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const origin = 'http://127.0.0.1:' + server.address().port;
  const page = await browser.newPage();
  await page.exposeFunction('heraldReport', (event) => emit(event));
  await page.goto(origin + '/');
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  await page.evaluate(() => {
    window.sockets = {};
  });
  emit({ev: 'ready', version: await browser.version(), origin});

  for (let next = await commands.next(); !next.done; next = await commands.next()) {
    const line = next.value;
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.op === 'quit') break;
    if (cmd.op === 'tls') {
      emit(await tlsOf(page, cdp, cmd.url));
      continue;
    }
    await page.evaluate((c) => {
      const report = window.heraldReport;
      if (c.op === 'open') {
        const ws = new WebSocket(c.url);
        window.sockets[c.id] = ws;
        ws.onopen = () => report({ev: 'open', id: c.id});
        ws.onmessage = (e) => report({
          ev: 'message', id: c.id, binary: typeof e.data !== 'string',
          data: typeof e.data === 'string' ? e.data : null,
        });
        ws.onerror = () => report({ev: 'error', id: c.id});
        ws.onclose = (e) => report({
          ev: 'close', id: c.id, code: e.code, reason: e.reason,
          wasClean: e.wasClean,
        });
      } else if (c.op === 'send') {
        window.sockets[c.id].send(c.data);
      } else if (c.op === 'close') {
        window.sockets[c.id].close(c.code, c.reason);
      }
    }, cmd);
  }
  await quit(0);
}

// Fetches url from the page and reports the TLS parameters of the response
// as DevTools' Network domain saw them (protocol, cipher, group).
async function tlsOf(page, cdp, url) {
  const requests = new Set();
  let onRequest, onResponse, onFailed;
  const seen = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no response for ' + url)), 15000);
    onRequest = (e) => {
      if (e.request.url === url) requests.add(e.requestId);
    };
    onResponse = (e) => {
      if (e.response.url !== url) return;
      clearTimeout(timer);
      resolve(e.response);
    };
    onFailed = (e) => {  // e.g. net::ERR_CERT_AUTHORITY_INVALID
      if (!requests.has(e.requestId)) return;
      clearTimeout(timer);
      reject(new Error('fetch of ' + url + ' failed: ' + e.errorText));
    };
    cdp.on('Network.requestWillBeSent', onRequest);
    cdp.on('Network.responseReceived', onResponse);
    cdp.on('Network.loadingFailed', onFailed);
  });
  await page.evaluate((u) => fetch(u, {mode: 'no-cors'}).catch(() => {}), url);
  let response;
  try {
    response = await seen;
  } finally {
    cdp.off('Network.requestWillBeSent', onRequest);
    cdp.off('Network.responseReceived', onResponse);
    cdp.off('Network.loadingFailed', onFailed);
  }
  const d = response.securityDetails || {};
  return {
    ev: 'tls', status: response.status, protocol: d.protocol || null,
    cipher: d.cipher || null, keyExchangeGroup: d.keyExchangeGroup || null,
  };
}

// Bounded: a test that forgets to quit does not leave a browser behind.
setTimeout(() => {
  emit({ev: 'fatal', message: 'driver lifetime (120 s) exceeded'});
  process.exit(4);
}, 120000).unref();

main().catch((e) => {
  emit({ev: 'fatal', message: String(e && e.stack || e)});
  process.exit(2);
});
