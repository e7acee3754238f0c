// POST /v1/uploads' use case (lambdas/core/create-upload.ts) with a fake signer: the key is
// Metahook's choice under the caller's tenant prefix, the signer is asked for exactly the declared
// type and size, and requests that POST /v1/jobs would refuse later are refused now.
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { createUpload, type CreateUploadDeps } from '../../lambdas/core/create-upload';
import { ApiError } from '../../lambdas/core/errors';
import { checkMediaScope } from '../../lambdas/core/media-scope';
import { checkS3Location } from '../../lambdas/core/url-policy';

const settings = resolveSettings();
const SOURCES = { mediaBucket: 'metahook-media', allowedSourceBuckets: [] };

function fakeDeps() {
  const signed: Parameters<CreateUploadDeps['signer']['presignPut']>[0][] = [];
  let n = 0;
  const deps: CreateUploadDeps = {
    signer: {
      async presignPut(input) {
        signed.push(input);
        return { url: `https://signed.example/${input.key}?sig=1`, headers: { 'content-type': input.contentType, 'content-length': String(input.contentLength) } };
      },
    },
    mediaBucket: 'metahook-media',
    settings,
    now: () => new Date('2026-12-02T00:00:00.000Z'),
    newUploadId: () => `upl_${++n}`,
  };
  return { deps, signed };
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as ApiError);

describe('createUpload', () => {
  it("signs a fresh key under the caller's prefix whose file_url is inside the caller's scope only", async () => {
    const { deps, signed } = fakeDeps();
    const first = await createUpload(deps, { tenantId: 'ten_A', body: { filename: 'holiday.jpg', content_type: 'image/jpeg', size_bytes: 1000 } });
    const second = await createUpload(deps, { tenantId: 'ten_A', body: { filename: 'holiday.jpg', content_type: 'image/jpeg', size_bytes: 1000 } });
    expect(first.file_url).toBe('s3://metahook-media/tenants/ten_A/uploads/upl_1/holiday.jpg');
    expect(second.file_url).not.toBe(first.file_url);
    expect(signed[0]).toEqual({ key: 'tenants/ten_A/uploads/upl_1/holiday.jpg', contentType: 'image/jpeg', contentLength: 1000, expiresInSeconds: settings.api.uploadUrlExpirySeconds });
    expect(first.upload).toEqual({
      method: 'PUT',
      url: 'https://signed.example/tenants/ten_A/uploads/upl_1/holiday.jpg?sig=1',
      headers: { 'content-type': 'image/jpeg', 'content-length': '1000' },
      expires_at: new Date(Date.parse('2026-12-02T00:00:00.000Z') + settings.api.uploadUrlExpirySeconds * 1000).toISOString(),
    });
    const location = checkS3Location(first.file_url, SOURCES);
    expect(location.ok).toBe(true);
    const at = { bucket: location.ok ? location.bucket! : '', key: location.ok ? location.key! : '' };
    expect(checkMediaScope(at, { tenantId: 'ten_A', grants: [] }, SOURCES).ok).toBe(true);
    expect(checkMediaScope(at, { tenantId: 'ten_B', grants: [] }, SOURCES).ok).toBe(false);
  });

  it.each([
    [{ filename: '../x.jpg', content_type: 'image/jpeg', size_bytes: 1 }, 'invalid_request', 'filename'],
    [{ filename: 'a/b.jpg', content_type: 'image/jpeg', size_bytes: 1 }, 'invalid_request', 'filename'],
    [{ filename: '.x.jpg', content_type: 'image/jpeg', size_bytes: 1 }, 'invalid_request', 'filename'],
    [{ filename: 'x.jpg', content_type: 'text/html', size_bytes: 1 }, 'invalid_request', 'content_type'],
    [{ filename: 'x.jpg', content_type: 'image/jpeg', size_bytes: 0 }, 'invalid_request', 'size_bytes'],
    [{ filename: 'x.jpg', content_type: 'image/jpeg', size_bytes: 1.5 }, 'invalid_request', 'size_bytes'],
    [{ filename: 'x.jpg', content_type: 'image/jpeg', size_bytes: settings.extraction.maxImageBytes + 1 }, 'invalid_request', 'size_bytes'],
    [{ filename: 'x.jpg', content_type: 'image/jpeg', size_bytes: 1, key: 'tenants/ten_B/x.jpg' }, 'invalid_request', ''],
    [{ filename: 'song.mp3', content_type: 'image/jpeg', size_bytes: 1 }, 'unsupported_media_type', 'filename'],
    [{ filename: 'report.pdf', content_type: 'image/jpeg', size_bytes: 1 }, 'unsupported_media_type', 'filename'],
  ])('refuses %j with %s, signing nothing', async (body, code, path) => {
    const { deps, signed } = fakeDeps();
    const error = await errorOf(createUpload(deps, { tenantId: 'ten_A', body }));
    expect(error).toBeInstanceOf(ApiError);
    expect(error!.code).toBe(code);
    expect(error!.details?.[0]?.path).toBe(path);
    expect(signed).toEqual([]);
  });

  it('takes audio up to the audio limit, which is larger than the image one', async () => {
    const { deps } = fakeDeps();
    const size = settings.extraction.maxImageBytes + 1;
    const audio = await createUpload(deps, { tenantId: 'ten_A', body: { filename: 'talk.mp3', content_type: 'audio/mpeg', size_bytes: size } });
    expect(audio.upload.headers['content-length']).toBe(String(size));
  });
});
