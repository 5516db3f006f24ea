import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/api-errors.decorator';
import { Page, PageQueryDto } from '../../common/pagination';
import { Access } from '../access.decorator';
import { Caller, CurrentCaller } from '../caller';
import { CreateUserDto, UpdateUserDto, UserDto, UserPageDto } from './user.dto';
import { UsernamePipe } from './username';
import { UsersService } from './users.service';

@ApiTags('auth')
@Access()
@Controller('api/v1/auth/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ operationId: 'createUser', summary: 'Create a user (admin); the password is stored only hashed' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiErrors(400, 409, 413, 415, 503)
  create(@Body() dto: CreateUserDto, @CurrentCaller() caller: Caller): Promise<UserDto> {
    return this.users.create(dto, caller);
  }

  @Get()
  @ApiOperation({ operationId: 'listUsers', summary: 'List users (admin)' })
  @ApiOkResponse({ type: UserPageDto })
  @ApiErrors(400)
  list(@Query() query: PageQueryDto): Promise<Page<UserDto>> {
    return this.users.list(query);
  }

  @Get(':username')
  @ApiOperation({ operationId: 'getUser', summary: 'Read a user (admin)' })
  @ApiOkResponse({ type: UserDto })
  @ApiErrors(400, 404)
  get(@Param('username', UsernamePipe) username: string): Promise<UserDto> {
    return this.users.get(username);
  }

  @Patch(':username')
  @ApiOperation({
    operationId: 'updateUser',
    summary: "Change a user's role or password (admin), at once on every replica",
    description: 'A new role applies to access tokens already issued. A new password ends every session of the user.',
  })
  @ApiOkResponse({ type: UserDto })
  @ApiErrors(400, 404, 413, 415, 503)
  update(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: UpdateUserDto,
    @CurrentCaller() caller: Caller,
  ): Promise<UserDto> {
    return this.users.update(username, dto, caller);
  }

  @Delete(':username')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteUser', summary: 'Delete a user (admin); their tokens stop working at once' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  delete(@Param('username', UsernamePipe) username: string, @CurrentCaller() caller: Caller): Promise<void> {
    return this.users.delete(username, caller);
  }
}
