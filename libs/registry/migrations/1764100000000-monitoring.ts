import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Monitoring: window reports, ground-truth feedback, alerts and their webhook deliveries. */
export class Monitoring1764100000000 implements MigrationInterface {
  name = 'Monitoring1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isPostgres = queryRunner.connection.options.type === 'postgres';
    const ts = isPostgres ? 'timestamp' : 'datetime';
    const now = isPostgres ? 'now()' : "datetime('now')";
    const modelFk = { columnNames: ['modelId'], referencedTableName: 'models', referencedColumnNames: ['id'] };

    await queryRunner.createTable(
      new Table({
        name: 'monitoring_reports',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'windowStart', type: ts },
          { name: 'windowEnd', type: ts },
          { name: 'championVersion', type: 'integer', isNullable: true },
          { name: 'samples', type: 'integer' },
          { name: 'status', type: 'varchar', length: '24' },
          { name: 'datasetDrift', type: 'boolean', isNullable: true },
          { name: 'driftedColumns', type: 'text' },
          { name: 'summary', type: 'text' },
          { name: 'artifactKey', type: 'varchar', length: '300' },
          { name: 'createdAt', type: ts, default: now },
        ],
        foreignKeys: [modelFk],
      }),
    );
    // One report per model and window: a retried window computation rewrites its row instead of adding one.
    await queryRunner.createIndex(
      'monitoring_reports',
      new TableIndex({ name: 'UQ_monitoring_report_window', columnNames: ['modelId', 'windowStart', 'windowEnd'], isUnique: true }),
    );
    await queryRunner.createIndex('monitoring_reports', new TableIndex({ name: 'IDX_monitoring_report_timeline', columnNames: ['modelId', 'windowEnd'] }));

    await queryRunner.createTable(
      new Table({
        name: 'feedback',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'requestId', type: 'varchar', length: '200' },
          { name: 'label', type: 'varchar', length: '200', isNullable: true },
          { name: 'value', type: 'double precision', isNullable: true },
          { name: 'receivedAt', type: ts },
          { name: 'receivedBy', type: 'varchar', length: '200' },
        ],
        foreignKeys: [modelFk],
      }),
    );
    // The first label for a request stands: a resent batch is a no-op.
    await queryRunner.createIndex('feedback', new TableIndex({ name: 'UQ_feedback_model_request', columnNames: ['modelId', 'requestId'], isUnique: true }));
    await queryRunner.createIndex('feedback', new TableIndex({ name: 'IDX_feedback_model_received', columnNames: ['modelId', 'receivedAt'] }));

    await queryRunner.createTable(
      new Table({
        name: 'alerts',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'modelId', type: 'varchar', length: '36' },
          { name: 'reportId', type: 'varchar', length: '36' },
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'reason', type: 'text' },
          { name: 'createdAt', type: ts, default: now },
        ],
        foreignKeys: [modelFk, { columnNames: ['reportId'], referencedTableName: 'monitoring_reports', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createIndex('alerts', new TableIndex({ name: 'UQ_alert_report_kind', columnNames: ['reportId', 'kind'], isUnique: true }));
    await queryRunner.createIndex('alerts', new TableIndex({ name: 'IDX_alert_model_created', columnNames: ['modelId', 'createdAt'] }));

    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          { name: 'alertId', type: 'varchar', length: '36', isPrimary: true },
          { name: 'url', type: 'varchar', length: '500', isPrimary: true },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'lastStatus', type: 'integer', isNullable: true },
          { name: 'lastError', type: 'text', isNullable: true },
          { name: 'lastAttemptAt', type: ts, isNullable: true },
          { name: 'deliveredAt', type: ts, isNullable: true },
        ],
        foreignKeys: [{ columnNames: ['alertId'], referencedTableName: 'alerts', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['webhook_deliveries', 'alerts', 'feedback', 'monitoring_reports']) await queryRunner.dropTable(table);
  }
}
