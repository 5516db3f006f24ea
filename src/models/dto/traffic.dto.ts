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

export class ShadowDto {
  @ApiProperty(
    versionRefSchema(
      'The version that gets the copies; an alias is resolved when a request is mirrored. Not `latest`, not a ' +
        'member of the split (nor an alias of one); it must be ready when the policy is set.',
    ),
  )
  version: VersionRef;

  @ApiProperty({
    type: 'number',
    minimum: 0,
    maximum: 100,
    example: 100,
    description: 'Share of the requests the split serves that are mirrored (fractions allowed).',
  })
  percent: number;
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

  @ApiPropertyOptional({
    type: ShadowDto,
    nullable: true,
    description:
      'Mirrors `percent`% of the requests the split serves (those naming no version that ran the model, not cache ' +
      'hits) to another version once their response has gone: its result goes to the prediction log (role ' +
      '`shadow`, linked to the served row) and to GET .../traffic/stats, never to the client; it does not count ' +
      "against the client's rate limit, does not use the prediction cache, and is dropped (counted) when " +
      'SHADOW_MAX_IN_FLIGHT shadow runs of the model are already in flight.',
  })
  shadow?: ShadowDto | null;
}
