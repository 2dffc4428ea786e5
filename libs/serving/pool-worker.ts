/**
 * Entry point of one inference pool thread (pool.ts): holds an onnxruntime session per loaded model version and
 * runs batches on them. session.run is synchronous native work, which is why it lives here and not on the API's
 * event loop. Messages are handled strictly in arrival order, so an `unload` sent after a `run` always waits for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../core/threads';
import { createOnnxSession } from '../ml/onnx/runner';
import { float32Tensor, stringTensor } from '../ml/onnx/ort';
import type { OrtSession, OrtTensor } from '../ml/onnx/ort';
import type { PoolReply, PoolRequest } from './pool-protocol';

const sessions = new Map<string, OrtSession>();
const port = parentPort!;

// Below the API thread's priority: when cores are scarce the event loop goes first, inference takes what is left.
lowerThreadPriority(Number((workerData as { nice?: number } | undefined)?.nice ?? 0));

function valueInfo(meta: OrtSession['inputMetadata']) {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

async function handle(msg: PoolRequest): Promise<PoolReply | undefined> {
  switch (msg.t) {
    case 'load': {
      try {
        const existing = sessions.get(msg.key);
        const session = existing ?? (await createOnnxSession(msg.bytes, { intraOpNumThreads: 1 }));
        sessions.set(msg.key, session);
        return { t: 'loaded', id: msg.id, inputs: valueInfo(session.inputMetadata), outputs: valueInfo(session.outputMetadata) };
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
        const feeds: Record<string, OrtTensor> = {};
        for (const [name, data] of Object.entries(msg.columns)) {
          feeds[name] = Array.isArray(data) ? stringTensor(data, [msg.rows, 1]) : float32Tensor(data, [msg.rows, 1]);
        }
        const started = performance.now();
        const result = await session.run(feeds, msg.fetches);
        const runMs = performance.now() - started;
        const outputs: Record<string, { dims: number[]; data: Float32Array | string[] }> = {};
        const transfer: ArrayBuffer[] = [];
        for (const name of msg.fetches) {
          const t = result[name];
          if (t.type === 'string') outputs[name] = { dims: [...t.dims], data: t.data as string[] };
          else {
            // A copy we own, so it can be transferred rather than cloned.
            const data = new Float32Array(t.data as Float32Array);
            outputs[name] = { dims: [...t.dims], data };
            transfer.push(data.buffer);
          }
        }
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
