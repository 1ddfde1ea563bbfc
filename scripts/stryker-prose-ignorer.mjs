// A Stryker ignorer plugin for `npm run mutate` (docs/mutation-testing.md): text written for people is not mutated.
// A string or template literal with a space in its text is a detail, reason, title or message (nothing in the kernel
// compares such a string or takes it apart); a mutant that empties it changes no decision, survives every test
// and costs a full test run. Identifiers (message types, op ids, error codes, kinds) have no spaces and are mutated.
// Stryker lists the mutants it skips as "Ignored", with the reason below.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const REASON = 'prose: a detail, reason or message for people (scripts/stryker-prose-ignorer.mjs)';

/** The literal text of a string or template literal (template expressions left out). */
function textOf(path) {
  if (path.isStringLiteral()) return path.node.value;
  if (path.isTemplateLiteral()) return path.node.quasis.map((q) => q.value.cooked ?? q.value.raw).join('');
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'prose', {
    shouldIgnore(path) {
      return textOf(path)?.includes(' ') ? REASON : undefined;
    },
  }),
];
