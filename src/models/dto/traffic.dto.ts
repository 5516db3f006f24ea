import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_SPLIT_MEMBERS, MAX_WEIGHT } from '../traffic-policy';
import { versionRefSchema, VersionRef } from '../version-ref';

export class TrafficMemberDto {
  @ApiProperty(
    versionRefSchema(
      'When a request picks this member, an alias is resolved to its version at that moment; not `latest`. ' +
        'The version must be ready when the policy is set.',
    ),
  )
  version: VersionRef;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: MAX_WEIGHT,
    example: 90,
    description: 'Only the ratios matter (90/10 = 9/1); 0 keeps the member listed without traffic.',
  })
  weight: number;
}

export class StickyDto {
  @ApiProperty({
    example: 'X-User-Id',
    maxLength: 64,
    pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$",
    description:
      'A header name (RFC 9110 token; stored in lower case; not authorization, cookie, host, x-api-key and other ' +
      'credential or hop-by-hop headers). Requests carrying it with the same value always land on the same member; ' +
      'requests without it are split at random by weight.',
  })
  header: string;
}

/**
 * PUT /api/v1/models/{name}/traffic, and what GET returns. Read by readTrafficPolicy (its checks
 * name the field); this class only documents it.
 */
export class TrafficPolicyDto {
  @ApiProperty({
    type: [TrafficMemberDto],
    minItems: 1,
    maxItems: MAX_SPLIT_MEMBERS,
    description: `1 to ${MAX_SPLIT_MEMBERS} distinct members; at least one weight above 0.`,
  })
  split: TrafficMemberDto[];

  @ApiPropertyOptional({ type: StickyDto, nullable: true })
  sticky: StickyDto | null;
}
