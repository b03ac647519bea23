/** HTTP requests of the server tests, and their error bodies. */
import assert from 'node:assert/strict';

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when empty); its shape is asserted field by field by each test. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes are asserted field by field
  json: any;
}

/** Reads a whole answer, parsing its body as JSON when there is one. */
async function readJson(response: Response): Promise<JsonResponse> {
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

/** POSTs `body` as JSON (a string is sent as it is, to test malformed bodies) and reads the whole answer. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return readJson(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

/** GETs `url` and reads the whole answer. */
export async function getJson(url: string): Promise<JsonResponse> {
  return readJson(await fetch(url));
}

/**
 * Asserts an error answer: its status, and its body in the route's dialect, exactly `{error: {message, type}}`
 * (OpenAI's) or, for `tei`, exactly `{error, error_type}`.
 */
export function assertErrorBody(
  dialect: 'openai' | 'tei',
  result: { status: number; json: unknown },
  status: number,
  type: string,
  message?: RegExp,
): void {
  assert.equal(result.status, status, JSON.stringify(result.json));
  const body = result.json as { error: string | { message: string; type: string }; error_type?: string };
  const [text, kind] =
    dialect === 'tei'
      ? [body.error as string, body.error_type]
      : [(body.error as { message: string }).message, (body.error as { type: string }).type];
  assert.deepEqual(Object.keys(body), dialect === 'tei' ? ['error', 'error_type'] : ['error']);
  assert.equal(kind, type);
  assert.equal(typeof text, 'string');
  if (message) assert.match(text, message);
}
