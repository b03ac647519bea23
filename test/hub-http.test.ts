/** How Hub HTTP answers map to HubErrors, and ETag normalisation, on hand-built responses. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { HubError } from '../src/errors.js';
import { normalizeEtag, raiseForStatus, type HubRequestContext } from '../src/hub/http.js';

const ctx: HubRequestContext = {
  repoId: 'acme/tiny',
  revision: 'main',
  file: 'tokenizer.json',
  endpoint: 'https://hub.example',
  tokenSent: false,
};

function reply(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

test('a 404 for a file names the file, repo and revision', async () => {
  await assert.rejects(
    raiseForStatus(
      reply(404, { 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found' }),
      ctx,
    ),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'tokenizer.json' &&
      error.message.startsWith('tokenizer.json of acme/tiny at revision "main" was not found') &&
      /Hub says: Entry not found/.test(error.message),
  );
});

test('server errors carry the status and the target; success passes', async () => {
  await assert.rejects(
    raiseForStatus(reply(503), ctx),
    (error: unknown) =>
      error instanceof HubError && /HTTP 503/.test(error.message) && /acme\/tiny/.test(error.message),
  );
  await raiseForStatus(reply(200), ctx);
});

test('a 401 with a token sent says the token was rejected, not to set one', async () => {
  await assert.rejects(raiseForStatus(reply(401), { ...ctx, tokenSent: true }), (error: unknown) => {
    assert.ok(error instanceof HubError);
    assert.match(error.message, /token sent .* was rejected/);
    assert.doesNotMatch(error.message, /If it is private or gated, set HF_TOKEN/);
    return true;
  });
});

test('ETags lose quotes and the weak prefix, as in Python', () => {
  assert.equal(normalizeEtag('"abc123"'), 'abc123');
  assert.equal(normalizeEtag('W/"abc123"'), 'abc123');
  assert.equal(normalizeEtag('abc123'), 'abc123');
  assert.equal(normalizeEtag(null), undefined);
  assert.equal(normalizeEtag('""'), undefined);
});
