import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Serving, rollout and access control: deployments, replica reports, traffic windows, approvals, API keys. */
export class ServingAndApprovals1764000000000 implements MigrationInterface {
  name = 'ServingAndApprovals1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isPostgres = queryRunner.connection.options.type === 'postgres';
    const ts = isPostgres ? 'timestamp' : 'datetime';
    const now = isPostgres ? 'now()' : "datetime('now')";
    const modelFk = { columnNames: ['modelId'], referencedTableName: 'models', referencedColumnNames: ['id'] };

    await queryRunner.createTable(
      new Table({
        name: 'deployments',
        columns: [
          { name: 'modelId', type: 'varchar', length: '36', isPrimary: true },
          { name: 'revision', type: 'integer' },
          { name: 'routes', type: 'text' },
          { name: 'shadow', type: 'text', isNullable: true },
          { name: 'stage', type: 'varchar', length: '16' },
          { name: 'rolloutWorkflowId', type: 'varchar', length: '200', isNullable: true },
          { name: 'stickyKeyHeader', type: 'varchar', length: '100', isNullable: true },
          { name: 'updatedAt', type: ts, default: now },
        ],
        foreignKeys: [modelFk],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'replica_status',
        columns: [
          { name: 'replicaId', type: 'varchar', length: '100', isPrimary: true },
          { name: 'modelId', type: 'varchar', length: '36', isPrimary: true },
          { name: 'revision', type: 'integer' },
          { name: 'loadedVersions', type: 'text' },
          { name: 'ready', type: 'boolean' },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'reportedAt', type: ts },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'serving_stats',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'version', type: 'integer' },
          { name: 'replicaId', type: 'varchar', length: '100' },
          { name: 'kind', type: 'varchar', length: '8' },
          { name: 'windowStart', type: ts },
          { name: 'requests', type: 'integer' },
          { name: 'errors', type: 'integer' },
          { name: 'latencyBuckets', type: 'text' },
          { name: 'predictions', type: 'text' },
          { name: 'agreements', type: 'integer', default: 0 },
        ],
      }),
    );
    await queryRunner.createIndex('serving_stats', new TableIndex({ name: 'IDX_serving_stats_model_window', columnNames: ['modelId', 'windowStart'] }));
    await queryRunner.createTable(
      new Table({
        name: 'approval_requests',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'version', type: 'integer' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'requiredApprovals', type: 'integer', default: 1 },
          { name: 'requestedBy', type: 'varchar', length: '200' },
          { name: 'workflowId', type: 'varchar', length: '200' },
          { name: 'decisions', type: 'text' },
          { name: 'reason', type: 'text' },
          { name: 'expiresAt', type: ts, isNullable: true },
          { name: 'createdAt', type: ts, default: now },
          { name: 'closedAt', type: ts, isNullable: true },
        ],
        foreignKeys: [modelFk],
      }),
    );
    await queryRunner.createIndex(
      'approval_requests',
      new TableIndex({ name: 'UQ_approval_model_version', columnNames: ['modelId', 'version'], isUnique: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'identity', type: 'varchar', length: '200' },
          { name: 'keyHash', type: 'varchar', length: '64', isUnique: true },
          { name: 'prefix', type: 'varchar', length: '16' },
          { name: 'roles', type: 'text' },
          { name: 'createdBy', type: 'varchar', length: '200' },
          { name: 'createdAt', type: ts, default: now },
          { name: 'revokedAt', type: ts, isNullable: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['api_keys', 'approval_requests', 'serving_stats', 'replica_status', 'deployments']) {
      await queryRunner.dropTable(table);
    }
  }
}
