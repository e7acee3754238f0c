// Domain: the deployed price table (extractor -> extractJob -> provenance). What one model call
// costs, so every job.completed carries its own cost in USD and FinOps needs no second source.
// Defaults are on-demand list prices (docs/bedrock.md, "What a file costs"); a deploy overrides
// them with the `modelPrices` context (METAHOOK_MODEL_PRICES, JSON). No AWS imports here.
import { z } from './zod';

export interface ModelPrice {
  readonly input_usd_per_million_tokens: number;
  readonly output_usd_per_million_tokens: number;
}

export interface PriceTable {
  /** Named in every job's provenance, so a cost can be traced to the prices that made it. */
  readonly version: string;
  /** By model id without a geographic inference-profile prefix (`amazon.nova-lite-v1:0`). */
  readonly models: Readonly<Record<string, ModelPrice>>;
}

export const MODEL_PRICES_ENV = 'METAHOOK_MODEL_PRICES';

/**
 * Amazon Bedrock on-demand list prices, us-east-1, per million tokens (aws.amazon.com/bedrock/pricing,
 * read 2026-12). The local analyzer calls no model and costs nothing.
 */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  version: 'bedrock-list-2026-12',
  models: {
    'amazon.nova-lite-v1:0': { input_usd_per_million_tokens: 0.06, output_usd_per_million_tokens: 0.24 },
    'amazon.nova-pro-v1:0': { input_usd_per_million_tokens: 0.8, output_usd_per_million_tokens: 3.2 },
    'mistral.voxtral-small-24b-2507': { input_usd_per_million_tokens: 0.1, output_usd_per_million_tokens: 0.3 },
    'mistral.voxtral-mini-3b-2507': { input_usd_per_million_tokens: 0.04, output_usd_per_million_tokens: 0.04 },
    'metahook-local-analyzer/1': { input_usd_per_million_tokens: 0, output_usd_per_million_tokens: 0 },
  },
};

const price = z.strictObject({
  input_usd_per_million_tokens: z.number().check(z.gte(0), z.lte(1000)),
  output_usd_per_million_tokens: z.number().check(z.gte(0), z.lte(1000)),
});

const priceTableSchema = z.strictObject({
  version: z.string().check(z.minLength(1), z.maxLength(64)),
  models: z.record(z.string().check(z.minLength(1), z.maxLength(2048)), price),
});

export class PriceTableError extends Error {
  override readonly name = 'PriceTableError';
}

/**
 * The table a deploy configured, or the defaults. A configured table replaces the defaults' prices
 * model by model (models it does not name keep their default) and must name its own version.
 */
export function readPriceTable(env: Record<string, string | undefined>): PriceTable {
  const raw = env[MODEL_PRICES_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PRICE_TABLE;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new PriceTableError(`${MODEL_PRICES_ENV} must be JSON: {"version": "...", "models": {"<model id>": {"input_usd_per_million_tokens": n, "output_usd_per_million_tokens": n}}}`);
  }
  const parsed = z.safeParse(priceTableSchema, value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
    throw new PriceTableError(`${MODEL_PRICES_ENV} is not a valid price table: ${problems.join('; ')}`);
  }
  return { version: parsed.data.version, models: { ...DEFAULT_PRICE_TABLE.models, ...parsed.data.models } };
}

/** Geographic inference profiles (`us.`, `eu.`, `apac.` ...) bill at the model's price. */
const PROFILE_PREFIX = /^(?:us|eu|apac|jp|au|ca|us-gov|global)\./;

/** An ARN's last path part is the profile or model id. */
const baseModelId = (modelId: string): string => (modelId.split('/').length > 1 && modelId.startsWith('arn:') ? modelId.split('/').pop()! : modelId).replace(PROFILE_PREFIX, '');

export function priceFor(table: PriceTable, modelId: string): ModelPrice | undefined {
  return table.models[modelId] ?? table.models[baseModelId(modelId)];
}

/** USD for the tokens of one file, to 1e-8 USD; undefined when the table has no price for the model. */
export function costUsd(table: PriceTable, modelId: string, tokens: { readonly input_tokens: number; readonly output_tokens: number }): number | undefined {
  const found = priceFor(table, modelId);
  if (!found) return undefined;
  const usd =
    (tokens.input_tokens * found.input_usd_per_million_tokens + tokens.output_tokens * found.output_usd_per_million_tokens) / 1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
