// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title SatpAsset: the asset register of one SATP ledger (ledgers/apply-op.ts, on a chain).
/// @notice Every op is recorded by its opId, refusals included: a refusal is a recorded outcome (ok = false and a
/// code), never a revert. Each recorded op takes the next txSeq. The same opId again with the same opHash changes
/// nothing and emits nothing; with another opHash it reverts (OpConflict). TIME_LOCK is judged by block.timestamp.
contract SatpAsset {
    // Kinds, in the order of LEDGER_OP_KINDS (kernel/ledger.ts).
    uint8 constant LOCK = 0;
    uint8 constant UNLOCK = 1;
    uint8 constant BURN = 2;
    uint8 constant MINT = 3;
    uint8 constant ASSIGN = 4;
    // States, in the order of ASSET_STATES.
    uint8 constant ACTIVE = 0;
    uint8 constant LOCKED = 1;
    uint8 constant MINTED = 2;
    uint8 constant BURNED = 3;
    // Refusal codes: 0 = applied, then LEDGER_REFUSALS in order, from 1.
    uint8 constant OK = 0;
    uint8 constant ASSET_NOT_FOUND = 1;
    uint8 constant ASSET_EXISTS = 2;
    uint8 constant WRONG_STATE = 3;
    uint8 constant WRONG_OWNER = 4;
    uint8 constant LOCK_EXPIRED = 5;
    uint8 constant WRONG_LOCK = 6;

    /// The op's fields. expiresAt 0 = no expiry; owner "" for unlock and burn; lockOpId "" = none.
    struct Op {
        string opId;
        uint8 kind;
        string assetId;
        string owner;
        uint64 expiresAt;
        string lockOpId;
    }

    struct Asset {
        bool exists;
        uint8 state;
        string owner;
        uint64 lockExpiresAt;
        string lockOpId;
    }

    struct Record {
        bytes32 opHash;
        bool ok;
        uint8 code;
        uint64 txSeq;
        uint64 blockNumber;
    }

    event OpRecorded(
        bytes32 indexed opKey, Op op, bytes32 opHash, bool ok, uint8 code, uint64 txSeq, uint64 timestamp
    );

    error NotAdmin();
    error NotOperator();
    error OpConflict(bytes32 recorded, bytes32 asked);
    error AssetExists(string assetId);
    error BadOp();

    address public immutable admin;
    mapping(address => bool) public operators;
    uint64 public txSeq;
    mapping(bytes32 => Asset) internal assets;
    mapping(bytes32 => Record) internal records;

    constructor(address[] memory ops, string[] memory seedIds, string[] memory seedOwners) {
        admin = msg.sender;
        for (uint256 i = 0; i < ops.length; i++) operators[ops[i]] = true;
        if (seedIds.length != seedOwners.length) revert BadOp();
        for (uint256 i = 0; i < seedIds.length; i++) _seed(seedIds[i], seedOwners[i]);
    }

    function setOperator(address who, bool allowed) external {
        if (msg.sender != admin) revert NotAdmin();
        operators[who] = allowed;
    }

    /// An active asset the ledger starts with. Not an op: it takes no txSeq.
    function seed(string calldata assetId, string calldata owner) external {
        if (msg.sender != admin) revert NotAdmin();
        _seed(assetId, owner);
    }

    function _seed(string memory assetId, string memory owner) internal {
        Asset storage a = assets[keccak256(bytes(assetId))];
        if (a.exists) revert AssetExists(assetId);
        a.exists = true;
        a.state = ACTIVE;
        a.owner = owner;
    }

    function asset(string calldata assetId)
        external
        view
        returns (bool exists, string memory owner, uint8 state, uint64 lockExpiresAt, string memory lockOpId)
    {
        Asset storage a = assets[keccak256(bytes(assetId))];
        return (a.exists, a.owner, a.state, a.lockExpiresAt, a.lockOpId);
    }

    function op(string calldata opId) external view returns (Record memory) {
        return records[keccak256(bytes(opId))];
    }

    /// Records `o` once under its opId, applied or refused. Returns without effect when it is already recorded
    /// with this opHash; reverts OpConflict when it is recorded with another.
    function execute(Op calldata o, bytes32 opHash) external {
        if (!operators[msg.sender]) revert NotOperator();
        if (o.kind > ASSIGN || opHash == bytes32(0)) revert BadOp();
        bytes32 key = keccak256(bytes(o.opId));
        Record storage r = records[key];
        if (r.txSeq != 0) {
            if (r.opHash != opHash) revert OpConflict(r.opHash, opHash);
            return;
        }
        uint8 code = _apply(o);
        uint64 seq = ++txSeq;
        r.opHash = opHash;
        r.ok = code == OK;
        r.code = code;
        r.txSeq = seq;
        r.blockNumber = uint64(block.number);
        emit OpRecorded(key, o, opHash, code == OK, code, seq, uint64(block.timestamp));
    }

    function _same(string storage a, string calldata b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    /// ledgers/apply-op.ts, rule for rule; changes the asset only when it returns OK.
    function _apply(Op calldata o) internal returns (uint8) {
        Asset storage a = assets[keccak256(bytes(o.assetId))];
        if (o.kind == MINT) {
            // A burned id stays taken.
            if (a.exists) return ASSET_EXISTS;
            a.exists = true;
            a.state = MINTED;
            a.owner = o.owner;
            return OK;
        }
        if (!a.exists) return ASSET_NOT_FOUND;
        bool namesLock = bytes(o.lockOpId).length != 0;
        if (o.kind == LOCK) {
            if (a.state != ACTIVE) return WRONG_STATE;
            if (!_same(a.owner, o.owner)) return WRONG_OWNER;
            a.state = LOCKED;
            a.lockOpId = o.opId;
            a.lockExpiresAt = o.expiresAt;
            return OK;
        }
        if (o.kind == UNLOCK) {
            if (a.state != LOCKED) return WRONG_STATE;
            if (namesLock && !_same(a.lockOpId, o.lockOpId)) return WRONG_LOCK;
            a.state = ACTIVE;
            delete a.lockOpId;
            delete a.lockExpiresAt;
            return OK;
        }
        if (o.kind == BURN) {
            if (namesLock && a.state != LOCKED) return WRONG_STATE;
            if (a.state != LOCKED && a.state != MINTED) return WRONG_STATE;
            if (namesLock && !_same(a.lockOpId, o.lockOpId)) return WRONG_LOCK;
            // TIME_LOCK by the chain's clock, whatever the caller's clock says.
            if (a.state == LOCKED && a.lockExpiresAt != 0 && block.timestamp * 1000 >= a.lockExpiresAt) {
                return LOCK_EXPIRED;
            }
            a.state = BURNED;
            delete a.lockOpId;
            delete a.lockExpiresAt;
            return OK;
        }
        // ASSIGN
        if (a.state != MINTED) return WRONG_STATE;
        a.owner = o.owner;
        a.state = ACTIVE;
        return OK;
    }
}
