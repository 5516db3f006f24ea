import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { requestIdOf } from '../common/request-id';
import { AUTH_DISABLED_PRINCIPAL, Principal, principalOf } from './principal';

/** Who made a request and which request it was: what services need to authorize and audit a write. */
export interface Caller {
  principal: Principal;
  requestId: string;
}

export function callerOf(req: Request): Caller {
  return { principal: principalOf(req) ?? AUTH_DISABLED_PRINCIPAL, requestId: requestIdOf(req) };
}

/** The caller of the current request (set by the access guard before the handler runs). */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller =>
  callerOf(context.switchToHttp().getRequest<Request>()),
);
