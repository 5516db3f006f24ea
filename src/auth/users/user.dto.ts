import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { PageDtoOf } from '../../common/pagination';
import { Role, ROLES } from '../roles';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN, USERNAME_RULE } from './username';

const PASSWORD_RULE = `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;

/** Optional but not nullable: an absent field is skipped, a `null` one is refused. */
const Present = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

export class CreateUserDto {
  @ApiProperty({ pattern: USERNAME_PATTERN.source, example: 'alice', description: USERNAME_RULE })
  @IsString({ message: 'username must be a string' })
  @Matches(USERNAME_PATTERN, { message: `username ${USERNAME_RULE}` })
  username: string;

  @ApiProperty({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
    writeOnly: true,
    description: 'Stored only as a scrypt hash; never returned',
  })
  @IsString({ message: 'password must be a string' })
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `password ${PASSWORD_RULE}` })
  password: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role: Role;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES, enumName: 'Role', description: 'Applies at once to existing access tokens' })
  @Present()
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
    writeOnly: true,
    description: 'A new password; ends every session of the user (refresh and access tokens) at once',
  })
  @Present()
  @IsString({ message: 'password must be a string' })
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `password ${PASSWORD_RULE}` })
  password?: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  role: Role;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt: string;
}

export const UserPageDto = PageDtoOf(UserDto, 'UserPageDto');
