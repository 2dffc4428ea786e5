/**
 * Boots the REST API in-process for the api-* e2e suites, exactly as api/main.ts does, against the shared test
 * Temporal and MinIO (test/support) and a fresh database: a temp SQLite file, or a new PostgreSQL database when
 * MLCYCLE_TEST_PG_URL is set. Each app gets its own bucket and task-queue prefix, so suites never see each
 * other's objects or workflows, and its own random bootstrap admin key; `keyFor` mints keys for other roles and
 * identities through the API, as an admin would.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Client } from '@temporalio/client';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';

import { AppModule } from '../../api/app.module';
import { APP_OPTIONS, configureApp } from '../../api/setup';
import { TEMPORAL_CLIENT } from '../../api/temporal/temporal.module';
import { ArtifactStore } from '../../libs/artifacts';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { RegistryService } from '../../libs/registry';
import type { Role } from '../../libs/registry';
import { appEnvForTests, createTestPostgresDatabase, describeWithPostgres, postgresSkipReason, tempSqlitePath } from '../support';

export type DbKind = 'sqlite' | 'postgres';

/** The databases to run each suite on: SQLite always, PostgreSQL when the harness provides one. */
export const DATABASES: DbKind[] = postgresSkipReason() ? ['sqlite'] : ['sqlite', 'postgres'];

/**
 * Runs a suite on SQLite, and again on PostgreSQL when the harness provides one; without it the PostgreSQL copy
 * shows as skipped, with the reason in its name.
 */
export function describeEachDatabase(title: string, body: (db: DbKind) => void): void {
  describe(`${title} (sqlite)`, () => body('sqlite'));
  describeWithPostgres(`${title} (postgres)`, () => body('postgres'));
}

export interface ApiTestApp {
  app: NestExpressApplication;
  /** http://127.0.0.1:<port> */
  url: string;
  config: AppConfig;
  temporal: Client;
  store: ArtifactStore;
  registry: RegistryService;
  /** the bootstrap admin key (MLCYCLE_ADMIN_KEY; identity `bootstrap-admin`) */
  adminKey: string;
  /** supertest against the app, sending `key` as a Bearer token on every request (default: the admin key) */
  http(key?: string): TestAgent;
  /** A key for `identity` with `roles`, created through POST /v1/api-keys once per identity and roles. */
  keyFor(roles: Role | Role[], identity?: string): Promise<string>;
  /** `http(await keyFor(roles, identity))` */
  as(roles: Role | Role[], identity?: string): Promise<TestAgent>;
  /** object keys currently in the app's bucket under `prefix` */
  listObjects(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startApiApp(db: DbKind, overrides: Record<string, string> = {}): Promise<ApiTestApp> {
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-api-e2e-'));
  const pg = db === 'postgres' ? await createTestPostgresDatabase() : undefined;
  const adminKey = overrides.MLCYCLE_ADMIN_KEY ?? `mlc_test_admin_${randomBytes(18).toString('base64url')}`;
  const env = appEnvForTests({
    MLCYCLE_DATA_DIR: dataDir,
    MLCYCLE_S3_BUCKET: `api-e2e-${suffix}`,
    MLCYCLE_TASK_QUEUE_PREFIX: `api-e2e-${suffix}`,
    MLCYCLE_HTTP_ALLOWLIST: 'data.example.org',
    MLCYCLE_UPLOAD_MAX_BYTES: String(64 * 1024),
    MLCYCLE_LOG_LEVEL: 'warn',
    MLCYCLE_ADMIN_KEY: adminKey,
    ...(pg ? { MLCYCLE_DB_TYPE: 'postgres', MLCYCLE_DB_URL: pg.url } : { MLCYCLE_DB_TYPE: 'sqlite', MLCYCLE_DB_PATH: tempSqlitePath() }),
    ...overrides,
  });
  // Configuration is read when the module compiles; put the environment back right after.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let app: NestExpressApplication;
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ ...APP_OPTIONS, logger: ['fatal', 'error'] });
  } catch (err) {
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const store = app.get(ArtifactStore);
  const url = `http://127.0.0.1:${address.port}`;
  const http = (key = adminKey): TestAgent => request.agent(url).set('Authorization', `Bearer ${key}`);
  const minted = new Map<string, Promise<string>>();
  const keyFor = (roles: Role | Role[], identity?: string): Promise<string> => {
    const list = Array.isArray(roles) ? roles : [roles];
    const who = identity ?? `${list.join('+')}@e2e`;
    const cacheKey = `${who}\n${[...list].sort().join(',')}`;
    let key = minted.get(cacheKey);
    if (!key) {
      key = http()
        .post('/v1/api-keys')
        .send({ identity: who, roles: list })
        .then((res) => {
          if (res.status !== 201) throw new Error(`minting a key for ${who} failed: ${res.status} ${JSON.stringify(res.body)}`);
          return res.body.key as string;
        });
      minted.set(cacheKey, key);
    }
    return key;
  };
  return {
    app,
    url,
    config: app.get<AppConfig>(APP_CONFIG),
    temporal: app.get<Client>(TEMPORAL_CLIENT),
    store,
    registry: app.get(RegistryService),
    adminKey,
    http,
    keyFor,
    async as(roles, identity) {
      return http(await keyFor(roles, identity));
    },
    async listObjects(prefix = '') {
      const keys: string[] = [];
      for await (const item of store.client.listObjectsV2(store.bucket, prefix, true)) {
        if ((item as { name?: string }).name) keys.push((item as { name: string }).name);
      }
      return keys;
    },
    async close() {
      await app.close();
      await pg?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid spec for a small classification model; `patch` overrides top-level fields. */
export function validSpec(name: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    description: 'penguin species from body measurements',
    task: 'multiclass_classification',
    target: 'species',
    features: { exclude: ['island'] },
    trainer: { name: 'gbdt', params: { max_iter: 20 } },
    evaluation: { primaryMetric: 'balanced_accuracy' },
    ...patch,
  };
}

/** A unique model name per test, so tests never depend on each other's models. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export const SMALL_CSV = ['species,bill_length,bill_depth,island', 'adelie,39.1,18.7,torgersen', 'gentoo,46.1,13.2,biscoe', 'chinstrap,46.5,17.9,dream', ''].join('\n');
