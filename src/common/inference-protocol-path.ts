/**
 * Paths of the Open Inference Protocol (KServe v2), served beside /api/v1. Its clients expect
 * their own error body (`{"error": "..."}`) and post bodies without a Content-Type.
 */
export function isInferenceProtocolPath(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}
