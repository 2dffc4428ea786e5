#!/usr/bin/env node
/**
 * The serving benchmark's load generator, a process of its own so that it neither shares an event loop with the
 * benchmark's bookkeeping nor with anything under test. Closed loop: `concurrency` keep-alive connections, each
 * sending its next request as soon as the previous answer is complete (no pipelining), until `maxRequests` were sent
 * or `maxSeconds` passed. Bounded both ways, and loopback only: any other host is refused.
 *
 * Lean on purpose: on two cores every cycle it spends is taken from the server under test, so requests are
 * pre-serialized bytes written straight to a net.Socket and answers are parsed only as far as the status line and
 * Content-Length (or chunked framing). That costs a fraction of what http.request costs per request; the CPU it did
 * use is reported with every measurement, so the reader can see it was not the bottleneck.
 *
 * Driven over IPC by benchmark.ts (child_process.fork, serialization 'advanced'):
 *   in:  { host, port, path, headers, bodies: Buffer[], concurrency, maxRequests, maxSeconds }
 *   out: { latencies: Float64Array (ms, successful requests only), errors, firstError, seconds, cpuMs }
 */
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function buildRequests(job) {
  const head = [`POST ${job.path} HTTP/1.1`, `Host: ${job.host}:${job.port}`, 'Connection: keep-alive'];
  for (const [k, v] of Object.entries(job.headers)) head.push(`${k}: ${v}`);
  return job.bodies.map((b) => {
    const body = Buffer.from(b);
    return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
  });
}

/**
 * Incremental parser for one response at a time: returns { status, close } once a whole response is in `buf`,
 * with `rest` the bytes after it (none when the server does not pipeline), or undefined when more bytes are needed.
 */
function parseResponse(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const close = lower.includes('\r\nconnection: close');
  const bodyStart = headEnd + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  if (cl) {
    const end = bodyStart + Number(cl[1]);
    if (buf.length < end) return undefined;
    return { status, close, end, body: buf.subarray(bodyStart, end) };
  }
  if (lower.includes('\r\ntransfer-encoding: chunked')) {
    let at = bodyStart;
    const parts = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      const dataEnd = lineEnd + 2 + size;
      if (buf.length < dataEnd + 2) return undefined;
      if (size === 0) {
        // no trailers from the servers measured here
        return { status, close, end: dataEnd + 2, body: Buffer.concat(parts) };
      }
      parts.push(buf.subarray(lineEnd + 2, dataEnd));
      at = dataEnd + 2;
    }
  }
  // no framing: the body runs to the end of the connection (not expected from any server measured here)
  return { status, close: true, end: buf.length, body: buf.subarray(bodyStart) };
}

function run(job) {
  if (!LOOPBACK.has(job.host)) throw new Error(`the load generator only targets loopback, not ${job.host}`);
  if (!(job.concurrency >= 1 && job.concurrency <= 1024)) throw new Error(`concurrency ${job.concurrency} is out of range`);
  if (!(job.maxRequests >= 1 && job.maxSeconds > 0 && job.maxSeconds <= 600)) throw new Error('a measurement must be bounded (requests ≥ 1, 0 < seconds ≤ 600)');
  const requests = buildRequests(job);
  const latencies = new Float64Array(job.maxRequests);
  let done = 0;
  let errors = 0;
  let firstError;
  let sent = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + job.maxSeconds * 1000;

  return new Promise((resolve) => {
    let open = job.concurrency;
    const finish = () => {
      if (--open > 0) return;
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      resolve({ latencies: latencies.slice(0, done), errors, firstError, seconds, cpuMs: (cpu.user + cpu.system) / 1000 });
    };
    const connection = () => {
      let buf = Buffer.alloc(0);
      let t0 = 0;
      let waiting = false;
      let closed = false;
      let connected = false;
      const socket = net.connect({ host: job.host, port: job.port });
      socket.setNoDelay(true);
      const next = () => {
        if (sent >= job.maxRequests || performance.now() >= deadline) {
          closed = true;
          socket.destroy();
          finish();
          return;
        }
        const req = requests[sent++ % requests.length];
        waiting = true;
        t0 = performance.now();
        socket.write(req);
      };
      const fail = (message) => {
        if (closed) return;
        closed = true;
        if (waiting || !connected) {
          errors++;
          firstError ??= message;
        }
        socket.destroy();
        // a new connection takes this one's place, as a client's keep-alive pool would (after a pause when the
        // server refused us, so a dead server costs a bounded number of attempts rather than a busy loop)
        if (sent < job.maxRequests && performance.now() < deadline) setTimeout(connection, connected ? 0 : 20);
        else finish();
      };
      socket.on('connect', () => {
        connected = true;
        next();
      });
      socket.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const res = parseResponse(buf);
        if (!res) return;
        const t = performance.now() - t0;
        waiting = false;
        buf = buf.subarray(res.end);
        if (res.status >= 200 && res.status < 300) latencies[done++] = t;
        else {
          errors++;
          firstError ??= `HTTP ${res.status}: ${res.body.toString('utf8', 0, Math.min(res.body.length, 300))}`;
        }
        if (res.close) {
          closed = true;
          socket.destroy();
          if (sent < job.maxRequests && performance.now() < deadline) connection();
          else finish();
          return;
        }
        next();
      });
      socket.on('error', (err) => fail(err.message));
      socket.on('close', () => fail('connection closed by the server'));
    };
    for (let i = 0; i < job.concurrency; i++) connection();
  });
}

if (!process.send) {
  console.error('loadgen.js is driven by bench/serving/benchmark.ts over IPC');
  process.exit(2);
}
process.on('message', (job) => {
  run(job).then(
    (result) => process.send({ ok: true, result }),
    (err) => process.send({ ok: false, error: String(err && err.message) }),
  );
});
process.on('disconnect', () => process.exit(0));
