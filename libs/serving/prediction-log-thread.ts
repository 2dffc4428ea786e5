/**
 * The prediction log's thread (prediction-log.ts): serializes each record as it arrives and hands sealed objects
 * back to the API thread, which names and uploads them. Messages are handled in arrival order, so a `seal` reply
 * follows every object sealed before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../core/threads';
import { LogObjectAssembler, unpackRecords } from './prediction-log-encoding';
import type { SealedObject } from './prediction-log-encoding';
import type { LogThreadReply, LogThreadRequest } from './prediction-log';

const data = workerData as { batchSize: number; nice?: number };
const port = parentPort!;
const assembler = new LogObjectAssembler(data.batchSize);

// Below the API thread's priority, like the inference threads: the event loop goes first when cores are scarce.
lowerThreadPriority(Number(data.nice ?? 0));

function post(objects: SealedObject[]): void {
  for (const o of objects) port.postMessage({ t: 'object', object: o } satisfies LogThreadReply, [o.body.buffer as ArrayBuffer]);
}

port.on('message', (msg: LogThreadRequest) => {
  if (msg.t === 'add') {
    for (const record of unpackRecords(msg.packed)) post(assembler.add(record));
  } else {
    post(assembler.sealAll());
    port.postMessage({ t: 'sealed', id: msg.id } satisfies LogThreadReply);
  }
});
