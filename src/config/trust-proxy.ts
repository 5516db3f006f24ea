import { isIP } from 'node:net';
import { ValidateBy, ValidationOptions } from 'class-validator';

/** Named ranges Express (proxy-addr) knows. */
const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** Express's `trust proxy` setting: false, true, a hop count, or the addresses and subnets of the proxies. */
export type TrustProxy = boolean | number | string[];

function isAddressOrSubnet(part: string): boolean {
  const [address, prefix, ...rest] = part.split('/');
  if (rest.length > 0) return false;
  if (RANGE_NAMES.includes(address)) return prefix === undefined;
  const family = isIP(address);
  if (family === 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** Whether TRUST_PROXY can be handed to Express without it throwing at start. */
export function isTrustProxy(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const trimmed = value.trim();
  if (/^(true|false|\d{1,2})$/.test(trimmed)) return true;
  return trimmed.split(',').every((part) => isAddressOrSubnet(part.trim()));
}

export function parseTrustProxy(value: string): TrustProxy {
  const trimmed = value.trim();
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  if (/^\d{1,2}$/.test(trimmed)) return Number(trimmed);
  return trimmed.split(',').map((part) => part.trim());
}

export function IsTrustProxy(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTrustProxy',
      validator: {
        validate: isTrustProxy,
        defaultMessage: () =>
          'must be false, true, a hop count, or a comma-separated list of proxy addresses or subnets (loopback, 10.0.0.0/8, ...)',
      },
    },
    options,
  );
}
