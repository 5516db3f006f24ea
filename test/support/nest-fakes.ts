import type { Provider } from '@nestjs/common';
import { CallLog, strictFake } from './strict-fake';

/**
 * What Nest reads of every provider in a testing module: its constructor (discovery) and its
 * lifecycle hooks. A strict fake answers these as absent; anything else the test did not give
 * it still throws.
 */
const NEST_PROBES = {
  constructor: undefined,
  onModuleInit: undefined,
  onApplicationBootstrap: undefined,
  onModuleDestroy: undefined,
  beforeApplicationShutdown: undefined,
  onApplicationShutdown: undefined,
};

/** A strict fake (strict-fake.ts) with `members`, bound at the abstract-class token `token`. */
export function provideFake<T extends object>(
  token: abstract new (...args: never[]) => T,
  members: Partial<T>,
  log?: CallLog,
): Provider {
  // Descriptors, not a spread: a getter among the members stays a getter.
  const target = Object.defineProperties({ ...NEST_PROBES }, Object.getOwnPropertyDescriptors(members));
  return { provide: token, useValue: strictFake<T>(token.name, target as unknown as Partial<T>, log) };
}
