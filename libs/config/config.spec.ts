import * as os from 'node:os';
import { ConfigError, loadConfig, MAX_AUTO_API_PROCESSES, taskQueue } from './config';

describe('loadConfig', () => {
  test('embedded defaults: SQLite in the data directory, local Temporal and MinIO', () => {
    const config = loadConfig({ MLCYCLE_DATA_DIR: '/srv/mlcycle' });
    expect(config.db).toEqual({ type: 'sqlite', path: '/srv/mlcycle/registry.sqlite', logging: false });
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.workDir).toBe('/srv/mlcycle/work');
    expect(config.uploadMaxBytes).toBe(1024 ** 3);
    expect(config.httpAllowlist).toEqual([]);
  });

  test('every bad variable is named with what is expected, all at once', () => {
    let error: unknown;
    try {
      loadConfig({ MLCYCLE_API_PORT: '99999', MLCYCLE_TEMPORAL_ADDRESS: 'localhost', MLCYCLE_S3_BUCKET: 'Bad_Bucket' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/MLCYCLE_API_PORT="99999"/);
    expect(message).toMatch(/MLCYCLE_TEMPORAL_ADDRESS="localhost": must be host:port/);
    expect(message).toMatch(/MLCYCLE_S3_BUCKET="Bad_Bucket": must be a valid S3 bucket name/);
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  test('PostgreSQL needs a URL', () => {
    expect(() => loadConfig({ MLCYCLE_DB_TYPE: 'postgres' })).toThrow(/MLCYCLE_DB_URL: required when MLCYCLE_DB_TYPE=postgres/);
    expect(loadConfig({ MLCYCLE_DB_TYPE: 'postgres', MLCYCLE_DB_URL: 'postgres://u:p@db:5432/reg' }).db).toMatchObject({ type: 'postgres' });
  });

  test('the HTTP allow-list is a trimmed, lower-cased host list', () => {
    expect(loadConfig({ MLCYCLE_HTTP_ALLOWLIST: ' Data.Example.org, ,files.internal ' }).httpAllowlist).toEqual(['data.example.org', 'files.internal']);
  });

  test('task queues take the optional prefix', () => {
    expect(taskQueue(loadConfig({}), 'mlcycle-control')).toBe('mlcycle-control');
    expect(taskQueue(loadConfig({ MLCYCLE_TASK_QUEUE_PREFIX: 'tenant-a' }), 'mlcycle-control')).toBe('tenant-a-mlcycle-control');
  });

  test('the bootstrap admin key is optional, at least 24 printable characters, and never echoed', () => {
    expect(loadConfig({}).adminKey).toBeUndefined();
    expect(loadConfig({ MLCYCLE_ADMIN_KEY: '' }).adminKey).toBeUndefined();
    const key = 'mlc_0123456789abcdefghijklmnop';
    expect(loadConfig({ MLCYCLE_ADMIN_KEY: key }).adminKey).toBe(key);

    for (const bad of ['too-short-secret', 'has spaces in it but is long enough']) {
      let error: unknown;
      try {
        loadConfig({ MLCYCLE_ADMIN_KEY: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toMatch(/MLCYCLE_ADMIN_KEY \(value hidden, \d+ characters\): must be/);
      expect(message).not.toContain(bad);
    }
    expect(() => loadConfig({ MLCYCLE_ADMIN_KEY: 'short' })).toThrow(/MLCYCLE_ADMIN_KEY .*at least 24 characters/);
  });

  test('the S3 secret is not echoed either', () => {
    expect(() => loadConfig({ MLCYCLE_S3_SECRET_KEY: 'abc' })).toThrow(/MLCYCLE_S3_SECRET_KEY \(value hidden, 3 characters\)/);
  });

  test('API processes: one per core by default (at most 4), or the number given', () => {
    const cores = os.availableParallelism();
    expect(loadConfig({}).api.processes).toBe(Math.min(MAX_AUTO_API_PROCESSES, cores));
    expect(loadConfig({ MLCYCLE_API_PROCESSES: 'auto' }).api.processes).toBe(Math.min(MAX_AUTO_API_PROCESSES, cores));
    expect(loadConfig({ MLCYCLE_API_PROCESSES: ' 1 ' }).api.processes).toBe(1);
    expect(loadConfig({ MLCYCLE_API_PROCESSES: '12' }).api.processes).toBe(12);
    for (const bad of ['0', '65', 'two', '1.5']) {
      expect(() => loadConfig({ MLCYCLE_API_PROCESSES: bad })).toThrow(new RegExp(`MLCYCLE_API_PROCESSES="${bad.replace('.', '\\.')}": must be auto or a whole number from 1 to 64`));
    }
  });

  test('with several API processes, each gets its share of the cores for inference', () => {
    const cores = os.availableParallelism();
    const one = loadConfig({ MLCYCLE_API_PROCESSES: '1' }).serving;
    expect(one.threads).toBe(cores);
    expect(one.coreShare).toBe(cores);
    const auto = loadConfig({}).serving;
    const processes = Math.min(MAX_AUTO_API_PROCESSES, cores);
    expect(auto.threads).toBe(Math.max(1, Math.floor(cores / processes)));
    expect(auto.coreShare).toBe(cores / processes);
  });
});
