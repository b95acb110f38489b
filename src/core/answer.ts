// Gateway answers to typed errors and values: the one place that reads what etcd (or the network) said.
import { readBoundedText } from './bounded-body.ts';
import type { WireObject } from './call-options.ts';
import { asRecord } from './codec.ts';
import { describeConnectFailure } from './connect-failure.ts';
import { isAbort } from './deadline.ts';
import {
  codeOfHttpStatus,
  EtcdError,
  errorFromStatus,
  GrpcCode,
  MalformedResponseError,
  UnavailableError,
  UnimplementedError,
} from './errors.ts';

const MAX_ERROR_BYTES = 64 * 1024;

/** The JSON object of a successful answer's text. */
export function parseAnswer(text: string, endpoint: string, path: string): WireObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new MalformedResponseError(
      `answer of ${path} is not JSON (${text.length} bytes: ${JSON.stringify(text.slice(0, 60))})`,
      {
        endpoint,
        path,
        cause,
      },
    );
  }
  try {
    return asRecord(parsed, `answer of ${path}`);
  } catch (error) {
    throw Object.assign(error as EtcdError, { endpoint, path });
  }
}

/**
 * Maps a non-2xx gateway answer to a typed error, whatever etcd version wrote it: a unary body
 * `{code, message}` (3.6+) or `{error, code, message}` (3.4, 3.5), a refused stream's
 * `{"error": {code | grpc_code, message}}`, or an empty or non-JSON body (a proxy, a gateway that
 * failed to write one), mapped by HTTP status.
 */
export async function errorFromResponse(response: Response, endpoint: string, path: string): Promise<EtcdError> {
  const status = response.status;
  // Never followed (`redirect: 'manual'`): a redirect would carry the Authorization header along.
  if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
    void response.body?.cancel().catch(() => {});
    return new MalformedResponseError(
      `${endpoint} answered a redirect (HTTP ${status}), which is not followed: configure the endpoint it points to`,
      {
        status,
        endpoint,
        path,
      },
    );
  }
  let text = '';
  const details = { status, endpoint, path };
  try {
    text = await readBoundedText(response, MAX_ERROR_BYTES);
  } catch (cause) {
    return new MalformedResponseError(
      `HTTP ${status} from ${endpoint} for ${path}: its error body could not be read (${(cause as Error)?.message ?? String(cause)})`,
      {
        ...details,
        cause,
      },
    );
  }
  return errorFromAnswer(status, text, endpoint, path);
}

/** The typed error of an error answer already read: its HTTP status and body text. */
export function errorFromAnswer(status: number, text: string, endpoint: string, path: string): EtcdError {
  const details = { status, endpoint, path };
  const wire = parseErrorBody(text);
  const call = path === '' ? '' : ` for ${path}`;
  // An unknown path or method: 404/405 in text/plain up to 3.5, 404 `{"code":5,"message":"Not Found"}` from 3.6.
  if ((status === 404 && (wire === undefined ? text.trim() !== '' : wire.message === 'Not Found')) || status === 405) {
    return new UnimplementedError(
      `${endpoint} does not serve ${path} (HTTP ${status}): an older etcd, or not an etcd gateway`,
      {
        ...details,
        code: GrpcCode.UNIMPLEMENTED,
      },
    );
  }
  if (wire !== undefined) return errorFromStatus(wire.code, wire.message ?? `gRPC code ${wire.code}${call}`, details);
  const snippet = text.slice(0, 80).trim();
  const code = codeOfHttpStatus(status);
  return errorFromStatus(
    code,
    `HTTP ${status} from ${endpoint}${call}${snippet ? `: ${snippet}` : ' with no error body'}`,
    details,
  );
}

/** The code and message of an error body, or undefined when it is no gateway error. */
function parseErrorBody(text: string): { code: number; message: string | undefined } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  let error = body as { code?: unknown; grpc_code?: unknown; message?: unknown; error?: unknown };
  if (typeof error.error === 'object' && error.error !== null) error = error.error as typeof error;
  const code =
    typeof error.code === 'number' ? error.code : typeof error.grpc_code === 'number' ? error.grpc_code : undefined;
  if (code === undefined) return undefined;
  const message =
    typeof error.message === 'string' && error.message !== ''
      ? error.message
      : typeof error.error === 'string'
        ? error.error
        : undefined;
  return { code, message };
}

/** Turns what `fetch` threw into a typed error; typed errors pass through. */
export function mapFetchError(error: unknown, endpoint: string, path: string, what = 'could not reach etcd'): unknown {
  if (error instanceof EtcdError) return error;
  if (isAbort(error)) return error;
  const failure = describeConnectFailure(error, endpoint);
  if (failure !== undefined) {
    return new UnavailableError(`${what} at ${endpoint}: ${failure.reason}`, {
      endpoint,
      path,
      cause: error,
      mayHaveApplied: failure.mayHaveApplied,
      retryable: failure.retryable,
    });
  }
  const cause = (error as { cause?: { code?: unknown; cause?: { code?: unknown } } })?.cause;
  const code = cause?.code ?? cause?.cause?.code;
  const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  return new UnavailableError(
    `${what} at ${endpoint}: ${(error as Error)?.message ?? String(error)}${typeof code === 'string' ? ` (${code})` : ''}`,
    {
      endpoint,
      path,
      cause: error,
      mayHaveApplied: !refused,
    },
  );
}
