import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ModelSpec } from '../../ml/spec';

/** A named model: its current spec and who owns it. Versions, runs and datasets hang off it. */
@Entity('models')
export class Model {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 200 })
  owner!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'simple-json' })
  spec!: ModelSpec;

  @Column({ type: 'varchar', length: 64 })
  specHash!: string;

  /** the version that currently serves as the reference (alias `champion`) */
  @Column({ type: 'integer', nullable: true })
  championVersion!: number | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;
}
