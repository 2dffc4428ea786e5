/** The harness itself: each server starts on a free port, answers, stops, and gives its port back. */
import * as fs from 'node:fs';

import { Connection } from '@temporalio/client';

import { httpStatus, isPortFree, tcpOpen } from './net';
import { MLCYCLE_SEARCH_ATTRIBUTE_NAMES, startMinio, startTemporalDevServer } from './servers';

describe('startTemporalDevServer', () => {
  it('serves the default namespace with our search attributes, then stops and frees its port', async () => {
    const server = await startTemporalDevServer();
    try {
      expect(await tcpOpen(server.port)).toBe(true);
      const connection = await Connection.connect({ address: server.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: server.namespace });
        expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining([...MLCYCLE_SEARCH_ATTRIBUTE_NAMES]));
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
    expect(await isPortFree(server.port)).toBe(true);
    expect(fs.existsSync(server.dataDir)).toBe(false);
  });
});

describe('startMinio', () => {
  it('reports ready, refuses anonymous listing, then stops and frees its port', async () => {
    const server = await startMinio();
    try {
      expect(await httpStatus(`${server.endpoint}/minio/health/ready`)).toBe(200);
      expect(await httpStatus(`${server.endpoint}/`)).toBe(403);
    } finally {
      await server.stop();
    }
    expect(await isPortFree(server.port)).toBe(true);
    expect(await httpStatus(`${server.endpoint}/minio/health/ready`, 500)).toBe(0);
    expect(fs.existsSync(server.dataDir)).toBe(false);
  });
});
