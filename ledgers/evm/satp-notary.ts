// The ABI of contracts/SatpNotary.sol as the notary speaks it (viem's human-readable form, so calls are typed and no
// build output is read at run time). test/integration/notarized-log.test.ts holds it to the compiled ABI.
import { parseAbi } from 'viem';

export const SATP_NOTARY_ABI = parseAbi([
  'event WriterSet(address indexed writer, bool allowed)',
  'event Notarized(bytes32 indexed logKey, string logId, uint64 firstSeq, bytes32[] hashes)',
  'event Published(bytes32 indexed logKey, string logId, uint64 firstSeq, bytes[] entries)',
  'error NotAdmin(address caller)',
  'error NotWriter(address caller)',
  'error EmptyBatch()',
  'error EntryTooShort(uint256 index)',
  'error Rewrite(uint64 seq, bytes32 held, bytes32 sent)',
  'error NotContiguous(uint64 nextSeq, uint64 firstSeq)',
  'function isWriter(address) view returns (bool)',
  'function setWriter(address writer, bool allowed)',
  'function notarize(string logId, uint64 firstSeq, bytes32[] hashes) returns (bool)',
  'function publish(string logId, uint64 firstSeq, bytes[] entries) returns (bool)',
  'function head(string logId) view returns (uint64)',
  'function hashAt(string logId, uint64 seq) view returns (bytes32)',
  'function hashRange(string logId, uint64 from, uint64 to) view returns (bytes32[] out)',
]);
