/** ADMIN_API_KEY of every test app and spawned service unless a test sets its own. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';

/** JWT_SECRET of the tests that craft their own access tokens (expired, wrong issuer, ...). */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz';
