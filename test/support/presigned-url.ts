// Test support: checks a SigV4 presigned S3 URL the way S3 does, offline. fauxqs (the local S3)
// stores whatever is PUT and checks no signature, so the conditions a presigned upload relies on
// are verified here instead: S3 rebuilds the canonical request from the request it receives
// (method, path, the headers named in X-Amz-SignedHeaders, the query) and compares signatures
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html), and refuses a
// request after X-Amz-Date + X-Amz-Expires. The signature is recomputed with @smithy/signature-v4,
// the SDK's own signer, from the request as a client would send it.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** The hash constructor SignatureV4 wants: SHA-256, or HMAC-SHA256 when given a secret. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined || typeof secret === 'string' ? secret : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength) : Buffer.from(secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface ClientRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type PresignVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'SignatureDoesNotMatch' | 'Expired' };

/** Would S3 accept this request, signed by these credentials, at `now`? */
export async function verifyPresignedRequest(
  request: ClientRequest,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  now: Date,
): Promise<PresignVerdict> {
  const url = new URL(request.url);
  const query = Object.fromEntries(url.searchParams);
  const amzDate = query['X-Amz-Date']!;
  const signedAt = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const expiresIn = Number(query['X-Amz-Expires']);
  if (now.getTime() > signedAt.getTime() + expiresIn * 1000) return { ok: false, reason: 'Expired' };
  // <access key id>/<yyyymmdd>/<region>/<service>/aws4_request
  const [, , region, service] = query['X-Amz-Credential']!.split('/');
  const signedHeaderNames = query['X-Amz-SignedHeaders']!.split(';');
  const lowerHeaders = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const headers: Record<string, string> = { host: url.host };
  for (const name of signedHeaderNames) if (name !== 'host' && lowerHeaders[name] !== undefined) headers[name] = lowerHeaders[name]!;
  // The payload hash travels as a query parameter; the signer takes it from this header (the S3
  // presigner's spelling, which sets the query parameter's case) and hoists it back.
  const payloadHash = query['X-Amz-Content-Sha256'];
  // Everything but the signature and the parameters the signer adds itself.
  const added = new Set(['X-Amz-Signature', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Security-Token', 'X-Amz-Content-Sha256']);
  const rest = Object.fromEntries(Object.entries(query).filter(([name]) => !added.has(name)));
  const signer = new SignatureV4({ credentials, region: region!, service: service!, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.presign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      // S3 signs the path as sent (encoded once), hence uriEscapePath: false.
      path: url.pathname,
      query: rest,
      headers: { ...headers, ...(payloadHash ? { 'X-Amz-Content-Sha256': payloadHash } : {}) },
    },
    { signingDate: signedAt, expiresIn, signableHeaders: new Set(signedHeaderNames), unhoistableHeaders: new Set(signedHeaderNames) },
  );
  const expected = (signed.query as Record<string, string>)['X-Amz-Signature'];
  return expected === query['X-Amz-Signature'] ? { ok: true } : { ok: false, reason: 'SignatureDoesNotMatch' };
}
