/**
 * Entry point of one inference pool thread (pool.ts): holds an onnxruntime session per loaded model version and
 * runs batches on them. session.run is synchronous native work, which is why it lives here and not on the API's
 * event loop. Messages are handled strictly in arrival order, so an `unload` sent after a `run` always waits for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../core/threads';
import { encodeModel, GraphBuilder } from '../ml/onnx/model';
import { createOnnxSession } from '../ml/onnx/runner';
import type { OrtSession } from '../ml/onnx/ort';
import type { PoolReply, PoolRequest } from './pool-protocol';
import { feedsOf, outputsOf } from './session-io';

const sessions = new Map<string, OrtSession>();
const port = parentPort!;

// Below the API thread's priority: when cores are scarce the event loop goes first, inference takes what is left.
lowerThreadPriority(Number((workerData as { nice?: number } | undefined)?.nice ?? 0));

/**
 * onnxruntime's one-time start-up in this thread, done with a one-node model before any real load, so the load time
 * a version reports (which decides whether it may also load on the event loop) is the model's own.
 */
async function startOnnxruntime(): Promise<void> {
  const g = new GraphBuilder('warm-up');
  g.input('x', 'float', [1]);
  g.node('Identity', ['x'], [g.reserve('y')]);
  g.output('y', 'float', [1]);
  const session = await createOnnxSession(encodeModel({ producerName: 'mlcycle', graph: g.build() }));
  await session.release();
}
const ready = startOnnxruntime().catch(() => undefined); // a failure here resurfaces, with its reason, at the first load

function valueInfo(meta: OrtSession['inputMetadata']) {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

async function handle(msg: PoolRequest): Promise<PoolReply | undefined> {
  switch (msg.t) {
    case 'load': {
      try {
        await ready;
        const started = performance.now();
        const session = sessions.get(msg.key) ?? (await createOnnxSession(msg.bytes, { intraOpNumThreads: 1 }));
        const loadMs = performance.now() - started;
        sessions.set(msg.key, session);
        return { t: 'loaded', id: msg.id, inputs: valueInfo(session.inputMetadata), outputs: valueInfo(session.outputMetadata), loadMs };
      } catch (err) {
        return { t: 'error', id: msg.id, message: (err as Error).message };
      }
    }
    case 'unload': {
      const session = sessions.get(msg.key);
      sessions.delete(msg.key);
      await session?.release().catch(() => undefined);
      return { t: 'unloaded', id: msg.id };
    }
    case 'run': {
      const session = sessions.get(msg.key);
      if (!session) return { t: 'error', id: msg.id, message: `model ${msg.key} is not loaded in this worker` };
      try {
        const feeds = feedsOf(msg.columns, msg.rows);
        const started = performance.now();
        const result = await session.run(feeds, msg.fetches);
        const runMs = performance.now() - started;
        // Copies we own, so they can be transferred rather than cloned.
        const outputs = outputsOf(result, msg.fetches, true);
        const transfer = Object.values(outputs).flatMap((o) => (Array.isArray(o.data) ? [] : [o.data.buffer as ArrayBuffer]));
        port.postMessage({ t: 'result', id: msg.id, outputs, runMs } satisfies PoolReply, transfer);
        return undefined;
      } catch (err) {
        return { t: 'error', id: msg.id, message: (err as Error).message };
      }
    }
  }
}

// One message at a time, in order (see the header).
let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: PoolRequest) => {
  chain = chain.then(async () => {
    const reply = await handle(msg);
    if (reply) port.postMessage(reply);
  });
});
