import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export type AlertKind = 'drift' | 'prediction_drift' | 'label_drift' | 'quality_drop' | 'data_quality';

/** A threshold breach found by a monitoring window. The id derives from report and kind: one alert per kind per window. */
@Entity('alerts')
@Index(['modelId', 'createdAt'])
@Index(['reportId', 'kind'], { unique: true })
export class Alert {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'varchar', length: 36 })
  reportId!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: AlertKind;

  @Column({ type: 'text' })
  reason!: string;

  @CreateDateColumn()
  createdAt!: Date;
}
