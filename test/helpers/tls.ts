// Throwaway certificates for the TLS tests, made with the `openssl` command line (Debian's
// `openssl` package) in a temporary directory. Node-only: it spawns openssl and writes files.
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as files and as PEM text. */
export interface PemPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  /** The directory holding every file; `dispose()` removes it. */
  dir: string;
  /** The CA that signed `server` and `client`. */
  ca: PemPair;
  /**
   * For 127.0.0.1 and localhost (SANs IP:127.0.0.1, DNS:localhost), extendedKeyUsage serverAuth
   * and clientAuth: etcd's gateway dials its own gRPC port with it, which an mTLS etcd checks.
   */
  server: PemPair;
  /** CN=root, extendedKeyUsage clientAuth, signed by `ca`. */
  client: PemPair;
  /** An unrelated CA that signed nothing here: trusting it alone must make TLS to `server` fail. */
  otherCa: PemPair;
  /** A client certificate signed by `otherCa` (CN=root too): an mTLS etcd must refuse it. */
  otherClient: PemPair;
  /** base64 SHA-256 of the server certificate's public key (Chromium's `--ignore-certificate-errors-spki-list`). */
  serverSpki: string;
  dispose(): void;
}

/** Finds `openssl` (`OPENSSL_BIN`, then PATH) or throws saying how to install it. */
function openssl(args: string[], cwd: string): void {
  const binary = process.env.OPENSSL_BIN ?? 'openssl';
  const run = spawnSync(binary, args, { cwd, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `could not run ${binary} (${run.error.message}): install it (Debian/Ubuntu: apt-get install openssl) or set OPENSSL_BIN`,
    );
  }
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed with ${run.status}:\n${run.stderr}`);
}

/**
 * Makes a CA, a server certificate for 127.0.0.1 / localhost, a client certificate, and an
 * unrelated second CA with its own client certificate. EC P-256 keys: fast to generate.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-fetch-tls-'));
  try {
    const ca = makeCa(dir, 'ca', 'etcd-fetch test CA');
    const otherCa = makeCa(dir, 'other-ca', 'etcd-fetch unrelated CA');
    const server = makeLeaf(dir, 'server', 'ca', '127.0.0.1', [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth, clientAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
    ]);
    const clientExtensions = [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
    ];
    const client = makeLeaf(dir, 'client', 'ca', 'root', clientExtensions);
    const otherClient = makeLeaf(dir, 'other-client', 'other-ca', 'root', clientExtensions);
    const spkiDer = new X509Certificate(server.cert).publicKey.export({ type: 'spki', format: 'der' });
    const serverSpki = createHash('sha256').update(spkiDer).digest('base64');
    return {
      dir,
      ca,
      server,
      client,
      otherCa,
      otherClient,
      serverSpki,
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function makeCa(dir: string, name: string, commonName: string): PemPair {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-sha256',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return read(dir, name);
}

function makeLeaf(dir: string, name: string, caName: string, commonName: string, extensions: string[]): PemPair {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.ec.key`], dir);
  // PKCS#8 ("BEGIN PRIVATE KEY"): every runtime here reads it (Deno and workerd want PKCS#8 or PKCS#1).
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.ec.key`, '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${commonName}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return read(dir, name);
}

function read(dir: string, name: string): PemPair {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
