/** Request and response shapes of /v1/api-keys. A listing never carries a key or its hash: only the prefix. */
import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsString, Matches } from 'class-validator';
import { ROLES } from '../../libs/registry';
import type { ApiKey, Role } from '../../libs/registry';

/** 1-200 printable ASCII characters without spaces at either end: it goes into logs and audit rows unescaped. */
export const IDENTITY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

export class CreateApiKeyBody {
  @ApiProperty({ example: 'alice@example.com', description: 'who acts with this key: recorded as owner, requestedBy, reviewer and audit actor' })
  @Matches(IDENTITY_PATTERN, { message: 'identity must be 1-200 printable ASCII characters without spaces at either end' })
  @IsString({ message: 'identity must be a string' }) // nearest the property: checked first
  identity!: string;

  @ApiProperty({
    enum: ROLES,
    isArray: true,
    example: ['data-scientist'],
    description: 'admin: everything; data-scientist: register models, upload data, start runs, read; reviewer: read, audit log, approvals; service: inference only',
  })
  @IsIn(ROLES, { each: true, message: `each role must be one of: ${ROLES.join(', ')}` })
  @ArrayUnique({ message: 'roles must not repeat' })
  @ArrayMaxSize(ROLES.length)
  @ArrayNotEmpty({ message: 'roles must name at least one role' })
  @IsArray({ message: 'roles must be a list' })
  roles!: Role[];
}

export class ApiKeyView {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'alice@example.com' })
  identity!: string;

  @ApiProperty({ enum: ROLES, isArray: true })
  roles!: Role[];

  @ApiProperty({ example: 'mlc_Q2xhdWRl', description: 'the first characters of the key, to tell keys apart' })
  prefix!: string;

  @ApiProperty({ description: 'the identity that created the key' })
  createdBy!: string;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty({ nullable: true, type: Date })
  revokedAt!: Date | null;
}

export class ApiKeyCreated extends ApiKeyView {
  @ApiProperty({ example: 'mlc_Q2xhdWRlIGlzIG5vdCBhIHJlYWwga2V5LCBqdXN0IGFuIGV4YW1wbGU', description: 'the key itself: shown this once, never stored' })
  key!: string;
}

export function toApiKeyView({ id, identity, roles, prefix, createdBy, createdAt, revokedAt }: ApiKey): ApiKeyView {
  return { id, identity, roles, prefix, createdBy, createdAt, revokedAt };
}
