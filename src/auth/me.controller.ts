import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import { Caller, CurrentCaller } from './caller';
import { Role, ROLES } from './roles';

export class MeDto {
  @ApiProperty({ enum: ['key', 'user'], enumName: 'CredentialKind' })
  kind: 'key' | 'user';

  @ApiProperty({ description: "The key's or user's id ('admin-key' for ADMIN_API_KEY)" })
  id: string;

  @ApiProperty({ description: 'Key name or username' })
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  role: Role;

  @ApiProperty({ type: [String], nullable: true, description: 'Model patterns the credential may touch; null = all' })
  models: string[] | null;
}

@ApiTags('auth')
@Controller('api/v1/auth/me')
export class MeController {
  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({ operationId: 'getCurrentCaller', summary: 'The credential making this request' })
  @ApiOkResponse({ type: MeDto })
  me(@CurrentCaller() caller: Caller): MeDto {
    const { principal } = caller;
    return {
      kind: principal.kind === 'user' ? 'user' : 'key',
      id: principal.id,
      name: principal.name,
      role: principal.role,
      models: principal.models ? [...principal.models] : null,
    };
  }
}
