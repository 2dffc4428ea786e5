import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export const ROLES = ['admin', 'data-scientist', 'reviewer', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** An API key: only its sha256 is stored; the secret is shown once, when it is created. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** the identity recorded as actor for everything done with this key */
  @Column({ type: 'varchar', length: 200 })
  identity!: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  keyHash!: string;

  /** the first characters of the key, to tell keys apart in listings */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ type: 'simple-json' })
  roles!: Role[];

  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @CreateDateColumn()
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  revokedAt!: Date | null;
}
