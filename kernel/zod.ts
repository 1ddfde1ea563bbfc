// zod/mini, the tree-shakeable build of zod 4, with English issue messages: every schema imports it from here,
// as `import * as z from './zod.ts'` (a namespace import, so a bundler keeps only the functions used).
import { en } from 'zod/locales';
import { config } from 'zod/mini';

// Classic zod registers English on first use when no locale is set; mini loads none, and every message would
// read "Invalid input". The same rule here: a locale the application configured first stays.
if (!config().localeError) config(en());

export * from 'zod/mini';
