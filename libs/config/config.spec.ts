import { ConfigError, loadConfig, taskQueue } from './config';

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
});
