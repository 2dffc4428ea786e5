import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Append-only audit log. The migration installs triggers that refuse UPDATE and DELETE on this table. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryGeneratedColumn()
  id!: number;

  @CreateDateColumn()
  at!: Date;

  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 32 })
  entityType!: string;

  @Column({ type: 'varchar', length: 200 })
  entityId!: string;

  /** makes an event written by a retried activity land once */
  @Column({ type: 'varchar', length: 200, nullable: true, unique: true })
  dedupeKey!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  details!: Record<string, unknown> | null;
}
