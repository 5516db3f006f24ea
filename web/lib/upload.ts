import { ApiError, authHeader, refreshSession } from './api';

/**
 * POST a file as multipart/form-data with XMLHttpRequest, whose upload events report the bytes
 * sent (fetch has no upload progress). `onProgress` gets a fraction between 0 and 1.
 */
export function uploadFile<T>(
  url: string,
  fields: Record<string, string | Blob>,
  onProgress: (fraction: number) => void,
): Promise<T> {
  const send = (): Promise<{ status: number; text: string; requestId: string | null }> =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      for (const [name, value] of Object.entries(authHeader())) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () =>
        resolve({ status: xhr.status, text: xhr.responseText, requestId: xhr.getResponseHeader('X-Request-Id') });
      xhr.onerror = () => reject(new Error('The upload failed: the connection was lost'));
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      xhr.send(form);
    });
  return (async () => {
    let answer = await send();
    if (answer.status === 401 && (await refreshSession())) {
      onProgress(0);
      answer = await send();
    }
    let body: { message?: string | string[]; requestId?: string } | undefined;
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      body = undefined;
    }
    if (answer.status < 200 || answer.status >= 300) {
      const message = Array.isArray(body?.message)
        ? body.message.join('; ')
        : (body?.message ?? `The server answered ${answer.status}`);
      throw new ApiError(answer.status, message, body?.requestId ?? answer.requestId ?? undefined);
    }
    return body as T;
  })();
}
