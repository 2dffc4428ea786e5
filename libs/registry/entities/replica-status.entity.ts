import { Column, Entity, PrimaryColumn } from 'typeorm';

/** What one serving replica has loaded for one model, reported every reconcile tick. */
@Entity('replica_status')
export class ReplicaStatus {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  replicaId!: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  modelId!: string;

  /** the deployment revision this replica routes by */
  @Column({ type: 'integer' })
  revision!: number;

  @Column({ type: 'simple-json' })
  loadedVersions!: number[];

  @Column({ type: 'boolean' })
  ready!: boolean;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** a replica whose report is older than a few seconds is treated as gone */
  @Column({ type: Date })
  reportedAt!: Date;
}
