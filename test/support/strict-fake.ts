/** Every call made on the fakes that share it, in order: `name.method` and the arguments. */
export type CallLog = { call: string; args: unknown[] }[];

/**
 * A strict stand-in for a class: only the members given exist. Reading any other member throws
 * (naming it), so a unit spec fails on a call it did not expect instead of getting undefined.
 * Calls of the given methods are appended to `log`, which fakes may share to assert the order
 * of calls across them. Values other than functions (getters of the real class) are returned as
 * they are.
 */
export function strictFake<T extends object>(name: string, members: Partial<T>, log: CallLog = []): T {
  return new Proxy(members as T, {
    get(target, property) {
      // Not a promise, and printable: await and util.inspect probe these.
      if (property === 'then' || typeof property === 'symbol') return undefined;
      if (!Object.prototype.hasOwnProperty.call(target, property)) {
        throw new Error(`Unexpected use of ${name}.${property}`);
      }
      const member = (target as Record<string, unknown>)[property];
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        log.push({ call: `${name}.${property}`, args });
        return (member as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The calls in `log`, names only. */
export function callNames(log: CallLog): string[] {
  return log.map((entry) => entry.call);
}
