'use strict';
// The usual hand-rolled Node broadcast server, a peer for herald's benchmark:
// an http(s) server plus a `ws` WebSocketServer, a Map server -> Set of
// sockets, and POST /pub/<server> that sends the body to each socket of
// that server as a text message. No permessage-deflate.
//
//   node server.js --port=P [--tls_port=Q --cert=FILE --key=FILE] [--host=127.0.0.1]
//
// Both ports serve subscribers and the publisher:
//   subscribers: ws[s]://HOST:PORT/sub/1,2,3   (or /?servers=1,2,3)
//   publisher:   POST http(s)://HOST:PORT/pub/<server>, body = event
//                -> 200, body "recipients=N"
// Prints "ready port=P tls_port=Q" on stdout once listening.
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer, WebSocket } = require('ws');

const args = {};
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (!m) { console.error(`bad argument ${a}`); process.exit(2); }
  args[m[1]] = m[2];
}
const host = args.host || '127.0.0.1';

const topics = new Map(); // server id -> Set<WebSocket>

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 4096,
});

function serversOf(url) {
  const u = new URL(url, 'http://x');
  let list = u.searchParams.get('servers');
  if (list === null) {
    const m = /^\/sub\/([0-9,]+)$/.exec(u.pathname);
    list = m ? m[1] : '';
  }
  return list.split(',').filter((s) => s.length > 0);
}

wss.on('connection', (ws, req) => {
  const servers = serversOf(req.url);
  for (const s of servers) {
    let set = topics.get(s);
    if (!set) { set = new Set(); topics.set(s, set); }
    set.add(ws);
  }
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const s of servers) {
      const set = topics.get(s);
      if (set) { set.delete(ws); if (set.size === 0) topics.delete(s); }
    }
  });
});

function onRequest(req, res) {
  const m = /^\/pub\/([0-9]+)$/.exec(req.url);
  if (req.method !== 'POST' || !m) {
    res.writeHead(404);
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const set = topics.get(m[1]);
    let n = 0;
    if (set) {
      for (const ws of set) {
        if (ws.readyState === WebSocket.OPEN) { ws.send(text); n++; }
      }
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`recipients=${n}`);
  });
}

function onUpgrade(req, socket, head) {
  socket.on('error', () => {});
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
}

function listen(server, port) {
  server.keepAliveTimeout = 600000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.on('upgrade', onUpgrade);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: Number(port), host, backlog: 65535 }, () => resolve(server.address().port));
  });
}

(async () => {
  const port = await listen(http.createServer(onRequest), args.port || 0);
  let tlsPort = 0;
  if (args.tls_port !== undefined) {
    const opts = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) };
    tlsPort = await listen(https.createServer(opts, onRequest), args.tls_port);
  }
  process.stdout.write(`ready port=${port} tls_port=${tlsPort}\n`);
})().catch((e) => { console.error(String(e)); process.exit(2); });

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
