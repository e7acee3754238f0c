// Unit: the prompt and tool module (core/prompts) against the result schemas it is built from.
import { describe, expect, it } from 'vitest';
import { audioResultSchema, imageResultSchema, MAX_KEYWORDS } from '../../lambdas/core/metadata-result';
import {
  jsonReplyInstructionFor,
  METADATA_TOOL_NAME,
  metadataToolFor,
  parseModelOutput,
  repairInstruction,
  systemPromptFor,
  userInstructionFor,
} from '../../lambdas/core/prompts';
import { MEDIA_KINDS } from '../../lambdas/core/api-schemas';

const resultSchemas = { image: imageResultSchema, audio: audioResultSchema } as const;

type JsonSchema = {
  type?: string;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
};

describe.each(MEDIA_KINDS)('%s prompt and tool', (kind) => {
  const tool = metadataToolFor(kind);
  const schema = tool.inputSchema as JsonSchema & { $schema?: string };
  // properties come from the file; language and unmatched_keywords from the request's options.
  const notFromModel = new Set(['properties', 'language', 'unmatched_keywords']);
  const modelFields = Object.keys(resultSchemas[kind].shape).filter((field) => !notFromModel.has(field));
  // alt_text is asked for only when the request sets options.alt_text.
  const requiredFields = modelFields.filter((field) => field !== 'alt_text');

  it('asks for every result field except the file-derived and option-derived ones, all but alt_text required', () => {
    expect(tool.name).toBe(METADATA_TOOL_NAME);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([...modelFields].sort());
    expect([...(schema.required ?? [])].sort()).toEqual([...requiredFields].sort());
    expect(schema.$schema).toBeUndefined();
  });

  it('carries the zod limits into the JSON schema the model sees', () => {
    const accepted = parseModelOutput(kind, {
      description: 'd'.repeat(schema.properties!.description!.maxLength!),
      keywords: Array.from({ length: schema.properties!.keywords!.maxItems! }, (_, i) => `k${i}`),
      caption: 'c',
      summary: 's',
    });
    const rejected = parseModelOutput(kind, {
      description: 'd'.repeat(schema.properties!.description!.maxLength! + 1),
      keywords: Array.from({ length: schema.properties!.keywords!.maxItems! + 1 }, (_, i) => `k${i}`),
      caption: 'c',
      summary: 's',
    });

    expect(accepted.ok).toBe(true);
    expect(rejected.ok).toBe(false);
    expect(schema.properties!.keywords!.items!.minLength).toBe(1);
  });

  it('names every field it asks for in the system prompt, and the tool', () => {
    const prompt = systemPromptFor(kind, { alt_text: true });
    for (const field of modelFields) expect(prompt).toContain(`${field}:`);
    expect(systemPromptFor(kind)).not.toContain('alt_text:');
    expect(prompt).toContain(METADATA_TOOL_NAME);
    expect(prompt).toContain(String(MAX_KEYWORDS));
    expect(userInstructionFor(kind)).toContain(METADATA_TOOL_NAME);
  });

});

describe('prompt options', () => {
  it('asks for the requested language, keyword count and vocabulary, and keeps the default text without options', () => {
    const prompt = systemPromptFor('image', { language: 'de-CH', max_keywords: 5, vocabulary: ['Fahrrad', 'Strasse'] });
    expect(prompt).toContain('"de-CH"');
    expect(prompt).not.toContain('Write in English');
    expect(prompt).toContain('at most 5');
    expect(prompt).toContain('["Fahrrad","Strasse"]');
    expect(systemPromptFor('image')).toContain('Write in English');
    expect(systemPromptFor('image')).toContain(`up to ${MAX_KEYWORDS} short lower-case`);
  });

  it('puts the options into the JSON-mode instructions too (Voxtral through InvokeModel)', () => {
    expect(jsonReplyInstructionFor('audio', { language: 'fr' })).toContain('"fr"');
    expect(jsonReplyInstructionFor('audio', { language: 'fr' })).not.toContain(METADATA_TOOL_NAME + ' tool exactly once');
  });
});

describe('parseModelOutput', () => {
  it('trims text and drops fields the model may not set', () => {
    const parsed = parseModelOutput('image', {
      description: '  A red bike.  ',
      keywords: ['bike'],
      caption: 'Red bike',
      properties: { width: 1 },
    });

    expect(parsed).toEqual({ ok: true, output: { description: 'A red bike.', keywords: ['bike'], caption: 'Red bike' } });
  });

  it('lists each problem with its path', () => {
    const parsed = parseModelOutput('audio', { description: '', keywords: ['ok', 42] });

    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems.some((problem) => problem.startsWith('description:'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('keywords.1:'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('summary:'))).toBe(true);
  });

  it('rejects a reply that is not an object', () => {
    expect(parseModelOutput('image', 'just text').ok).toBe(false);
    expect(parseModelOutput('image', undefined).ok).toBe(false);
  });
});

describe('repairInstruction', () => {
  it('quotes every problem and asks for the tool again', () => {
    const problems = ['caption: Invalid input: expected string, received undefined', 'keywords.3: Too big'];

    const text = repairInstruction(problems);

    for (const problem of problems) expect(text).toContain(problem);
    expect(text).toContain(METADATA_TOOL_NAME);
  });
});
