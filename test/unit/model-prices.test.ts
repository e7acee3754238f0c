// Unit: the deployed price table (core/model-prices) and the deploy context that configures it.
import { describe, expect, it } from 'vitest';
import { costUsd, DEFAULT_PRICE_TABLE, MODEL_PRICES_ENV, PriceTableError, priceFor, readPriceTable } from '../../lambdas/core/model-prices';
import { DeployConfigError, parseDeployConfig } from '../../lib/deploy-config';

describe('price table', () => {
  it('prices a geographic inference profile and a profile ARN at the foundation model price', () => {
    const nova = DEFAULT_PRICE_TABLE.models['amazon.nova-lite-v1:0'];
    expect(priceFor(DEFAULT_PRICE_TABLE, 'us.amazon.nova-lite-v1:0')).toEqual(nova);
    expect(priceFor(DEFAULT_PRICE_TABLE, 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0')).toEqual(nova);
    expect(priceFor(DEFAULT_PRICE_TABLE, 'anthropic.unknown-model')).toBeUndefined();
  });

  it('computes the cost of a call from tokens in and out', () => {
    // 2,000 in at $0.06/M + 200 out at $0.24/M = $0.00012 + $0.000048
    expect(costUsd(DEFAULT_PRICE_TABLE, 'us.amazon.nova-lite-v1:0', { input_tokens: 2_000, output_tokens: 200 })).toBe(0.000168);
    expect(costUsd(DEFAULT_PRICE_TABLE, 'metahook-local-analyzer/1', { input_tokens: 0, output_tokens: 0 })).toBe(0);
    expect(costUsd(DEFAULT_PRICE_TABLE, 'vendor.unpriced', { input_tokens: 5, output_tokens: 5 })).toBeUndefined();
  });

  it('takes a deployed table that overrides prices model by model', () => {
    const table = readPriceTable({
      [MODEL_PRICES_ENV]: JSON.stringify({
        version: 'contract-2027',
        models: { 'amazon.nova-lite-v1:0': { input_usd_per_million_tokens: 0.05, output_usd_per_million_tokens: 0.2 } },
      }),
    });
    expect(table.version).toBe('contract-2027');
    expect(costUsd(table, 'us.amazon.nova-lite-v1:0', { input_tokens: 1_000_000, output_tokens: 0 })).toBe(0.05);
    expect(priceFor(table, 'mistral.voxtral-small-24b-2507')).toEqual(DEFAULT_PRICE_TABLE.models['mistral.voxtral-small-24b-2507']);
  });

  it('refuses a table that is not JSON, lacks a version or has a negative price', () => {
    expect(() => readPriceTable({ [MODEL_PRICES_ENV]: '{nope' })).toThrow(PriceTableError);
    expect(() => readPriceTable({ [MODEL_PRICES_ENV]: JSON.stringify({ models: {} }) })).toThrow(/version/);
    expect(() =>
      readPriceTable({
        [MODEL_PRICES_ENV]: JSON.stringify({ version: 'x', models: { m: { input_usd_per_million_tokens: -1, output_usd_per_million_tokens: 0 } } }),
      }),
    ).toThrow(/input_usd_per_million_tokens/);
  });

  it('is configured at deploy time by the modelPrices context and checked there', () => {
    const table = { version: 'v2', models: { 'amazon.nova-lite-v1:0': { input_usd_per_million_tokens: 1, output_usd_per_million_tokens: 2 } } };
    expect(parseDeployConfig({ modelPrices: JSON.stringify(table) }).modelPrices).toBe(JSON.stringify(table));
    expect(parseDeployConfig({ modelPrices: table }).modelPrices).toBe(JSON.stringify(table));
    expect(parseDeployConfig({}).modelPrices).toBeUndefined();
    expect(() => parseDeployConfig({ modelPrices: '{"version":""}' })).toThrow(DeployConfigError);
  });
});
