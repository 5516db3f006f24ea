import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { PASSWORD_MAX_LENGTH, USERNAME_PATTERN, USERNAME_RULE } from '../users/username';

export class LoginDto {
  @ApiProperty({ pattern: USERNAME_PATTERN.source, example: 'alice' })
  @IsString({ message: 'username must be a string' })
  @Matches(USERNAME_PATTERN, { message: `username ${USERNAME_RULE}` })
  username: string;

  @ApiProperty({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, format: 'password', writeOnly: true })
  @IsString({ message: 'password must be a string' })
  // Not the creation minimum: a stored password stays usable if the rule for new ones is raised.
  @Length(1, PASSWORD_MAX_LENGTH, { message: `password must be 1 to ${PASSWORD_MAX_LENGTH} characters` })
  password: string;
}

export class AccessTokenDto {
  @ApiProperty({ description: 'A JWT: send it as "Authorization: Bearer <accessToken>"' })
  accessToken: string;

  @ApiProperty({ type: 'integer', description: 'Seconds until the access token expires', example: 900 })
  expiresIn: number;

  @ApiProperty({ enum: ['Bearer'], enumName: 'TokenType' })
  tokenType: 'Bearer';
}
