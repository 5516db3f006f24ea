/**
 * The dashboard's one way to call the API (same origin). The credential (an access token from
 * login, or an API key typed in) lives only in this module's memory: no script-readable storage
 * holds it. A user session survives a reload through the httpOnly refresh cookie instead.
 */

export type Role = 'admin' | 'maintainer' | 'predictor' | 'viewer';

export interface Me {
  kind: 'key' | 'user';
  id: string;
  name: string;
  role: Role;
}

export interface Page<T> {
  items: T[];
  total: number;
  skip: number;
  limit: number;
}

/** An answer that was not 2xx, with the API's message (API.md error body) when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

interface Credential {
  kind: 'token' | 'key';
  value: string;
}

let credential: Credential | undefined;
let refreshing: Promise<boolean> | undefined;

export function setCredential(next: Credential | undefined): void {
  credential = next;
}

export function authHeader(): Record<string, string> {
  return credential ? { Authorization: `Bearer ${credential.value}` } : {};
}

/** The message of an error body, else the status line. */
export async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let requestId = res.headers.get('X-Request-Id') ?? undefined;
  try {
    const body = (await res.json()) as { message?: unknown; requestId?: string; error?: unknown };
    if (typeof body.message === 'string') message = body.message;
    else if (Array.isArray(body.message)) message = body.message.join('; ');
    else if (typeof body.error === 'string') message = body.error;
    requestId = body.requestId ?? requestId;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, message, requestId);
}

/** POST /auth/refresh with the httpOnly cookie; one at a time however many calls got a 401. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/v1/auth/refresh', { method: 'POST', credentials: 'same-origin' });
      if (!res.ok) return false;
      const body = (await res.json()) as { accessToken: string };
      credential = { kind: 'token', value: body.accessToken };
      return true;
    } catch {
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A raw call: the credential added, one refresh-and-retry when an access token expired. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const send = (): Promise<Response> =>
    fetch(path, {
      method: options.method ?? 'GET',
      headers: {
        ...authHeader(),
        ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
      credentials: 'same-origin',
    });
  const res = await send();
  if (res.status === 401 && credential?.kind === 'token' && (await refreshSession())) return send();
  return res;
}

/** A JSON call; throws ApiError on a non-2xx answer; undefined for 204. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const res = await call(path, options);
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const canWrite = (role: Role | undefined): boolean => role === 'admin' || role === 'maintainer';
export const canPredict = (role: Role | undefined): boolean => canWrite(role) || role === 'predictor';
export const isAdmin = (role: Role | undefined): boolean => role === 'admin';
