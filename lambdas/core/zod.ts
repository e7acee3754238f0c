// The zod/mini functions the Lambda code uses, imported by name. `import { z } from 'zod/mini'`
// pulls zod's whole namespace (every locale, the JIT compiler) into each bundle, ~430 KB;
// named imports let esbuild keep only what is used (~20 KB). English messages only.
import {
  array,
  boolean,
  config,
  discriminatedUnion,
  enum as enumOf,
  gte,
  int,
  literal,
  lte,
  maximum,
  maxLength,
  minimum,
  minLength,
  null as nullSchema,
  number,
  object,
  omit,
  optional,
  record,
  regex,
  safeParse,
  strictObject,
  string,
  superRefine,
  trim,
  union,
  unknown,
} from 'zod/mini';
import en from 'zod/v4/locales/en.js';

export type { infer as Infer, ZodMiniType } from 'zod/mini';

config(en());

export const z = {
  array,
  boolean,
  discriminatedUnion,
  enum: enumOf,
  gte,
  int,
  literal,
  lte,
  maximum,
  maxLength,
  minimum,
  minLength,
  null: nullSchema,
  number,
  object,
  omit,
  optional,
  record,
  regex,
  safeParse,
  strictObject,
  string,
  superRefine,
  trim,
  union,
  unknown,
};
