/** HTTP requests of the server tests. */

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when empty); its shape is asserted field by field by each test. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes are asserted field by field
  json: any;
}

/** POSTs `body` as JSON (a string is sent as it is, to test malformed bodies) and reads the whole answer. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

/** GETs `url` and reads the whole answer. */
export async function getJson(url: string): Promise<JsonResponse> {
  const response = await fetch(url);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}
