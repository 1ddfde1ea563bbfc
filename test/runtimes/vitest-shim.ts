// The slice of vitest's API the portable tests use (describe, it, hooks, expect, vi.stubGlobal), for runtimes
// vitest cannot run in: a Chromium page and a workerd isolate. The test files are bundled by esbuild with `vitest`
// aliased to this file (test/runtimes/bundle.ts); `expect` is vitest's own (@vitest/expect on chai), so an
// assertion means the same here as under Node and Deno. run() executes what the files registered, in order, and
// returns the counts and failures; each test is bounded by its timeout (60 s as in vitest.config.ts, unless given).
import * as chai from 'chai';
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

type Fn = () => unknown;
type ExpectFn = ((value: unknown, message?: string) => Chai.Assertion) & Record<string, unknown>;

function createExpect(): ExpectFn {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect as never) as { assertionCalls: number };
    setState({ assertionCalls: assertionCalls + 1 }, expect as never);
    return chai.expect(value, message);
  }) as ExpectFn;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT as symbol]);
  setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect as never);
  expect.getState = () => getState(expect as never);
  expect.setState = (state: object) => setState(state, expect as never);
  expect.assert = chai.assert;
  expect.extend = (matchers: object) =>
    (chai.expect as unknown as { extend: (e: unknown, m: object) => void }).extend(expect, matchers);
  expect.unreachable = (message?: string) =>
    chai.assert.fail(`expected${message ? ` "${message}" ` : ' '}not to be reached`);
  return expect;
}

export const expect: ExpectFn = createExpect();

interface Test {
  kind: 'test';
  name: string;
  fn: Fn;
  timeout: number;
  skip: boolean;
}
interface Suite {
  kind: 'suite';
  name: string;
  file: string;
  children: (Test | Suite)[];
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}

/** vitest.config.ts's testTimeout, so a test has the same time everywhere. */
const DEFAULT_TIMEOUT = 60_000;
const newSuite = (name: string, file: string): Suite => ({
  kind: 'suite',
  name,
  file,
  children: [],
  beforeAll: [],
  afterAll: [],
  beforeEach: [],
  afterEach: [],
});
const root: Suite = newSuite('', '');
let current: Suite = root;
let file = '';

/** Called by the generated entry before each test file's module runs: its registrations belong to `name`. */
export function beginFile(name: string): void {
  file = name;
  current = newSuite('', name);
  root.children.push(current);
}

const timeoutOf = (t: number | { timeout?: number } | undefined) =>
  typeof t === 'number' ? t : (t?.timeout ?? DEFAULT_TIMEOUT);

const format = (template: string, args: unknown[]) => {
  let i = 0;
  return template.replace(/%[sdifjo]/g, () => {
    const v = args[i++];
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
};

function each<A extends unknown[]>(
  cases: readonly A[] | readonly unknown[],
  register: (name: string, args: A) => void,
) {
  return (name: string, fn: (...args: A) => unknown, timeout?: number) => {
    for (const c of cases) {
      const args = (Array.isArray(c) ? c : [c]) as A;
      register(format(name, args), [() => fn(...args), timeout] as unknown as A);
    }
  };
}

function registerTest(name: string, fn: Fn | undefined, timeout?: number | { timeout?: number }, skip = false) {
  current.children.push({ kind: 'test', name, fn: fn ?? (() => undefined), timeout: timeoutOf(timeout), skip });
}

function registerSuite(name: string, body: Fn) {
  const parent = current;
  const suite = newSuite(name, file);
  parent.children.push(suite);
  current = suite;
  try {
    const r = body();
    if (r instanceof Promise) throw new TypeError(`describe('${name}') must not be async`);
  } finally {
    current = parent;
  }
}

type ItFn = ((name: string, fn?: Fn, timeout?: number | { timeout?: number }) => void) & {
  each: (cases: readonly unknown[]) => (name: string, fn: (...args: never[]) => unknown, timeout?: number) => void;
  skip: (name: string, fn?: Fn, timeout?: number) => void;
  only: (name: string, fn?: Fn, timeout?: number) => void;
  todo: (name: string) => void;
};

export const it: ItFn = Object.assign(
  (name: string, fn?: Fn, timeout?: number | { timeout?: number }) => registerTest(name, fn, timeout),
  {
    each: (cases: readonly unknown[]) =>
      each(cases, (name, [fn, timeout]) => registerTest(name, fn as Fn, timeout as number | undefined)) as never,
    skip: (name: string, fn?: Fn, timeout?: number) => registerTest(name, fn, timeout, true),
    only: (name: string, fn?: Fn, timeout?: number) => registerTest(name, fn, timeout),
    todo: (name: string) => registerTest(name, undefined, undefined, true),
  },
);
export const test: ItFn = it;

type DescribeFn = ((name: string, body: Fn) => void) & {
  each: (cases: readonly unknown[]) => (name: string, body: (...args: never[]) => unknown) => void;
  skip: (name: string, body: Fn) => void;
};
export const describe: DescribeFn = Object.assign((name: string, body: Fn) => registerSuite(name, body), {
  each: (cases: readonly unknown[]) => each(cases, (name, [body]) => registerSuite(name, body as Fn)) as never,
  skip: (name: string, _body: Fn) => registerTest(name, undefined, undefined, true),
});

export const beforeAll = (fn: Fn): void => void current.beforeAll.push(fn);
export const afterAll = (fn: Fn): void => void current.afterAll.push(fn);
export const beforeEach = (fn: Fn): void => void current.beforeEach.push(fn);
export const afterEach = (fn: Fn): void => void current.afterEach.push(fn);

const stubbed = new Map<string, PropertyDescriptor | undefined>();
export const vi = {
  stubGlobal(name: string, value: unknown) {
    if (!stubbed.has(name)) stubbed.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true, enumerable: true });
    return vi;
  },
  unstubAllGlobals() {
    for (const [name, descriptor] of stubbed) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    }
    stubbed.clear();
    return vi;
  },
};

export interface RunResult {
  passed: number;
  failed: number;
  skipped: number;
  files: number;
  failures: { test: string; message: string }[];
}

async function bounded(fn: Fn, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const messageOf = (err: unknown) =>
  err instanceof Error ? `${err.name}: ${err.message}`.split('\n').slice(0, 6).join('\n') : String(err);

/** Runs everything registered, in order; `onTest` sees each result as it comes (for a live log). */
export async function run(onTest?: (name: string, ok: boolean | 'skipped') => void): Promise<RunResult> {
  const result: RunResult = { passed: 0, failed: 0, skipped: 0, files: 0, failures: [] };
  const files = new Set<string>();
  const walk = async (suite: Suite, path: string[], eachHooks: { before: Fn[]; after: Fn[] }) => {
    const before = [...eachHooks.before, ...suite.beforeEach];
    const after = [...suite.afterEach, ...eachHooks.after];
    const prefix = suite.file ? `${suite.file} > ` : '';
    const fail = (name: string, err: unknown) => {
      result.failed++;
      result.failures.push({ test: `${prefix}${[...path, name].join(' > ')}`, message: messageOf(err) });
      onTest?.(name, false);
    };
    try {
      for (const hook of suite.beforeAll) await bounded(hook, 30_000, 'beforeAll');
    } catch (err) {
      fail('beforeAll', err);
      return;
    }
    for (const child of suite.children) {
      if (child.kind === 'suite') {
        await walk(child, child.name ? [...path, child.name] : path, { before, after });
        continue;
      }
      if (suite.file) files.add(suite.file);
      if (child.skip) {
        result.skipped++;
        onTest?.(child.name, 'skipped');
        continue;
      }
      setState({ assertionCalls: 0 }, expect as never);
      try {
        for (const hook of before) await bounded(hook, 30_000, 'beforeEach');
        await bounded(child.fn, child.timeout, `test "${child.name}"`);
        for (const hook of after) await bounded(hook, 30_000, 'afterEach');
        result.passed++;
        onTest?.(child.name, true);
      } catch (err) {
        for (const hook of after) await bounded(hook, 30_000, 'afterEach').catch(() => undefined);
        fail(child.name, err);
      }
    }
    for (const hook of suite.afterAll) await bounded(hook, 30_000, 'afterAll').catch((err) => fail('afterAll', err));
  };
  for (const suite of root.children) if (suite.kind === 'suite') await walk(suite, [], { before: [], after: [] });
  result.files = files.size;
  return result;
}
