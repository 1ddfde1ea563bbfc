// The OpenAPI 3.1 description of the Log Storage API (recovery-04 §3.4), served at GET /openapi.json.
// Written by hand; test/integration/log-storage-openapi.test.ts checks it lists exactly the app's routes.

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const success = (data: object, description: string) => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['success', 'response_data'],
        properties: { success: { const: true }, response_data: data },
      },
    },
  },
});
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      problem(
        {
          400: 'INVALID_INPUT: not UTF-8, not strict JSON, wrong shape, bad parameter',
          401: 'UNAUTHENTICATED: missing or bad credentials',
          403: 'FORBIDDEN (the access-control profile refuses the caller) or UNKNOWN_AUTHOR',
          404: 'NOT_FOUND',
          409:
            'CHAIN_CONFLICT (does not extend the log, or the expected head moved; `head` tells where the log stands) ' +
            'or LOG_DIVERGED',
          413: 'INVALID_INPUT: the body is over the limit',
          415: 'INVALID_INPUT: the body is not sent as application/json',
          422: 'BAD_HASH or BAD_SIGNATURE',
          500: 'unexpected error: a write may or may not have happened',
          503: 'STORAGE_FAILURE, STORE_CLOSED or timeout: a write may or may not have happened',
        }[s] ?? String(s),
      ),
    ]),
  );
const logParams = [
  { name: 'sessionId', in: 'path', required: true, schema: ref('Id') },
  {
    name: 'author',
    in: 'path',
    required: true,
    schema: ref('Id'),
    description: 'The gateway that writes the chain: the log id is `sessionId/author`',
  },
];
const lengthString = {
  type: 'string',
  pattern: '^(0|[1-9][0-9]*)$',
  description: 'A decimal integer as a string, as recovery-04 Figure 4 shows',
};
const entriesBody = {
  required: true,
  content: {
    'application/json': {
      schema: {
        oneOf: [
          ref('LogEntry'),
          {
            type: 'object',
            required: ['entries'],
            additionalProperties: false,
            properties: { entries: { type: 'array', minItems: 1, items: ref('LogEntry') } },
          },
        ],
      },
    },
  },
};
const writeOp = (summary: string, okDescription: string, expectedHead: boolean) => ({
  summary,
  tags: ['write'],
  parameters: [
    ...logParams,
    ...(expectedHead
      ? [
          {
            name: 'X-Expected-Last-Hash',
            in: 'header',
            required: false,
            schema: ref('Hash'),
            description:
              'The head the append expects (GENESIS_HASH, 64 zeros, for an empty log). ' +
              'Refused 409 if the log ends elsewhere.',
          },
        ]
      : []),
  ],
  requestBody: entriesBody,
  responses: { 200: success(lengthString, okDescription), ...errors(400, 401, 403, 409, 413, 415, 422, 500, 503) },
});
const readOp = (
  summary: string,
  data: object,
  okDescription: string,
  extra: object[] = [],
  statuses = [400, 401, 403, 500, 503],
) => ({
  summary,
  tags: ['read'],
  parameters: [...logParams, ...extra],
  responses: { 200: success(data, okDescription), ...errors(...statuses) },
});
/**
 * An operation at recovery-04 §3.4's own path, which names the log by one value: `op` with its two path parameters
 * (sessionId, author) replaced by `named`.
 */
const atDraftPath = <T extends { summary: string; parameters: object[] }>(op: T, ...named: object[]): T => ({
  ...op,
  summary: `${op.summary}, at recovery-04 §3.4's path`,
  parameters: [...named, ...op.parameters.filter((p) => (p as { in?: string }).in !== 'path')],
});
const LOG_ID_TEXT = 'The log id `<sessionId>/<author>`';
const logIdSegment = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: `${LOG_ID_TEXT} as one path segment, its "/" sent as %2F (recovery-04 §3.4 \`:${name}\`)`,
});
const logQuery = {
  name: 'log',
  in: 'query',
  required: true,
  schema: { type: 'string' },
  description: `${LOG_ID_TEXT}: recovery-04 §3.4 names no log for this function, so the query does`,
};
const entryIdSegment = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'The entry id `<sessionId>/<author>/<seqNumber>` as one path segment, its "/" sent as %2F',
};
const PAGE_QUERY = [
  { name: 'from', in: 'query', required: false, schema: lengthString, description: 'First seqNumber (default 1)' },
  { name: 'to', in: 'query', required: false, schema: lengthString, description: 'Last seqNumber (default: the end)' },
  {
    name: 'limit',
    in: 'query',
    required: false,
    schema: lengthString,
    description: 'Most entries (default and maximum: the page size)',
  },
];
const str = (maxLength: number) => ({ type: 'string', maxLength });
const jwk = {
  type: 'object',
  additionalProperties: false,
  required: ['kty', 'crv', 'x', 'y'],
  properties: {
    kty: { const: 'EC' },
    crv: { enum: ['P-256', 'secp256k1'] },
    x: { type: 'string' },
    y: { type: 'string' },
  },
};

/** The parts of an OpenAPI 3.1 document that readers of this one use; the rest is plain JSON. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, unknown> & {
      LogEntry: { properties: Record<string, unknown>; required: readonly string[]; [k: string]: unknown };
    };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export const LOG_STORAGE_OPENAPI: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'SATP Log Storage API',
    version: '1.0.0',
    description:
      'The Log Storage API of draft-belchior-satp-gateway-recovery-04 §3.4, with the -01 names as aliases. ' +
      'Replies are {"success": true, "response_data": …} with 200; ' +
      'failures are RFC 9457 problems with "success": false and a stable "code". See docs/log-storage-api.md.',
  },
  security: [{ bearer: [] }, { satpSig: [] }],
  paths: {
    '/openapi.json': {
      get: {
        summary: 'This document',
        security: [],
        responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': {} } } },
      },
    },
    '/capabilities': {
      get: {
        summary: 'What the server promises and accepts',
        tags: ['meta'],
        responses: { 200: success(ref('Capabilities'), 'The capabilities'), ...errors(401) },
      },
    },
    '/writeLogEntry/{sessionId}/{author}': {
      post: writeOp(
        'writeLogEntry(e, L): append one entry, or a batch atomically',
        'The log length after the append',
        true,
      ),
    },
    '/saveLogEntry/{sessionId}/{author}': {
      post: writeOp('saveLogEntry (-01 name of writeLogEntry)', 'The log length after the append', true),
    },
    '/updateLog/{sessionId}/{author}': {
      post: writeOp(
        'updateLog(l1, l2) (-01): bring the log up to date from entries of the same chain',
        'The index of the last common entry: the log length before the update',
        false,
      ),
    },
    '/getLogEntry/{sessionId}/{author}/{seq}': {
      get: readOp(
        'getLogEntry(i, L): the entry with seqNumber i',
        ref('LogEntry'),
        'The entry',
        [{ name: 'seq', in: 'path', required: true, schema: lengthString }],
        [400, 401, 403, 404, 500, 503],
      ),
    },
    '/getLogLength/{sessionId}/{author}': {
      get: readOp('getLogLength(L)', lengthString, 'The number of entries (0 for an unknown log)'),
    },
    '/getLastEntry/{sessionId}/{author}': {
      get: readOp('getLastEntry(L)', ref('LogEntry'), 'The last entry', [], [400, 401, 403, 404, 500, 503]),
    },
    '/lastEntry/{sessionId}/{author}': {
      get: readOp(
        'lastEntry (-01 name of getLastEntry)',
        ref('LogEntry'),
        'The last entry',
        [],
        [400, 401, 403, 404, 500, 503],
      ),
    },
    '/getLog/{sessionId}/{author}': {
      get: readOp('getLog(L), one bounded page at a time', ref('LogPage'), 'A page of the log', PAGE_QUERY),
    },
    '/getLogDiff/{sessionId}/{author}': {
      post: {
        ...readOp(
          'getLogDiff(l1, l2): what the log holds beyond the caller’s view of it',
          ref('LogDiff'),
          'The difference (kernel/log-diff.ts)',
          [],
          [400, 401, 403, 413, 415, 500, 503],
        ),
        requestBody: { required: true, content: { 'application/json': { schema: ref('LogView') } } },
      },
    },
    '/getHead/{sessionId}/{author}': {
      get: readOp(
        'The stored head of the log (driver level: log-api/client.ts)',
        { oneOf: [ref('StoredHead'), { type: 'null' }] },
        'The head, or null for an empty log',
      ),
    },
    '/getLogTexts/{sessionId}/{author}': {
      get: readOp(
        'The stored texts of the log, verbatim and unverified, one bounded page at a time ' +
          '(driver level: log-api/client.ts)',
        ref('TextPage'),
        'A page of stored texts',
        [
          {
            name: 'from',
            in: 'query',
            required: false,
            schema: lengthString,
            description: 'First seqNumber (default 1)',
          },
          {
            name: 'to',
            in: 'query',
            required: false,
            schema: lengthString,
            description: 'Last seqNumber (default: the end)',
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: lengthString,
            description: 'Most entries (default and maximum: the page size)',
          },
        ],
      ),
    },
    '/writeLogEntry/{logId}': {
      post: atDraftPath(
        writeOp(
          'writeLogEntry(e, L): append one entry, or a batch atomically',
          'The log length after the append',
          true,
        ),
        logIdSegment('logId'),
      ),
    },
    '/getLogEntry/{id}': {
      get: atDraftPath(
        readOp(
          'getLogEntry(i, L): the entry with seqNumber i',
          ref('LogEntry'),
          'The entry',
          [],
          [400, 401, 403, 404, 500, 503],
        ),
        entryIdSegment,
      ),
    },
    '/getLogLength': {
      get: atDraftPath(
        readOp('getLogLength(L)', lengthString, 'The number of entries (0 for an unknown log)'),
        logQuery,
      ),
    },
    '/getLastEntry': {
      get: atDraftPath(
        readOp('getLastEntry(L)', ref('LogEntry'), 'The last entry', [], [400, 401, 403, 404, 500, 503]),
        logQuery,
      ),
    },
    '/getLog': {
      get: atDraftPath(
        readOp('getLog(L), one bounded page at a time', ref('LogPage'), 'A page of the log', PAGE_QUERY),
        logQuery,
      ),
    },
    '/getLogDiff/{log}': {
      post: atDraftPath(
        {
          ...readOp(
            'getLogDiff(l1, l2): what the log holds beyond the caller’s view of it',
            ref('LogDiff'),
            'The difference (kernel/log-diff.ts)',
            [],
            [400, 401, 403, 413, 415, 500, 503],
          ),
          requestBody: { required: true, content: { 'application/json': { schema: ref('LogView') } } },
        },
        logIdSegment('log'),
      ),
    },
    '/openLogs': {
      get: {
        summary: 'Logs whose session has not ended and that the caller may read',
        tags: ['read'],
        responses: {
          200: success({ type: 'array', items: ref('OpenLog') }, 'The open logs'),
          ...errors(401, 500, 503),
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A per-gateway token from the server configuration' },
      satpSig: {
        type: 'http',
        scheme: 'SATP-Sig',
        description:
          'Authorization: SATP-Sig <gatewayId> <timestampMs> <base64url r‖s signature> ' +
          'over "SATP-Sig\\n<METHOD>\\n<path?query>\\n<timestampMs>\\n<hex SHA-256 of the body>" ' +
          'with the gateway identity key.',
      },
    },
    schemas: {
      Id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' },
      Hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      ChainHead: {
        type: 'object',
        required: ['seq', 'hash'],
        properties: { seq: { type: 'integer', minimum: 0 }, hash: ref('Hash') },
      },
      LogEntry: {
        type: 'object',
        description: 'A sealed log entry (recovery-04 §4, camelCase; kernel/entry.ts)',
        additionalProperties: false,
        required: [
          'version',
          'sessionId',
          'contextId',
          'seqNumber',
          'phase',
          'step',
          'author',
          'resourceUrl',
          'developerUrn',
          'actionResponse',
          'credentialProfile',
          'credentialBlock',
          'payloadProfile',
          'applicationProfile',
          'payload',
          'payloadHash',
          'timestamp',
          'originGatewayPubkey',
          'originGatewaySystem',
          'destinationGatewayPubkey',
          'destinationGatewaySystem',
          'loggingProfile',
          'lastEntryHash',
          'accessControlProfile',
          'operation',
          'entryHash',
          'messageSignature',
        ],
        properties: {
          version: str(16),
          sessionId: ref('Id'),
          contextId: ref('Id'),
          seqNumber: { type: 'integer', minimum: 1 },
          phase: str(64),
          step: str(64),
          author: ref('Id'),
          resourceUrl: str(2048),
          developerUrn: str(512),
          actionResponse: str(512),
          credentialProfile: str(128),
          credentialBlock: str(8192),
          payloadProfile: str(512),
          applicationProfile: str(512),
          payload: {},
          payloadHash: ref('Hash'),
          timestamp: { type: 'integer', minimum: 0 },
          originGatewayPubkey: jwk,
          originGatewaySystem: str(256),
          destinationGatewayPubkey: jwk,
          destinationGatewaySystem: str(256),
          loggingProfile: str(128),
          lastEntryHash: ref('Hash'),
          accessControlProfile: {
            ...str(512),
            description: 'author-only | public-read | gateways:<id>,… | backups:<id>,… (clauses joined by ";")',
          },
          operation: { enum: ['init', 'exec', 'done', 'ack', 'fail'] },
          recoveryMessage: str(128),
          recoveryPayload: {},
          entryHash: ref('Hash'),
          messageSignature: { type: 'string', pattern: '^[A-Za-z0-9_-]{86}$' },
        },
      },
      LogView: {
        type: 'object',
        additionalProperties: false,
        required: ['seq', 'hash'],
        properties: { seq: { type: 'integer', minimum: 0 }, hash: ref('Hash'), limit: { type: 'integer', minimum: 1 } },
      },
      LogDiff: {
        oneOf: [
          {
            type: 'object',
            required: ['kind', 'entries', 'more'],
            properties: {
              kind: { const: 'extends' },
              entries: { type: 'array', items: ref('LogEntry') },
              more: { type: 'boolean' },
            },
          },
          {
            type: 'object',
            required: ['kind', 'length'],
            properties: { kind: { const: 'view-longer' }, length: { type: 'integer' } },
          },
          {
            type: 'object',
            required: ['kind', 'seq', 'ours', 'theirs'],
            properties: {
              kind: { const: 'diverged' },
              seq: { type: 'integer' },
              ours: ref('Hash'),
              theirs: ref('Hash'),
            },
          },
        ],
      },
      LogPage: {
        type: 'object',
        required: ['entries', 'more'],
        properties: {
          entries: { type: 'array', items: ref('LogEntry') },
          more: { type: 'boolean' },
          next: { type: 'integer', description: 'The from of the next page, when more' },
        },
      },
      StoredHead: {
        type: 'object',
        required: ['seq', 'hash', 'open'],
        properties: {
          seq: { type: 'integer', minimum: 1 },
          hash: ref('Hash'),
          open: { type: 'boolean', description: 'false once the chain has its end entry' },
        },
      },
      TextPage: {
        type: 'object',
        required: ['texts', 'more'],
        properties: {
          texts: { type: 'array', items: { type: 'string' } },
          more: { type: 'boolean' },
          next: { type: 'integer', description: 'The from of the next page, when more' },
        },
      },
      OpenLog: {
        type: 'object',
        required: ['logId', 'sessionId', 'author', 'head'],
        properties: { logId: { type: 'string' }, sessionId: ref('Id'), author: ref('Id'), head: ref('ChainHead') },
      },
      Capabilities: {
        type: 'object',
        required: ['persistent', 'durable', 'maxBodyBytes', 'pageSize', 'maxReplyChars'],
        properties: {
          persistent: { type: 'boolean' },
          durable: { type: 'boolean' },
          maxBodyBytes: { type: 'integer' },
          pageSize: { type: 'integer' },
          maxReplyChars: { type: 'integer' },
        },
      },
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details, with the recovery-04 §3.4.1 member success: false',
        required: ['success', 'type', 'title', 'status', 'code'],
        properties: {
          success: { const: false },
          type: { type: 'string', format: 'uri-reference' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: {
            enum: [
              'INVALID_INPUT',
              'CHAIN_CONFLICT',
              'BAD_HASH',
              'BAD_SIGNATURE',
              'UNKNOWN_AUTHOR',
              'LOG_DIVERGED',
              'NOT_FOUND',
              'STORE_CLOSED',
              'STORAGE_FAILURE',
              'FENCED',
              'UNAUTHENTICATED',
              'FORBIDDEN',
            ],
          },
          head: { ...ref('ChainHead'), description: 'On CHAIN_CONFLICT: where the log stands now' },
          divergence: { type: 'object', description: 'On LOG_DIVERGED: {seq, ours, theirs}' },
        },
      },
    },
  },
} as const;
