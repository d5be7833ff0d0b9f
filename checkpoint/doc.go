// Package checkpoint is the DynamoDB lease and checkpoint table the KCL worker of one
// source stream uses. Store implements vmware-go-kcl-v2's Checkpointer interface, replacing
// the library's DynamoCheckpoint, whose writes are not safe for a fleet (see "Why not the
// library's checkpointer" below).
//
// # Table
//
// One table per KCL application and stream (see config.LeaseTable), created on first use
// with on-demand (PAY_PER_REQUEST) billing. Items, one per shard:
//
//	attribute     type  meaning
//	ShardID       S     hash key: the Kinesis shard id
//	AssignedTo    S     worker id of the lease owner; absent when nobody holds the lease
//	LeaseTimeout  S     end of the owner's lease (UTC, fixed-width RFC 3339 with nanoseconds);
//	                    others may take the lease once it has passed
//	LeaseCounter  N     incremented on every acquisition, renewal and release; acquisitions
//	                    are conditional on the value read (optimistic concurrency)
//	Checkpoint    S     sequence number of the last record whose batch both sinks
//	                    acknowledged, or SHARD_END once a closed shard is fully processed;
//	                    absent before the first checkpoint
//	ClaimRequest  S     worker id of a worker that asked to steal this lease (lease stealing)
//	ClaimExpiry   S     when that claim lapses if the claimer does not take the lease
//
// The attribute names ShardID, AssignedTo, LeaseTimeout, Checkpoint and ClaimRequest are the
// library's, so existing dashboards and scripts that read them keep working.
//
// # Rules
//
//   - Acquire: only a lease that is free, expired, or already ours in the table (a restart
//     under the same worker id) is taken; never one another worker holds unexpired, nor one
//     another worker has an unexpired claim on. The write is conditional on LeaseCounter.
//   - Renew: conditional on AssignedTo being this worker and no other worker's live claim.
//     A renewal never (re)acquires: if another worker took the lease, the renewal fails and
//     the lease is lost.
//   - Checkpoint: conditional on AssignedTo being this worker, and refused without a call
//     when this worker knows it lost the lease. A worker that lost its lease can therefore
//     not move the checkpoint; the new owner re-reads from the last checkpoint, so a lost
//     lease costs duplicates, never records.
//   - Release (clean stop, lost lease, shard finished): AssignedTo removed, conditional on
//     being the owner, so another worker takes the shard at its next shard sync instead of
//     waiting for the lease to expire.
//
// Each held lease is a Lease whose Done channel closes when the lease ends for any reason
// (renewal refused or failed, expiry without renewal, release). The KCL adapter watches it
// to stop working on a shard it no longer owns.
//
// # Why not the library's checkpointer
//
// vmware-go-kcl-v2 v1.0.0's DynamoCheckpoint writes checkpoints with an unconditional
// PutItem (a worker that lost its lease overwrites the new owner's lease and checkpoint),
// renews leases by rewriting the whole item including the checkpoint from its local cache
// (which can move a checkpoint backwards), creates the table with provisioned capacity
// without waiting for it to become ACTIVE and fails when another worker creates it at the
// same moment. Store fixes all of these; processor/kcl.go lists the other library quirks.
package checkpoint
