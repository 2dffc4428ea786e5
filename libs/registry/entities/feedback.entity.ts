import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Ground truth for one logged prediction, by request ID: a class label (classification) or a value (regression).
 * One per (model, request ID): the first answer stands, so a retried batch changes nothing.
 */
@Entity('feedback')
@Index(['modelId', 'requestId'], { unique: true })
@Index(['modelId', 'receivedAt'])
export class Feedback {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'varchar', length: 200 })
  requestId!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  label!: string | null;

  @Column({ type: 'double precision', nullable: true })
  value!: number | null;

  @Column({ type: Date })
  receivedAt!: Date;

  @Column({ type: 'varchar', length: 200 })
  receivedBy!: string;
}
