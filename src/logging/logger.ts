import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { scrubSecrets } from '../config/secrets';

/** Field names whose values are never written to the log, wherever they appear. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.password',
  '*.apiKey',
  '*.token',
  '*.secret',
  'databaseUrl',
  'redisUrl',
];

export function createRootLogger(
  config: Pick<AppConfig, 'log' | 'secrets'>,
  destination?: pino.DestinationStream,
): Logger {
  const secrets = config.secrets;
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: 'modelforge' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Drivers quote connection strings in their errors: no configured secret is ever written.
    ...(secrets.length > 0 ? { hooks: { streamWrite: (line: string) => scrubSecrets(line, secrets) } } : {}),
  };
  if (destination) return pino(options, destination);
  if (config.log.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(options);
}

/** Routes Nest's own log calls (and `new Logger(Context)`) to pino with the context as a field. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    // Nest passes the context last; an error's stack comes before it for error().
    const args = [...rest];
    const context = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const stack =
      level === 'error' && typeof args[0] === 'string' && args[0].includes('\n') ? (args.shift() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (stack) fields.stack = stack;
    if (message !== null && typeof message === 'object') {
      const { msg, ...others } = message as Record<string, unknown>;
      const text = typeof args[0] === 'string' ? args[0] : typeof msg === 'string' ? msg : undefined;
      this.root[level]({ ...fields, ...others }, text);
      return;
    }
    this.root[level](fields, String(message));
  }
}
