// The OpenAPI document describes exactly the Log Storage API's routes (docs/log-storage-api.md: the
// OpenAPI document describes it), and its entry schema exactly the fields of a log entry.
import { describe, expect, it } from 'vitest';
import { logEntrySchema } from '../../kernel/entry.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { LOG_STORAGE_OPENAPI } from '../../log-api/openapi.ts';
import { GATEWAYS, serverStore } from '../support/log-storage-fixtures.ts';

/** The app's routes as "METHOD /path/{param}", leaving out middleware and the catch-all. */
function appRoutes(): string[] {
  const app = createLogStorageApp({ store: serverStore(), gateways: GATEWAYS });
  return [
    ...new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    ),
  ].sort();
}

function documentedRoutes(): string[] {
  return Object.entries(LOG_STORAGE_OPENAPI.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('OpenAPI 3.1 document of the Log Storage API', () => {
  it('lists every route of the app, and no route the app lacks', () => {
    expect(documentedRoutes()).toEqual(appRoutes());
  });

  it('names every recovery-04 §3.4 function and -01 alias among its routes', () => {
    const paths = Object.keys(LOG_STORAGE_OPENAPI.paths).map((p) => p.split('/')[1]);
    for (const name of [
      'writeLogEntry',
      'getLogEntry',
      'getLogLength',
      'getLogDiff',
      'getLastEntry',
      'getLog',
      'saveLogEntry',
      'lastEntry',
      'updateLog',
    ]) {
      expect(paths).toContain(name);
    }
  });

  it('describes every path parameter of each route', () => {
    for (const [path, ops] of Object.entries(LOG_STORAGE_OPENAPI.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(ops) as { parameters?: { name: string; in: string }[] }[]) {
        expect(
          (op.parameters ?? [])
            .filter((p) => p.in === 'path')
            .map((p) => p.name)
            .sort(),
          path,
        ).toEqual(inPath);
      }
    }
  });

  it('its LogEntry schema has exactly the fields of kernel/entry.ts logEntrySchema', () => {
    const documented = Object.keys(LOG_STORAGE_OPENAPI.components.schemas.LogEntry.properties).sort();
    expect(documented).toEqual(Object.keys(logEntrySchema.shape).sort());
    const required = [...LOG_STORAGE_OPENAPI.components.schemas.LogEntry.required].sort();
    expect(required).toEqual(
      Object.entries(logEntrySchema.shape)
        .filter(([, s]) => !s.safeParse(undefined).success)
        .map(([k]) => k)
        .sort(),
    );
  });

  it('is what GET /openapi.json serves', async () => {
    const app = createLogStorageApp({ store: serverStore(), gateways: GATEWAYS });
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(LOG_STORAGE_OPENAPI)));
  });
});
