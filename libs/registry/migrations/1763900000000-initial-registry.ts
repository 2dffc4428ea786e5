import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first registry schema. Written with TypeORM's portable Table API so one migration serves SQLite (the
 * embedded default) and PostgreSQL (production); only the timestamp type and the append-only triggers differ.
 */
export class InitialRegistry1763900000000 implements MigrationInterface {
  name = 'InitialRegistry1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isPostgres = queryRunner.connection.options.type === 'postgres';
    const ts = isPostgres ? 'timestamp' : 'datetime';
    const now = isPostgres ? 'now()' : "datetime('now')";
    const id = { name: 'id', type: 'varchar', length: '36', isPrimary: true };
    const created = { name: 'createdAt', type: ts, default: now };
    const updated = { name: 'updatedAt', type: ts, default: now };

    await queryRunner.createTable(
      new Table({
        name: 'models',
        columns: [
          id,
          { name: 'name', type: 'varchar', length: '63', isUnique: true },
          { name: 'owner', type: 'varchar', length: '200' },
          { name: 'description', type: 'text', isNullable: true },
          { name: 'spec', type: 'text' },
          { name: 'specHash', type: 'varchar', length: '64' },
          { name: 'championVersion', type: 'integer', isNullable: true },
          created,
          updated,
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'dataset_snapshots',
        columns: [
          id,
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'sha256', type: 'varchar', length: '64' },
          { name: 'source', type: 'text' },
          { name: 'format', type: 'varchar', length: '16' },
          { name: 'objectKey', type: 'text' },
          { name: 'sizeBytes', type: 'bigint' },
          { name: 'schema', type: 'text', isNullable: true },
          { name: 'rowCount', type: 'integer', isNullable: true },
          { name: 'profileKey', type: 'text', isNullable: true },
          { name: 'validationReportKey', type: 'text', isNullable: true },
          { name: 'validationStatus', type: 'varchar', length: '16', default: "'pending'" },
          created,
        ],
        foreignKeys: [{ columnNames: ['modelId'], referencedTableName: 'models', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createIndex(
      'dataset_snapshots',
      new TableIndex({ name: 'UQ_dataset_model_sha256', columnNames: ['modelId', 'sha256'], isUnique: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'training_runs',
        columns: [
          id,
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'steps', type: 'text' },
          { name: 'source', type: 'text' },
          { name: 'specHash', type: 'varchar', length: '64' },
          { name: 'workflowId', type: 'varchar', length: '200' },
          { name: 'workflowRunId', type: 'varchar', length: '64', isNullable: true },
          { name: 'idempotencyKey', type: 'varchar', length: '200', isNullable: true },
          { name: 'datasetId', type: 'varchar', length: '36', isNullable: true },
          { name: 'evaluation', type: 'text', isNullable: true },
          { name: 'version', type: 'integer', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'requestedBy', type: 'varchar', length: '200' },
          created,
          updated,
          { name: 'finishedAt', type: ts, isNullable: true },
        ],
        foreignKeys: [{ columnNames: ['modelId'], referencedTableName: 'models', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createIndex(
      'training_runs',
      new TableIndex({ name: 'UQ_run_model_idempotency', columnNames: ['modelId', 'idempotencyKey'], isUnique: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'model_versions',
        columns: [
          id,
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'version', type: 'integer' },
          { name: 'runId', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '24', default: "'registered'" },
          { name: 'metrics', type: 'text' },
          { name: 'lineage', type: 'text' },
          { name: 'artifacts', type: 'text' },
          created,
        ],
        foreignKeys: [
          { columnNames: ['modelId'], referencedTableName: 'models', referencedColumnNames: ['id'] },
          { columnNames: ['runId'], referencedTableName: 'training_runs', referencedColumnNames: ['id'] },
        ],
      }),
    );
    await queryRunner.createIndex(
      'model_versions',
      new TableIndex({ name: 'UQ_version_model_version', columnNames: ['modelId', 'version'], isUnique: true }),
    );
    await queryRunner.createIndex(
      'model_versions',
      new TableIndex({ name: 'UQ_version_run', columnNames: ['runId'], isUnique: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'at', type: ts, default: now },
          { name: 'actor', type: 'varchar', length: '200' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'entityType', type: 'varchar', length: '32' },
          { name: 'entityId', type: 'varchar', length: '200' },
          { name: 'dedupeKey', type: 'varchar', length: '200', isNullable: true, isUnique: true },
          { name: 'details', type: 'text', isNullable: true },
        ],
      }),
    );
    // The audit log is append-only: the database itself refuses to rewrite history, whatever the code does.
    if (isPostgres) {
      await queryRunner.query(`CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql`);
      await queryRunner.query(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    } else {
      await queryRunner.query(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END`);
      await queryRunner.query(`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const isPostgres = queryRunner.connection.options.type === 'postgres';
    if (isPostgres) {
      await queryRunner.query('DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events');
      await queryRunner.query('DROP FUNCTION IF EXISTS audit_events_append_only()');
    }
    await queryRunner.dropTable('audit_events');
    await queryRunner.dropTable('model_versions');
    await queryRunner.dropTable('training_runs');
    await queryRunner.dropTable('dataset_snapshots');
    await queryRunner.dropTable('models');
  }
}
