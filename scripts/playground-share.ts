// Shareable read-only live views of one prefix: the playground server (which holds the etcd
// client, and any credentials) signs a link naming the prefix; whoever opens the link gets that
// prefix's keys and a live SSE relay of its changes from this server, never an etcd endpoint,
// credential or token, and nothing outside the prefix.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Etcd } from 'etcd-fetch';
import { relayWatch } from 'etcd-fetch/relay';
import { closeSignal, fetchHeaders, sendAnswer } from './node-http-bridge.ts';

/** Keys a view lists at most (values of more than VALUE_BYTES are cut). */
const MAX_KEYS = 5_000;
const VALUE_BYTES = 1_024;

export class ShareLinks {
  readonly #secret: string;

  /** `secret`: the HMAC key of the links (random by default: links last until the server restarts). */
  constructor(secret = randomBytes(32).toString('base64')) {
    this.#secret = secret;
  }

  /** The token of a view of `prefix`: `<prefix base64url>.<HMAC base64url>`. */
  sign(prefix: Uint8Array): string {
    const named = Buffer.from(prefix).toString('base64url');
    return `${named}.${this.#mac(named)}`;
  }

  /** The prefix a token names, or undefined when its signature does not match. */
  verify(token: string | null): Uint8Array | undefined {
    if (!token || token.length > 2_048) return undefined;
    const [named, mac, ...rest] = token.split('.');
    if (named === undefined || mac === undefined || rest.length > 0) return undefined;
    const expected = Buffer.from(this.#mac(named));
    const sent = Buffer.from(mac);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return undefined;
    return new Uint8Array(Buffer.from(named, 'base64url'));
  }

  /** The relay's resume secret for these views (signed event ids). */
  get resumeSecret(): string {
    return createHmac('sha256', this.#secret).update('resume').digest('base64');
  }

  #mac(named: string): string {
    return createHmac('sha256', this.#secret).update(`view\n${named}`).digest('base64url');
  }
}

/**
 * `POST /share` (JSON `{ "prefix": "<base64>" }`, same origin only): a link to a read-only view;
 * `GET /share/keys?view=<token>`: the prefix's keys and values (JSON, base64 bytes);
 * `GET /share/events?view=<token>&startRevision=<n>`: its changes as SSE (relayWatch).
 */
export async function answerShare(
  etcd: Etcd,
  links: ShareLinks,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const json = (status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  try {
    if (url.pathname === '/share' && request.method === 'POST') {
      // A JSON body cannot come from another origin without a preflight, which this server never grants.
      if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) return json(415, { error: 'send JSON' });
      const body = JSON.parse(await readBody(request, 16_384)) as { prefix?: unknown };
      if (typeof body.prefix !== 'string') return json(400, { error: 'prefix (base64) is required' });
      const token = links.sign(new Uint8Array(Buffer.from(body.prefix, 'base64')));
      return json(200, { token, link: `/view.html?view=${token}` });
    }
    const prefix = links.verify(url.searchParams.get('view'));
    if (prefix === undefined) return json(403, { error: 'this link is not valid (or the server restarted)' });
    if (url.pathname === '/share/keys') {
      const answer = await etcd.range({ prefix }, { limit: MAX_KEYS });
      return json(200, {
        prefix: Buffer.from(prefix).toString('base64'),
        revision: answer.revision,
        more: answer.more,
        kvs: answer.kvs.map((kv) => ({
          key: Buffer.from(kv.key).toString('base64'),
          value: Buffer.from(kv.value.subarray(0, VALUE_BYTES)).toString('base64'),
          size: kv.value.length,
          modRevision: kv.modRevision,
        })),
      });
    }
    if (url.pathname === '/share/events') {
      const sent = url.searchParams.get('startRevision');
      const answer = await relayWatch(
        etcd,
        new Request(url, { headers: fetchHeaders(request), signal: closeSignal(response) }),
        { prefix },
        {
          startRevision: sent === null || sent === '' ? undefined : Number(sent),
          heartbeat: 5_000,
          resumeSecret: links.resumeSecret,
        },
      );
      return sendAnswer(answer, response);
    }
    json(404, { error: 'not found' });
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    json(500, { error: error instanceof Error ? error.message : String(error) });
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
