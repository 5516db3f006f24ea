// @ts-check
import { fileURLToPath } from 'node:url';

/**
 * The dashboard is a static export (no Node server of its own): ModelForge serves web/out at /ui,
 * same origin as the API, so there is no CORS and the refresh cookie (Path=/api/v1/auth,
 * SameSite=Strict) reaches the auth routes. Pages that name a resource read it from the query
 * string (/ui/model/?name=iris): a static export cannot pre-render one page per model.
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  output: 'export',
  basePath: '/ui',
  // /ui/models/ -> models/index.html, which express.static serves as the folder's index.
  trailingSlash: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  // The repository root holds the one lock file and node_modules.
  turbopack: { root: fileURLToPath(new URL('..', import.meta.url)) },
};

export default nextConfig;
