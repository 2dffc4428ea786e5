#!/usr/bin/env node
/**
 * The benchmark's baseline: the least a Node server can do to answer the same Open Inference Protocol request with
 * onnxruntime-node — node:http, JSON.parse, one tensor per input, session.run on the event loop, JSON out. No
 * framework, no validation, no routing, logging or metrics. Same session options as mlcycle's pool threads.
 * Keep-alive (60 s idle timeout), one request → one session.run, the answer written in one piece.
 * Usage: node bare-server.js <model.onnx> <port>
 */
const fs = require('node:fs');
const http = require('node:http');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, port] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(fs.readFileSync(modelPath), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const feeds = {};
        let rows = 0;
        for (const input of body.inputs) {
          rows = input.shape[0];
          feeds[input.name] =
            input.datatype === 'BYTES' ? new ort.Tensor('string', input.data.flat(), [rows, 1]) : new ort.Tensor('float32', Float32Array.from(input.data.flat()), [rows, 1]);
        }
        const out = await session.run(feeds);
        const outputs = session.outputNames.map((name) => ({
          name,
          datatype: out[name].type === 'string' ? 'BYTES' : 'FP32',
          shape: out[name].dims,
          data: Array.from(out[name].data),
        }));
        const json = JSON.stringify({ model_name: 'bench', model_version: '1', id: body.id, outputs });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err && err.message) }));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  // exit normally on the benchmark's SIGTERM (so --cpu-prof, when given, writes its profile)
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
