import { describe, expect, it } from 'vitest';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateSigningSecret, signWebhook } from '../../lambdas/core/webhook-signature';

const headersFor = (signed: ReturnType<typeof signWebhook>) => ({ ...signed });

describe('signWebhook (checked with the official standardwebhooks package)', () => {
  const body = JSON.stringify({ type: 'job.completed', id: 'msg_1', data: { caption: 'ünïcödé ✓' } });

  it('produces headers the reference verifier accepts', () => {
    const secret = generateSigningSecret();
    const signed = signWebhook({ id: 'msg_1', timestamp: new Date(), body, secrets: [secret] });
    expect(new Webhook(secret).verify(body, headersFor(signed))).toEqual(JSON.parse(body));
    expect(signed['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('is rejected by the reference verifier when the body, id or secret differ', () => {
    const secret = generateSigningSecret();
    const signed = signWebhook({ id: 'msg_1', timestamp: new Date(), body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body.replace('msg_1', 'msg_2'), headersFor(signed))).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headersFor(signed), 'webhook-id': 'msg_x' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(generateSigningSecret()).verify(body, headersFor(signed))).toThrow(WebhookVerificationError);
  });

  it('signs with every secret during a rotation, each verifiable on its own', () => {
    const [current, previous] = [generateSigningSecret(), generateSigningSecret()];
    const signed = signWebhook({ id: 'msg_9', timestamp: new Date(), body, secrets: [current, previous] });
    expect(signed['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, headersFor(signed))).toBeTruthy();
    expect(new Webhook(previous).verify(body, headersFor(signed))).toBeTruthy();
  });

  it('uses the timestamp in seconds, so the reference verifier refuses stale signatures', () => {
    const secret = generateSigningSecret();
    const old = new Date(Date.now() - 10 * 60 * 1000);
    const signed = signWebhook({ id: 'msg_1', timestamp: old, body, secrets: [secret] });
    expect(signed['webhook-timestamp']).toBe(String(Math.floor(old.getTime() / 1000)));
    expect(() => new Webhook(secret).verify(body, headersFor(signed))).toThrow(/timestamp/i);
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it('refuses a secret without the whsec_ prefix', () => {
    expect(() => signWebhook({ id: 'a', timestamp: new Date(), body, secrets: ['plain'] })).toThrow(/whsec_/);
  });
});
