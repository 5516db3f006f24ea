import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet's security headers on every response, with its defaults (CSP `default-src 'self'`,
 * HSTS for 365 days with includeSubDomains, nosniff, frame-ancestors 'self', no referrer, ...).
 * One change: no `upgrade-insecure-requests`. The service is often reached over plain HTTP inside
 * a cluster or on a LAN, and that directive makes a browser fetch /docs' scripts and styles over
 * HTTPS, which leaves Swagger UI blank. Swagger UI needs nothing else: its scripts and styles are
 * files under /docs (script-src 'self'), its inline <style> blocks are allowed by helmet's
 * style-src 'unsafe-inline', and its images are data: URIs. Browsers ignore HSTS on plain HTTP.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  }) as RequestHandler;
}
