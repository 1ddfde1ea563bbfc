// SHA-256 over canonical JSON, synchronous (noble) so reducers can hash without awaiting.
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from './encoding.ts';
import { canonicalBytes, type Json } from './json.ts';

export const sha256Hex = (bytes: Uint8Array): string => toHex(sha256(bytes));

/** SHA-256 of the value's RFC 8785 canonical JSON, as 64 lowercase hex digits. */
export const hashJson = (value: Json): string => sha256Hex(canonicalBytes(value));

export const HASH_PATTERN = /^[0-9a-f]{64}$/;
