// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title SatpNotary: an append-only notary of SATP log entry hashes (recovery-04 §3.3, the chain as notary).
/// @notice Per log (key = keccak256 of the logId string "session/author"), the SHA-256 entry hash of each entry by
/// its seqNumber (from 1), the same hash the log's own chain uses (kernel/entry.ts entryHashOf), so a notarized hash
/// compares with an entry's entryHash directly. Slots are write-once and appended contiguously; re-sending exactly
/// what a log already holds is a no-op (a retry after a crash is harmless); anything else reverts.
/// Mode "hashes": notarize() stores the hashes. Mode "entries": publish() takes each entry as its canonical body
/// (UTF-8 RFC 8785 JSON, what the hash and the signature cover) followed by its 64-byte signature, stores the
/// SHA-256 of the body and puts the bytes in the event, so the chain holds the log itself.
contract SatpNotary {
    address public immutable admin;
    mapping(address => bool) public isWriter;
    /// How many entries each log holds; the next free seq is count + 1.
    mapping(bytes32 => uint64) private _count;
    mapping(bytes32 => mapping(uint64 => bytes32)) private _hash;

    event WriterSet(address indexed writer, bool allowed);
    event Notarized(bytes32 indexed logKey, string logId, uint64 firstSeq, bytes32[] hashes);
    event Published(bytes32 indexed logKey, string logId, uint64 firstSeq, bytes[] entries);

    error NotAdmin(address caller);
    error NotWriter(address caller);
    error EmptyBatch();
    error EntryTooShort(uint256 index);
    /// The slot already holds another hash: a slot is never rewritten.
    error Rewrite(uint64 seq, bytes32 held, bytes32 sent);
    /// The batch neither starts at the next free seq nor lies wholly within what the log holds.
    error NotContiguous(uint64 nextSeq, uint64 firstSeq);

    constructor(address[] memory writers) {
        admin = msg.sender;
        for (uint256 i = 0; i < writers.length; i++) {
            isWriter[writers[i]] = true;
            emit WriterSet(writers[i], true);
        }
    }

    function setWriter(address writer, bool allowed) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        isWriter[writer] = allowed;
        emit WriterSet(writer, allowed);
    }

    /// Mode "hashes". Returns false when the batch was there already (nothing changed, no event).
    function notarize(string calldata logId, uint64 firstSeq, bytes32[] calldata hashes) external returns (bool) {
        bytes32 key = keccak256(bytes(logId));
        bool appended = _append(key, firstSeq, hashes);
        if (appended) emit Notarized(key, logId, firstSeq, hashes);
        return appended;
    }

    /// Mode "entries": each entry is body ‖ 64-byte signature; the body's SHA-256 is stored.
    function publish(string calldata logId, uint64 firstSeq, bytes[] calldata entries) external returns (bool) {
        bytes32 key = keccak256(bytes(logId));
        bytes32[] memory hashes = new bytes32[](entries.length);
        for (uint256 i = 0; i < entries.length; i++) {
            uint256 n = entries[i].length;
            if (n <= 64) revert EntryTooShort(i);
            hashes[i] = sha256(entries[i][:n - 64]);
        }
        bool appended = _append(key, firstSeq, hashes);
        if (appended) emit Published(key, logId, firstSeq, entries);
        return appended;
    }

    /// The next free seq of the log (1 when it holds nothing).
    function head(string calldata logId) external view returns (uint64) {
        return _count[keccak256(bytes(logId))] + 1;
    }

    /// The hash at `seq`, or zero when the log holds no such entry.
    function hashAt(string calldata logId, uint64 seq) external view returns (bytes32) {
        return _hash[keccak256(bytes(logId))][seq];
    }

    /// The hashes of seqs from..to (inclusive), cut at what the log holds.
    function hashRange(string calldata logId, uint64 from, uint64 to) external view returns (bytes32[] memory out) {
        bytes32 key = keccak256(bytes(logId));
        uint64 count = _count[key];
        if (to > count) to = count;
        if (from < 1) from = 1;
        if (from > to) return new bytes32[](0);
        out = new bytes32[](to - from + 1);
        for (uint64 s = from; s <= to; s++) out[s - from] = _hash[key][s];
    }

    function _append(bytes32 key, uint64 firstSeq, bytes32[] memory hashes) private returns (bool) {
        if (!isWriter[msg.sender]) revert NotWriter(msg.sender);
        uint256 n = hashes.length;
        if (n == 0) revert EmptyBatch();
        uint64 count = _count[key];
        if (firstSeq == count + 1) {
            mapping(uint64 => bytes32) storage slots = _hash[key];
            for (uint256 i = 0; i < n; i++) slots[firstSeq + uint64(i)] = hashes[i];
            _count[key] = count + uint64(n);
            return true;
        }
        if (firstSeq < 1 || firstSeq > count) revert NotContiguous(count + 1, firstSeq);
        // The batch starts within the log: what overlaps must be what is there; then it must end there too.
        mapping(uint64 => bytes32) storage held = _hash[key];
        for (uint256 i = 0; i < n && firstSeq + uint64(i) <= count; i++) {
            uint64 seq = firstSeq + uint64(i);
            if (held[seq] != hashes[i]) revert Rewrite(seq, held[seq], hashes[i]);
        }
        if (uint256(firstSeq) + n - 1 > count) revert NotContiguous(count + 1, firstSeq);
        return false;
    }
}
