import { decodeBytes, encodeBase64 } from '../core/codec.ts';

const encoder = /* @__PURE__ */ new TextEncoder();
/** Signed ids a signer remembers. */
const RECENT = 4_096;
/** Longest signed id: an id of two safe integers, `~`, and a base64 SHA-256. */
const MAX_SIGNED_LENGTH = 33 + 1 + 44;

/**
 * Event ids signed with an HMAC-SHA256 (WebCrypto): `<id>~<base64 signature>`, where the
 * signature covers the relay's scope (its key selector) and the id. A relay that signs its ids
 * accepts as `Last-Event-ID` only an id it wrote itself for the same keys, so a client can resume
 * from where it was, never from a revision it chose (such as 0, the whole retained history).
 */
export class IdSigner {
  private readonly key: Promise<CryptoKey>;
  private readonly scope: string;
  /** Recent ids signed: the clients of a shared watch sign the same ids, one HMAC each. */
  private readonly recent = new Map<string, Promise<string>>();
  /** Hub events as written with a signed id: the same bytes for every client (a promise until signed). */
  private readonly entries = new WeakMap<object, Uint8Array | Promise<Uint8Array>>();

  constructor(secret: string, scope: string) {
    this.scope = scope;
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
  }

  /** `id` with its signature appended. */
  sign(id: string): Promise<string> {
    let signed = this.recent.get(id);
    if (signed === undefined) {
      signed = this.compute(id);
      this.recent.set(id, signed);
      if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value!);
    }
    return signed;
  }

  /** `id: <signed id>\n` and `text` as bytes, computed once per event for all the clients of this signer. */
  message(entry: { readonly id: string; readonly text: string }): Uint8Array | Promise<Uint8Array> {
    let bytes = this.entries.get(entry);
    if (bytes === undefined) {
      bytes = this.sign(entry.id).then((signed) => {
        const encoded = encoder.encode(`id: ${signed}\n${entry.text}`);
        this.entries.set(entry, encoded);
        return encoded;
      });
      this.entries.set(entry, bytes);
    }
    return bytes;
  }

  private async compute(id: string): Promise<string> {
    return `${id}~${encodeBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await this.key, this.signed(id))))}`;
  }

  /** The plain id inside a signed one, or undefined when the signature does not match. */
  async verify(signed: string): Promise<string | undefined> {
    // Longer than any id this relay signs: not worth an HMAC.
    if (signed.length > MAX_SIGNED_LENGTH) return undefined;
    const at = signed.lastIndexOf('~');
    const id = signed.slice(0, at);
    try {
      // verify() compares in constant time; a signature that is not base64 throws.
      return at > 0 &&
        (await crypto.subtle.verify(
          'HMAC',
          await this.key,
          decodeBytes(signed.slice(at + 1)) as Uint8Array<ArrayBuffer>,
          this.signed(id),
        ))
        ? id
        : undefined;
    } catch {
      return undefined;
    }
  }

  private signed(id: string) {
    return new TextEncoder().encode(`${this.scope}\n${id}`);
  }
}
